#include "stats/aggregator.hpp"

#include <algorithm>

namespace tcplinger {

std::optional<GroupBy> parse_group_by(const std::string& text) {
    if (text == "process") return GroupBy::Process;
    if (text == "endpoint") return GroupBy::Endpoint;
    if (text == "lport") return GroupBy::LocalPort;
    if (text == "cgroup") return GroupBy::Cgroup;
    return std::nullopt;
}

std::string_view group_by_name(GroupBy by) {
    switch (by) {
    case GroupBy::Process: return "process";
    case GroupBy::Endpoint: return "endpoint";
    case GroupBy::LocalPort: return "lport";
    case GroupBy::Cgroup: return "cgroup";
    }
    return "process";
}

bool is_lingering(uint8_t state) {
    return std::find(kLingeringStates.begin(), kLingeringStates.end(), state) != kLingeringStates.end();
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
    case GroupBy::Endpoint: k.remote = remote; break;
    case GroupBy::LocalPort: k.lport = local.port; break;
    case GroupBy::Cgroup: k.cgroup = p.cgroup; break;
    }
    return k;
}

// Entries are counted when the stay ends (add(Residency)) or, for stays
// still running, at report time: by then the owner is known even when the
// kernel made the transition before accept() returned.
void Aggregator::add(const Transition& t) {
    if (!t.no_timewait) return;
    Residency probe;
    probe.owner = t.charged;
    probe.netns = t.netns;
    probe.local = t.local;
    probe.remote = t.remote;
    probe.state = kTimeWait;
    if (filter_.match(probe)) no_timewait_[key_of(t.charged, t.remote, t.local)]++;
}

void Aggregator::add(const Residency& r) {
    if (!is_lingering(r.state) || !filter_.match(r)) return;
    StateFigures& f = groups_[key_of(r.owner, r.remote, r.local)][r.state];
    if (r.lower_bound || r.present_at_start) {
        f.present_at_start++;
    } else {
        f.entered++;
        f.residency.add(r.duration_ns());
    }
    if (r.reason != EndReason::None) f.end_reasons[r.reason]++;
}

std::vector<GroupFigures> Aggregator::report(const Engine& engine, uint64_t now_ns, uint64_t since_ns) const {
    std::map<GroupKey, std::map<uint8_t, StateFigures>> merged = groups_;
    for (const auto& [cookie, c] : engine.connections()) {
        if (!is_lingering(c.state) || !filter_.match(c)) continue;
        StateFigures& f = merged[key_of(responsible(c, c.state), c.remote, c.local)][c.state];
        f.current++;
        if (c.entered_known && c.entered_ns >= since_ns && !c.stay_before_start)
            f.entered++;
        else
            f.present_at_start++;
        f.take_oldest(now_ns > c.entered_ns ? now_ns - c.entered_ns : 0, !c.entered_known);
    }
    for (const auto& [key, n] : no_timewait_) merged[key];
    std::vector<GroupFigures> out;
    out.reserve(merged.size());
    for (auto& [key, states] : merged) {
        auto it = no_timewait_.find(key);
        out.push_back(GroupFigures{key, std::move(states), it == no_timewait_.end() ? 0 : it->second});
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
