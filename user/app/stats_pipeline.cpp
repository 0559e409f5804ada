// Engine + Aggregator + stats renderer, for stats (live) and report.
#include <algorithm>

#include "app/pipeline.hpp"
#include "host/cgroup.hpp"

namespace tcplinger {

std::string cgroup_display(const std::string& path) {
    std::string label = sys::cgroup_label(path);
    return label.empty() ? path : path + " (" + label + ")";
}

StatsPipeline::StatsPipeline(const StatsOptions& o, const Filter& filter, TimeWindow window)
    : o_(o), filter_(filter), window_(window), by_(*parse_group_by(o.by)), agg_(by_, filter) {
    begin_run(0);
}

void StatsPipeline::begin_run(int64_t clock_offset_ns) {
    if (engine_) before_ = sum(before_, engine_->counters());
    engine_ = std::make_unique<Engine>(o_.common.max_sockets);
    engine_->set_transitions(Engine::Transitions::NoTimeWaitOnly);
    engine_->on_transition([this](const Transition& t) { add(t); });
    engine_->on_residency([this](const Residency& r) { add(r); });
    offset_ = clock_offset_ns;
}

void StatsPipeline::add(const Transition& t) {
    if (window_.contains(wall(t.ts_ns))) agg_.add(t);
}

void StatsPipeline::add(Residency r) {
    // A stay counts where it ended; one that began before the window is
    // "present at start", as for a live run started at --from.
    if (!window_.contains(wall(r.end_ns))) return;
    if (wall(r.start_ns) < window_.from) r.lower_bound = true;
    agg_.add(r);
}

StatsReport StatsPipeline::report(uint64_t now_ns, uint64_t duration_ns, const DropCounters& drops,
                                  std::map<uint32_t, uint64_t> tw_overflow) {
    // Sockets that entered their state before --from and are still in it
    // at --to are present at start of the window, not entered.
    uint64_t since = 0;
    if (window_.has_from())
        since = static_cast<uint64_t>(std::max<int64_t>(0, static_cast<int64_t>(window_.from) - offset_));
    StatsReport report;
    report.by = by_;
    report.groups = agg_.report(*engine_, now_ns, since, holders ? holders() : std::vector<SocketHolder>{});
    report.duration_ns = duration_ns;
    report.drops = drops;
    report.engine = engine_counters();
    report.tw_overflow = std::move(tw_overflow);
    report.sort_state = filter_.state().value_or(kTimeWait);
    report.top = o_.top;
    report.cgroup_name = cgroup_name;
    return report;
}

void StatsPipeline::print(std::ostream& out, const StatsReport& report) const {
    if (o_.json)
        render_stats_json(out, report);
    else
        render_stats_text(out, report);
    out.flush();
}

}  // namespace tcplinger
