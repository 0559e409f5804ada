// Aggregation: entries, residencies and current sockets charged to one
// consistent owner.
#include <gtest/gtest.h>

#include <sstream>

#include "render/stats_format.hpp"
#include "stats/aggregator.hpp"

using namespace tcplinger;

namespace {
constexpr uint64_t kMs = 1'000'000;

Event ev(EventKind kind, uint64_t ts, uint8_t from, uint8_t to) {
    Event e;
    e.kind = kind;
    e.ts_ns = ts;
    e.cookie = 5;
    e.local.port = 80;
    e.remote.port = 40000;
    e.old_state = from;
    e.new_state = to;
    return e;
}
}  // namespace

// The peer's FIN can arrive before accept() returns: the CLOSE-WAIT began
// with no known owner, and must still be charged to the accepting process.
TEST(Aggregator, CloseWaitEnteredBeforeAcceptIsChargedToTheAcceptor) {
    Filter all;
    Aggregator agg(GroupBy::Process, all);
    Engine engine;
    engine.on_transition([&](const Transition& t) { agg.add(t); });
    engine.on_residency([&](const Residency& r) { agg.add(r); });
    engine.process(ev(EventKind::State, 1 * kMs, kListen, kSynRecv));
    engine.process(ev(EventKind::State, 2 * kMs, kSynRecv, kEstablished));
    engine.process(ev(EventKind::State, 3 * kMs, kEstablished, kCloseWait));
    Event accept = ev(EventKind::Owner, 9 * kMs, 0, kCloseWait);
    accept.task = Process{4242, "server", 0};
    engine.process(accept);

    auto groups = agg.report(engine, 500 * kMs);
    ASSERT_EQ(groups.size(), 1u);
    EXPECT_EQ(groups[0].key.pid, 4242u);
    const StateFigures& f = groups[0].states.at(kCloseWait);
    EXPECT_EQ(f.entered, 1u);
    EXPECT_EQ(f.current, 1u);
    EXPECT_EQ(f.oldest_ns, 497 * kMs);

    Event close = ev(EventKind::State, 303 * kMs, kCloseWait, kLastAck);
    close.flags = flag::kTaskCtx;
    close.task = accept.task;
    engine.process(close);
    groups = agg.report(engine, 600 * kMs);
    ASSERT_EQ(groups.size(), 1u);
    const StateFigures& done = groups[0].states.at(kCloseWait);
    EXPECT_EQ(done.entered, 1u) << "counted once, when the stay ended";
    EXPECT_EQ(done.current, 0u);
    EXPECT_EQ(done.residency.count(), 1u);
    EXPECT_EQ(done.residency.max(), 300 * kMs);
}

TEST(Aggregator, StaysBeganBeforeTheWindowArePresentNotEntered) {
    Filter all;
    Aggregator agg(GroupBy::LocalPort, all);
    Engine engine;
    engine.on_residency([&](const Residency& r) { agg.add(r); });
    engine.process(ev(EventKind::State, 1 * kMs, kEstablished, kCloseWait));
    auto before = agg.report(engine, 10 * kMs, 5 * kMs);
    EXPECT_EQ(before[0].states.at(kCloseWait).entered, 0u);
    EXPECT_EQ(before[0].states.at(kCloseWait).present_at_start, 1u);
    auto since_start = agg.report(engine, 10 * kMs, 0);
    EXPECT_EQ(since_start[0].states.at(kCloseWait).entered, 1u);
    EXPECT_EQ(since_start[0].key.lport, 80);
}

// Issue 9.2: aborted closes are a figure of their own per group, in text
// and JSON, apart from no_timewait.
TEST(Aggregator, AbortedClosesAreCountedPerGroupAndRendered) {
    Filter all;
    Aggregator agg(GroupBy::Process, all);
    Transition t;
    t.old_state = kFinWait2;
    t.new_state = kClose;
    t.charged = Process{4242, "client", 0};
    t.aborted = true;
    agg.add(t);
    agg.add(t);
    t.aborted = false;
    t.no_timewait = true;
    agg.add(t);
    t.no_timewait = false;
    agg.add(t);  // an orderly close: neither
    Engine engine;
    StatsReport report;
    report.groups = agg.report(engine, 0);
    ASSERT_EQ(report.groups.size(), 1u);
    EXPECT_EQ(report.groups[0].aborted, 2u);
    EXPECT_EQ(report.groups[0].no_timewait, 1u);
    std::ostringstream text, json;
    render_stats_text(text, report);
    render_stats_json(json, report);
    EXPECT_NE(text.str().find("4242 client: 2 connections ended by RST or abort, not an orderly close"),
              std::string::npos)
        << text.str();
    EXPECT_NE(json.str().find("\"no_timewait\":1,\"aborted\":2,"), std::string::npos) << json.str();
}

// stats --state S chooses the table's sort; the other states' figures stay
// (they were zeroed: the state filter of trace applied to stays).
TEST(Aggregator, StateOptionKeepsEveryStatesFigures) {
    FilterOptions o;
    o.state = "CLOSE-WAIT";
    Filter by_cw(o);
    Aggregator agg(GroupBy::Process, by_cw);
    Process p{7, "app", 0};
    for (uint8_t s : {kTimeWait, kTimeWait, kCloseWait, kFinWait2}) {
        Residency r;
        r.state = s;
        r.owner = p;
        r.start_ns = 1 * kMs;
        r.end_ns = 5 * kMs;
        agg.add(r);
    }
    Engine engine;
    auto groups = agg.report(engine, 10 * kMs);
    ASSERT_EQ(groups.size(), 1u);
    EXPECT_EQ(groups[0].states.at(kTimeWait).entered, 2u);
    EXPECT_EQ(groups[0].states.at(kCloseWait).entered, 1u);
    EXPECT_EQ(groups[0].states.at(kFinWait2).entered, 1u);
    EXPECT_EQ(*by_cw.state(), kCloseWait) << "still there, for the sort";
}
