// The live loop shared by trace, stats and record: start the tracer, feed
// the snapshot and then every record to the caller, stop on --duration,
// SIGINT or SIGTERM (a second signal kills), drain, report drops.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "capture/tracer.hpp"
#include "lifecycle/engine.hpp"

namespace tcplinger {

struct LiveOptions {
    TracerOptions tracer;
    double duration_s = 0;  // 0: until a signal
    double tick_s = 0;      // 0: no ticks
    bool snapshot = true;   // sockets present at start
};

struct LiveHooks {
    std::function<void(const Event&)> on_event;
    std::function<void(uint64_t mono_ns)> on_tick;  // every tick_s, and when idle
    std::function<void()> on_started;               // after attach, before the snapshot
    std::function<void(uint64_t mono_ns)> on_poll;  // after every poll (about every 50 ms)
    // Timewait sockets to re-read (Engine::timewait_probes); the answers
    // come back through on_event.
    std::function<std::vector<std::pair<uint64_t, uint64_t>>()> timewait_probes;
    // The tracer's drop counters so far, about every second (the recorder
    // stores them with each frame).
    std::function<void(const DropCounters&)> on_counters;
    // Polled after every poll: true ends the run as a signal would.
    std::function<bool()> should_stop;
    // The tracer once loaded (before the snapshot), valid until on_stopped
    // returns; on_stopped runs once the programs are detached and drained,
    // for a last look at the kernel's sockets (stats: CLOSE-WAIT holders).
    std::function<void(Tracer&)> on_loaded;
    std::function<void(Tracer&)> on_stopped;
    // Once the run is over, before the programs detach (doctor takes a last
    // snapshot of the sockets here).
    std::function<void(Tracer&)> before_stop;
};

// Printed on stderr once every program is attached and the start snapshot
// taken, followed by the count and "programs)"; also sent to systemd as
// READY=1 when NOTIFY_SOCKET is set. STOPPING=1 follows when the run ends.
inline constexpr const char* kTracingLine = "tcplinger: tracing (attached ";

// Runs the tracer until --duration, a signal or should_stop; announces
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
