// doctor --observe's live capture: the Observer fed by the tool's one
// LiveSession (run_live), on the cadence and stop order every live mode and
// the kernel test harness share (capture/live_session.hpp).
#pragma once
#include <cstdint>
#include <functional>

#include "app/doctor/observe.hpp"
#include "app/options.hpp"
#include "capture/live_session.hpp"
#include "stats/filter.hpp"

namespace tcplinger::doctor {

struct ObservedRun {
    DropCounters drops;       // the tracer's at the end
    uint64_t started_ns = 0;  // CLOCK_MONOTONIC once attached (on_started)
};

// Lean BPF, as stats ships, for o.observe seconds: the timewait probe rounds
// while running and after the drain, the end sockets read before the
// programs detach, the CLOSE-WAIT holders once drained; the Observer's run
// ended. on_step sees each LiveStep (tests).
ObservedRun observe_live(const DoctorOptions& o, const Filter& filter, Observer& observer,
                         const std::function<void(LiveStep)>& on_step = {});

}  // namespace tcplinger::doctor
