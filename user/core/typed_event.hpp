// Typed events: what a record means, with every field named for its kind.
// A record (core/event.hpp: Event) keeps BPF's layout, because recordings
// store exactly what the kernel said; its aux0/aux1, flags and the lean
// birth record mean different things per kind. decode() below is the one
// place that knows those meanings. The engine sees only typed events.
//
// One dialect: lean mode's TL_EV_TW_BIRTH (a timewait socket's first timer
// start merged with its full socket's X -> CLOSE) is the TimerOp{Start} it
// stands for, with the full socket's last state in `handoff`; its
// TL_F_OWNER_IS_CLOSER becomes Subject::closer. CONFIG_HZ is a fact of the
// session (SessionFacts), not of each event.
#pragma once
#include <cstdint>
#include <optional>
#include <type_traits>
#include <variant>

#include "core/event.hpp"

namespace tcplinger {

// Who and which socket: the same meaning for every kind. A view of the
// record it was decoded from (nothing is copied), valid as long as it; it
// shows only the fields whose meaning does not depend on the kind.
class Subject {
public:
    explicit Subject(const Event& rec) : rec_(&rec) {}
    uint64_t ts_ns() const { return rec_->ts_ns; }  // CLOCK_MONOTONIC
    uint64_t cookie() const { return rec_->cookie; }
    uint32_t netns() const { return rec_->netns; }
    const Endpoint& local() const { return rec_->local; }
    const Endpoint& remote() const { return rec_->remote; }
    const Process& task() const { return rec_->task; }  // the current task
    uint32_t tid() const { return rec_->task_tid; }
    // Ran in the task holding the socket lock (process context).
    bool in_task() const { return rec_->flags & flag::kTaskCtx; }
    // The connect()/listen()/accept() caller as BPF kept it, or none.
    const Process* owner() const { return kept() && !(rec_->flags & flag::kOwnerIsCloser) ? &rec_->owner : nullptr; }
    // The first close()/shutdown() caller as BPF kept it (lean), or none.
    const Process* closer() const { return kept() && (rec_->flags & flag::kOwnerIsCloser) ? &rec_->owner : nullptr; }

private:
    bool kept() const { return rec_->flags & flag::kOwnerKnown; }
    const Event* rec_;
};

// sock:inet_sock_set_state on a full socket.
struct StateChange {
    uint8_t from = 0, to = 0;
    std::optional<uint64_t> time_in_old_ns;  // as BPF measured it; none when it did not see the entry
    bool sk_err = false;                     // a pending socket error (an RST)
    bool tw_overflow = false;                // X -> CLOSE in tcp_time_wait() with tcp_max_tw_buckets full
};

// The full socket's last state when its timewait socket was born (lean
// mode's birth record): it stands for the X -> CLOSE that follows.
struct Handoff {
    uint8_t state = 0;
    std::optional<uint64_t> time_in_state_ns;
};

// A timewait socket's timer (kernel/time/timer.c tracepoints).
struct TimerOp {
    enum class Op : uint8_t { Start, Cancel, Expire } op = Op::Start;
    uint8_t substate = 0;            // FIN-WAIT-2 or TIME-WAIT
    uint64_t expires = 0;            // jiffies
    uint64_t jiffies = 0;            // bpf_jiffies64() at the event; 0 when not read
    uint64_t kaddr = 0;              // the timewait socket's address (live only)
    bool net_dying = false;          // Cancel: the netns is being torn down
    bool connect_reuse = false;      // Cancel: connect() of this task reused the 4-tuple
    bool due = false;                // Cancel: the timer was due
    std::optional<Handoff> handoff;  // Start: a birth that says the full socket's last state
};

// A SYN killed the timewait socket and opened a request on its 4-tuple.
struct Reuse {};

// The current task took the socket: accept() returned it, or /proc named
// the process holding a socket present at start.
struct Taken {
    uint8_t state = 0;
};

// A socket present when tracing started (iter/tcp), or carried over from
// an earlier recording file.
struct Existing {
    uint8_t state = 0;     // TIME-WAIT for a timewait socket
    uint8_t substate = 0;  // timewait sockets: FIN-WAIT-2 or TIME-WAIT
    uint64_t inode = 0;    // full sockets: the socket's inode (0 unknown)
    uint64_t expires = 0;  // timewait sockets: the timer's (jiffies), 0 unknown
    uint64_t jiffies = 0;  // timewait sockets: bpf_jiffies64() at the walk, 0 unknown
    uint64_t kaddr = 0;
};

// A timewait socket's substate read on demand (tl_tw_probe); cookie 0 is a
// clock sample with no socket.
struct Probe {
    uint8_t substate = 0;
    uint64_t expires = 0;
    uint64_t jiffies = 0;
};

using What = std::variant<StateChange, TimerOp, Reuse, Taken, Existing, Probe>;

struct TypedEvent {
    Subject who;
    What what;
};

// Facts of one stream of records rather than of each: CONFIG_HZ, for the
// jiffies in timer events. A live tracer's records and a recording both
// state it; it changes only between recordings of different hosts.
struct SessionFacts {
    uint32_t hz = 0;
};

namespace detail {
inline std::optional<uint64_t> known(uint64_t ns) { return ns ? std::optional<uint64_t>(ns) : std::nullopt; }
}  // namespace detail

// The one reader of a record's per-kind fields. Calls f(const Subject&,
// const K&) once, K being the typed event the record stands for (one of
// What's alternatives); a record of an unknown kind calls nothing. Updates
// *facts from it. The hot paths (the engine) take the alternative as its
// own type, so no variant is built per record; decode_typed() below hands
// over a TypedEvent.
template <class F>
void visit_record(const Event& rec, SessionFacts* facts, F&& f) {
    if (rec.hz && facts) facts->hz = rec.hz;
    const Subject who(rec);
    auto timer = [&](TimerOp::Op op) {
        TimerOp o;
        o.op = op;
        o.substate = rec.new_state;
        o.expires = rec.aux0;
        o.jiffies = rec.aux1;
        o.kaddr = rec.kaddr;
        o.net_dying = rec.flags & flag::kNetDying;
        o.connect_reuse = rec.flags & flag::kConnectReuse;
        o.due = rec.flags & flag::kDue;
        return o;
    };
    switch (rec.kind) {
        case EventKind::State:
            f(who, StateChange{rec.old_state, rec.new_state, detail::known(rec.aux0), (rec.flags & flag::kSkErr) != 0,
                               (rec.flags & flag::kTwOverflow) != 0});
            return;
        case EventKind::TwStart:
            f(who, timer(TimerOp::Op::Start));
            return;
        case EventKind::TwBirth: {
            // aux1 is the time spent in old_state, not jiffies.
            TimerOp o = timer(TimerOp::Op::Start);
            o.jiffies = 0;
            o.handoff = Handoff{rec.old_state, detail::known(rec.aux1)};
            f(who, static_cast<const TimerOp&>(o));
            return;
        }
        case EventKind::TwCancel:
            f(who, timer(TimerOp::Op::Cancel));
            return;
        case EventKind::TwExpire:
            f(who, timer(TimerOp::Op::Expire));
            return;
        case EventKind::TwReuse:
            f(who, Reuse{});
            return;
        case EventKind::Owner:
            f(who, Taken{rec.new_state});
            return;
        case EventKind::Existing: {
            Existing e;
            e.state = rec.new_state;
            e.kaddr = rec.kaddr;
            if (rec.new_state == kTimeWait) {
                e.substate = rec.old_state;
                e.expires = rec.aux0;
                e.jiffies = rec.aux1;
            } else {
                e.inode = rec.aux0;
            }
            f(who, static_cast<const Existing&>(e));
            return;
        }
        case EventKind::TwProbe:
            f(who, Probe{rec.new_state, rec.aux0, rec.aux1});
            return;
    }
}

// The same, as one value: f(const TypedEvent&).
template <class F>
void decode_typed(const Event& rec, SessionFacts* facts, F&& f) {
    visit_record(rec, facts, [&](const Subject& who, const auto& what) {
        f(static_cast<const TypedEvent&>(TypedEvent{who, what}));
    });
}

// A socket that listens: one entering LISTEN, or present at start in it.
template <class K>
bool listens(const K& what) {
    if constexpr (std::is_same_v<K, StateChange>) return what.to == kListen;
    if constexpr (std::is_same_v<K, Existing>) return what.state == kListen;
    return false;
}
inline bool listens(const TypedEvent& t) {
    return std::visit([](const auto& what) { return listens(what); }, t.what);
}
inline bool listens(const Event& rec) {
    bool yes = false;
    visit_record(rec, nullptr, [&](const Subject&, const auto& what) { yes = listens(what); });
    return yes;
}

}  // namespace tcplinger
