#include "lifecycle/engine.hpp"

#include <algorithm>

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

Connection* Engine::find_or_create(const Event& ev, bool* created) {
    *created = false;
    auto it = conns_.find(ev.cookie);
    if (it != conns_.end()) {
        // connect() picks the local port after SYN-SENT (tcp_ipv4.c:
        // tcp_v4_connect): keep the newest view of the 4-tuple.
        if (ev.local.port) it->second.local = ev.local;
        it->second.remote = ev.remote;
        return &it->second;
    }
    if (conns_.size() >= max_connections_) {
        if (refused_.size() >= std::max<size_t>(max_connections_, 65536)) refused_.clear();
        if (refused_.insert(ev.cookie).second) ++counters_.evicted;
        return nullptr;
    }
    Connection& c = conns_[ev.cookie];
    c.netns = ev.netns;
    c.local = ev.local;
    c.remote = ev.remote;
    c.entered_ns = ev.ts_ns;
    *created = true;
    return &c;
}

void Engine::emit(const Connection& c, uint64_t cookie, uint64_t ts, uint8_t from, uint8_t to, const Event* ev,
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
        t.actor = ev->task;
        t.tid = ev->task_tid;
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

void Engine::move_to(Connection& c, uint64_t cookie, uint64_t ts, uint8_t to, const Event* ev, EndReason reason,
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

void Engine::process(const Event& ev) {
    ++counters_.events;
    learn_clock(ev);
    if (ev.ts_ns > kResolveWindowNs) settle_pending(ev.ts_ns - kResolveWindowNs);
    switch (ev.kind) {
        case EventKind::State:
            on_state(ev);
            break;
        case EventKind::TwStart:
            on_tw_start(ev);
            break;
        case EventKind::TwCancel:
            on_tw_cancel(ev);
            break;
        case EventKind::TwExpire:
            on_tw_explained(ev, EndReason::Expired);
            break;
        case EventKind::TwReuse:
            on_tw_explained(ev, EndReason::Reused);
            break;
        case EventKind::Owner:
            on_owner(ev);
            break;
        case EventKind::Existing:
            on_existing(ev);
            break;
        case EventKind::TwProbe:
            on_tw_probe(ev);
            break;
        case EventKind::TwBirth:
            on_tw_birth(ev);
            break;
    }
}

void Engine::reveal_before(const Event& ev, uint64_t limit_ns) {
    learn_clock(ev);
    if (ev.kind != EventKind::TwProbe && ev.kind != EventKind::TwCancel) return;
    if (ev.new_state != kTimeWait) return;
    auto it = conns_.find(ev.cookie);
    if (it == conns_.end()) return;
    Connection& c = it->second;
    if (!c.timewait || c.pending || c.state != kFinWait2) return;
    // As on_tw_probe and finish_timewait would bound it.
    Recovered at = ev.kind == EventKind::TwProbe ? recover_timewait_start(ev.aux0, c.entered_ns, UINT64_MAX, ev.ts_ns)
                                                 : recover_timewait_start(ev.aux0, c.entered_ns, ev.ts_ns, ev.ts_ns);
    if (at.ts_ns < limit_ns) move_to(c, ev.cookie, at.ts_ns, kTimeWait, nullptr, EndReason::None, at.err_ns);
}

void Engine::on_state(const Event& ev) {
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c) return;
    if (created) {
        c->state = ev.old_state;
        bool birth = ev.old_state == kClose || ev.old_state == kListen;
        if (!birth && ev.aux0) {
            c->entered_ns = ev.ts_ns - ev.aux0;
            c->entered_known = true;
        } else if (!birth) {
            ++counters_.unknown_sockets;
        }
    }
    if (ev.in_task() && (ev.new_state == kSynSent || ev.new_state == kListen))
        c->owner = ev.task;
    else
        take_owner(*c, ev);
    // A backup program that was itself interrupted can report a transition
    // its primary already did (see bpf/tcplinger.bpf.c, hit rings): same
    // transition again, with the state already moved on.
    if (ev.in_task() && !c->closer.known() && tl_is_close_call(ev.old_state, ev.new_state)) c->closer = ev.task;
    if (ev.old_state == ev.new_state) {
        // close() after shutdown() (tcp.c: tcp_close_state maps FIN-WAIT-1,
        // FIN-WAIT-2, CLOSING and LAST-ACK to themselves): the same stay
        // goes on; its caller, taken above, was all it had to say.
        if (ev.new_state == kClose) forget(ev.cookie);
        return;
    }
    if (!created && c->state == ev.new_state && c->prev_state == ev.old_state) {
        ++counters_.duplicates;
        return;
    }

    if (ev.new_state == kClose && c->timewait) {
        // tcp_time_wait(): the full socket hands the connection over to the
        // timewait socket (already armed) and disappears.
        if (raw_) emit(*c, ev.cookie, ev.ts_ns, ev.old_state, kClose, &ev, EndReason::None);
        return;
    }
    if (ev.new_state == kClose) {
        // BPF tells tcp_time_wait()'s overflow from the aborts that leave
        // the same states the same way (tw_overflow_close); the timewait
        // hand-off was handled above.
        no_timewait_ = (ev.old_state == kFinWait2 || ev.old_state == kClosing) && (ev.flags & flag::kTwOverflow);
        bool orderly = ev.old_state == kLastAck && !(ev.flags & flag::kSkErr);  // the ACK of our FIN
        bool setup = ev.old_state == kSynSent || ev.old_state == kListen || ev.old_state == kClose;
        aborted_ = !no_timewait_ && !orderly && !setup;
    }
    move_to(*c, ev.cookie, ev.ts_ns, ev.new_state, &ev);
    no_timewait_ = aborted_ = false;
    if (ev.new_state == kClose) forget(ev.cookie);
}

void Engine::take_owner(Connection& c, const Event& ev) {
    if (!ev.owner_known()) return;
    if (ev.flags & flag::kOwnerIsCloser) {
        if (!c.closer.known()) c.closer = ev.owner;
    } else if (!c.owner.known()) {
        c.owner = ev.owner;  // BPF's view: the first task that touched the socket
    }
}

// Lean mode: the full socket's last transition (X -> CLOSE in tcp_done) and
// the timewait socket's birth in one record; the engine may not have seen
// the socket before (entering X was not shipped).
void Engine::on_tw_birth(const Event& ev) {
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c) return;
    bool entry_known = ev.aux1 && ev.aux1 <= ev.ts_ns;
    uint64_t entered = entry_known ? ev.ts_ns - ev.aux1 : ev.ts_ns;
    if (created) {
        c->state = ev.old_state;
        c->entered_ns = entered;
        c->entered_known = entry_known;
        if (!entry_known) ++counters_.unknown_sockets;
    } else if (c->state != ev.old_state && !c->timewait) {
        // Known from an earlier record (accept(), say) but the way into its
        // last state was not shipped: the birth record says when it began.
        move_to(*c, ev.cookie, std::max(entered, c->entered_ns), ev.old_state, nullptr);
        c->entered_known = entry_known;
    }
    on_tw_start(ev);
}

void Engine::on_tw_start(const Event& ev) {
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c) return;
    uint8_t substate = ev.new_state;
    if (ev.kaddr) c->kaddr = ev.kaddr;
    if (ev.hz) c->hz = ev.hz;
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
        if (c->state != substate) move_to(*c, ev.cookie, ev.ts_ns, substate, nullptr);
    } else if (substate == kTimeWait && c->state == kFinWait2) {
        move_to(*c, ev.cookie, ev.ts_ns, kTimeWait, nullptr);
    }
    if (c->state == kFinWait2) queue_probe(ev.cookie, *c);
}

void Engine::on_tw_cancel(const Event& ev) {
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c) return;
    if (created) {
        ++counters_.unknown_sockets;
        c->state = ev.new_state;
        c->timewait = true;
    }
    if (ev.hz) c->hz = ev.hz;
    c->pending = Connection::PendingEnd{ev.ts_ns, ev.flags, ev.new_state, ev.aux0};
    if (ev.flags & flag::kNetDying)
        finish_timewait(ev.cookie, *c, EndReason::Purged);
    else if (ev.flags & flag::kConnectReuse)
        finish_timewait(ev.cookie, *c, EndReason::Reused);
    else
        pending_.emplace_back(ev.ts_ns, ev.cookie);
}

void Engine::on_tw_explained(const Event& ev, EndReason reason) {
    auto it = conns_.find(ev.cookie);
    if (it == conns_.end() || !it->second.pending) return;
    finish_timewait(ev.cookie, it->second, reason);
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

// Every record read from a timewait timer (bpf: tw_fill), the iterator's
// timewait sockets and the probe carry bpf_jiffies64() in aux1 beside
// their bpf_ktime_get_ns(); TwBirth (lean) and TwReuse do not.
void Engine::learn_clock(const Event& ev) {
    if (ev.hz) hz_ = ev.hz;
    if (!ev.aux1) return;
    switch (ev.kind) {
        case EventKind::TwStart:
        case EventKind::TwCancel:
        case EventKind::TwExpire:
        case EventKind::TwProbe:
            break;
        case EventKind::Existing:
            if (ev.new_state != kTimeWait) return;
            break;
        default:
            return;
    }
    // Probe answers carry no HZ: the one the other records had.
    clock_.observe(ev.ts_ns, ev.aux1, ev.hz ? ev.hz : hz_);
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

void Engine::on_tw_probe(const Event& ev) {
    auto it = conns_.find(ev.cookie);
    if (it == conns_.end()) return;
    Connection& c = it->second;
    if (!c.timewait || c.pending || c.state != kFinWait2) return;
    if (ev.new_state != kTimeWait) {
        queue_probe(ev.cookie, c);  // still FIN-WAIT-2: ask again next round
        return;
    }
    // The probe's own time is not a bound: it depends on when this process
    // asked, and another mode asks at other times.
    Recovered at = recover_timewait_start(ev.aux0, c.entered_ns, UINT64_MAX, ev.ts_ns);
    move_to(c, ev.cookie, at.ts_ns, kTimeWait, nullptr, EndReason::None, at.err_ns);
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
        EndReason reason = (it->second.pending->flags & flag::kDue) ? EndReason::Unknown : EndReason::Reset;
        finish_timewait(cookie, it->second, reason);
    }
}

void Engine::forget(uint64_t cookie) { conns_.erase(cookie); }

void Engine::advance(uint64_t now_ns) {
    if (now_ns > kResolveWindowNs) settle_pending(now_ns - kResolveWindowNs);
}

void Engine::flush() { settle_pending(UINT64_MAX); }

void Engine::on_owner(const Event& ev) {
    if (ev.new_state == kClose && !conns_.count(ev.cookie)) return;  // accepted after it ended
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c) return;
    if (created) {
        c->state = ev.new_state;
        c->existing = false;
    }
    c->owner = ev.task;
}

void Engine::on_existing(const Event& ev) {
    bool created = false;
    Connection* c = find_or_create(ev, &created);
    if (!c || !created) return;
    c->existing = true;
    c->stay_before_start = true;
    c->entered_known = false;
    c->entered_ns = ev.ts_ns;
    if (ev.new_state == kTimeWait) {
        c->timewait = true;
        c->state = ev.old_state;  // substate: FIN-WAIT-2 or TIME-WAIT
        c->kaddr = ev.kaddr;
        c->hz = ev.hz;
        // A timewait socket in TIME-WAIT carries its start in its timer
        // (armed for TCP_TIMEWAIT_LEN on entry): exact to the jiffy. An
        // orphan FIN-WAIT-2's timer was armed for tcp_fin_timeout or
        // TCP_LINGER2, unknown here, and FIN-WAIT-2 began on the full
        // socket before that: a lower bound, as for every other state.
        // (A duplicate FIN or ACK in TIME-WAIT re-arms the timer too,
        // tcp_minisocks.c: tcp_timewait_state_process; then this is the
        // age since that segment.) Carried-over records have no timer.
        if (c->state == kTimeWait && ev.aux0 && ev.aux1 && clock_.known()) {
            Recovered at = recover_timewait_start(ev.aux0, 0, ev.ts_ns, ev.ts_ns);
            c->entered_ns = at.ts_ns;
            c->entered_err_ns = at.err_ns;
            c->entered_known = true;
        }
        if (c->state == kFinWait2) queue_probe(ev.cookie, *c);
    } else {
        c->state = ev.new_state;
    }
}

}  // namespace tcplinger
