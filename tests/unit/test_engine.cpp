// The lifecycle engine on hand-made event streams that follow what the
// kernel does (KERNEL_NOTES.md): the timewait handoff, hidden re-arms,
// early kills and their causes, ownership rules.
#include <gtest/gtest.h>

#include "lifecycle/engine.hpp"

using namespace tcplinger;

namespace {
constexpr uint64_t kMs = 1'000'000;
constexpr uint32_t kHz = 250;

struct Stream {
    Engine engine;
    std::vector<Transition> ts;
    std::vector<Residency> rs;
    Stream() {
        engine.on_transition([this](const Transition& t) { ts.push_back(t); });
        engine.on_residency([this](const Residency& r) { rs.push_back(r); });
    }
    Event base(EventKind kind, uint64_t ts_ns, uint64_t cookie = 1) {
        Event e;
        e.kind = kind;
        e.ts_ns = ts_ns;
        e.cookie = cookie;
        e.netns = 99;
        e.local.family = e.remote.family = 4;
        e.local.addr = {127, 0, 0, 1};
        e.remote.addr = {127, 0, 0, 1};
        e.local.port = 40000;
        e.remote.port = 80;
        e.hz = kHz;
        return e;
    }
    void state(uint64_t t, uint8_t from, uint8_t to, uint32_t task_pid = 0, uint64_t cookie = 1) {
        Event e = base(EventKind::State, t, cookie);
        e.old_state = from;
        e.new_state = to;
        if (task_pid) {
            e.flags |= flag::kTaskCtx;
            e.task = Process{task_pid, "proc" + std::to_string(task_pid), 5};
        } else {
            e.task = Process{777, "interrupted", 9};  // whatever softirq interrupted
        }
        engine.process(e);
    }
    // jiffies are counted from 1000 at t = 0
    static uint64_t jiffies_at(uint64_t t) { return 1000 + t / (1'000'000'000 / kHz); }
    void tw(EventKind kind, uint64_t t, uint8_t substate, uint64_t expires, uint16_t flags = 0, uint64_t cookie = 1) {
        Event e = base(kind, t, cookie);
        e.new_state = substate;
        e.aux0 = expires;
        e.aux1 = jiffies_at(t);
        e.flags = flags;
        engine.process(e);
    }
    std::string seq() const {
        std::string out;
        for (const auto& t : ts) out += std::string(out.empty() ? "" : " ") + std::string(state_name(t.new_state));
        return out;
    }
    const Residency* residency(uint8_t state) const {
        for (const auto& r : rs)
            if (r.state == state) return &r;
        return nullptr;
    }
};

// Active closer: ESTABLISHED -> FIN-WAIT-1 -> FIN-WAIT-2, orphaned into a
// timewait socket in substate FIN-WAIT-2 at t=10ms.
void active_close_into_fw2(Stream& s) {
    s.state(0, kClose, kSynSent, 100);
    s.state(1 * kMs, kSynSent, kEstablished);
    s.state(5 * kMs, kEstablished, kFinWait1, 100);
    s.state(8 * kMs, kFinWait1, kFinWait2);
    s.tw(EventKind::TwStart, 10 * kMs, kFinWait2, Stream::jiffies_at(10 * kMs) + 60 * kHz);
    s.state(10 * kMs, kFinWait2, kClose);  // full socket handoff: hidden
}
}  // namespace

TEST(Engine, HiddenRearmIsRecoveredFromExpiry) {
    Stream s;
    active_close_into_fw2(s);
    // Peer FIN at t=200ms re-armed the timer to 200ms + 60s without any
    // timer_start; it expires at 60.2s + wheel slack and is cancelled at 61.0s.
    uint64_t fin = 200 * kMs;
    uint64_t expires = Stream::jiffies_at(fin) + 60 * kHz;
    s.tw(EventKind::TwCancel, 61'000 * kMs, kTimeWait, expires, flag::kDue);
    s.tw(EventKind::TwExpire, 61'000 * kMs, kTimeWait, expires);
    EXPECT_EQ(s.seq(), "SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSE");
    const Residency* tw = s.residency(kTimeWait);
    ASSERT_TRUE(tw);
    // Known to the jiffy: its midpoint (the jiffy began at `fin` here).
    const uint64_t mid = fin + 2 * kMs;
    EXPECT_EQ(tw->start_ns, mid);
    EXPECT_EQ(tw->duration_ns(), 61'000 * kMs - mid);
    EXPECT_EQ(tw->reason, EndReason::Expired);
    EXPECT_EQ(tw->owner.pid, 100u) << "TIME-WAIT belongs to the first closer";
    const Residency* fw2 = s.residency(kFinWait2);
    ASSERT_TRUE(fw2);
    EXPECT_EQ(fw2->start_ns, 8 * kMs) << "FIN-WAIT-2 began on the full socket";
    EXPECT_EQ(fw2->end_ns, mid);
    EXPECT_EQ(s.ts.back().reason, EndReason::Expired);
    EXPECT_TRUE(s.ts.back().timewait);
    EXPECT_TRUE(s.engine.connections().empty());
}

TEST(Engine, CancelThenStartIsARearmNotAnEnd) {
    Stream s;
    active_close_into_fw2(s);
    uint64_t old_exp = Stream::jiffies_at(10 * kMs) + 60 * kHz;
    s.tw(EventKind::TwCancel, 300 * kMs, kTimeWait, old_exp);
    s.tw(EventKind::TwStart, 300 * kMs, kTimeWait, Stream::jiffies_at(300 * kMs) + 60 * kHz);
    s.engine.advance(10'000 * kMs);
    EXPECT_EQ(s.seq(), "SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT");
    ASSERT_EQ(s.engine.connections().size(), 1u);
    EXPECT_TRUE(s.engine.connections().at(1).rearmed);
    EXPECT_EQ(s.ts.back().ts_ns, 300 * kMs);
}

TEST(Engine, EarlyKillCauses) {
    struct Case {
        uint16_t flags;
        bool hint;
        EndReason want;
    } cases[] = {
        {0, true, EndReason::Reused},                     // SYN on the 4-tuple (request socket followed)
        {flag::kConnectReuse, false, EndReason::Reused},  // connect() under tcp_tw_reuse
        {flag::kNetDying, false, EndReason::Purged},      // netns teardown
        {0, false, EndReason::Reset},                     // nothing followed: RST in TIME-WAIT
        {flag::kDue, false, EndReason::Unknown},          // due but never ran
    };
    for (const auto& c : cases) {
        Stream s;
        s.state(0, kClose, kSynSent, 100);
        s.state(1 * kMs, kSynSent, kEstablished);
        s.state(2 * kMs, kEstablished, kFinWait1, 100);
        s.tw(EventKind::TwStart, 3 * kMs, kTimeWait, Stream::jiffies_at(3 * kMs) + 60 * kHz);
        s.state(3 * kMs, kFinWait1, kClose);
        s.tw(EventKind::TwCancel, 1500 * kMs, kTimeWait, Stream::jiffies_at(3 * kMs) + 60 * kHz, c.flags);
        if (c.hint) s.engine.process(s.base(EventKind::TwReuse, 1500 * kMs));
        s.engine.process(s.base(EventKind::Owner, 1700 * kMs, 2));  // unrelated later event
        s.engine.flush();
        const Residency* tw = s.residency(kTimeWait);
        ASSERT_TRUE(tw);
        EXPECT_EQ(tw->reason, c.want) << end_reason_name(c.want);
        EXPECT_EQ(tw->duration_ns(), 1497 * kMs);
        EXPECT_EQ(s.seq(), "SYN-SENT ESTABLISHED FIN-WAIT-1 TIME-WAIT CLOSE");
    }
}

TEST(Engine, OrphanFinWait2ExpiresInFinWait2) {
    Stream s;
    active_close_into_fw2(s);
    uint64_t exp = Stream::jiffies_at(10 * kMs) + 2 * kHz;  // tcp_fin_timeout=2
    s.tw(EventKind::TwCancel, 2100 * kMs, kFinWait2, exp, flag::kDue);
    s.tw(EventKind::TwExpire, 2100 * kMs, kFinWait2, exp);
    EXPECT_EQ(s.seq(), "SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 CLOSE");
    const Residency* fw2 = s.residency(kFinWait2);
    ASSERT_TRUE(fw2);
    EXPECT_EQ(fw2->reason, EndReason::Expired);
    EXPECT_EQ(fw2->duration_ns(), 2092 * kMs);
    EXPECT_EQ(s.residency(kTimeWait), nullptr);
}

TEST(Engine, ProbeRevealsTimeWaitWithItsRealStart) {
    Stream s;
    active_close_into_fw2(s);
    Event probe = s.base(EventKind::TwProbe, 700 * kMs);
    probe.new_state = kTimeWait;
    probe.aux0 = Stream::jiffies_at(240 * kMs) + 60 * kHz;
    probe.aux1 = Stream::jiffies_at(700 * kMs);
    probe.hz = 0;  // probes carry no HZ: the engine uses the one the timer events had
    s.engine.process(probe);
    ASSERT_EQ(s.ts.back().new_state, kTimeWait);
    EXPECT_EQ(s.ts.back().ts_ns, 242 * kMs) << "the middle of the jiffy that began at 240 ms";
    EXPECT_EQ(s.ts.back().prev_err_ns, 2 * kMs);
    EXPECT_EQ(s.engine.timewait_probes(10).size(), 0u);
}

// The live loop asks the kernel about every timewait socket in FIN-WAIT-2
// (its move to TIME-WAIT fires no event). Each is asked once per round: an
// answer of FIN-WAIT-2 queues it again, TIME-WAIT or no answer (gone) do not.
TEST(Engine, ProbeQueueAsksEachFinWait2TimewaitSocketOncePerRound) {
    Stream s;
    s.state(0, kClose, kSynSent, 100);
    s.state(1 * kMs, kSynSent, kEstablished);
    s.state(5 * kMs, kEstablished, kFinWait1, 100);
    s.state(8 * kMs, kFinWait1, kFinWait2);
    Event start = s.base(EventKind::TwStart, 10 * kMs);
    start.new_state = kFinWait2;
    start.aux0 = Stream::jiffies_at(10 * kMs) + 60 * kHz;
    start.aux1 = Stream::jiffies_at(10 * kMs);
    start.kaddr = 0xffff888012345000;
    s.engine.process(start);
    Event rearm = start;  // a re-arm in FIN-WAIT-2 must not queue it twice
    rearm.ts_ns = 20 * kMs;
    s.engine.process(rearm);
    // A second connection, ended before the round: dropped when taken.
    Event other = start;
    other.cookie = 2;
    other.kaddr = 0xffff888012346000;
    s.engine.process(other);
    s.tw(EventKind::TwCancel, 30 * kMs, kFinWait2, start.aux0, 0, 2);
    s.engine.flush();

    auto round1 = s.engine.timewait_probes(10);
    ASSERT_EQ(round1.size(), 1u);
    EXPECT_EQ(round1[0], std::make_pair(start.kaddr, uint64_t{1}));
    EXPECT_TRUE(s.engine.timewait_probes(10).empty()) << "taken: not asked twice in one round";

    Event probe = s.base(EventKind::TwProbe, 250 * kMs);
    probe.new_state = kFinWait2;  // still waiting for the peer's FIN
    probe.aux0 = start.aux0;
    probe.aux1 = Stream::jiffies_at(250 * kMs);
    s.engine.process(probe);
    auto round2 = s.engine.timewait_probes(10);
    ASSERT_EQ(round2.size(), 1u) << "still FIN-WAIT-2: asked again";

    probe.ts_ns = 500 * kMs;
    probe.new_state = kTimeWait;
    probe.aux0 = Stream::jiffies_at(400 * kMs) + 60 * kHz;
    probe.aux1 = Stream::jiffies_at(500 * kMs);
    s.engine.process(probe);
    EXPECT_EQ(s.ts.back().new_state, kTimeWait);
    EXPECT_EQ(s.ts.back().ts_ns, 402 * kMs);
    EXPECT_TRUE(s.engine.timewait_probes(10).empty()) << "in TIME-WAIT: nothing left to ask";
}

// accept() can return a socket the peer has already closed, and the record
// of that accept() can arrive after the socket's last transition: it must
// not bring the connection back as a new, never-ending one.
TEST(Engine, AcceptOfAnAlreadyClosedSocketIsIgnored) {
    Stream s;
    s.state(1 * kMs, kEstablished, kCloseWait, 0, 5);
    s.state(2 * kMs, kCloseWait, kLastAck, 200, 5);
    s.state(3 * kMs, kLastAck, kClose, 0, 5);
    ASSERT_TRUE(s.engine.connections().empty());
    Event late = s.base(EventKind::Owner, 4 * kMs, 5);
    late.new_state = kClose;
    late.flags = flag::kTaskCtx;
    late.task = Process{200, "server", 5};
    s.engine.process(late);
    EXPECT_TRUE(s.engine.connections().empty()) << "accepted after it ended: nothing to follow";

    Event live = s.base(EventKind::Owner, 5 * kMs, 6);  // accepted while still open
    live.new_state = kCloseWait;
    live.flags = flag::kTaskCtx;
    live.task = Process{200, "server", 5};
    s.engine.process(live);
    ASSERT_EQ(s.engine.connections().size(), 1u);
    EXPECT_EQ(s.engine.connections().at(6).owner.pid, 200u);
    EXPECT_EQ(s.engine.connections().at(6).state, kCloseWait);
}

TEST(Engine, AcceptingWorkerOwnsPassiveSocketAndItsCloseWait) {
    Stream s;
    s.state(0, kListen, kSynRecv, 0, 7);
    s.state(1 * kMs, kSynRecv, kEstablished, 0, 7);
    Event acc = s.base(EventKind::Owner, 2 * kMs, 7);
    acc.task = Process{321, "worker", 3};
    acc.flags = flag::kTaskCtx;
    s.engine.process(acc);
    s.state(50 * kMs, kEstablished, kCloseWait, 0, 7);
    s.state(350 * kMs, kCloseWait, kLastAck, 321, 7);
    const Residency* cw = s.residency(kCloseWait);
    ASSERT_TRUE(cw);
    EXPECT_EQ(cw->owner.pid, 321u);
    EXPECT_EQ(cw->duration_ns(), 300 * kMs);
    // The softirq transitions before accept() have no known owner: never the interrupted task.
    EXPECT_FALSE(s.ts[0].actor.known());
    EXPECT_EQ(s.ts[2].actor.pid, 321u) << "softirq ESTABLISHED->CLOSE-WAIT shown as the owner";
    EXPECT_FALSE(s.ts[2].in_task);
}

TEST(Engine, PrevIsUnknownUntilSeenAndAtLeastForExistingSockets) {
    Stream s;
    s.state(10 * kMs, kEstablished, kFinWait1, 5);  // first seen mid-life, BPF had no entry time
    ASSERT_EQ(s.ts.size(), 1u);
    EXPECT_FALSE(s.ts[0].prev_ns);
    s.state(12 * kMs, kFinWait1, kFinWait2);
    EXPECT_EQ(*s.ts[1].prev_ns, 2 * kMs);

    Event ex = s.base(EventKind::Existing, 100 * kMs, 9);
    ex.new_state = kCloseWait;
    s.engine.process(ex);
    s.state(400 * kMs, kCloseWait, kLastAck, 8, 9);
    EXPECT_TRUE(s.ts.back().prev_at_least);
    EXPECT_EQ(*s.ts.back().prev_ns, 300 * kMs);
    const Residency* cw = s.residency(kCloseWait);
    ASSERT_TRUE(cw);
    EXPECT_TRUE(cw->lower_bound);
}

TEST(Engine, RawModeShowsTheKernelHandoff) {
    Stream s;
    s.engine.set_raw(true);
    active_close_into_fw2(s);
    EXPECT_EQ(s.seq(), "SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 CLOSE");
    EXPECT_EQ(s.engine.connections().size(), 1u) << "the connection lives on as a timewait socket";
}

TEST(Engine, TableBoundIsCountedNotSilent) {
    Engine e(2);
    Stream s;
    for (uint64_t c = 1; c <= 5; ++c) {
        Event ev = s.base(EventKind::State, c, c);
        ev.old_state = kClose;
        ev.new_state = kSynSent;
        e.process(ev);
    }
    EXPECT_EQ(e.connections().size(), 2u);
    EXPECT_EQ(e.counters().evicted, 3u);
}

// "sockets evicted" counts sockets: a refused socket's later events (its
// whole life: SYN-SENT, ESTABLISHED, FIN-WAIT-1 ...) do not count again.
TEST(Engine, EvictedCountsSocketsNotTheirEvents) {
    Engine e(2);
    Stream s;
    const uint8_t life[] = {kClose, kSynSent, kEstablished, kFinWait1, kFinWait2};
    for (uint64_t c = 1; c <= 5; ++c)
        for (size_t i = 0; i + 1 < sizeof(life); ++i) {
            Event ev = s.base(EventKind::State, c * 10 + i, c);
            ev.old_state = life[i];
            ev.new_state = life[i + 1];
            e.process(ev);
        }
    EXPECT_EQ(e.connections().size(), 2u);
    EXPECT_EQ(e.counters().evicted, 3u) << "3 sockets refused, 4 events each";
}

namespace {
// Lean mode (stats): the close() and FIN-WAIT-1 -> FIN-WAIT-2 of an orphan
// are not shipped; one birth record carries the full socket's last state,
// how long it was in it, and the closer.
Event birth(Stream& s, uint64_t t, uint8_t last, uint64_t in_last_ns, uint8_t substate, uint32_t closer) {
    Event e = s.base(EventKind::TwBirth, t);
    e.old_state = last;
    e.new_state = substate;
    e.aux0 = Stream::jiffies_at(t) + 60 * kHz;
    e.aux1 = in_last_ns;
    e.flags = flag::kOwnerKnown | flag::kOwnerIsCloser;
    e.owner = Process{closer, "closer", 5};
    return e;
}
}  // namespace

TEST(Engine, LeanBirthAloneGivesTheFinWait2StayAndTheCloser) {
    Stream s;
    s.engine.process(birth(s, 10 * kMs, kFinWait2, 2 * kMs, kTimeWait, 321));
    EXPECT_EQ(s.seq(), "TIME-WAIT");
    const Residency* fw2 = s.residency(kFinWait2);
    ASSERT_TRUE(fw2);
    EXPECT_EQ(fw2->start_ns, 8 * kMs);
    EXPECT_EQ(fw2->end_ns, 10 * kMs);
    EXPECT_FALSE(fw2->lower_bound);
    EXPECT_EQ(fw2->owner.pid, 321u);
    const Connection& c = s.engine.connections().at(1);
    EXPECT_EQ(c.state, kTimeWait);
    EXPECT_EQ(c.closer.pid, 321u);
    EXPECT_FALSE(c.owner.known()) << "the closer is not taken for the owner";
    EXPECT_EQ(s.engine.counters().unknown_sockets, 0u);
}

TEST(Engine, LeanBirthAfterAcceptMovesThroughTheUnshippedState) {
    Stream s;
    Event owner = s.base(EventKind::Owner, 1 * kMs);
    owner.new_state = kEstablished;
    owner.flags = flag::kTaskCtx;
    owner.task = Process{55, "worker", 5};
    s.engine.process(owner);
    // Orphaned in FIN-WAIT-2 at 8 ms, timewait socket (substate FIN-WAIT-2) at 10 ms.
    s.engine.process(birth(s, 10 * kMs, kFinWait2, 2 * kMs, kFinWait2, 55));
    EXPECT_EQ(s.seq(), "FIN-WAIT-2");
    EXPECT_EQ(s.ts.back().ts_ns, 8 * kMs);
    const Connection& c = s.engine.connections().at(1);
    EXPECT_EQ(c.state, kFinWait2);
    EXPECT_TRUE(c.timewait);
    EXPECT_EQ(c.entered_ns, 8 * kMs);
    EXPECT_EQ(c.owner.pid, 55u);
    EXPECT_EQ(c.closer.pid, 55u);
    // The probe later finds it in TIME-WAIT: FIN-WAIT-2 lasted from 8 ms.
    ASSERT_EQ(s.engine.timewait_probes(10).size(), 0u) << "no kernel address in a hand-made record";
}

// Issue 9.1: close() after shutdown(SHUT_WR) fires FIN-WAIT-2 -> FIN-WAIT-2
// (tcp.c: tcp_close_state). The stay goes on; the caller becomes the closer.
TEST(Engine, SameStateCloseKeepsTheStayAndNamesTheCloser) {
    Stream s;
    Event first = s.base(EventKind::State, 8 * kMs);
    first.old_state = kFinWait1;
    first.new_state = kFinWait2;
    first.aux0 = 3 * kMs;  // BPF: FIN-WAIT-1 began at 5 ms (socket storage)
    s.engine.process(first);
    s.state(100 * kMs, kFinWait2, kFinWait2, 300);
    s.tw(EventKind::TwStart, 300 * kMs, kTimeWait, Stream::jiffies_at(300 * kMs) + 60 * kHz);
    s.state(300 * kMs, kFinWait2, kClose);
    EXPECT_EQ(s.seq(), "FIN-WAIT-2 TIME-WAIT");
    size_t fw2 = 0;
    for (const auto& r : s.rs) fw2 += r.state == kFinWait2;
    EXPECT_EQ(fw2, 1u);
    const Residency* r = s.residency(kFinWait2);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->start_ns, 8 * kMs);
    EXPECT_EQ(r->end_ns, 300 * kMs);
    EXPECT_EQ(r->owner.pid, 300u) << "the close() named the closer";
    EXPECT_EQ(s.engine.connections().begin()->second.closer.pid, 300u);
}

// Issue 9.2: only BPF's overflow mark makes a no_timewait; every other
// X -> CLOSE but set-up failures and LAST-ACK's ACK is an abort.
TEST(Engine, NoTimeWaitNeedsTheOverflowMarkEverythingElseIsAnAbort) {
    struct Case {
        uint8_t from;
        uint16_t flags;
        bool no_timewait, aborted;
    } cases[] = {
        {kFinWait2, flag::kTwOverflow, true, false},
        {kClosing, flag::kTwOverflow, true, false},
        {kFinWait2, 0, false, true},
        {kFinWait2, flag::kSkErr, false, true},
        {kClosing, 0, false, true},
        {kEstablished, 0, false, true},
        {kCloseWait, flag::kSkErr, false, true},
        {kFinWait1, 0, false, true},
        {kLastAck, 0, false, false},
        {kLastAck, flag::kSkErr, false, true},
        {kSynSent, flag::kSkErr, false, false},
        {kListen, 0, false, false},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(std::string(state_name(c.from)) + " flags " + std::to_string(c.flags));
        Stream s;
        s.engine.set_transitions(Engine::Transitions::NoTimeWaitOnly);
        Event e = s.base(EventKind::State, 10 * kMs);
        e.old_state = c.from;
        e.new_state = kClose;
        e.flags = c.flags;
        s.engine.process(e);
        ASSERT_EQ(s.ts.size(), c.no_timewait || c.aborted ? 1u : 0u) << "stats sees exactly these closes";
        if (s.ts.empty()) continue;
        EXPECT_EQ(s.ts[0].no_timewait, c.no_timewait);
        EXPECT_EQ(s.ts[0].aborted, c.aborted);
    }
}
