// The live loop shared by trace, stats and record: start the tracer, feed
// the snapshot and then every record to the caller, stop on --duration,
// SIGINT or SIGTERM (a second signal kills), drain, report drops. The
// session itself (options, hooks, steps) is capture/live_session.hpp.
#pragma once
#include <string>

#include "capture/live_session.hpp"
#include "capture/tracer.hpp"
#include "lifecycle/engine.hpp"

namespace tcplinger {

// Runs a LiveSession until --duration, a signal or should_stop; announces
// readiness (kTracingLine) after the snapshot. Throws FatalError.
DropCounters run_live(const LiveOptions& opts, const LiveHooks& hooks);
// A --netns inode that no process or /run/netns file has: FatalError
// (tracing it would show nothing).
void check_netns_exists(uint32_t netns);
// "524 events, 0 lost (ring buffer 0, recursion 0), 88 nested hits recovered,
// 0 sockets evicted (bpf 0, engine 0); recursion hits: 88 skipped by the
// kernel, 88 caught by backups, 0 duplicates dropped, 0 missed; 0 timewait
// records without cookie, 0 unknown sockets (first seen mid-life)"
std::string drops_line(const DropCounters& d, const EngineCounters& engine);
// True once SIGINT/SIGTERM arrived (for loops outside run_live).
bool stop_requested();
void install_stop_signals();

}  // namespace tcplinger
