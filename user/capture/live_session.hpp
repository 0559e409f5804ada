// One live run of the tracer, as every live mode and the kernel tests drive
// it: load and attach, the clock sample and the start snapshot, readiness,
// then polls with the timewait probe rounds on one cadence, and one stop
// order. run_live() (capture/live.hpp) is start(), run_until() and stop();
// a caller that has its own work between polls (the kernel test harness
// starts a workload once tracing is ready) calls the steps itself.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "capture/tracer.hpp"

namespace tcplinger {

struct LiveOptions {
    TracerOptions tracer;
    double duration_s = 0;  // 0: until a signal
    double tick_s = 0;      // 0: no ticks
    bool snapshot = true;   // sockets present at start
    // SIGINT/SIGTERM end the run (a second one kills). The test harness, one
    // process running many sessions, leaves the signals alone.
    bool stop_on_signals = true;
    // kTracingLine on stderr and sd_notify at readiness; off in the harness
    // (its many sessions would fill the test log; nothing waits for them).
    bool announce = true;
};

// What a session has just done, in order (LiveHooks::on_step): the kernel
// tests compare the harness's steps with run_live's.
enum class LiveStep {
    Loaded,      // programs loaded and attached, ring buffer set up
    Ready,       // clock sample and snapshot handed over; readiness announced
    ProbeRound,  // the timewait sockets re-read (every kProbeEveryNs, and once after the drain)
    BeforeStop,  // the run is over; programs still attached
    Drained,     // programs detached, ring buffer drained
    Stopped,     // on_stopped returned
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
    // Each LiveStep as it is done (tests).
    std::function<void(LiveStep)> on_step;
};

// Printed on stderr once every program is attached and the start snapshot
// taken, followed by the count and "programs)"; also sent to systemd as
// READY=1 when NOTIFY_SOCKET is set. STOPPING=1 follows when the run ends.
inline constexpr const char* kTracingLine = "tcplinger: tracing (attached ";

class LiveSession {
public:
    // Timewait probe rounds while running (FIN-WAIT-2 timewait sockets whose
    // hidden move to TIME-WAIT the probe recovers; README "How it works").
    static constexpr uint64_t kProbeEveryNs = 250'000'000;
    // Longest wait in one poll: how late on_poll, should_stop and a signal
    // are seen at most.
    static constexpr int kPollMs = 50;

    LiveSession(LiveOptions opts, LiveHooks hooks);  // loads nothing yet
    // Detaches without the stop order (an exception left start() or the loop).
    ~LiveSession();
    LiveSession(const LiveSession&) = delete;
    LiveSession& operator=(const LiveSession&) = delete;

    // Loads and attaches (on_loaded, on_started), hands over the clock
    // sample and the snapshot, announces readiness. Throws FatalError.
    void start();
    // After start(): one poll of up to kPollMs, then whatever is due: a probe round, the
    // counters, on_poll, should_stop, a tick. False once the run should end
    // (--duration, a signal, should_stop, a ring buffer error).
    bool poll_once();
    // poll_once() until it returns false or until() (if given) is true.
    // True when until() ended it.
    bool run_until(const std::function<bool()>& until = {});
    // before_stop, STOPPING=1, detach and drain, a last probe round,
    // on_stopped. Returns the final drop counters; later calls return them again.
    DropCounters stop();

    bool started() const { return tracer_ != nullptr; }
    bool stopped() const { return stopped_; }
    Tracer& tracer() { return *tracer_; }

private:
    void step(LiveStep s);
    void probe_round();

    LiveOptions opts_;
    LiveHooks hooks_;
    std::unique_ptr<Tracer> tracer_;
    uint64_t end_ = UINT64_MAX;
    uint64_t tick_ns_ = 0;
    uint64_t next_tick_ = UINT64_MAX;
    uint64_t next_probe_ = 0;
    uint64_t next_counters_ = 0;
    bool stopped_ = false;
    DropCounters final_;
};

}  // namespace tcplinger
