#include "app/doctor/observe_live.hpp"

#include <cstdio>

#include "app/tracer_options.hpp"
#include "capture/live.hpp"
#include "host/clock.hpp"

namespace tcplinger::doctor {

ObservedRun observe_live(const DoctorOptions& o, const Filter& filter, Observer& observer,
                         const std::function<void(LiveStep)>& on_step) {
    ObservedRun run;
    LiveOptions live;
    live.tracer = tracer_options(o.common, filter);
    live.tracer.lean = true;  // what stats ships: one record per timewait birth
    live.duration_s = o.observe;
    live.tick_s = 0.2;
    LiveHooks hooks;
    hooks.on_started = [&] {
        run.started_ns = sys::monotonic_ns();
        std::fprintf(stderr, "tcplinger: observing for %g s...\n", o.observe);
    };
    hooks.on_event = [&](const Event& ev) { observer.event(ev); };
    hooks.on_poll = [&](uint64_t now) { observer.advance(now); };
    hooks.timewait_probes = [&] { return observer.engine().timewait_probes(kMaxProbedPerRound); };
    hooks.before_stop = [&](Tracer& t) { observer.set_end_sockets(t.sockets_now()); };
    hooks.on_stopped = [&](Tracer& t) { observer.set_holders(t.socket_holders()); };
    hooks.on_step = on_step;
    run.drops = run_live(live, hooks);
    observer.end_run();
    return run;
}

}  // namespace tcplinger::doctor
