#include "app/top/model.hpp"

#include <algorithm>
#include <string_view>

#include "stats/aggregator.hpp"

namespace tcplinger::top {

namespace {
double per_s(uint64_t now, uint64_t before, double seconds) {
    return seconds > 0 && now > before ? static_cast<double>(now - before) / seconds : 0;
}
}  // namespace

bool Model::server_side(uint32_t netns, const Endpoint& local, const Endpoint& remote) const {
    if (listeners_.count({netns, local.port})) return true;
    auto it = ranges_.find(netns);
    headroom::PortRange range = it == ranges_.end() ? headroom::PortRange{} : it->second;
    return !range.contains(local.port) && range.contains(remote.port);
}

// A connection is counted once, when it first enters TIME-WAIT or
// CLOSE-WAIT (whoever closed first), gets no TIME-WAIT (overflow) or is
// aborted: the rate at which connections end, which in a storm is the rate
// at which they are made (lean mode ships no set-up transitions).
void Model::count_close(const Process& p, uint32_t netns, const Endpoint& local, const Endpoint& remote, bool tw,
                        bool abort) {
    const std::string_view comm = p.pid ? std::string_view(p.comm) : std::string_view();
    LastClose& last = last_close_;
    if (!last.tally || last.pid != p.pid || last.comm != comm) {
        last = LastClose{p.pid, std::string(comm)};
        last.tally = &processes_[ProcessKey{last.pid, last.comm}];
    }
    if (p.cgroup) {
        if (!last.cgroup) last.cgroup = &cgroups_[ProcessKey{last.pid, last.comm}];
        *last.cgroup = p.cgroup;
    }
    Tally& pt = *last.tally;
    pt.tw += tw;
    pt.aborts += abort;
    pt.conns++;
    Tally& t = server_side(netns, local, remote) ? ports_[{netns, local.port}] : destinations_[{netns, remote}];
    t.tw += tw;
    t.aborts += abort;
    t.conns++;
}

void Model::add(const Residency& r) {
    if (r.lower_bound || r.present_at_start) return;
    if ((r.state != kTimeWait && r.state != kCloseWait) || !filter_.match(r)) return;
    count_close(r.owner, r.netns, r.local, r.remote, r.state == kTimeWait, false);
}

void Model::add(const Transition& t) {
    if (!close_matches(filter_, t)) return;  // as stats filters a close
    aborts_ += t.aborted;
    count_close(t.charged, t.netns, t.local, t.remote, false, t.aborted);
}

Frame Model::refresh(const Engine& engine, uint64_t now_ns, uint64_t wall_ns, const HostSample& host,
                     const std::vector<DestinationHeadroom>& headroom, const HolderIndex& holders, bool by_comm) {
    const double dt = static_cast<double>(now_ns - (first_ ? start_ns_ : prev_ns_)) / 1e9;
    if (first_) start_host_ = prev_host_ = host;
    // Since start = the stays that ended + those in their state now that
    // began since start.
    auto procs = processes_;
    auto dests = destinations_;
    auto ports = ports_;
    struct Now {
        uint64_t tw = 0, cw = 0, fw2 = 0, cw_oldest = 0;
        bool at_least = false;
    };
    std::map<ProcessKey, Now> pnow;
    std::map<DestKey, uint64_t> dest_tw;
    std::map<PortKey, Now> port_now;
    // The process of the connection before: a storm's sockets belong to a
    // few processes, and a map lookup by (pid, comm) per socket is most of a
    // refresh with tens of thousands of them (perf: string compares). std::map
    // references stay valid as the maps grow.
    struct Last {
        ProcessKey key;
        Now* now = nullptr;
        Tally* tally = nullptr;      // procs, made only for a fresh stay
        uint64_t* cgroup = nullptr;  // cgroups_, made only for a known cgroup
    } last;
    for (const auto& [cookie, c] : engine.connections()) {
        if (c.state != kTimeWait && c.state != kCloseWait && c.state != kFinWait2) continue;
        const Process* charged = holders.charged(cookie, c, filter_);
        if (!charged) continue;
        const Process& p = *charged;
        if (!last.now || last.key.first != p.pid || last.key.second != (p.pid ? std::string_view(p.comm) : "")) {
            last = Last{};
            last.key = ProcessKey{p.pid, p.pid ? p.comm : ""};
            last.now = &pnow[last.key];
        }
        const ProcessKey& pk = last.key;
        if (p.cgroup) {
            if (!last.cgroup) last.cgroup = &cgroups_[pk];
            *last.cgroup = p.cgroup;
        }
        const bool server = server_side(c.netns, c.local, c.remote);
        Now& n = *last.now;
        // Only a server's sockets are counted per local port (a client's
        // would add one entry per ephemeral port, all of them empty).
        Now* pn = server ? &port_now[{c.netns, c.local.port}] : nullptr;
        if (c.state == kTimeWait) {
            ++n.tw;
            if (server)
                ++pn->tw;
            else
                ++dest_tw[{c.netns, c.remote}];
        } else if (c.state == kCloseWait) {
            ++n.cw;
            if (server) ++pn->cw;
            uint64_t age = now_ns > c.entered_ns ? now_ns - c.entered_ns : 0;
            if (age >= n.cw_oldest) {
                n.at_least = !c.entered_known;
                n.cw_oldest = age;
            }
        } else {
            ++n.fw2;
        }
        const bool fresh = c.entered_known && c.entered_ns >= start_ns_ && !c.stay_before_start;
        if (!fresh || c.state == kFinWait2) continue;
        const bool tw = c.state == kTimeWait;
        if (!last.tally) last.tally = &procs[pk];
        last.tally->tw += tw;
        last.tally->conns++;
        Tally& t = server ? ports[{c.netns, c.local.port}] : dests[{c.netns, c.remote}];
        t.tw += tw;
        t.conns++;
    }

    Frame f;
    f.by_comm = by_comm;
    Header& h = f.header;
    h.wall_ns = wall_ns;
    h.interval_s = dt;
    h.uptime_s = static_cast<double>(now_ns - start_ns_) / 1e9;
    h.host = host;
    if (host.known && prev_host_.known) {
        h.active_opens_per_s = per_s(host.active_opens, prev_host_.active_opens, dt);
        h.passive_opens_per_s = per_s(host.passive_opens, prev_host_.passive_opens, dt);
        h.overflows = host.tw_overflow >= start_host_.tw_overflow ? host.tw_overflow - start_host_.tw_overflow : 0;
    }
    h.aborts = aborts_;
    uint64_t tw_total = 0;
    for (const auto& [k, t] : procs) tw_total += t.tw;
    h.tw_entered_per_s = per_s(tw_total, prev_tw_total_, dt);

    // Processes, one row per (pid, comm), folded by comm when asked.
    std::map<ProcessKey, ProcessRow> rows;
    auto row_of = [&](const ProcessKey& k) -> ProcessRow& {
        ProcessRow& r = rows[k];
        r.pid = k.first;
        r.comm = k.second;
        r.workers = k.first ? 1 : 0;
        if (auto it = cgroups_.find(k); it != cgroups_.end()) r.cgroup = it->second;
        return r;
    };
    for (const auto& [k, t] : procs) {
        ProcessRow& r = row_of(k);
        const Tally& before = prev_processes_[k];
        r.tw_entered = t.tw;
        r.aborts = t.aborts;
        r.tw_per_s = per_s(t.tw, before.tw, dt);
        r.aborts_per_s = per_s(t.aborts, before.aborts, dt);
    }
    for (const auto& [k, n] : pnow) {
        ProcessRow& r = row_of(k);
        r.tw_now = n.tw;
        r.cw_now = n.cw;
        r.fw2_now = n.fw2;
        r.cw_oldest_ns = n.cw_oldest;
        r.cw_oldest_at_least = n.at_least;
    }
    if (by_comm) {
        std::map<std::string, ProcessRow> folded;
        for (const auto& [k, r] : rows) {
            auto [it, fresh] = folded.try_emplace(r.comm, r);
            ProcessRow& sum = it->second;
            sum.pid = 0;
            if (fresh) continue;
            sum.workers += r.workers;
            if (sum.cgroup != r.cgroup) sum.cgroup = 0;  // workers in several cgroups
            sum.tw_now += r.tw_now;
            sum.cw_now += r.cw_now;
            sum.fw2_now += r.fw2_now;
            if (r.cw_oldest_ns >= sum.cw_oldest_ns) {
                sum.cw_oldest_at_least = r.cw_oldest_at_least;
                sum.cw_oldest_ns = r.cw_oldest_ns;
            }
            sum.tw_per_s += r.tw_per_s;
            sum.aborts_per_s += r.aborts_per_s;
            sum.tw_entered += r.tw_entered;
            sum.aborts += r.aborts;
        }
        for (auto& [c, r] : folded) f.processes.push_back(std::move(r));
    } else {
        for (auto& [k, r] : rows) f.processes.push_back(std::move(r));
    }

    // Destinations: every one a connection went to, or that holds a port now.
    struct Ports {
        const DestinationHeadroom* tightest = nullptr;
        uint32_t in_use = 0;
    };
    std::map<DestKey, Ports> held;
    for (const auto& dh : headroom) {
        const headroom::Headroom& hr = dh.headroom;
        Endpoint remote;
        remote.family = hr.dest.family;
        remote.addr = hr.dest.daddr;
        remote.port = hr.dest.dport;
        Ports& p = held[{hr.dest.netns, remote}];
        p.in_use += hr.taken + hr.reusable_tw;
        if (!p.tightest || hr.headroom < p.tightest->headroom.headroom) p.tightest = &dh;
    }
    std::map<DestKey, DestinationRow> drows;
    auto drow_of = [&](const DestKey& k) -> DestinationRow& {
        DestinationRow& r = drows[k];
        r.netns = k.first;
        r.remote = k.second;
        return r;
    };
    for (const auto& [k, t] : dests) {
        DestinationRow& r = drow_of(k);
        r.conns = t.conns;
        r.conn_per_s = per_s(t.conns, prev_destinations_[k].conns, dt);
    }
    for (const auto& [k, n] : dest_tw) drow_of(k).tw_now = n;
    for (const auto& [k, p] : held) {
        DestinationRow& r = drow_of(k);
        const headroom::Headroom& tight = p.tightest->headroom;
        r.ports_in_use = p.in_use;
        r.headroom = tight.headroom;
        r.reuse = tight.reuse;
        // The table's rate between its passes (TIME-WAIT births, growth of
        // held ports), as the exporter and doctor --observe have it.
        r.exhaustion_s = tight.headroom ? p.tightest->seconds_left : 0;
    }
    for (auto& [k, r] : drows) f.destinations.push_back(std::move(r));

    std::map<PortKey, LocalPortRow> lrows;
    for (const auto& [k, t] : ports) {
        LocalPortRow& r = lrows[k];
        r.netns = k.first;
        r.port = k.second;
        r.conns = t.conns;
        r.conn_per_s = per_s(t.conns, prev_ports_[k].conns, dt);
    }
    for (const auto& [k, n] : port_now) {
        if (!n.tw && !n.cw) continue;  // only a server's sockets were counted
        LocalPortRow& r = lrows[k];
        r.netns = k.first;
        r.port = k.second;
        r.tw_now = n.tw;
        r.cw_now = n.cw;
    }
    for (auto& [k, r] : lrows) f.local_ports.push_back(std::move(r));

    first_ = false;
    prev_ns_ = now_ns;
    prev_host_ = host;
    prev_tw_total_ = tw_total;
    prev_processes_ = std::move(procs);
    prev_destinations_ = std::move(dests);
    prev_ports_ = std::move(ports);
    return f;
}

}  // namespace tcplinger::top
