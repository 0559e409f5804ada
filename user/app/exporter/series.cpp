#include "app/exporter/series.hpp"

#include <algorithm>
#include <tuple>

namespace tcplinger::exporter {

void TracerFigures::fill(MetricsSnapshot& s, const DropCounters& d, const EngineCounters& engine) {
    recursion_high_ = std::max(recursion_high_, d.recursion_missed(engine.duplicates));
    s.events = d.events;
    s.lost_ringbuf = d.ringbuf_drops;
    s.lost_recursion = recursion_high_;
    s.evicted = d.sock_untracked + d.sock_map_full + engine.evicted;
}

void SeriesModel::Figures::merge(const Figures& o) {
    for (size_t i = 0; i < states.size(); ++i) {
        StateMetrics& a = states[i];
        const StateMetrics& b = o.states[i];
        a.stays += b.stays;
        a.sockets += b.sockets;
        a.oldest_s = std::max(a.oldest_s, b.oldest_s);
        for (size_t s = 0; s < a.slots.size(); ++s) a.slots[s] += b.slots[s];
        a.sum_s += b.sum_s;
        a.count += b.count;
    }
    for (size_t r = 0; r < tw_ends.size(); ++r) tw_ends[r] += o.tw_ends[r];
    aborted += o.aborted;
}

SeriesModel::Entry& SeriesModel::touch(const GroupLabels& l, uint64_t now_ns) {
    Entry& e = entries_[l];
    e.last_active_ns = now_ns;
    return e;
}

void SeriesModel::stay(const GroupLabels& l, size_t state, double seconds, bool entered, int tw_end, uint64_t now_ns) {
    if (state >= 5) return;
    Figures& f = sink(touch(l, now_ns));
    if (entered) {
        StateMetrics& m = f.states[state];
        m.stays++;
        m.slots[residency_slot(seconds)]++;
        m.sum_s += seconds;
        m.count++;
    }
    if (tw_end >= 0 && tw_end < 5) f.tw_ends[tw_end]++;
}

void SeriesModel::abort(const GroupLabels& l, uint64_t now_ns) { sink(touch(l, now_ns)).aborted++; }

std::vector<MetricsGroup> SeriesModel::build(const std::vector<CurrentSockets>& now, uint64_t now_ns) {
    // The sockets now, per entry (created for a label set first seen here).
    std::map<Entry*, Figures> current;
    for (const auto& c : now) {
        if (c.state >= 5 || !c.sockets) continue;
        StateMetrics& m = current[&touch(c.labels, now_ns)].states[c.state];
        m.sockets += c.sockets;
        m.oldest_s = std::max(m.oldest_s, c.oldest_s);
        m.stays += c.entered;
    }
    auto activity = [&](Entry& e) {
        uint64_t n = 0;
        for (const auto& m : e.f.states) n += m.stays;
        if (auto it = current.find(&e); it != current.end())
            for (const auto& m : it->second.states) n += m.stays + m.sockets;
        return n;
    };

    // New label sets: the busiest take the free slots (one is kept back for
    // ~other), the rest are folded.
    std::vector<std::pair<uint64_t, std::map<GroupLabels, Entry>::iterator>> pending;
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->second.status == Status::Pending) pending.emplace_back(activity(it->second), it);
    std::stable_sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (auto& [n, it] : pending) {
        Entry& e = it->second;
        if (kept_ + 1 < max_series_) {
            e.status = Status::Kept;
            kept_++;
        } else {
            e.status = Status::Folded;
            other_.merge(e.f);
            e.f = Figures{};
            other_used_ = true;
            dropped_++;
        }
    }

    // Quiet label sets expire: nothing now, nothing entered or ended for ttl.
    size_t folded = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        Entry& e = it->second;
        bool quiet = !current.count(&e) && now_ns - e.last_active_ns >= ttl_ns_;
        if (quiet) {
            if (e.status == Status::Kept) kept_--;
            it = entries_.erase(it);
            continue;
        }
        folded += e.status == Status::Folded;
        ++it;
    }
    // Folded label sets only remember that they were counted: bound them.
    if (folded > kFoldedMemory * max_series_) {
        std::vector<std::pair<uint64_t, std::map<GroupLabels, Entry>::iterator>> idle;
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
            if (it->second.status == Status::Folded && !current.count(&it->second))
                idle.emplace_back(it->second.last_active_ns, it);
        std::sort(idle.begin(), idle.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        size_t excess = folded - kFoldedMemory * max_series_;
        for (size_t i = 0; i < excess && i < idle.size(); ++i) entries_.erase(idle[i].second);
    }

    std::vector<MetricsGroup> out;
    out.reserve(kept_ + 1);
    Figures other = other_;
    for (auto& [labels, e] : entries_) {
        auto it = current.find(&e);
        if (e.status == Status::Folded) {
            if (it != current.end()) other.merge(it->second);
            continue;
        }
        Figures f = e.f;
        if (it != current.end()) f.merge(it->second);
        out.push_back(MetricsGroup{labels, f.states, f.tw_ends, f.aborted});
    }
    if (other_used_) {
        GroupLabels o{kOther, kOther, kOther, kOther, kOther, kOther};
        out.push_back(MetricsGroup{o, other.states, other.tw_ends, other.aborted});
    }
    return out;
}

}  // namespace tcplinger::exporter
