#include <cstdio>
#include <iostream>

#include "app/options.hpp"
#include "app/pipeline.hpp"
#include "app/tracer_options.hpp"
#include "capture/live.hpp"
#include "core/abi_check.hpp"
#include "host/clock.hpp"
#include "render/output.hpp"

namespace tcplinger {

namespace {
// trace -i: the recorded stream through the same pipeline.
int replay_trace(const TraceOptions& o, const Filter& filter) {
    TimeWindow window = parse_window(o.from, o.to, sys::realtime_ns());
    Output out;
    TracePipeline pipeline(out.stream(), o.json ? TracePipeline::Format::Json : TracePipeline::Format::Text, o.hms,
                           o.raw, filter, window);
    pipeline.set_max_connections(o.common.max_sockets);
    pipeline.header();
    ReplayResult r = replay_recordings(o.inputs, window, pipeline, [&] { return out.failed(); });
    out.finish();
    if (!r.useful) return 1;
    std::fprintf(stderr, "tcplinger: recorded: %s\n", drops_line(r.drops, pipeline.engine_counters()).c_str());
    return 0;
}
}  // namespace

int run_trace(const TraceOptions& o) {
    Filter filter(o.common.filter);
    if (!o.inputs.empty()) return replay_trace(o, filter);
    Output out;
    TracePipeline pipeline(out.stream(), o.json ? TracePipeline::Format::Json : TracePipeline::Format::Text, o.hms,
                           o.raw, filter);
    pipeline.set_max_connections(o.common.max_sockets);
    pipeline.begin_run(WallClock::now().offset_ns);
    pipeline.set_live();

    LiveOptions live;
    live.tracer = tracer_options(o.common, filter);
    live.duration_s = o.duration;
    live.tick_s = 0.2;
    LiveHooks hooks;
    hooks.on_started = [&] {
        pipeline.header();
        out.flush();
    };
    hooks.on_event = [&](const Event& ev) { pipeline.event(ev); };
    hooks.on_poll = [&](uint64_t now) { pipeline.advance(now); };
    hooks.on_tick = [&](uint64_t) { out.flush(); };
    // A closed pipe or a full disk ends the run as Ctrl-C would: the
    // programs are detached before finish() reports it.
    hooks.should_stop = [&] { return out.check(); };
    hooks.timewait_probes = [&] { return pipeline.engine().timewait_probes(kMaxProbedPerRound); };
    DropCounters drops = run_live(live, hooks);
    pipeline.end_run();
    out.flush();
    std::fprintf(stderr, "tcplinger: %s\n", drops_line(drops, pipeline.engine_counters()).c_str());
    out.finish();
    return 0;
}

}  // namespace tcplinger
