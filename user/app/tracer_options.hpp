// The tracer's options from the options every live command shares (trace,
// stats, record, doctor --observe, and the live modes to come).
#pragma once
#include "app/options.hpp"
#include "capture/tracer.hpp"
#include "stats/filter.hpp"

namespace tcplinger {

TracerOptions tracer_options(const CommonOptions& c, const Filter& filter);

}  // namespace tcplinger
