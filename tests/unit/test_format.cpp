// Renderers against golden text.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "../common/mini_json.hpp"
#include "render/stats_format.hpp"
#include "render/trace_format.hpp"

using namespace tcplinger;

namespace {
Transition sample() {
    Transition t;
    t.ts_ns = 5'000'000'000ULL;
    t.cookie = 77;
    t.netns = 4026531840u;
    t.local.family = t.remote.family = 4;
    t.local.addr = {127, 0, 0, 1};
    t.remote.addr = {10, 0, 0, 2};
    t.local.port = 40000;
    t.remote.port = 80;
    t.old_state = kTimeWait;
    t.new_state = kClose;
    t.prev_ns = 60'020'000'000ULL;
    t.actor = Process{1234, "curl", 0};
    t.owner = Process{1234, "curl", 0};
    t.reason = EndReason::Expired;
    t.timewait = true;
    return t;
}

WallClock fixed_clock() {
    WallClock c;
    c.offset_ns = 1'795'000'000'000'000'000LL - 5'000'000'000LL;  // ts 5 s -> 2026-11-18T...
    return c;
}

struct Utc {
    Utc() {
        setenv("TZ", "UTC", 1);
        tzset();
    }
};
}  // namespace

TEST(TraceFormat, TextLineGolden) {
    Utc utc;
    std::ostringstream out;
    TraceRenderer r(out, TraceStyle{false, true}, fixed_clock());
    r.line(sample());
    EXPECT_EQ(out.str(),
              "11:06:40.000 1234    curl            127.0.0.1:40000           10.0.0.2:80               "
              "TIME-WAIT -> CLOSE          60020.000 expired\n");
}

TEST(TraceFormat, UnknownPrevAndOwnerAreDashesNotZero) {
    Utc utc;
    Transition t = sample();
    t.prev_ns.reset();
    t.actor = Process{};
    t.reason = EndReason::None;
    t.local.family = t.remote.family = 6;
    t.local.addr = {};
    t.local.addr[15] = 1;
    t.remote.addr = t.local.addr;
    std::ostringstream out;
    TraceRenderer r(out, TraceStyle{false, false}, fixed_clock());
    r.line(t);
    EXPECT_EQ(out.str(),
              "2026-11-18 11:06:40.000000 -       -               [::1]:40000               [::1]:80                  "
              "TIME-WAIT -> CLOSE          -\n");
}

TEST(TraceFormat, JsonGolden) {
    std::ostringstream out;
    TraceRenderer r(out, TraceStyle{true, false}, fixed_clock());
    r.line(sample());
    EXPECT_EQ(out.str(),
              "{\"ts\":\"2026-11-18T11:06:40.000000Z\",\"ts_ns\":5000000000,\"pid\":1234,\"tid\":null,"
              "\"comm\":\"curl\",\"owner_pid\":1234,\"owner_comm\":\"curl\",\"in_task\":false,\"cookie\":77,"
              "\"netns\":4026531840,\"family\":4,\"laddr\":\"127.0.0.1\",\"lport\":40000,\"raddr\":\"10.0.0.2\","
              "\"rport\":80,\"old\":\"TIME-WAIT\",\"new\":\"CLOSE\",\"prev_ms\":60020.000,\"prev_at_least\":false,"
              "\"timewait\":true,\"reason\":\"expired\"}\n");
    EXPECT_TRUE(minijson::parse(out.str()));
}

TEST(TraceFormat, JsonEscapesComm) {
    Transition t = sample();
    t.actor.comm = "we\"ird\\\x01";
    std::ostringstream out;
    TraceRenderer r(out, TraceStyle{true, false}, fixed_clock());
    r.line(t);
    auto v = minijson::parse(out.str());
    ASSERT_TRUE(v);
    EXPECT_EQ((*v)["comm"].str, "we\"ird\\\x01");
}

namespace {
StatsReport sample_report() {
    Filter all;
    Aggregator agg(GroupBy::Process, all);
    Process curl{1234, "curl", 0}, nginx{99, "nginx", 0};
    for (int i = 0; i < 3; ++i) {
        Residency r;
        r.state = kTimeWait;
        r.owner = curl;
        r.start_ns = 0;
        r.end_ns = 60'000'000'000ULL + i * 1'000'000'000ULL;
        r.reason = i == 2 ? EndReason::Reused : EndReason::Expired;
        agg.add(r);
    }
    Residency cw;
    cw.state = kCloseWait;
    cw.owner = nginx;
    cw.end_ns = 2'000'000;
    agg.add(cw);
    Engine empty;
    StatsReport rep;
    rep.groups = agg.report(empty, 0);
    rep.duration_ns = 90'000'000'000ULL;
    return rep;
}
}  // namespace

TEST(StatsFormat, JsonHasEveryDocumentedFigure) {
    std::ostringstream out;
    render_stats_json(out, sample_report());
    auto v = minijson::parse(out.str());
    ASSERT_TRUE(v) << out.str();
    const auto& groups = (*v)["groups"];
    ASSERT_EQ(groups.arr.size(), 2u);
    EXPECT_EQ(groups[0]["pid"].num, 1234);  // sorted by TIME-WAIT count
    EXPECT_EQ(groups[0]["comm"].str, "curl");
    const auto& tw = groups[0]["states"]["TIME-WAIT"];
    EXPECT_EQ(tw["entered"].num, 3);
    EXPECT_EQ(tw["current"].num, 0);
    EXPECT_NEAR(tw["p50_ms"].num, 61000, 61000 * 0.02);
    EXPECT_EQ(tw["max_ms"].num, 62000);
    EXPECT_EQ(tw["oldest_ms"].kind, minijson::Value::Null);
    EXPECT_EQ(groups[1]["states"]["CLOSE-WAIT"]["entered"].num, 1);
    EXPECT_EQ((*v)["time_wait_end_reasons"]["expired"].num, 2);
    EXPECT_EQ((*v)["time_wait_end_reasons"]["reused"].num, 1);
    EXPECT_EQ((*v)["dropped"]["total"].num, 0);
    EXPECT_TRUE(v->has("evicted"));
    for (const char* s : {"TIME-WAIT", "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK", "CLOSING"})
        EXPECT_TRUE((*v)["states"].has(s)) << s;
}

TEST(StatsFormat, TextTableAndHistogramGolden) {
    std::ostringstream out;
    render_stats_text(out, sample_report());
    const std::string text = out.str();
    EXPECT_NE(text.find("1234 curl                           3        0    60934.8    62000.0    62000.0          -"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("TIME-WAIT: entered 3, present at start 0, now 0, ended: expired 2 reused 1"), std::string::npos)
        << text;
    EXPECT_NE(text.find("     32768 -> 65535    : 3        |****************************************|"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("lost 0 (ring buffer 0, recursion 0), evicted 0"), std::string::npos) << text;
}
