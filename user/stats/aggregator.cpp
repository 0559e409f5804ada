#include "stats/aggregator.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "stats/holders.hpp"

namespace tcplinger {

std::optional<GroupBy> parse_group_by(const std::string& text) {
    if (text == "process") return GroupBy::Process;
    if (text == "endpoint") return GroupBy::Endpoint;
    if (text == "lport") return GroupBy::LocalPort;
    if (text == "cgroup") return GroupBy::Cgroup;
    if (text == "comm") return GroupBy::Comm;
    if (text == "raddr") return GroupBy::RemoteAddr;
    return std::nullopt;
}

std::string_view group_by_name(GroupBy by) {
    switch (by) {
        case GroupBy::Process:
            return "process";
        case GroupBy::Endpoint:
            return "endpoint";
        case GroupBy::LocalPort:
            return "lport";
        case GroupBy::Cgroup:
            return "cgroup";
        case GroupBy::Comm:
            return "comm";
        case GroupBy::RemoteAddr:
            return "raddr";
    }
    return "process";
}

void StateFigures::merge(const StateFigures& o) {
    entered += o.entered;
    present_at_start += o.present_at_start;
    current += o.current;
    take_oldest(o.oldest_ns, o.oldest_at_least);
    residency.merge(o.residency);
    for (const auto& [r, n] : o.end_reasons) end_reasons[r] += n;
}

void StateFigures::take_oldest(uint64_t age_ns, bool at_least) {
    if (age_ns > oldest_ns || (age_ns == oldest_ns && at_least)) oldest_at_least = at_least;
    oldest_ns = std::max(oldest_ns, age_ns);
}

GroupKey Aggregator::key_of(const Process& p, const Endpoint& remote, const Endpoint& local) const {
    GroupKey k;
    switch (by_) {
        case GroupBy::Process:
            k.pid = p.pid;
            k.comm = p.comm;
            break;
        case GroupBy::Endpoint:
            k.remote = remote;
            break;
        case GroupBy::LocalPort:
            k.lport = local.port;
            break;
        case GroupBy::Cgroup:
            k.cgroup = p.cgroup;
            break;
        case GroupBy::Comm:
            // An unknown owner (pid 0) has an empty comm: a group apart.
            k.comm = p.pid ? p.comm : "";
            break;
        case GroupBy::RemoteAddr:
            k.remote = remote;
            k.remote.port = 0;
            break;
    }
    return k;
}

void Aggregator::note_pid(const GroupKey& k, uint32_t pid) {
    if (by_ == GroupBy::Comm && pid) pids_[k].insert(pid);
}

// Entries are counted when the stay ends (add(Residency)) or, for stays
// still running, at report time: by then the owner is known even when the
// kernel made the transition before accept() returned.
bool close_matches(const Filter& filter, const Transition& t) {
    if (!t.no_timewait && !t.aborted) return false;
    Residency probe;
    probe.owner = t.charged;
    probe.netns = t.netns;
    probe.local = t.local;
    probe.remote = t.remote;
    // --state: an overflow is a TIME-WAIT that never was; an abort cuts
    // short the state it left.
    probe.state = t.no_timewait ? uint8_t{kTimeWait} : t.old_state;
    return filter.match(probe);
}

void Aggregator::add(const Transition& t) {
    if (!close_matches(filter_, t)) return;
    GroupKey key = key_of(t.charged, t.remote, t.local);
    note_pid(key, t.charged.pid);
    CloseCounts& n = closes_[key];
    (t.no_timewait ? n.no_timewait : n.aborted)++;
}

void Aggregator::add(const Residency& r) {
    if (!is_lingering(r.state) || !filter_.match(r)) return;
    GroupKey key = key_of(r.owner, r.remote, r.local);
    note_pid(key, r.owner.pid);
    StateFigures& f = groups_[key][r.state];
    if (r.lower_bound || r.present_at_start) {
        f.present_at_start++;
    } else {
        f.entered++;
        f.residency.add(r.duration_ns());
    }
    if (r.reason != EndReason::None) f.end_reasons[r.reason]++;
}

std::vector<GroupFigures> Aggregator::report(const Engine& engine, uint64_t now_ns, uint64_t since_ns,
                                             const std::vector<SocketHolder>& holders) const {
    std::map<GroupKey, std::map<uint8_t, StateFigures>> merged = groups_;
    std::map<GroupKey, std::vector<HeldSocket>> held;
    std::map<GroupKey, std::set<uint32_t>> pids = pids_;
    const HolderIndex index(holders);
    for (const auto& [cookie, c] : engine.connections()) {
        if (!is_lingering(c.state)) continue;
        uint64_t age = now_ns > c.entered_ns ? now_ns - c.entered_ns : 0;
        const std::vector<const SocketHolder*>* mine = nullptr;
        const Process* charged = index.charged(cookie, c, filter_, &mine);
        if (!charged) continue;
        GroupKey key = key_of(*charged, c.remote, c.local);
        if (by_ == GroupBy::Comm && charged->pid) pids[key].insert(charged->pid);
        StateFigures& f = merged[key][c.state];
        f.current++;
        if (c.entered_known && c.entered_ns >= since_ns && !c.stay_before_start)
            f.entered++;
        else
            f.present_at_start++;
        f.take_oldest(age, !c.entered_known);
        if (!mine) continue;
        for (const SocketHolder* h : *mine)
            held[key].push_back(HeldSocket{h->process, h->fd, cookie, c.local, c.remote, age, !c.entered_known});
    }
    for (const auto& [key, n] : closes_) merged[key];
    std::vector<GroupFigures> out;
    out.reserve(merged.size());
    for (auto& [key, states] : merged) {
        auto it = closes_.find(key);
        CloseCounts n = it == closes_.end() ? CloseCounts{} : it->second;
        GroupFigures g{key, std::move(states), n.no_timewait, n.aborted, {}};
        if (auto p = pids.find(key); p != pids.end()) g.workers = static_cast<uint32_t>(p->second.size());
        if (auto h = held.find(key); h != held.end()) {
            g.holders = std::move(h->second);
            std::sort(g.holders.begin(), g.holders.end(), [](const HeldSocket& a, const HeldSocket& b) {
                return std::tie(b.age_ns, a.holder.pid, a.fd, a.cookie) <
                       std::tie(a.age_ns, b.holder.pid, b.fd, b.cookie);
            });
        }
        out.push_back(std::move(g));
    }
    return out;
}

std::map<uint8_t, StateFigures> totals(const std::vector<GroupFigures>& groups) {
    std::map<uint8_t, StateFigures> out;
    for (const auto& g : groups)
        for (const auto& [s, f] : g.states) out[s].merge(f);
    return out;
}

}  // namespace tcplinger
