// The exporter's metrics as the Prometheus text format 0.0.4 or OpenMetrics
// 1.0.0 (METRICS.md and README "exporter" list every family). Pure: the
// caller brings an immutable snapshot, the renderer only formats it.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tcplinger {

// Residency histogram bounds in seconds (the +Inf bucket follows): 59..65
// resolve the 60 s TIME-WAIT with the timer wheel's batching, ms..a day
// CLOSE-WAIT.
inline constexpr std::array<double, 21> kResidencyBuckets = {
    0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 59, 60, 61, 62, 63, 64, 65, 120, 300, 900, 3600, 14400, 86400};
inline constexpr size_t kResidencySlots = kResidencyBuckets.size() + 1;  // + (86400, +Inf)
// The slot a duration falls in (le is inclusive: value <= bound).
size_t residency_slot(double seconds);

// Order of MetricsGroup::states: kLingeringStates (TIME-WAIT, FIN-WAIT-2,
// CLOSE-WAIT, LAST-ACK, CLOSING). Order of tw_ends: kTimeWaitEndNames.
inline constexpr std::array<const char*, 5> kTimeWaitEndNames = {"expired", "reused", "reset", "purged", "unknown"};

struct GroupLabels {
    std::string comm, unit, container_id, k8s_namespace, pod, container;
    auto operator<=>(const GroupLabels&) const = default;
};

struct StateMetrics {
    uint64_t stays = 0;                             // entered (counter)
    uint64_t sockets = 0;                           // in the state now
    double oldest_s = 0;                            // age of the oldest one now
    std::array<uint64_t, kResidencySlots> slots{};  // finished stays per slot (not cumulative)
    double sum_s = 0;
    uint64_t count = 0;
};

struct MetricsGroup {
    GroupLabels labels;
    std::array<StateMetrics, 5> states;
    std::array<uint64_t, 5> tw_ends{};
    uint64_t aborted = 0;
};

struct HeadroomMetric {
    uint32_t netns = 0;
    std::string saddr, raddr;
    uint16_t rport = 0;
    uint32_t headroom = 0;
};

struct MetricsSnapshot {
    std::vector<MetricsGroup> groups;
    std::map<uint32_t, uint64_t> tw_overflow;        // netns -> TCPTimeWaitOverflow since start
    std::map<uint32_t, uint32_t> port_range_usable;  // netns -> ports
    std::vector<HeadroomMetric> headroom;
    uint64_t events = 0, lost_ringbuf = 0, lost_recursion = 0, evicted = 0;
    uint64_t series_dropped = 0;
    std::map<std::string, double> bpf_run_seconds;  // program -> seconds (kernel.bpf_stats_enabled)
    std::string version, revision;
};

enum class ExpositionFormat { Text, OpenMetrics };
// Content-Type header value for the format.
std::string_view content_type(ExpositionFormat f);
// OpenMetrics when an Accept header asks for application/openmetrics-text.
ExpositionFormat format_for_accept(std::string_view accept);
std::string render_metrics(const MetricsSnapshot& s, ExpositionFormat f);
// Label value escaping of both formats: backslash, double quote, newline.
std::string escape_label_value(std::string_view v);
// Label sets exported (the per-group families' distinct label sets).
inline size_t series_count(const MetricsSnapshot& s) { return s.groups.size(); }

}  // namespace tcplinger
