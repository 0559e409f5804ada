// What loading and attaching the programs needs from the host: capabilities,
// kernel BTF and version, and tracefs for the classic tracepoints.
#pragma once

namespace tcplinger::sys {

// Throws FatalError naming what is missing and what to do.
void check_can_trace();
// Mounts tracefs at /sys/kernel/tracing if needed. False if unavailable.
bool ensure_tracefs();

}  // namespace tcplinger::sys
