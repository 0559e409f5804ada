#include <cstdio>
#include <iostream>

#include "cli/live.hpp"
#include "cli/options.hpp"
#include "render/stats_format.hpp"
#include "core/abi_check.hpp"
#include "tracer/system.hpp"

namespace tcplinger {

TracerOptions tracer_options(const CommonOptions& c, const Filter& filter);

namespace {
// TCPTimeWaitOverflow per traced namespace, read at start and at the end.
class OverflowWatch {
public:
    explicit OverflowWatch(uint32_t only_netns) {
        for (const auto& [ino, path] : sys::list_netns())
            if (!only_netns || ino == only_netns) start_[ino] = {path, value(path)};
    }
    std::map<uint32_t, uint64_t> deltas() const {
        std::map<uint32_t, uint64_t> out;
        for (const auto& [ino, entry] : start_) {
            uint64_t now = value(entry.first);
            out[ino] = now > entry.second ? now - entry.second : 0;
        }
        return out;
    }

private:
    static uint64_t value(const std::string& path) {
        auto ext = sys::read_tcpext(path);
        auto it = ext.find("TCPTimeWaitOverflow");
        return it == ext.end() ? 0 : it->second;
    }
    std::map<uint32_t, std::pair<std::string, uint64_t>> start_;
};
}  // namespace

int run_stats(const StatsOptions& o) {
    Filter filter(o.common.filter);
    std::ios::sync_with_stdio(false);
    GroupBy by = *parse_group_by(o.by);
    Aggregator agg(by, filter);
    Engine engine;
    engine.on_transition([&](const Transition& t) { agg.add(t); });
    engine.on_residency([&](const Residency& r) { agg.add(r); });

    std::map<uint64_t, std::string> cgroup_names;
    auto cgroup_name = [&](uint64_t id) {
        auto it = cgroup_names.find(id);
        if (it == cgroup_names.end()) {
            std::string path = sys::cgroup_path(id);
            std::string label = sys::cgroup_label(path);
            it = cgroup_names.emplace(id, label.empty() ? path : path + " (" + label + ")").first;
        }
        return it->second;
    };

    uint64_t started = sys::monotonic_ns();
    std::unique_ptr<OverflowWatch> overflow;
    auto print = [&](uint64_t now, const DropCounters& drops) {
        StatsReport report;
        report.by = by;
        report.groups = agg.report(engine, now);
        report.duration_ns = now - started;
        report.drops = drops;
        report.engine_evicted = engine.counters().evicted;
        report.sort_state = filter.state().value_or(kTimeWait);
        report.top = o.top;
        report.cgroup_name = cgroup_name;
        if (overflow) report.tw_overflow = overflow->deltas();
        if (o.json)
            render_stats_json(std::cout, report);
        else
            render_stats_text(std::cout, report);
        std::cout.flush();
    };

    LiveOptions live;
    live.tracer = tracer_options(o.common, filter);
    live.duration_s = o.duration;
    live.tick_s = o.interval > 0 ? o.interval : 0.2;
    LiveHooks hooks;
    hooks.on_started = [&] {
        started = sys::monotonic_ns();
        overflow = std::make_unique<OverflowWatch>(filter.kernel().netns);
        if (!o.json)
            std::fprintf(stderr, o.duration > 0 ? "tcplinger: tracing for %g s... Ctrl-C to end early\n"
                                                : "tcplinger: tracing... Ctrl-C to end\n",
                         o.duration);
    };
    hooks.on_event = [&](const Event& ev) { engine.process(ev); };
    uint64_t last_report = 0;
    hooks.on_poll = [&](uint64_t now) { engine.advance(now); };
    hooks.timewait_probes = [&] { return engine.timewait_probes(TL_TW_PROBE_MAX); };
    hooks.on_tick = [&](uint64_t now) {
        if (o.interval > 0 && now - last_report >= static_cast<uint64_t>(o.interval * 1e9) * 9 / 10) {
            last_report = now;
            print(now, DropCounters{});
            if (!o.json) std::cout << "\n";
        }
    };
    DropCounters drops = run_live(live, hooks);
    engine.flush();
    print(sys::monotonic_ns(), drops);
    std::fprintf(stderr, "tcplinger: %s\n", drops_line(drops, engine.counters().evicted).c_str());
    return 0;
}

}  // namespace tcplinger
