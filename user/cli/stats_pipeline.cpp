// Engine + Aggregator + stats renderer, for stats (live) and report.
#include "cli/pipeline.hpp"

#include "tracer/system.hpp"

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
    if (engine_) evicted_before_ += engine_->counters().evicted;
    engine_ = std::make_unique<Engine>();
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
    if (window_.has_from()) {
        // Sockets that entered their state before --from and are still in
        // it at --to: present at start of the window.
        for (const auto& [cookie, c] : engine_->connections()) {
            if (!is_lingering(c.state) || !c.entered_known || wall(c.entered_ns) >= window_.from) continue;
            Residency r;
            r.state = c.state;
            r.start_ns = c.entered_ns;
            r.end_ns = now_ns;
            r.lower_bound = true;
            r.owner = responsible(c, c.state);
            r.netns = c.netns;
            r.local = c.local;
            r.remote = c.remote;
            r.cookie = cookie;
            agg_.add(r);
        }
    }
    StatsReport report;
    report.by = by_;
    report.groups = agg_.report(*engine_, now_ns);
    report.duration_ns = duration_ns;
    report.drops = drops;
    report.engine_evicted = evicted();
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
