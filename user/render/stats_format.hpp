// `stats` / `report` output: a table per group, log2 histograms per state,
// or one JSON object with every figure. The rows in both come from the
// field lists in render/fields_stats.hpp; this is the frame around them.
#pragma once
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "core/counters.hpp"
#include "lifecycle/engine.hpp"
#include "stats/aggregator.hpp"

namespace tcplinger {

struct StatsReport {
    GroupBy by = GroupBy::Process;
    std::vector<GroupFigures> groups;
    uint64_t duration_ns = 0;
    DropCounters drops;
    EngineCounters engine;                     // summed over the engines of every run
    std::map<uint32_t, uint64_t> tw_overflow;  // netns -> TCPTimeWaitOverflow during the run
    uint8_t sort_state = kTimeWait;
    size_t top = 20;  // groups shown, in the table and in JSON
    // Wall-clock time of a --interval report, shown as its heading (text)
    // or "ts" (JSON); 0 for the one report of a run.
    uint64_t wall_ns = 0;
    std::function<std::string(uint64_t)> cgroup_name;  // id -> path; may be empty
};

// Groups sorted by the sort state's count (entered + present at start), then key.
std::vector<const GroupFigures*> ranked(const StatsReport& report);
void render_stats_text(std::ostream& out, const StatsReport& report);
void render_stats_json(std::ostream& out, const StatsReport& report);
// The stderr summary every command ends with: every loss figure
// (render/fields_stats.hpp: kLossSummary).
std::string loss_summary(const DropCounters& d, const EngineCounters& engine);

}  // namespace tcplinger
