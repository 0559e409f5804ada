// The two clocks tcplinger reads: CLOCK_MONOTONIC, which bpf_ktime_get_ns()
// and so every event's ts_ns use, and CLOCK_REALTIME for wall-clock output.
#pragma once
#include <cstdint>

namespace tcplinger::sys {

uint64_t monotonic_ns();
uint64_t realtime_ns();

}  // namespace tcplinger::sys
