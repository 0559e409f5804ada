// Issue 9 section 3 on hand-made streams: stays charged to the closer, a
// CLOSE-WAIT still open charged to its holders, and how stats shows them.
#include <gtest/gtest.h>

#include <sstream>

#include "../common/json.hpp"
#include "render/stats_format.hpp"
#include "stats/aggregator.hpp"

using namespace tcplinger;

namespace {
constexpr uint64_t kMs = 1'000'000;

Event ev(EventKind kind, uint64_t ts, uint8_t from, uint8_t to, uint64_t cookie = 5) {
    Event e;
    e.kind = kind;
    e.ts_ns = ts;
    e.cookie = cookie;
    e.local.addr = {127, 0, 0, 1};
    e.remote.addr = {127, 0, 0, 1};
    e.local.port = 80;
    e.remote.port = static_cast<uint16_t>(40000 + cookie);
    e.old_state = from;
    e.new_state = to;
    return e;
}

const Process kParent{100, "parent", 0}, kChild{150, "child", 0}, kOther{200, "other", 0};

// Accepted by kParent, then the peer's FIN: CLOSE-WAIT from t = 3 ms.
void accepted_into_close_wait(Engine& engine, uint64_t cookie = 5) {
    engine.process(ev(EventKind::State, 1 * kMs, kListen, kSynRecv, cookie));
    engine.process(ev(EventKind::State, 2 * kMs, kSynRecv, kEstablished, cookie));
    Event accept = ev(EventKind::Owner, 2 * kMs, 0, kEstablished, cookie);
    accept.flags = flag::kTaskCtx;
    accept.task = kParent;
    engine.process(accept);
    engine.process(ev(EventKind::State, 3 * kMs, kEstablished, kCloseWait, cookie));
}
}  // namespace

TEST(Holders, CompletedCloseWaitIsChargedToTheCloserNotTheOwner) {
    Filter all;
    Aggregator agg(GroupBy::Process, all);
    Engine engine;
    std::vector<Residency> rs;
    engine.on_residency([&](const Residency& r) {
        rs.push_back(r);
        agg.add(r);
    });
    accepted_into_close_wait(engine);
    Event close = ev(EventKind::State, 303 * kMs, kCloseWait, kLastAck);
    close.flags = flag::kTaskCtx;
    close.task = kChild;
    engine.process(close);
    engine.process(ev(EventKind::State, 304 * kMs, kLastAck, kClose));
    ASSERT_EQ(rs.size(), 4u);  // SYN-RECV, ESTABLISHED, CLOSE-WAIT, LAST-ACK
    EXPECT_EQ(rs[2].state, kCloseWait);
    EXPECT_EQ(rs[2].owner, kChild);
    EXPECT_EQ(rs[3].state, kLastAck);
    EXPECT_EQ(rs[3].owner, kChild);
    auto groups = agg.report(engine, 400 * kMs);
    ASSERT_EQ(groups.size(), 1u);
    EXPECT_EQ(groups[0].key.pid, kChild.pid);
}

TEST(Holders, OpenCloseWaitIsChargedToItsHoldersWithTheirFds) {
    Filter all;
    Aggregator agg(GroupBy::Process, all);
    Engine engine;
    accepted_into_close_wait(engine, 5);
    accepted_into_close_wait(engine, 6);  // no holder found: stays with its owner
    std::vector<SocketHolder> holders = {{5, kOther, 9}, {5, kChild, 4}, {5, kChild, 7}, {77, kOther, 3}};

    auto without = agg.report(engine, 503 * kMs);
    ASSERT_EQ(without.size(), 1u);
    EXPECT_EQ(without[0].key.pid, kParent.pid);
    EXPECT_EQ(without[0].states.at(kCloseWait).current, 2u);

    auto groups = agg.report(engine, 503 * kMs, 0, holders);
    ASSERT_EQ(groups.size(), 2u);
    const GroupFigures* child = nullptr;
    const GroupFigures* parent = nullptr;
    for (const auto& g : groups) (g.key.pid == kChild.pid ? child : parent) = &g;
    ASSERT_TRUE(child && parent);
    EXPECT_EQ(parent->key.pid, kParent.pid);
    EXPECT_EQ(parent->states.at(kCloseWait).current, 1u);
    EXPECT_TRUE(parent->holders.empty());
    EXPECT_EQ(child->states.at(kCloseWait).current, 1u) << "several holders: counted once, lowest pid";
    ASSERT_EQ(child->holders.size(), 3u) << "every holder and fd listed";
    EXPECT_EQ(child->holders[0].holder, kChild);
    EXPECT_EQ(child->holders[0].fd, 4);
    EXPECT_EQ(child->holders[1].fd, 7);
    EXPECT_EQ(child->holders[2].holder, kOther);
    EXPECT_EQ(child->holders[2].fd, 9);
    EXPECT_EQ(child->holders[0].age_ns, 500 * kMs);
    EXPECT_EQ(child->holders[0].cookie, 5u);

    // -p 200: the socket is charged to the holder the filter accepts.
    FilterOptions only_other;
    only_other.pids = {kOther.pid};
    Filter other(only_other);
    Aggregator filtered(GroupBy::Process, other);
    auto g2 = filtered.report(engine, 503 * kMs, 0, holders);
    ASSERT_EQ(g2.size(), 1u);
    EXPECT_EQ(g2[0].key.pid, kOther.pid);
    EXPECT_EQ(g2[0].states.at(kCloseWait).current, 1u);

    StatsReport rep;
    rep.groups = groups;
    std::ostringstream json;
    render_stats_json(json, rep);
    auto v = parse_json(json.str());
    ASSERT_TRUE(v) << json.str();
    bool seen = false;
    for (const auto& g : (*v).at("groups")) {
        if (g.at("pid").get<double>() != kChild.pid) {
            EXPECT_TRUE(g.at("holders").empty());
            continue;
        }
        seen = true;
        const auto& h = g.at("holders");
        ASSERT_EQ(h.size(), 3u);
        EXPECT_EQ(h[0].at("pid").get<double>(), 150);
        EXPECT_EQ(h[0].at("comm").get<std::string>(), "child");
        EXPECT_EQ(h[0].at("fd").get<double>(), 4);
        EXPECT_EQ(h[0].at("cookie").get<double>(), 5);
        EXPECT_EQ(h[0].at("laddr").get<std::string>(), "127.0.0.1");
        EXPECT_EQ(h[0].at("lport").get<double>(), 80);
        EXPECT_EQ(h[0].at("rport").get<double>(), 40005);
        EXPECT_EQ(h[0].at("age_ms").get<double>(), 500);
        EXPECT_FALSE(h[0].at("age_at_least").get<bool>());
    }
    EXPECT_TRUE(seen) << json.str();

    std::ostringstream text;
    render_stats_text(text, rep);
    EXPECT_NE(text.str().find("  held by 150 child fd 4: 127.0.0.1:80 <- 127.0.0.1:40005, 500.0 ms\n"),
              std::string::npos)
        << text.str();
    EXPECT_NE(text.str().find("  held by 200 other fd 9: "), std::string::npos) << text.str();
}

// A holder's comm is whatever that process set (prctl PR_SET_NAME): the
// "held by" line escapes it as every text output does (issue 10 section 3).
TEST(Holders, HeldByLineEscapesTheHoldersComm) {
    Filter all;
    Aggregator agg(GroupBy::Process, all);
    Engine engine;
    accepted_into_close_wait(engine, 5);
    const Process hostile{150, "a,b\"c\n\x1b[31m\xff", 0};
    StatsReport rep;
    rep.groups = agg.report(engine, 503 * kMs, 0, {{5, hostile, 4}});
    std::ostringstream text;
    render_stats_text(text, rep);
    EXPECT_NE(text.str().find("  held by 150 a,b\"c\\n\\x1b[31m\\xff fd 4: "), std::string::npos) << text.str();
    EXPECT_EQ(text.str().find('\x1b'), std::string::npos) << "no raw escape reaches the terminal";
}
