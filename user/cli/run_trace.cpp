#include <cstdio>
#include <iostream>

#include "cli/live.hpp"
#include "cli/options.hpp"
#include "render/trace_format.hpp"
#include "core/abi_check.hpp"

namespace tcplinger {

TracerOptions tracer_options(const CommonOptions& c, const Filter& filter) {
    TracerOptions t;
    t.filter = filter.kernel();
    t.verbose = c.verbose;
    t.ringbuf_mb = c.ringbuf_mb;
    t.max_sockets = c.max_sockets;
    return t;
}

int run_trace(const TraceOptions& o) {
    Filter filter(o.common.filter);
    std::ios::sync_with_stdio(false);
    TraceRenderer renderer(std::cout, TraceStyle{o.json, o.hms}, WallClock::now());
    Engine engine;
    engine.set_raw(o.raw);
    engine.on_transition([&](const Transition& t) {
        if (filter.match(t)) renderer.line(t);
    });

    LiveOptions live;
    live.tracer = tracer_options(o.common, filter);
    live.duration_s = o.duration;
    live.tick_s = 0.2;
    LiveHooks hooks;
    hooks.on_started = [&] {
        renderer.header();
        std::cout.flush();
    };
    hooks.on_event = [&](const Event& ev) { engine.process(ev); };
    hooks.on_poll = [&](uint64_t now) { engine.advance(now); };
    hooks.on_tick = [&](uint64_t) { std::cout.flush(); };
    hooks.timewait_probes = [&] { return engine.timewait_probes(TL_TW_PROBE_MAX); };
    DropCounters drops = run_live(live, hooks);
    engine.flush();
    std::cout.flush();
    std::fprintf(stderr, "tcplinger: %s\n", drops_line(drops, engine.counters().evicted).c_str());
    return 0;
}

}  // namespace tcplinger
