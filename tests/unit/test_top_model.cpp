// tcplinger top's model and tables: per-interval rates, grouping, views,
// sort, filter, keys, and columns fitted to 80 and fewer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "app/top/render.hpp"
#include "app/top/ui.hpp"

using namespace tcplinger;
using namespace tcplinger::top;

namespace {
constexpr uint64_t kS = 1'000'000'000;
constexpr uint32_t kNs = 4026531840u;

Residency tw(uint32_t pid, const std::string& comm, uint16_t lport, uint16_t rport, uint64_t end_s,
             uint8_t state = kTimeWait) {
    static uint64_t cookie = 100;
    Residency r;
    r.state = state;
    r.start_ns = end_s * kS - kS / 2;
    r.end_ns = end_s * kS;
    r.owner = Process{pid, comm, 77};
    r.netns = kNs;
    r.local.addr = {127, 0, 0, 1};
    r.local.port = lport;
    r.remote.addr = {127, 0, 0, 2};
    r.remote.port = rport;
    r.cookie = ++cookie;
    r.reason = EndReason::Expired;
    return r;
}

struct Fixture {
    Filter filter;
    Model model{filter};
    Engine engine;
    HostSample host;
    HolderIndex holders;
    Frame refresh(uint64_t s, bool by_comm = false, const std::vector<DestinationHeadroom>& h = {}) {
        return model.refresh(engine, s * kS, 0, host, h, holders, by_comm);
    }
};

const ProcessRow* find(const Frame& f, const std::string& comm) {
    for (const auto& r : f.processes)
        if (r.comm == comm) return &r;
    return nullptr;
}
}  // namespace

TEST(TopModel, RatesAreOverTheIntervalSinceTheLastRefresh) {
    Fixture fx;
    fx.model.set_start(0);
    Frame f = fx.refresh(1);
    EXPECT_TRUE(f.processes.empty());
    for (int i = 0; i < 10; ++i) fx.model.add(tw(10, "storm", 40000 + i, 8080, 2));
    for (int i = 0; i < 2; ++i) fx.model.add(tw(20, "trickle", 41000 + i, 9090, 2));
    f = fx.refresh(2);
    ASSERT_NE(find(f, "storm"), nullptr);
    EXPECT_DOUBLE_EQ(find(f, "storm")->tw_per_s, 10);
    EXPECT_DOUBLE_EQ(find(f, "trickle")->tw_per_s, 2);
    EXPECT_DOUBLE_EQ(f.header.tw_entered_per_s, 12);
    for (int i = 0; i < 4; ++i) fx.model.add(tw(10, "storm", 42000 + i, 8080, 3));
    f = fx.refresh(4);  // 2 s later: 4 in 2 s
    EXPECT_DOUBLE_EQ(find(f, "storm")->tw_per_s, 2);
    EXPECT_DOUBLE_EQ(find(f, "trickle")->tw_per_s, 0);
    EXPECT_EQ(find(f, "storm")->tw_entered, 14u) << "the total since start stays";
    EXPECT_DOUBLE_EQ(f.header.interval_s, 2);

    Table t = table_of(f, View::Processes);
    ASSERT_EQ(t.rows.size(), 1u) << "trickle is idle now: left to -j, which lists every row";
    EXPECT_EQ(t.rows[0][0].text, "storm");
    EXPECT_EQ(t.columns[t.default_sort].name, "TW/s");
    EXPECT_EQ(f.processes.size(), 2u);
}

TEST(TopModel, StaysFromBeforeTheStartAreNotRates) {
    Fixture fx;
    fx.model.set_start(0);
    Residency old = tw(10, "storm", 40000, 8080, 1);
    old.present_at_start = true;
    fx.model.add(old);
    Frame f = fx.refresh(1);
    EXPECT_TRUE(f.processes.empty());
}

TEST(TopModel, ByCommSumsWorkers) {
    Fixture fx;
    fx.model.set_start(0);
    for (uint32_t pid : {10u, 11u, 12u}) fx.model.add(tw(pid, "nginx", 40000 + pid, 8080, 1));
    fx.model.add(tw(20, "curl", 41000, 8080, 1));
    Frame f = fx.refresh(1, true);
    ASSERT_EQ(f.processes.size(), 2u);
    const ProcessRow* n = find(f, "nginx");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->workers, 3u);
    EXPECT_EQ(n->pid, 0u);
    EXPECT_DOUBLE_EQ(n->tw_per_s, 3);
    Table t = table_of(f, View::Processes);
    EXPECT_EQ(t.columns[1].name, "PROCS");
    EXPECT_EQ(t.rows[0][1].text, "3");
}

TEST(TopModel, ListenerPortsAreLocalPortsOthersDestinations) {
    Fixture fx;
    fx.model.set_start(0);
    fx.model.note_listener(kNs, 8080);
    // The server closes first on its own port 8080 (TIME-WAIT there); the
    // client's side of 5 connections to 127.0.0.2:9090 enter TIME-WAIT.
    for (int i = 0; i < 3; ++i) fx.model.add(tw(30, "server", 8080, 45000 + i, 1));
    for (int i = 0; i < 5; ++i) fx.model.add(tw(31, "client", 46000 + i, 9090, 1));
    fx.model.add(tw(30, "server", 8080, 47000, 1, kCloseWait));
    DestinationHeadroom dh;
    headroom::Headroom& h = dh.headroom;
    h.dest.netns = kNs;
    h.dest.daddr = {127, 0, 0, 2};
    h.dest.dport = 9090;
    h.usable = 100;
    h.taken = 40;
    h.headroom = 60;
    h.reuse = headroom::ReuseVerdict::Off;
    Frame f = fx.refresh(1, false, {dh});
    ASSERT_EQ(f.local_ports.size(), 1u);
    EXPECT_EQ(f.local_ports[0].port, 8080);
    EXPECT_DOUBLE_EQ(f.local_ports[0].conn_per_s, 4) << "3 TIME-WAIT + 1 CLOSE-WAIT";
    ASSERT_EQ(f.destinations.size(), 1u);
    const DestinationRow& d = f.destinations[0];
    EXPECT_EQ(format_endpoint(d.remote), "127.0.0.2:9090");
    EXPECT_DOUBLE_EQ(d.conn_per_s, 5);
    EXPECT_EQ(d.ports_in_use, 40u);
    ASSERT_TRUE(d.headroom);
    EXPECT_EQ(*d.headroom, 60u);
    // The time to exhaustion is the socket table's (SocketTable::busiest:
    // its rates between two passes).
    h.taken = 60;
    h.headroom = 40;
    dh.seconds_left = 4;
    for (int i = 0; i < 20; ++i) fx.model.add(tw(31, "client", 47000 + i, 9090, 2));
    f = fx.refresh(3, false, {dh});
    EXPECT_DOUBLE_EQ(f.destinations[0].conn_per_s, 10);
    EXPECT_NEAR(f.destinations[0].exhaustion_s, 4, 1e-9);
    Table t = table_of(f, View::Destinations);
    EXPECT_EQ(t.rows[0][5].text, "4.0s");
    EXPECT_EQ(t.rows[0][6].text, "no: off");
    // No port left: exhausted now, whatever the rate.
    h.taken = 100;
    h.headroom = 0;
    f = fx.refresh(4, false, {dh});
    EXPECT_EQ(f.destinations[0].exhaustion_s, 0);
    EXPECT_EQ(table_of(f, View::Destinations).rows[0][5].text, "now");
}

TEST(TopTable, SortFilterAndColumnsAt80) {
    Fixture fx;
    fx.model.set_start(0);
    for (int i = 0; i < 9; ++i) fx.model.add(tw(10, "storm", 40000 + i, 8080, 1));
    for (int i = 0; i < 2; ++i) fx.model.add(tw(20, "trickle", 41000 + i, 8080, 1));
    fx.model.add(tw(21, "another", 42000, 8080, 1));
    Frame f = fx.refresh(1);
    Table t = table_of(f, View::Processes);
    ASSERT_EQ(t.rows.size(), 3u);
    EXPECT_EQ(t.rows[0][0].text, "storm");
    sort_rows(t, 0, false);  // COMM, A to Z
    EXPECT_EQ(t.rows[0][0].text, "another");
    EXPECT_EQ(t.rows[2][0].text, "trickle");
    sort_rows(t, 1, true);  // PID, largest first
    EXPECT_EQ(t.rows[0][0].text, "another");
    filter_rows(t, "TRICK");
    ASSERT_EQ(t.rows.size(), 1u);
    EXPECT_EQ(t.rows[0][0].text, "trickle");

    for (View v : kViews) {
        Table all = table_of(f, v);
        auto cols = visible_columns(all, 80);
        EXPECT_EQ(cols.size(), all.columns.size()) << view_name(v) << ": every column fits 80";
        EXPECT_LE(heading_line(all, cols, 80).size(), 80u);
    }
    // Narrower: the stated order (CGROUP, ABRT/s, FW2, CW-AGE, PID).
    auto names = [&](int width) {
        std::string s;
        for (size_t c : visible_columns(t, width)) s += t.columns[c].name + " ";
        return s;
    };
    EXPECT_EQ(names(71), "COMM PID TW TW/s CW CW-AGE FW2 ABRT/s ");
    EXPECT_EQ(names(64), "COMM PID TW TW/s CW CW-AGE FW2 ");
    EXPECT_EQ(names(40), "COMM TW TW/s CW ");
    EXPECT_EQ(names(20), "COMM TW TW/s CW ") << "never fewer than the essentials";
    for (int w : {80, 71, 64, 50, 40}) {
        auto cols = visible_columns(t, w);
        EXPECT_LE(heading_line(t, cols, w, 3).size(), static_cast<size_t>(w));
        for (size_t r = 0; r < t.rows.size(); ++r) EXPECT_LE(row_line(t, r, cols, w).size(), static_cast<size_t>(w));
    }
    for (const auto& l : header_lines(f, "netns 4026531840", 80)) EXPECT_LE(l.size(), 80u);
    EXPECT_NE(heading_line(t, visible_columns(t, 80), 80, 3).find("*TW/s"), std::string::npos);
}

TEST(TopUi, KeysSwitchViewsSortFilterPauseIntervalQuit) {
    Fixture fx;
    fx.model.set_start(0);
    for (int i = 0; i < 9; ++i) fx.model.add(tw(10, "storm", 40000 + i, 8080, 1));
    fx.model.add(tw(20, "trickle", 41000, 8080, 1));
    Frame f = fx.refresh(1);
    UiState s;
    auto cols = [&] { return table_of(f, s.view); };
    Table t = shown_table(f, s, {});
    EXPECT_EQ(t.columns[sort_of(s, t).column].name, "TW/s");
    handle_key(s, '<', cols());
    t = shown_table(f, s, {});
    EXPECT_EQ(t.columns[sort_of(s, t).column].name, "TW");
    handle_key(s, '<', cols());
    handle_key(s, '<', cols());  // PID, then COMM
    handle_key(s, 'r', cols());  // A to Z
    t = shown_table(f, s, {});
    EXPECT_EQ(t.columns[sort_of(s, t).column].name, "COMM");
    EXPECT_EQ(t.rows[0][0].text, "storm");
    EXPECT_NE(status_line(s, t).find("sort COMM ^"), std::string::npos) << status_line(s, t);
    handle_key(s, '<', cols());  // wraps to the last column
    t = shown_table(f, s, {});
    EXPECT_EQ(t.columns[sort_of(s, t).column].name, "CGROUP");

    for (int k : std::initializer_list<int>{'/', 't', 'r', 'x', kKeyBackspace, kKeyEnter}) handle_key(s, k, cols());
    EXPECT_EQ(s.filter, "tr");
    EXPECT_EQ(shown_table(f, s, {}).rows.size(), 1u);
    for (int k : std::initializer_list<int>{'/', kKeyBackspace, kKeyBackspace, kKeyEnter}) handle_key(s, k, cols());
    EXPECT_EQ(s.filter, "");

    handle_key(s, 'd', cols());
    EXPECT_EQ(s.view, View::Destinations);
    handle_key(s, '\t', cols());
    EXPECT_EQ(s.view, View::LocalPorts);
    handle_key(s, '\t', cols());
    EXPECT_EQ(s.view, View::Processes);
    t = shown_table(f, s, {});
    EXPECT_EQ(t.columns[sort_of(s, t).column].name, "CGROUP") << "each view keeps its sort";

    handle_key(s, ' ', cols());
    EXPECT_TRUE(s.paused);
    s.interval_s = 1;
    handle_key(s, '+', cols());
    EXPECT_EQ(s.interval_s, 2);
    handle_key(s, '-', cols());
    handle_key(s, '-', cols());
    EXPECT_EQ(s.interval_s, 0.5);
    for (int k : std::initializer_list<int>{'s', '2', '.', '5', kKeyEnter}) handle_key(s, k, cols());
    EXPECT_EQ(s.interval_s, 2.5);
    for (int k : std::initializer_list<int>{'s', 'x', kKeyEnter}) handle_key(s, k, cols());
    EXPECT_EQ(s.interval_s, 2.5);
    EXPECT_NE(s.message.find("not an interval"), std::string::npos);
    // A key per column: 1-9 as the help lists them; again reverses; text
    // starts A to Z, figures largest first.
    s.paused = false;
    handle_key(s, '1', cols());
    t = shown_table(f, s, {});
    EXPECT_EQ(t.columns[sort_of(s, t).column].name, "COMM");
    EXPECT_EQ(t.rows[0][0].text, "storm");
    handle_key(s, '1', cols());
    t = shown_table(f, s, {});
    EXPECT_EQ(t.rows[0][0].text, "trickle");
    handle_key(s, '3', cols());
    t = shown_table(f, s, {});
    EXPECT_EQ(t.columns[sort_of(s, t).column].name, "TW");
    EXPECT_TRUE(sort_of(s, t).descending);
    EXPECT_EQ(t.rows[0][0].text, "storm");
    handle_key(s, 'd', cols());
    handle_key(s, '5', cols());
    EXPECT_EQ(table_of(f, s.view).columns[sort_of(s, table_of(f, s.view)).column].name, "HEADROOM");
    handle_key(s, '8', cols());
    EXPECT_NE(s.message.find("no column 8"), std::string::npos) << s.message;
    bool listed = false;
    for (const auto& l : help_lines(table_of(f, s.view))) {
        EXPECT_LE(l.size(), 80u) << l;
        listed |= l.find("5 HEADROOM") != std::string::npos;
    }
    EXPECT_TRUE(listed);
    handle_key(s, 'p', cols());
    handle_key(s, 'c', cols());
    EXPECT_TRUE(s.by_comm && s.refresh);
    EXPECT_FALSE(s.quit);
    handle_key(s, 'q', cols());
    EXPECT_TRUE(s.quit);
}

TEST(TopRender, JsonDocumentHasEveryViewAndBatchHasEveryTable) {
    Fixture fx;
    fx.model.set_start(0);
    fx.model.note_listener(kNs, 8080);
    fx.model.add(tw(10, "st\x1borm", 40000, 9090, 1));
    fx.model.add(tw(30, "server", 8080, 45000, 1));
    fx.host.known = true;
    fx.host.time_wait = 7;
    fx.host.max_tw_buckets = 262144;
    Frame f = fx.refresh(1);
    f.header.wall_ns = 1'764'547'200ull * kS;
    std::ostringstream js;
    render_json(js, f, {});
    auto doc = nlohmann::json::parse(js.str());
    EXPECT_EQ(doc["ts"], "2025-12-01T00:00:00.000000Z");
    EXPECT_EQ(doc["header"]["time_wait"], 7);
    EXPECT_EQ(doc["header"]["max_tw_buckets"], 262144);
    ASSERT_EQ(doc["processes"].size(), 2u);
    EXPECT_EQ(doc["destinations"][0]["rport"], 9090);
    EXPECT_TRUE(doc["destinations"][0]["headroom"].is_null());
    EXPECT_EQ(doc["local_ports"][0]["lport"], 8080);
    EXPECT_EQ(js.str().find('\n'), js.str().size() - 1) << "one line per refresh";

    std::ostringstream text;
    render_batch(text, f, "netns 1", {});
    for (const char* want : {"tcplinger top - ", "TIME-WAIT 7/262144 max_tw_buckets", "COMM ", "DESTINATION ", "LPORT ",
                             "127.0.0.2:9090", "st\\x1borm"})
        EXPECT_NE(text.str().find(want), std::string::npos) << want << "\n" << text.str();
}
