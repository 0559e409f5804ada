#include "lifecycle/engine.hpp"

#include <algorithm>
#include <type_traits>
#include <variant>

#include "core/abi_check.hpp"

namespace tcplinger {

std::string_view end_reason_name(EndReason r) {
    switch (r) {
        case EndReason::None:
            return "";
        case EndReason::Expired:
            return "expired";
        case EndReason::Reused:
            return "reused";
        case EndReason::Reset:
            return "reset";
        case EndReason::Purged:
            return "purged";
        case EndReason::Unknown:
            return "unknown";
    }
    return "unknown";
}

const Process& responsible(const Connection& c, uint8_t) {
    // The close() that ends CLOSE-WAIT (CLOSE-WAIT -> LAST-ACK, or -> CLOSE
    // with unread data or SO_LINGER 0) runs in its caller's context (tcp.c:
    // tcp_close -> tcp_close_state, __tcp_close), so it names the closer
    // before the stay is measured (Engine::on_state). No state needs the
    // owner once the closer is known.
    return c.closer.known() ? c.closer : c.owner;
}

Connection* Engine::find_or_create(const Subject& ev, bool* created) {
    *created = false;
    auto it = conns_.find(ev.cookie());
    if (it != conns_.end()) {
        // connect() picks the local port after SYN-SENT (tcp_ipv4.c:
        // tcp_v4_connect): keep the newest view of the 4-tuple.
        if (ev.local().port) it->second.local = ev.local();
        it->second.remote = ev.remote();
        return &it->second;
    }
    if (conns_.size() >= max_connections_) {
        if (refused_.size() >= std::max<size_t>(max_connections_, 65536)) refused_.clear();
        if (refused_.insert(ev.cookie()).second) ++counters_.evicted;
        return nullptr;
    }
    Connection& c = conns_[ev.cookie()];
    c.netns = ev.netns();
    c.local = ev.local();
    c.remote = ev.remote();
    c.entered_ns = ev.ts_ns();
    *created = true;
    return &c;
}

void Engine::emit(const Connection& c, uint64_t cookie, uint64_t ts, uint8_t from, uint8_t to, const Subject* ev,
                  EndReason reason, uint64_t ts_err_ns) {
    if (!transition_fn_ || (transitions_ == Transitions::NoTimeWaitOnly && !no_timewait_ && !aborted_)) return;
    Transition t;
    t.ts_ns = ts;
    t.cookie = cookie;
    t.netns = c.netns;
    t.local = c.local;
    t.remote = c.remote;
    t.old_state = from;
    t.new_state = to;
    if (c.entered_known || c.existing) {
        t.prev_ns = ts >= c.entered_ns ? ts - c.entered_ns : 0;
        t.prev_at_least = !c.entered_known;
        t.prev_err_ns = c.entered_err_ns + ts_err_ns;
    }
    t.owner = c.owner;
    t.charged = responsible(c, to);
    if (ev && ev->in_task()) {
        t.in_task = true;
        t.actor = ev->task();
        t.tid = ev->tid();
    } else {
        t.actor = c.timewait ? responsible(c, to) : c.owner;
    }
    t.reason = reason;
    t.timewait = c.timewait;
    t.rearmed = c.rearmed;
    t.no_timewait = no_timewait_;
    t.aborted = aborted_;
    if (no_timewait_) t.charged = responsible(c, c.timewait ? kTimeWait : kFinWait2);
    if (aborted_) t.charged = responsible(c, from);  // the process charged for the stay it cut short
    transition_fn_(t);
}

void Engine::move_to(Connection& c, uint64_t cookie, uint64_t ts, uint8_t to, const Subject* ev, EndReason reason,
                     uint64_t ts_err_ns) {
    emit(c, cookie, ts, c.state, to, ev, reason, ts_err_ns);
    if (residency_fn_ && (c.entered_known || c.existing) && c.state != kClose) {
        Residency r;
        r.state = c.state;
        r.start_ns = c.entered_ns;
        r.end_ns = ts >= c.entered_ns ? ts : c.entered_ns;
        r.lower_bound = !c.entered_known;
        r.present_at_start = c.stay_before_start;
        r.owner = responsible(c, c.state);
        r.netns = c.netns;
        r.local = c.local;
        r.remote = c.remote;
        r.cookie = cookie;
        r.reason = reason;
        residency_fn_(r);
    }
    c.prev_state = c.state;
    c.state = to;
    c.entered_ns = ts;
    c.entered_known = true;
    c.entered_err_ns = ts_err_ns;
    c.stay_before_start = false;
    if (c.timewait && to == kFinWait2) queue_probe(cookie, c);
}

void Engine::queue_probe(uint64_t cookie, Connection& c) {
    if (c.probe_queued || !c.kaddr) return;
    c.probe_queued = true;
    probe_queue_.emplace_back(c.kaddr, cookie);
}

void Engine::process(const Event& rec) {
    visit_record(rec, &facts_, [this](const Subject& who, const auto& what) { apply(who, what); });
}

void Engine::process(const TypedEvent& t) {
    std::visit([&](const auto& what) { apply(t.who, what); }, t.what);
}

template <class K>
void Engine::apply(const Subject& who, const K& what) {
    ++counters_.events;
    learn_clock(who, what);
    if (who.ts_ns() > kResolveWindowNs) settle_pending(who.ts_ns() - kResolveWindowNs);
    if constexpr (std::is_same_v<K, StateChange>) on_state(who, what);
    if constexpr (std::is_same_v<K, TimerOp>) on_timer(who, what);
    if constexpr (std::is_same_v<K, Reuse>) on_tw_explained(who, EndReason::Reused);
    if constexpr (std::is_same_v<K, Taken>) on_taken(who, what);
    if constexpr (std::is_same_v<K, Existing>) on_existing(who, what);
    if constexpr (std::is_same_v<K, Probe>) on_probe(who, what);
}

void Engine::reveal_before(const Event& rec, uint64_t limit_ns) {
    visit_record(rec, &facts_, [&](const Subject& who, const auto& what) {
        using K = std::decay_t<decltype(what)>;
        learn_clock(who, what);
        // Only a probe or a cancel in TIME-WAIT reveals a hidden move.
        if constexpr (std::is_same_v<K, Probe> || std::is_same_v<K, TimerOp>) {
            uint64_t not_after = who.ts_ns();
            if constexpr (std::is_same_v<K, TimerOp>) {
                if (what.op != TimerOp::Op::Cancel) return;
            } else {
                not_after = UINT64_MAX;  // as on_probe bounds it
            }
            if (what.substate != kTimeWait) return;
            auto it = conns_.find(who.cookie());
            if (it == conns_.end()) return;
            Connection& c = it->second;
            if (!c.timewait || c.pending || c.state != kFinWait2) return;
            // As on_probe and finish_timewait would bound it.
            Recovered at = recover_timewait_start(what.expires, c.entered_ns, not_after, who.ts_ns());
            if (at.ts_ns < limit_ns) move_to(c, who.cookie(), at.ts_ns, kTimeWait, nullptr, EndReason::None, at.err_ns);
        }
    });
}

void Engine::on_state(const Subject& ev, const StateChange& sc) {
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c) return;
    if (created) {
        c->state = sc.from;
        bool birth = sc.from == kClose || sc.from == kListen;
        if (!birth && sc.time_in_old_ns) {
            c->entered_ns = ev.ts_ns() - *sc.time_in_old_ns;
            c->entered_known = true;
        } else if (!birth) {
            ++counters_.unknown_sockets;
        }
    }
    if (ev.in_task() && (sc.to == kSynSent || sc.to == kListen))
        c->owner = ev.task();
    else
        take_owner(*c, ev);
    // The first close()/shutdown() caller: the one every lingering stay is
    // charged to (responsible()).
    if (ev.in_task() && !c->closer.known() && tl_is_close_call(sc.from, sc.to)) c->closer = ev.task();
    if (sc.from == sc.to) {
        // close() after shutdown() (tcp.c: tcp_close_state maps FIN-WAIT-1,
        // FIN-WAIT-2, CLOSING and LAST-ACK to themselves): the same stay
        // goes on; its caller, taken above, was all it had to say.
        if (sc.to == kClose) forget(ev.cookie());
        return;
    }
    // A backup program that was itself interrupted can report a transition
    // its primary already did (bpf/common.bpf.h, TL_PAIR): same transition
    // again, with the state already moved on.
    if (!created && c->state == sc.to && c->prev_state == sc.from) {
        ++counters_.duplicates;
        return;
    }

    if (sc.to == kClose && c->timewait) {
        // tcp_time_wait(): the full socket hands the connection over to the
        // timewait socket (already armed) and disappears.
        if (raw_) emit(*c, ev.cookie(), ev.ts_ns(), sc.from, kClose, &ev, EndReason::None);
        return;
    }
    if (sc.to == kClose) {
        // BPF tells tcp_time_wait()'s overflow from the aborts that leave
        // the same states the same way (tw_overflow_close); the timewait
        // hand-off was handled above.
        no_timewait_ = (sc.from == kFinWait2 || sc.from == kClosing) && sc.tw_overflow;
        bool orderly = sc.from == kLastAck && !sc.sk_err;  // the ACK of our FIN
        bool setup = sc.from == kSynSent || sc.from == kListen || sc.from == kClose;
        aborted_ = !no_timewait_ && !orderly && !setup;
    }
    move_to(*c, ev.cookie(), ev.ts_ns(), sc.to, &ev);
    no_timewait_ = aborted_ = false;
    if (sc.to == kClose) forget(ev.cookie());
}

void Engine::take_owner(Connection& c, const Subject& ev) {
    if (ev.closer() && !c.closer.known()) c.closer = *ev.closer();
    if (ev.owner() && !c.owner.known()) c.owner = *ev.owner();  // BPF's view: the first task that touched the socket
}

void Engine::on_timer(const Subject& ev, const TimerOp& op) {
    switch (op.op) {
        case TimerOp::Op::Start:
            on_tw_start(ev, op);
            break;
        case TimerOp::Op::Cancel:
            on_tw_cancel(ev, op);
            break;
        case TimerOp::Op::Expire:
            on_tw_explained(ev, EndReason::Expired);
            break;
    }
}

void Engine::on_tw_start(const Subject& ev, const TimerOp& op) {
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c) return;
    const uint8_t substate = op.substate;
    if (op.handoff) {
        // The birth says the full socket's last state X and since when (the
        // way into X may not have been shipped: lean mode). A socket first
        // seen here began X then; one known from an earlier record (accept(),
        // say) moves into X at that time.
        const Handoff& h = *op.handoff;
        bool entry_known = h.time_in_state_ns && *h.time_in_state_ns <= ev.ts_ns();
        uint64_t entered = entry_known ? ev.ts_ns() - *h.time_in_state_ns : ev.ts_ns();
        if (created) {
            c->state = h.state;
            c->entered_ns = entered;
            c->entered_known = entry_known;
            if (!entry_known) ++counters_.unknown_sockets;
        } else if (c->state != h.state && !c->timewait) {
            move_to(*c, ev.cookie(), std::max(entered, c->entered_ns), h.state, nullptr);
            c->entered_known = entry_known;
        }
        created = false;  // known now, as if from the record before
    }
    if (op.kaddr) c->kaddr = op.kaddr;
    if (created) {
        ++counters_.unknown_sockets;
        c->state = substate;
        c->timewait = true;
        c->entered_known = substate == kTimeWait;  // TIME-WAIT begins now; FIN-WAIT-2 began earlier
    }
    take_owner(*c, ev);
    if (c->pending) {
        // timer_cancel then timer_start of the same timer: __mod_timer re-arm
        c->pending.reset();
        c->rearmed = true;
    } else if (c->timewait && !created) {
        c->rearmed = true;
    }
    if (!c->timewait) {
        c->timewait = true;
        if (c->state != substate) move_to(*c, ev.cookie(), ev.ts_ns(), substate, nullptr);
    } else if (substate == kTimeWait && c->state == kFinWait2) {
        move_to(*c, ev.cookie(), ev.ts_ns(), kTimeWait, nullptr);
    }
    if (c->state == kFinWait2) queue_probe(ev.cookie(), *c);
}

void Engine::on_tw_cancel(const Subject& ev, const TimerOp& op) {
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c) return;
    if (created) {
        ++counters_.unknown_sockets;
        c->state = op.substate;
        c->timewait = true;
    }
    c->pending = Connection::PendingEnd{ev.ts_ns(), op.due, op.substate, op.expires};
    if (op.net_dying)
        finish_timewait(ev.cookie(), *c, EndReason::Purged);
    else if (op.connect_reuse)
        finish_timewait(ev.cookie(), *c, EndReason::Reused);
    else
        pending_.emplace_back(ev.ts_ns(), ev.cookie());
}

void Engine::on_tw_explained(const Subject& ev, EndReason reason) {
    auto it = conns_.find(ev.cookie());
    if (it == conns_.end() || !it->second.pending) return;
    finish_timewait(ev.cookie(), it->second, reason);
}

void Engine::finish_timewait(uint64_t cookie, Connection& c, EndReason reason) {
    Connection::PendingEnd p = *c.pending;
    c.pending.reset();
    c.timewait = true;
    if (p.substate == kTimeWait && c.state != kTimeWait) {
        // The cancel is a kernel event, seen alike by every mode: a bound.
        Recovered at = recover_timewait_start(p.expires, c.entered_ns, p.ts_ns, p.ts_ns);
        move_to(c, cookie, at.ts_ns, kTimeWait, nullptr, EndReason::None, at.err_ns);
    }
    move_to(c, cookie, p.ts_ns, kClose, nullptr, reason);
    forget(cookie);
}

void JiffyClock::observe(uint64_t ts_ns, uint64_t jiffies, uint32_t hz) {
    if (!hz) return;
    if (hz != hz_) {
        hz_ = hz;
        known_ = false;
    }
    uint64_t offset = ts_ns - jiffies * tick_ns(hz);  // modulo 2^64, as jiffy_start() adds it back
    if (!known_ || static_cast<int64_t>(offset - offset_) < 0) offset_ = offset;
    known_ = true;
}

// Every event read from a timewait timer (bpf: tw_fill), the iterator's
// timewait sockets and the probe carry bpf_jiffies64() beside their
// bpf_ktime_get_ns(); a lean birth and a SYN reuse do not.
template <class K>
void Engine::learn_clock(const Subject& who, const K& what) {
    uint64_t jiffies = 0;
    if constexpr (std::is_same_v<K, TimerOp> || std::is_same_v<K, Probe>) jiffies = what.jiffies;
    if constexpr (std::is_same_v<K, Existing>) jiffies = what.state == kTimeWait ? what.jiffies : 0;
    if (jiffies) clock_.observe(who.ts_ns(), jiffies, facts_.hz);
}

Engine::Recovered Engine::recover_timewait_start(uint64_t expires, uint64_t not_before, uint64_t not_after,
                                                 uint64_t seen_ns) const {
    // A move to TIME-WAIT sets expires = jiffies + TCP_TIMEWAIT_LEN
    // (tcp_minisocks.c: tcp_time_wait and tcp_timewait_state_process via
    // inet_timewait_sock.c: inet_twsk_reschedule), so it happened during
    // jiffy expires - 60 * HZ. Nothing says where inside that jiffy: the
    // midpoint of what is left of it once clamped to the stay's known
    // bounds, with half that width as the error. Only kernel facts go in
    // (expires, the learned clock, event times), never when the tracer
    // happened to probe, so every mode and every replay agree.
    const uint64_t tick = clock_.tick();
    not_after = std::max(not_after, not_before);
    if (!clock_.known() || !tick) {
        // No HZ seen at all (a stream without timer records): somewhere
        // between the stay's start and the event that showed it.
        uint64_t hi = std::clamp(seen_ns, not_before, not_after);
        return {not_before + (hi - not_before) / 2, (hi - not_before + 1) / 2};
    }
    const uint64_t jiffy = expires - kTimeWaitLenSec * clock_.hz();
    const uint64_t begin = clock_.jiffy_start(jiffy);
    uint64_t lo = std::max(begin, not_before), hi = std::min(begin + tick, not_after);
    if (lo <= hi) return {lo + (hi - lo) / 2, (hi - lo + 1) / 2};
    // The bounds miss that jiffy (a jiffies read stale by a late tick):
    // the nearest bound, with the jiffy's own error.
    return {std::clamp(begin + tick / 2, not_before, not_after), tick / 2};
}

void Engine::on_probe(const Subject& ev, const Probe& p) {
    auto it = conns_.find(ev.cookie());
    if (it == conns_.end()) return;
    Connection& c = it->second;
    if (!c.timewait || c.pending || c.state != kFinWait2) return;
    if (p.substate != kTimeWait) {
        queue_probe(ev.cookie(), c);  // still FIN-WAIT-2: ask again next round
        return;
    }
    // The probe's own time is not a bound: it depends on when this process
    // asked, and another mode asks at other times.
    Recovered at = recover_timewait_start(p.expires, c.entered_ns, UINT64_MAX, ev.ts_ns());
    move_to(c, ev.cookie(), at.ts_ns, kTimeWait, nullptr, EndReason::None, at.err_ns);
}

uint64_t Engine::earliest_unemitted_ns() const {
    uint64_t t = pending_.empty() ? UINT64_MAX : pending_.front().first;  // arrival order, oldest first
    for (const auto& [kaddr, cookie] : probe_queue_) {
        auto it = conns_.find(cookie);
        if (it != conns_.end() && it->second.timewait && it->second.state == kFinWait2)
            t = std::min(t, it->second.entered_ns);
    }
    return t;
}

std::vector<std::pair<uint64_t, uint64_t>> Engine::timewait_probes(size_t max) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    while (out.size() < max && !probe_queue_.empty()) {
        auto [kaddr, cookie] = probe_queue_.front();
        probe_queue_.pop_front();
        auto it = conns_.find(cookie);
        if (it == conns_.end()) continue;  // ended since
        Connection& c = it->second;
        c.probe_queued = false;  // an answer of FIN-WAIT-2 queues it again (on_tw_probe)
        if (c.timewait && c.state == kFinWait2 && c.kaddr == kaddr && !c.pending) out.emplace_back(kaddr, cookie);
    }
    return out;
}

void Engine::settle_pending(uint64_t up_to_ns) {
    while (!pending_.empty() && pending_.front().first <= up_to_ns) {
        auto [ts, cookie] = pending_.front();
        pending_.pop_front();
        auto it = conns_.find(cookie);
        if (it == conns_.end() || !it->second.pending || it->second.pending->ts_ns != ts) continue;
        // No re-arm, expiry or SYN followed. A due timer that did not run was
        // killed while overdue, cause unknown; an early kill without a new
        // request on the 4-tuple is an RST in TIME-WAIT (tcp_minisocks.c:
        // tcp_timewait_state_process) or a sock_destroy (ss -K).
        EndReason reason = it->second.pending->due ? EndReason::Unknown : EndReason::Reset;
        finish_timewait(cookie, it->second, reason);
    }
}

void Engine::forget(uint64_t cookie) { conns_.erase(cookie); }

void Engine::advance(uint64_t now_ns) {
    if (now_ns > kResolveWindowNs) settle_pending(now_ns - kResolveWindowNs);
}

void Engine::flush() { settle_pending(UINT64_MAX); }

void Engine::on_taken(const Subject& ev, const Taken& tk) {
    if (tk.state == kClose && !conns_.count(ev.cookie())) return;  // accepted after it ended
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c) return;
    if (created) {
        c->state = tk.state;
        c->existing = false;
    }
    c->owner = ev.task();
}

void Engine::on_existing(const Subject& ev, const Existing& ex) {
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c || !created) return;
    c->existing = true;
    c->stay_before_start = true;
    c->entered_known = false;
    c->entered_ns = ev.ts_ns();
    if (ex.state == kTimeWait) {
        c->timewait = true;
        c->state = ex.substate;  // FIN-WAIT-2 or TIME-WAIT
        c->kaddr = ex.kaddr;
        // A timewait socket in TIME-WAIT carries its start in its timer
        // (armed for TCP_TIMEWAIT_LEN on entry): exact to the jiffy. An
        // orphan FIN-WAIT-2's timer was armed for tcp_fin_timeout or
        // TCP_LINGER2, unknown here, and FIN-WAIT-2 began on the full
        // socket before that: a lower bound, as for every other state.
        // (A duplicate FIN or ACK in TIME-WAIT re-arms the timer too,
        // tcp_minisocks.c: tcp_timewait_state_process; then this is the
        // age since that segment.) Carried-over records have no timer.
        if (c->state == kTimeWait && ex.expires && ex.jiffies && clock_.known()) {
            Recovered at = recover_timewait_start(ex.expires, 0, ev.ts_ns(), ev.ts_ns());
            c->entered_ns = at.ts_ns;
            c->entered_err_ns = at.err_ns;
            c->entered_known = true;
        }
        if (c->state == kFinWait2) queue_probe(ev.cookie(), *c);
    } else {
        c->state = ex.state;
    }
}

}  // namespace tcplinger
