#include "app/doctor/observe.hpp"

#include <algorithm>
#include <unordered_map>

#include "stats/aggregator.hpp"
#include "stats/filter.hpp"

namespace tcplinger::doctor {

using headroom::destination_of;

Observer::Observer(size_t max_connections) : max_connections_(max_connections) { begin_run(); }

void Observer::begin_run() {
    engine_ = std::make_unique<Engine>(max_connections_);
    engine_->set_transitions(Engine::Transitions::NoTimeWaitOnly);
    engine_->on_transition([this](const Transition& t) {
        if (!t.no_timewait) return;
        ++no_timewait_;
        ++no_tw_by_dest_[destination_of(t.netns, t.local, t.remote)];
    });
    engine_->on_residency([this](const Residency& r) {
        if (r.state == kTimeWait && r.reason == EndReason::Expired && !r.lower_bound)
            tw_expired_ns_.push_back(r.duration_ns());
    });
    snapshot_open_ = true;
}

void Observer::event(const Event& rec) {
    decode_typed(rec, nullptr, [&](const TypedEvent& t) { event(rec, t); });
}

void Observer::event(const Event& rec, const TypedEvent& t) {
    const Subject& ev = t.who;
    if (!first_ns_) first_ns_ = ev.ts_ns();
    const auto* ex = std::get_if<Existing>(&t.what);
    const auto* op = std::get_if<TimerOp>(&t.what);
    // run_live feeds the jiffies clock sample (Tracer::clock_sample: a
    // Probe with no socket) before the snapshot, and recordings begin with
    // it: it neither belongs to the snapshot nor ends it.
    const bool clock_sample = std::holds_alternative<Probe>(t.what) && ev.cookie() == 0;
    if (ex && snapshot_open_)
        sockets_.add(rec);  // the start pass stays open until the end (every run's snapshot)
    else if (!std::holds_alternative<Taken>(t.what) && !clock_sample)
        snapshot_open_ = false;
    if (listens(t)) listening_.insert({ev.netns(), ev.local().port});
    // A timewait socket is born (its timer's first start). Counted once per
    // connection: a re-armed timer can start again.
    const bool born = op && op->op == TimerOp::Op::Start && tw_cookies_.insert(ev.cookie()).second;
    engine_->process(rec);
    if (!born) return;
    // Charged to the process the engine charges the stay to (responsible():
    // the first close() caller, else the owner), as report and stats do;
    // the event's own closer, owner or task only when the engine has no
    // connection.
    Process p = ev.closer() ? *ev.closer() : ev.owner() ? *ev.owner() : ev.task();
    if (auto c = engine_->connections().find(ev.cookie()); c != engine_->connections().end()) {
        const Process& charged = responsible(c->second, kTimeWait);
        if (charged.known()) p = charged;
    }
    ++by_process_[{ev.netns(), {p.pid, p.comm}}];
    // A server that closes first holds TIME-WAIT on its listening port:
    // that is no destination of its own connect() calls.
    if (listening_.count({ev.netns(), ev.local().port})) return;
    auto d = destination_of(ev.netns(), ev.local(), ev.remote());
    ++tw_born_[d];
    if (p.known()) ++dest_processes_[d][{p.pid, p.comm}];
}

void Observer::set_end_sockets(const std::vector<Event>& existing) {
    sockets_.commit();  // the start pass
    sockets_.begin(0);
    for (const Event& ev : existing) sockets_.add(ev);
    sockets_.commit();
    end_given_ = true;
}

SocketTable Observer::end_table(uint64_t now_ns) const {
    if (end_given_) return sockets_;
    SocketTable t = sockets_;
    t.commit();
    t.begin(now_ns);
    for (const auto& [cookie, c] : engine_->connections()) t.add(sample_of(c, now_ns));
    t.commit();
    return t;
}

Observation Observer::build(const NetnsState& ns, uint64_t now_ns, double seconds) const {
    Observation o;
    o.seconds = seconds;
    o.no_timewait = no_timewait_;
    headroom::NetnsPorts ports = ports_of(ns);
    SocketTable table = end_table(now_ns);
    std::vector<headroom::SocketSample> start = table.previous(ns.inode);
    std::vector<headroom::SocketSample> end = table.sockets(ns.inode);

    // Destinations: every one with sockets at the end or TIME-WAIT made.
    std::map<headroom::Destination, headroom::Headroom> at_end;
    for (const auto& h : headroom::compute(ports, end, ns.inode)) at_end[h.dest] = h;
    for (const auto* born : {&tw_born_, &no_tw_by_dest_})
        for (const auto& [d, n] : *born)
            if (d.netns == ns.inode && !at_end.count(d)) at_end[d] = headroom::compute_one(ports, end, d);
    for (const auto& [d, h] : at_end) {
        DestinationLoad load;
        load.headroom = h;
        if (auto it = tw_born_.find(d); it != tw_born_.end()) load.time_wait_entered = it->second;
        if (auto it = no_tw_by_dest_.find(d); it != no_tw_by_dest_.end()) load.closes_without_time_wait = it->second;
        uint32_t held_start = headroom::compute_one(ports, start, d).taken;
        if (seconds > 0) load.growth_per_s = (static_cast<double>(h.taken) - held_start) / seconds;
        if (auto it = dest_processes_.find(d); it != dest_processes_.end()) {
            std::vector<std::pair<uint64_t, std::string>> procs;
            for (const auto& [p, n] : it->second)
                procs.push_back({n, p.second + " (pid " + std::to_string(p.first) + ")"});
            std::sort(procs.rbegin(), procs.rend());
            for (const auto& [n, name] : procs) load.processes.push_back(name);
        }
        if (!load.time_wait_entered && !load.closes_without_time_wait && h.taken == 0) continue;
        o.destinations.push_back(std::move(load));
    }
    std::sort(o.destinations.begin(), o.destinations.end(), [](const DestinationLoad& a, const DestinationLoad& b) {
        if (a.time_wait_entered != b.time_wait_entered) return a.time_wait_entered > b.time_wait_entered;
        return a.headroom.headroom < b.headroom.headroom;
    });

    // Processes: lean mode's TwBirth carries the closer (who gets the
    // TIME-WAIT); a full recording's TwStart the socket's owner.
    for (const auto& [key, n] : by_process_)
        if (key.first == ns.inode) o.processes.push_back({Process{key.second.first, key.second.second, 0}, n});
    std::sort(o.processes.begin(), o.processes.end(),
              [](const ProcessLoad& a, const ProcessLoad& b) { return a.time_wait_entered > b.time_wait_entered; });

    // CLOSE-WAIT leak candidates, per process holding the socket now: the
    // stats Aggregator's choice (the lowest holding pid), so doctor and
    // stats name the same process when accept() ran in a parent that forked
    // or passed the socket on. Without holders (a recording), the owner.
    std::unordered_map<uint64_t, Process> holder_of;
    if (!holders_.empty())
        for (const auto& g : Aggregator(GroupBy::Process, Filter{}).report(*engine_, now_ns, 0, holders_))
            for (const auto& h : g.holders)
                if (h.holder.pid == g.key.pid) holder_of.emplace(h.cookie, h.holder);
    std::map<std::pair<uint32_t, std::string>, CloseWaitGroup> cw;
    for (const auto& [cookie, c] : engine_->connections()) {
        if (c.netns != ns.inode || c.timewait || c.state != kCloseWait) continue;
        uint64_t age = now_ns > c.entered_ns ? now_ns - c.entered_ns : 0;
        if (age < kCloseWaitSuspectNs) continue;
        auto held = holder_of.find(cookie);
        const Process& p = held != holder_of.end() ? held->second : responsible(c, kCloseWait);
        auto& g = cw[{p.pid, p.comm}];
        g.owner = p;
        ++g.sockets;
        if (age / 1'000'000 >= g.oldest_ms) {
            g.oldest_ms = age / 1'000'000;
            g.oldest_at_least = !c.entered_known;
            g.example = format_endpoint(c.remote);
        }
    }
    for (auto& [k, g] : cw) o.close_wait.push_back(g);
    std::sort(o.close_wait.begin(), o.close_wait.end(),
              [](const CloseWaitGroup& a, const CloseWaitGroup& b) { return a.sockets > b.sockets; });

    std::vector<uint64_t> tw = tw_expired_ns_;
    std::sort(tw.begin(), tw.end());
    o.tw_expired = tw.size();
    if (!tw.empty()) {
        o.tw_p50_ns = tw[tw.size() / 2];
        o.tw_max_ns = tw.back();
    }
    return o;
}

}  // namespace tcplinger::doctor
