#include <cstdio>

#include "app/options.hpp"
#include "app/pipeline.hpp"
#include "app/tracer_options.hpp"
#include "capture/live.hpp"
#include "core/abi_check.hpp"
#include "host/cgroup.hpp"
#include "host/clock.hpp"
#include "record/host_facts.hpp"
#include "render/output.hpp"

namespace tcplinger {

int run_stats(const StatsOptions& o) {
    Filter filter(o.common.filter);
    Output out;
    StatsPipeline pipeline(o, filter);
    std::map<uint64_t, std::string> cgroup_names;
    pipeline.cgroup_name = [&](uint64_t id) {
        auto it = cgroup_names.find(id);
        if (it == cgroup_names.end()) it = cgroup_names.emplace(id, cgroup_display(sys::cgroup_path(id))).first;
        return it->second;
    };

    // CLOSE-WAIT sockets still open are charged to whoever holds them when
    // a report is made: the tracer's while it runs, the last look at its end.
    Tracer* tracer = nullptr;
    std::vector<SocketHolder> holders_at_end;
    pipeline.holders = [&] { return tracer ? tracer->socket_holders() : holders_at_end; };

    uint64_t started = sys::monotonic_ns();
    // TCPTimeWaitOverflow per traced namespace, read at start and at each
    // report, as the recorder reads it at both ends of a file.
    std::vector<rec::NetnsFacts> at_start;
    auto print = [&](uint64_t now, const DropCounters& drops) {
        auto overflow = rec::tw_overflow_between(at_start, rec::netns_counters(at_start));
        StatsReport report = pipeline.report(now, now - started, drops, std::move(overflow));
        if (o.interval > 0) report.wall_ns = sys::realtime_ns();  // each report says when it was taken
        pipeline.print(out.stream(), report);
    };

    LiveOptions live;
    live.tracer = tracer_options(o.common, filter);
    live.tracer.lean = true;  // stats counts stays, not set-up transitions
    live.duration_s = o.duration;
    live.tick_s = o.interval > 0 ? o.interval : 0.2;
    LiveHooks hooks;
    hooks.on_started = [&] {
        started = sys::monotonic_ns();
        at_start = rec::netns_facts(filter.kernel().netns, false);
        if (!o.json)
            std::fprintf(stderr,
                         o.duration > 0 ? "tcplinger: tracing for %g s... Ctrl-C to end early\n"
                                        : "tcplinger: tracing... Ctrl-C to end\n",
                         o.duration);
    };
    hooks.on_event = [&](const Event& ev) { pipeline.event(ev); };
    hooks.on_loaded = [&](Tracer& t) { tracer = &t; };
    hooks.on_stopped = [&](Tracer& t) {
        holders_at_end = t.socket_holders();
        tracer = nullptr;
    };
    uint64_t last_report = 0;
    hooks.on_poll = [&](uint64_t now) { pipeline.advance(now); };
    hooks.timewait_probes = [&] { return pipeline.engine().timewait_probes(kMaxProbedPerRound); };
    hooks.should_stop = [&] { return out.check(); };  // closed pipe, full disk: stop as Ctrl-C would
    hooks.on_tick = [&](uint64_t now) {
        if (o.interval > 0 && now - last_report >= static_cast<uint64_t>(o.interval * 1e9) * 9 / 10) {
            last_report = now;
            print(now, DropCounters{});
            if (!o.json) out.stream() << "\n";
        }
    };
    DropCounters drops = run_live(live, hooks);
    pipeline.end_run();
    if (!out.failed()) print(sys::monotonic_ns(), drops);
    out.flush();
    std::fprintf(stderr, "tcplinger: %s\n", drops_line(drops, pipeline.engine_counters()).c_str());
    out.finish();
    return 0;
}

}  // namespace tcplinger
