// The exporter's label sets and their figures, bounded: at most
// max_series label sets are exported, the rest are folded into one
// comm="~other" set (every group label "~other"), and a label set with no
// socket now and nothing entered or ended for ttl expires. Fed on the
// capture thread; build() makes the groups of one immutable snapshot.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "core/counters.hpp"
#include "lifecycle/engine.hpp"
#include "render/prometheus.hpp"

namespace tcplinger::exporter {

// The folded label set's value for every group label.
inline constexpr const char* kOther = "~other";

// Sockets of one label set in a lingering state now (from the engine's
// connections, summed per process and cgroup).
struct CurrentSockets {
    GroupLabels labels;
    size_t state = 0;  // index in kLingeringStates
    uint64_t sockets = 0;
    uint64_t entered = 0;  // of them, stays that began during the run (they count in stays_total)
    double oldest_s = 0;
};

// The tracer's own figures in a snapshot. Each is a Prometheus counter and
// must never decrease. DropCounters::recursion_missed() can: the kernel's
// skip count and the backups' catch count are read apart, so a hit read as
// skipped but not yet as caught is missed for a moment, and the engine's
// duplicates come later than the catches they cancel. The export is its
// high-water mark: what was ever counted missed stays counted. Not the gross
// skip count, which the backups mostly catch: an alert on any increase
// (deploy/prometheus/tcplinger-rules.yml) would fire on recovered hits.
class TracerFigures {
public:
    void fill(MetricsSnapshot& s, const DropCounters& d, const EngineCounters& engine);

private:
    uint64_t recursion_high_ = 0;
};

class SeriesModel {
public:
    // max_series >= 2 (one of them is ~other once anything is folded).
    SeriesModel(size_t max_series, uint64_t ttl_ns) : max_series_(max_series < 2 ? 2 : max_series), ttl_ns_(ttl_ns) {}

    // A finished stay in state index `state`; entered: it began during the
    // run (then it counts in stays_total and the histogram); tw_end: index
    // in kTimeWaitEndNames, or -1.
    void stay(const GroupLabels& l, size_t state, double seconds, bool entered, int tw_end, uint64_t now_ns);
    void abort(const GroupLabels& l, uint64_t now_ns);
    // The groups now: cumulative figures plus the sockets now. Decides the
    // label sets first seen since the last call (busiest kept while there is
    // room; the rest folded for good, so that every counter, ~other's too,
    // only grows) and expires quiet ones.
    std::vector<MetricsGroup> build(const std::vector<CurrentSockets>& now, uint64_t now_ns);
    uint64_t dropped() const { return dropped_; }
    size_t entries() const { return entries_.size(); }
    size_t kept() const { return kept_; }

    // Folded label sets remembered (to count each once in dropped) at most
    // this many times max_series; beyond, the quietest are forgotten (a
    // forgotten one that comes back is counted again).
    static constexpr size_t kFoldedMemory = 8;

private:
    enum class Status { Pending, Kept, Folded };
    struct Figures {
        std::array<StateMetrics, 5> states;
        std::array<uint64_t, 5> tw_ends{};
        uint64_t aborted = 0;
        void merge(const Figures& o);
    };
    struct Entry {
        Status status = Status::Pending;
        Figures f;
        uint64_t last_active_ns = 0;
    };
    Entry& touch(const GroupLabels& l, uint64_t now_ns);
    // Where an entry's figures go: its own, or ~other's when folded.
    Figures& sink(Entry& e) { return e.status == Status::Folded ? other_ : e.f; }

    size_t max_series_;
    uint64_t ttl_ns_;
    std::map<GroupLabels, Entry> entries_;
    Figures other_;
    bool other_used_ = false;
    size_t kept_ = 0;
    uint64_t dropped_ = 0;
};

}  // namespace tcplinger::exporter
