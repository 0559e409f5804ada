// Moments the kernel gives to a jiffy only: the hidden FIN-WAIT-2 ->
// TIME-WAIT move of an orphan timewait socket and the start of a TIME-WAIT
// present at start, both recovered from the timer's expiry (Engine
// JiffyClock, recover_timewait_start). At HZ 100, 250 and 1000, with jiffy
// boundaries that do not fall on round nanoseconds. Also: what present at
// start means for stats (lower bounds marked), and trace's time order.
#include <gtest/gtest.h>

#include <sstream>

#include "../common/json.hpp"
#include "app/pipeline.hpp"
#include "lifecycle/engine.hpp"
#include "render/stats_format.hpp"
#include "stats/aggregator.hpp"

using namespace tcplinger;

namespace {
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

// A kernel whose jiffy j begins at kPhase + (j - kJ0) * tick (monotonic).
struct Kernel {
    uint32_t hz;
    static constexpr uint64_t kJ0 = 4'294'000'000ULL;
    static constexpr uint64_t kPhase = 1'234'567;  // ns: boundaries off the round numbers
    uint64_t tick() const { return JiffyClock::tick_ns(hz); }
    uint64_t jiffies_at(uint64_t t) const { return kJ0 + (t - kPhase) / tick(); }
    uint64_t jiffy_start(uint64_t j) const { return kPhase + (j - kJ0) * tick(); }
};

struct Stream {
    Kernel k;
    Engine engine;
    std::vector<Transition> ts;
    std::vector<Residency> rs;
    explicit Stream(uint32_t hz) : k{hz} {
        engine.on_transition([this](const Transition& t) { ts.push_back(t); });
        engine.on_residency([this](const Residency& r) { rs.push_back(r); });
    }
    Event base(EventKind kind, uint64_t t, uint64_t cookie = 1) const {
        Event e;
        e.kind = kind;
        e.ts_ns = t;
        e.cookie = cookie;
        e.netns = 7;
        e.local.addr = {127, 0, 0, 1};
        e.remote.addr = {127, 0, 0, 1};
        e.local.port = static_cast<uint16_t>(40000 + cookie);
        e.remote.port = 80;
        e.hz = k.hz;
        return e;
    }
    // Tracer::clock_sample: read just after jiffies changed.
    void calibrate(uint64_t after) {
        uint64_t j = k.jiffies_at(after) + 1;
        Event e = base(EventKind::TwProbe, k.jiffy_start(j), 0);  // on the tick (the real one: microseconds late)
        e.aux1 = j;
        engine.process(e);
    }
    void state(uint64_t t, uint8_t from, uint8_t to, uint64_t cookie = 1, uint32_t pid = 0) {
        Event e = base(EventKind::State, t, cookie);
        e.old_state = from;
        e.new_state = to;
        if (pid) {
            e.flags = flag::kTaskCtx;
            e.task = Process{pid, "client", 1};
        }
        engine.process(e);
    }
    void timer(EventKind kind, uint64_t t, uint8_t substate, uint64_t expires, uint64_t cookie = 1,
               uint16_t flags = 0) {
        Event e = base(kind, t, cookie);
        e.new_state = substate;
        e.aux0 = expires;
        e.aux1 = k.jiffies_at(t);
        e.flags = flags;
        e.kaddr = 0xffff888000000000ULL + cookie * 64;
        engine.process(e);
    }
    void probe(uint64_t t, uint8_t substate, uint64_t expires, uint64_t cookie = 1) {
        Event e = base(EventKind::TwProbe, t, cookie);
        e.hz = 0;  // as Tracer::probe_timewait makes them
        e.new_state = substate;
        e.aux0 = expires;
        e.aux1 = k.jiffies_at(t);
        engine.process(e);
    }
    // An active close orphaned into FIN-WAIT-2 at `fw2`: the timewait socket
    // is born there with a tcp_fin_timeout (60 s) timer.
    void orphan(uint64_t fw2, uint64_t cookie = 1) {
        state(fw2 - 2 * kMs, kClose, kSynSent, cookie, 100);
        state(fw2 - 1 * kMs, kSynSent, kEstablished, cookie);
        state(fw2 - 500'000, kEstablished, kFinWait1, cookie, 100);
        state(fw2, kFinWait1, kFinWait2, cookie);
        timer(EventKind::TwStart, fw2 + 1'000, kFinWait2, k.jiffies_at(fw2) + 60 * k.hz, cookie);
        state(fw2 + 1'000, kFinWait2, kClose, cookie);
    }
    const Transition* into(uint8_t state, uint64_t cookie = 1) const {
        for (const auto& t : ts)
            if (t.new_state == state && t.cookie == cookie) return &t;
        return nullptr;
    }
};

uint64_t distance_ns(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

class Hz : public ::testing::TestWithParam<uint32_t> {};
}  // namespace

INSTANTIATE_TEST_SUITE_P(Timing, Hz, ::testing::Values(100u, 250u, 1000u),
                         [](const auto& info) { return "Hz" + std::to_string(info.param); });

// The same kernel facts probed on two different schedules (trace and stats
// side by side, or a replay) give the same recovered moment: the midpoint
// of the jiffy of the re-arm, with half a jiffy as its stated error, and
// the true moment inside that bound.
TEST_P(Hz, RecoveredMoveIsTheJiffyMidpointWhateverTheProbeSchedule) {
    const uint32_t hz = GetParam();
    const uint64_t fw2 = 10 * kSec + 100 * kMs;
    const uint64_t fin = fw2 + 137'654'321;  // the peer's FIN: hidden
    std::vector<Transition> got;
    for (uint64_t first_probe : {fw2 + 50 * kMs, fw2 + 77'777'777, fw2 + 120 * kMs}) {
        Stream s(hz);
        s.calibrate(1 * kSec);
        s.orphan(fw2);
        const uint64_t tw_expires = s.k.jiffies_at(fin) + 60 * hz;
        uint64_t t = first_probe;
        for (; t < fin; t += 250 * kMs) s.probe(t, kFinWait2, s.k.jiffies_at(fw2) + 60 * hz);
        s.probe(t, kTimeWait, tw_expires);
        const Transition* tw = s.into(kTimeWait);
        ASSERT_TRUE(tw);
        uint64_t j = s.k.jiffies_at(fin);
        EXPECT_EQ(tw->ts_ns, s.k.jiffy_start(j) + s.k.tick() / 2);
        EXPECT_EQ(tw->prev_err_ns, s.k.tick() / 2);
        EXPECT_LE(tw->ts_ns > fin ? tw->ts_ns - fin : fin - tw->ts_ns, tw->prev_err_ns);
        EXPECT_EQ(*tw->prev_ns, tw->ts_ns - fw2);
        got.push_back(*tw);
    }
    EXPECT_EQ(got[0].ts_ns, got[1].ts_ns);
    EXPECT_EQ(got[0].ts_ns, got[2].ts_ns);
}

// A FIN-WAIT-2 shorter than a jiffy: the stay began inside the jiffy of the
// re-arm, so the moment is the middle of what is left of that jiffy, not
// of the whole jiffy, and never before the stay began (0.05 ms was shown
// as 0.3-2.5 ms, always late).
TEST_P(Hz, SubJiffyStayIsClampedToItsStartAndCentred) {
    const uint32_t hz = GetParam();
    Stream s(hz);
    s.calibrate(1 * kSec);
    const uint64_t j = s.k.jiffies_at(5 * kSec);
    const uint64_t fw2 = s.k.jiffy_start(j) + s.k.tick() * 3 / 4;  // late in its jiffy
    s.orphan(fw2);
    const uint64_t fin = fw2 + 50'000;
    ASSERT_EQ(s.k.jiffies_at(fin), j);
    s.probe(fw2 + 250 * kMs, kTimeWait, j + 60 * hz);
    const Transition* tw = s.into(kTimeWait);
    ASSERT_TRUE(tw);
    const uint64_t end = s.k.jiffy_start(j + 1);
    EXPECT_EQ(tw->ts_ns, fw2 + (end - fw2) / 2);
    EXPECT_EQ(tw->prev_err_ns, (end - fw2 + 1) / 2);
    EXPECT_LE(*tw->prev_ns, s.k.tick() / 8 + 1);
    EXPECT_LE(fin - fw2 > *tw->prev_ns ? fin - fw2 - *tw->prev_ns : *tw->prev_ns - (fin - fw2), tw->prev_err_ns);
}

// Revealed by the timer's cancel (killed before any probe saw it): the
// cancel is a bound, and the TIME-WAIT stay carries the same error.
TEST_P(Hz, MoveRevealedByTheCancelIsClampedToIt) {
    const uint32_t hz = GetParam();
    Stream s(hz);
    s.calibrate(1 * kSec);
    const uint64_t fw2 = 3 * kSec;
    s.orphan(fw2);
    const uint64_t j = s.k.jiffies_at(fw2 + 40 * kMs);
    const uint64_t fin = s.k.jiffy_start(j) + s.k.tick() / 10;
    const uint64_t rst = fin + s.k.tick() / 5;  // an RST kills it within the same jiffy
    s.timer(EventKind::TwCancel, rst, kTimeWait, s.k.jiffies_at(fin) + 60 * hz);
    s.engine.flush();
    const Transition* tw = s.into(kTimeWait);
    const Transition* end = s.into(kClose);
    ASSERT_TRUE(tw && end);
    const uint64_t lo = s.k.jiffy_start(j);
    EXPECT_EQ(tw->ts_ns, lo + (rst - lo) / 2);
    EXPECT_EQ(end->reason, EndReason::Reset);
    EXPECT_EQ(*end->prev_ns, rst - tw->ts_ns);
    EXPECT_EQ(end->prev_err_ns, tw->prev_err_ns) << "the TIME-WAIT stay starts at the recovered moment";
}

// Without the start-up calibration the clock is learned from the events
// themselves: the earliest in-jiffy phase seen. A timer expiry runs just
// after its tick, so one is enough.
TEST_P(Hz, ClockIsLearnedFromTimerEventsAlone) {
    const uint32_t hz = GetParam();
    Stream s(hz);
    const uint64_t fw2 = 2 * kSec + 333 * kMs;
    s.orphan(fw2);
    // Another socket's TIME-WAIT expiring: timer softirq, 5 us after a tick.
    uint64_t jexp = s.k.jiffies_at(fw2 + 10 * kMs);
    s.timer(EventKind::TwCancel, s.k.jiffy_start(jexp) + 5'000, kTimeWait, jexp, 9, flag::kDue);
    s.timer(EventKind::TwExpire, s.k.jiffy_start(jexp) + 6'000, kTimeWait, jexp, 9);
    const uint64_t fin = fw2 + 100 * kMs;
    s.probe(fw2 + 250 * kMs + 1'700'000, kTimeWait, s.k.jiffies_at(fin) + 60 * hz);
    const Transition* tw = s.into(kTimeWait);
    ASSERT_TRUE(tw);
    EXPECT_EQ(tw->ts_ns, s.k.jiffy_start(s.k.jiffies_at(fin)) + 5'000 + s.k.tick() / 2);
}

// A TIME-WAIT present at start: its start is in its timer, exact to the
// jiffy, not "at least since tracing began". Every other state present at
// start stays a lower bound, and stats marks it so (text ">=", JSON
// oldest_at_least).
TEST_P(Hz, TimeWaitPresentAtStartIsExactOthersAreLowerBounds) {
    const uint32_t hz = GetParam();
    Stream s(hz);
    const uint64_t start = 100 * kSec;
    s.calibrate(start - 10 * kMs);
    const uint64_t tw_began = start - 12 * kSec + 1'500'000;  // 12 s before tracing
    Event tw = s.base(EventKind::Existing, start + 1 * kMs, 1);
    tw.new_state = kTimeWait;
    tw.old_state = kTimeWait;
    tw.aux0 = s.k.jiffies_at(tw_began) + 60 * hz;
    tw.aux1 = s.k.jiffies_at(tw.ts_ns);
    s.engine.process(tw);
    Event cw = s.base(EventKind::Existing, start + 1 * kMs, 2);
    cw.new_state = kCloseWait;
    cw.aux0 = 12345;  // inode
    s.engine.process(cw);

    const Connection& c = s.engine.connections().at(1);
    EXPECT_TRUE(c.entered_known);
    const uint64_t mid = s.k.jiffy_start(s.k.jiffies_at(tw_began)) + s.k.tick() / 2;
    EXPECT_EQ(c.entered_ns, mid);
    EXPECT_FALSE(s.engine.connections().at(2).entered_known);

    Filter filter;
    Aggregator agg(GroupBy::LocalPort, filter);
    const uint64_t now = start + 3 * kSec;
    StatsReport report;
    report.by = GroupBy::LocalPort;
    report.groups = agg.report(s.engine, now);
    auto all = totals(report.groups);
    EXPECT_EQ(all[kTimeWait].oldest_ns, now - mid);
    EXPECT_FALSE(all[kTimeWait].oldest_at_least);
    EXPECT_EQ(all[kTimeWait].present_at_start, 1u) << "exact, but still present at start, not entered";
    EXPECT_EQ(all[kTimeWait].entered, 0u);
    EXPECT_EQ(all[kCloseWait].oldest_ns, now - cw.ts_ns);
    EXPECT_TRUE(all[kCloseWait].oldest_at_least);

    std::ostringstream json, text;
    render_stats_json(json, report);
    auto v = parse_json(json.str());
    ASSERT_TRUE(v) << json.str();
    EXPECT_FALSE((*v).at("states").at("TIME-WAIT").at("oldest_at_least").get<bool>());
    EXPECT_TRUE((*v).at("states").at("CLOSE-WAIT").at("oldest_at_least").get<bool>());
    EXPECT_TRUE((*v).at("groups").at(size_t{0}).at("states").at("CLOSE-WAIT").at("oldest_at_least").get<bool>() ||
                (*v).at("groups").at(size_t{1}).at("states").at("CLOSE-WAIT").at("oldest_at_least").get<bool>());
    render_stats_text(text, report);
    EXPECT_NE(text.str().find("CLOSE-WAIT: entered 0, present at start 1, now 1 (oldest >=2999.0 ms)"),
              std::string::npos)
        << text.str();
    EXPECT_NE(text.str().find("TIME-WAIT: entered 0, present at start 1, now 1 (oldest 1"), std::string::npos)
        << text.str();
    report.sort_state = kCloseWait;
    std::ostringstream table;
    render_stats_text(table, report);
    EXPECT_NE(table.str().find(">=2999.0"), std::string::npos) << table.str();

    // Its end: the whole TIME-WAIT, exact, in trace and in the residency.
    const uint64_t expiry = tw_began + 60 * kSec + 300 * kMs;
    s.timer(EventKind::TwCancel, expiry, kTimeWait, tw.aux0, 1, flag::kDue);
    s.timer(EventKind::TwExpire, expiry, kTimeWait, tw.aux0, 1);
    const Transition* end = s.into(kClose, 1);
    ASSERT_TRUE(end);
    EXPECT_FALSE(end->prev_at_least);
    EXPECT_EQ(*end->prev_ns, expiry - mid);
    EXPECT_EQ(end->prev_err_ns, s.k.tick() / 2);
    ASSERT_EQ(s.rs.size(), 1u);
    EXPECT_TRUE(s.rs[0].present_at_start);
    EXPECT_FALSE(s.rs[0].lower_bound);
}

// trace prints in time order: a recovered move comes out of the engine at
// the probe round after it, later than other connections' transitions.
TEST(Timing, TraceHoldsLinesUntilRecoveredMovesCanNoLongerPrecedeThem) {
    Kernel k{250};
    std::ostringstream out;
    Filter filter;
    TracePipeline p(out, TracePipeline::Format::Json, false, false, filter);
    auto feed = [&](Event e) {
        e.hz = e.hz ? e.hz : 250;
        p.event(e);
    };
    Stream s(250);  // for its event makers only
    Event cal = s.base(EventKind::TwProbe, k.jiffy_start(k.jiffies_at(kSec) + 1) + 2'000, 0);
    cal.aux1 = k.jiffies_at(cal.ts_ns);
    feed(cal);
    const uint64_t fw2 = 2 * kSec;
    auto st = [&](uint64_t t, uint8_t a, uint8_t b, uint64_t cookie) {
        Event e = s.base(EventKind::State, t, cookie);
        e.old_state = a;
        e.new_state = b;
        feed(e);
    };
    st(fw2 - 1 * kMs, kEstablished, kFinWait1, 1);
    st(fw2, kFinWait1, kFinWait2, 1);
    Event birth = s.base(EventKind::TwStart, fw2 + 1'000, 1);
    birth.new_state = kFinWait2;
    birth.aux0 = k.jiffies_at(fw2) + 60 * 250;
    birth.aux1 = k.jiffies_at(birth.ts_ns);
    feed(birth);
    st(fw2 + 1'000, kFinWait2, kClose, 1);
    // Another connection's transitions while the move (at +100 ms) is hidden.
    for (uint64_t t = fw2 + 110 * kMs; t < fw2 + 250 * kMs; t += 20 * kMs) st(t, kEstablished, kCloseWait, t);
    Event probe = s.base(EventKind::TwProbe, fw2 + 260 * kMs, 1);
    probe.hz = 0;
    probe.new_state = kTimeWait;
    probe.aux0 = k.jiffies_at(fw2 + 100 * kMs) + 60 * 250;
    probe.aux1 = k.jiffies_at(probe.ts_ns);
    feed(probe);
    p.advance(fw2 + 900 * kMs);
    EXPECT_EQ(out.str(), "") << "held: a recovered move may still come";
    p.end_run();
    uint64_t last = 0;
    size_t n = 0;
    bool saw_tw = false;
    std::istringstream lines(out.str());
    for (std::string line; std::getline(lines, line); ++n) {
        auto v = parse_json(line);
        ASSERT_TRUE(v) << line;
        uint64_t ts = (*v).at("ts_ns").get<uint64_t>();
        EXPECT_LE(last, ts) << line;
        last = ts;
        saw_tw |= (*v).at("new").get<std::string>() == "TIME-WAIT";
    }
    EXPECT_TRUE(saw_tw);
    EXPECT_EQ(n, 10u);
}

// stats' lean stream: the timewait socket's birth comes merged with the
// full socket's close (TwBirth, no jiffies) and the probe answers carry no
// HZ. The clock is still learned (HZ from the other records, the probe's
// own time and jiffies), never left unknown.
TEST_P(Hz, LeanStreamWithoutTimerJiffiesStillRecoversWithinTheJiffy) {
    const uint32_t hz = GetParam();
    Stream s(hz);
    const uint64_t fw2 = 4 * kSec + 10 * kMs;
    s.state(fw2 - 1 * kMs, kEstablished, kFinWait1, 1, 100);
    Event birth = s.base(EventKind::TwBirth, fw2 + 40'000);
    birth.old_state = kFinWait2;
    birth.new_state = kFinWait2;
    birth.aux0 = s.k.jiffies_at(fw2) + 60 * hz;
    birth.aux1 = 40'000;  // ns spent in FIN-WAIT-2 so far, not jiffies
    s.engine.process(birth);
    const uint64_t fin = fw2 + 80 * kMs;
    const uint64_t seen = fw2 + 250 * kMs + 1'234'567;
    s.probe(seen, kTimeWait, s.k.jiffies_at(fin) + 60 * hz);
    const Transition* tw = s.into(kTimeWait);
    ASSERT_TRUE(tw);
    EXPECT_LE(distance_ns(tw->ts_ns, fin), s.k.tick());
    EXPECT_LE(tw->prev_err_ns, s.k.tick() / 2);
}
