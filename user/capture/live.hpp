// The live loop shared by trace, stats and record: start the tracer, feed
// the snapshot and then every record to the caller, stop on --duration,
// SIGINT or SIGTERM (a second signal kills), drain, report drops. The
// session itself (options, hooks, steps) is capture/live_session.hpp.
#pragma once
#include <string>

#include "capture/live_session.hpp"

namespace tcplinger {

// Runs a LiveSession until --duration, a signal or should_stop; announces
// readiness (kTracingLine) after the snapshot. Throws FatalError.
DropCounters run_live(const LiveOptions& opts, const LiveHooks& hooks);
// A --netns inode that no process or /run/netns file has: FatalError
// (tracing it would show nothing).
void check_netns_exists(uint32_t netns);
// "events 1234, lost 0 (ring buffer 0, recursion 0), untracked sockets 0"
std::string drops_line(const DropCounters& d, uint64_t engine_evicted);
// True once SIGINT/SIGTERM arrived (for loops outside run_live).
bool stop_requested();
void install_stop_signals();

}  // namespace tcplinger
