// Follows each connection through its whole life, including the part that
// inet_sock_set_state cannot see (the timewait socket). Pure: decoded events
// in, transitions and residencies out; live tracing and recordings share it.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/event.hpp"
#include "core/typed_event.hpp"

namespace tcplinger {

enum class EndReason : uint8_t { None, Expired, Reused, Reset, Purged, Unknown };
std::string_view end_reason_name(EndReason r);

struct Transition {
    uint64_t ts_ns = 0;
    uint64_t cookie = 0;
    uint32_t netns = 0;
    Endpoint local, remote;
    uint8_t old_state = 0, new_state = 0;
    std::optional<uint64_t> prev_ns;  // time spent in old_state; nullopt when unknown
    bool prev_at_least = false;       // old_state began before tracing: prev_ns is a lower bound
    // prev_ns is exact to this (ns) either way: non-zero when one of its ends
    // is a moment recovered from a timer's expiry (Engine::recover_timewait_start).
    uint64_t prev_err_ns = 0;
    Process actor;     // who made it (task context) or whose socket it is
    uint32_t tid = 0;  // thread, when the transition ran in task context
    bool in_task = false;
    Process owner;
    Process charged;                     // the process the new state is charged to (responsible())
    EndReason reason = EndReason::None;  // set on TIME-WAIT/FIN-WAIT-2 -> CLOSE from the timewait socket
    bool timewait = false;               // made from the timewait socket's life
    bool rearmed = false;                // the timewait timer was re-armed
    // FIN-WAIT-2/CLOSING -> CLOSE that tcp_time_wait() made without a
    // timewait socket: the connection got no TIME-WAIT at all because
    // tcp_max_tw_buckets was full (TCPTimeWaitOverflow; BPF's
    // TL_F_TW_OVERFLOW, see tw_overflow_close in bpf/tcplinger.bpf.c).
    bool no_timewait = false;
    // X -> CLOSE of a connection that ended by an RST (sent or received) or
    // an abort (SO_LINGER {1,0}, TCP_LINGER2 < 0, unread data, timeout)
    // instead of an orderly close: not a timewait hand-off, not an overflow,
    // not LAST-ACK's ACK; set-up failures (SYN-SENT) and listeners excluded.
    bool aborted = false;
};

struct Residency {
    uint8_t state = 0;
    uint64_t start_ns = 0, end_ns = 0;
    bool lower_bound = false;       // began before tracing; duration is at least this
    bool present_at_start = false;  // began before tracing (start known exactly only for TIME-WAIT)
    Process owner;                  // the process this stay is charged to (see responsible())
    uint32_t netns = 0;
    Endpoint local, remote;
    uint64_t cookie = 0;
    EndReason reason = EndReason::None;
    uint64_t duration_ns() const { return end_ns - start_ns; }
};

// A connection as the engine sees it now.
struct Connection {
    uint32_t netns = 0;
    Endpoint local, remote;
    uint8_t state = 0;
    uint8_t prev_state = 0;          // the state before it (duplicate detection)
    uint64_t entered_ns = 0;         // when state began (0 with entered_known false)
    bool entered_known = false;      // false: before tracing started; entered_ns is the start of tracing
    bool existing = false;           // present when tracing started
    bool stay_before_start = false;  // the current stay began before tracing (even if entered_known)
    uint64_t entered_err_ns = 0;     // entered_ns is recovered, exact to +- this
    Process owner;                   // connect()/listen()/accept() caller
    Process closer;                  // first task to close()/shutdown(): the one charged (responsible())
    bool timewait = false;           // now a timewait socket
    bool rearmed = false;
    uint64_t kaddr = 0;         // timewait socket address (live only), for the substate probe
    bool probe_queued = false;  // waiting in the engine's probe queue
    struct PendingEnd {
        uint64_t ts_ns = 0;
        bool due = false;  // the timer was due when cancelled
        uint8_t substate = 0;
        uint64_t expires = 0;  // the timer's (jiffies); the jiffies clock lives in JiffyClock
    };
    std::optional<PendingEnd> pending;  // timer cancelled; cause not known yet
};

// Process a stay is charged to: the one that ended it or will. Every
// lingering state, CLOSE-WAIT included, belongs to the first close()/
// shutdown() caller (the closer): after accept-then-fork or an SCM_RIGHTS
// hand-off that is the process that held the socket, not the accept()
// caller. Until someone closes, the owner stands in; a CLOSE-WAIT still
// open is charged to its holders when stats reports (Aggregator::report).
const Process& responsible(const Connection& c, uint8_t state);

// The relation of jiffies to bpf_ktime_get_ns (CLOCK_MONOTONIC), learned
// from the events that carry both. jiffies advance in steps of TICK_NSEC
// from a fixed point in monotonic time (kernel/time/tick-sched.c:
// tick_do_update_jiffies64 adds exact TICK_NSEC multiples to
// last_jiffies_update), so jiffy j begins at offset + j * TICK_NSEC for one
// offset per boot. Each event read at ts in jiffy j says offset <= ts -
// j * TICK_NSEC (jiffies never run ahead of the clock); the smallest such
// value seen is the estimate. It is a function of the event stream only,
// so a replay of a recording learns the same value, and it is late by the
// smallest in-jiffy phase seen (the tracer's start-up calibration catches a
// jiffy change within microseconds; timer expiries run just after a tick).
class JiffyClock {
public:
    static uint64_t tick_ns(uint32_t hz) { return hz ? (1'000'000'000ull + hz / 2) / hz : 0; }  // TICK_NSEC
    void observe(uint64_t ts_ns, uint64_t jiffies, uint32_t hz);
    bool known() const { return known_; }
    uint32_t hz() const { return hz_; }
    uint64_t tick() const { return tick_ns(hz_); }
    // Monotonic time at which jiffies became `jiffy`.
    uint64_t jiffy_start(uint64_t jiffy) const { return offset_ + jiffy * tick(); }
    // The jiffy running at ts_ns.
    uint64_t jiffy_at(uint64_t ts_ns) const { return (ts_ns - offset_) / tick(); }

private:
    bool known_ = false;
    uint32_t hz_ = 0;
    uint64_t offset_ = 0;  // modulo 2^64: ts - jiffies * TICK_NSEC
};

struct EngineCounters {
    uint64_t events = 0;
    uint64_t evicted = 0;          // sockets not tracked (engine table full), each counted once
    uint64_t unknown_sockets = 0;  // events for sockets first seen mid-life
    uint64_t duplicates = 0;       // the same transition reported twice (dropped)
};

class Engine {
public:
    using TransitionFn = std::function<void(const Transition&)>;
    using ResidencyFn = std::function<void(const Residency&)>;

    // How long after a timewait timer is cancelled the engine waits for the
    // event that explains it (re-arm, expiry, SYN reuse); all of them follow
    // within microseconds on the same CPU.
    static constexpr uint64_t kResolveWindowNs = 100'000'000;
    static constexpr uint64_t kTimeWaitLenSec = 60;  // TCP_TIMEWAIT_LEN

    static constexpr size_t kDefaultMaxConnections = 1 << 20;
    explicit Engine(size_t max_connections = kDefaultMaxConnections) : max_connections_(max_connections) {}

    // Which transitions reach on_transition: every one (trace), or only the
    // closes that got no TIME-WAIT and the aborted ones (stats counts those;
    // its figures come from residencies, so building every transition would
    // be wasted work).
    enum class Transitions { All, NoTimeWaitOnly };
    void set_transitions(Transitions which) { transitions_ = which; }

    void on_transition(TransitionFn fn) { transition_fn_ = std::move(fn); }
    void on_residency(ResidencyFn fn) { residency_fn_ = std::move(fn); }
    // Show the kernel's own transitions (the full socket's X -> CLOSE at the
    // timewait handoff) instead of the reconstructed state machine.
    void set_raw(bool raw) { raw_ = raw; }

    // A record: decoded (visit_record) into the typed event it stands for.
    void process(const Event& rec);
    void process(const TypedEvent& ev);
    // An event after the end of a window (report --to): only a hidden
    // FIN-WAIT-2 -> TIME-WAIT move it reveals is applied, if it happened
    // before limit_ns; it still teaches the clock, as process() would.
    void reveal_before(const Event& ev, uint64_t limit_ns);
    // Settles pending timewait ends older than now - window (live idle ticks).
    void advance(uint64_t now_ns);
    // Settles everything still pending (end of stream).
    void flush();

    const std::unordered_map<uint64_t, Connection>& connections() const { return conns_; }
    // Timewait sockets still in FIN-WAIT-2 whose move to TIME-WAIT may have
    // gone unseen: (kernel address, cookie) for Tracer::probe_timewait, at
    // most max, oldest first. Taken out of the queue: a TwProbe answer that
    // still says FIN-WAIT-2 puts the socket back for the next round.
    std::vector<std::pair<uint64_t, uint64_t>> timewait_probes(size_t max);
    // The earliest time a transition not emitted yet can carry, among what
    // live probing can still reveal: cancels waiting for their explanation
    // and timewait sockets in FIN-WAIT-2 waiting in the probe queue (a hidden
    // move is never before the FIN-WAIT-2 entry). UINT64_MAX when none. O(n)
    // in the queue: for the live trace's output hold, once per poll.
    uint64_t earliest_unemitted_ns() const;
    const EngineCounters& counters() const { return counters_; }
    const JiffyClock& clock() const { return clock_; }
    // The stream's facts as its records stated them (CONFIG_HZ).
    const SessionFacts& facts() const { return facts_; }

private:
    Connection* find_or_create(const Subject& ev, bool* created);
    void emit(const Connection& c, uint64_t cookie, uint64_t ts, uint8_t from, uint8_t to, const Subject* ev,
              EndReason reason, uint64_t ts_err_ns = 0);
    void move_to(Connection& c, uint64_t cookie, uint64_t ts, uint8_t to, const Subject* ev,
                 EndReason reason = EndReason::None, uint64_t ts_err_ns = 0);
    void finish_timewait(uint64_t cookie, Connection& c, EndReason reason);
    void settle_pending(uint64_t up_to_ns);
    void forget(uint64_t cookie);
    void queue_probe(uint64_t cookie, Connection& c);

    void on_state(const Subject& ev, const StateChange& sc);
    void on_timer(const Subject& ev, const TimerOp& op);
    void on_tw_start(const Subject& ev, const TimerOp& op);
    void on_tw_cancel(const Subject& ev, const TimerOp& op);
    void on_tw_explained(const Subject& ev, EndReason reason);
    void on_probe(const Subject& ev, const Probe& p);
    void on_taken(const Subject& ev, const Taken& tk);
    void on_existing(const Subject& ev, const Existing& ex);
    void take_owner(Connection& c, const Subject& ev);
    // TIME-WAIT start recovered from a timer armed at TIME-WAIT entry for
    // TCP_TIMEWAIT_LEN with expiry `expires`: the midpoint of that jiffy,
    // clamped to [not_before, not_after], and its half-width as the error.
    struct Recovered {
        uint64_t ts_ns = 0, err_ns = 0;
    };
    // seen_ns: the event that showed the move, for a stream with no HZ.
    Recovered recover_timewait_start(uint64_t expires, uint64_t not_before, uint64_t not_after, uint64_t seen_ns) const;
    template <class K>
    void learn_clock(const Subject& who, const K& what);
    // One typed event (K: one of What's alternatives).
    template <class K>
    void apply(const Subject& who, const K& what);

    size_t max_connections_;
    bool raw_ = false;
    Transitions transitions_ = Transitions::All;
    bool no_timewait_ = false;  // set while emitting a close that skipped TIME-WAIT
    bool aborted_ = false;      // set while emitting an aborted close
    std::unordered_map<uint64_t, Connection> conns_;
    // Cookies of the sockets refused while the table was full, so that each
    // counts once in `evicted` however many events it has (bounded like
    // the table, at least 64K; when full it restarts, and a socket may
    // count again).
    std::unordered_set<uint64_t> refused_;
    std::deque<std::pair<uint64_t, uint64_t>> pending_;  // (cancel ts, cookie), in arrival order
    // Timewait sockets in FIN-WAIT-2 to probe, (kernel address, cookie); no
    // per-transition bookkeeping: stale entries are dropped when taken.
    std::deque<std::pair<uint64_t, uint64_t>> probe_queue_;
    TransitionFn transition_fn_;
    ResidencyFn residency_fn_;
    EngineCounters counters_;
    JiffyClock clock_;
    SessionFacts facts_;
};

}  // namespace tcplinger
