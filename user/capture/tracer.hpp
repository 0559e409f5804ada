// The one part of tcplinger that talks to libbpf: load, attach, snapshot,
// poll, count drops, detach. Everything it hands out is a decoded Event.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/counters.hpp"
#include "core/event.hpp"

namespace tcplinger {

// Timewait sockets re-read per probe round at most (Tracer::probe_timewait).
inline constexpr size_t kMaxProbedPerRound = 65536;

struct TracerOptions {
    KernelFilter filter;
    bool verbose = false;      // libbpf's own log on stderr
    uint32_t ringbuf_mb = 16;  // power of two
    bool accept_owner = true;  // attach the accept() syscall tracepoints
    bool lean = false;         // stats: do not ship connection set-up transitions
    // Tests only: attach the primaries alone, so every hit the kernel skips
    // for recursion is missed (LossKernel.RecursionMissedWithoutBackups).
    bool backups = true;
};

class Tracer {
public:
    explicit Tracer(const TracerOptions& opts);  // throws FatalError
    ~Tracer();
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;

    using Callback = std::function<void(const Event&)>;
    // Sockets that exist now (iter/tcp in each traced netns), with Owner
    // events for those /proc attributes to a process.
    std::vector<Event> snapshot();
    // The same walk alone (iter/tcp, no /proc owners, no counter reset):
    // the sockets now, for a periodic look while tracing (exporter headroom).
    std::vector<Event> sockets_now();
    // Waits up to timeout_ms, then hands over every pending record. Returns
    // the number handed over, or -1 on error.
    int poll(int timeout_ms, const Callback& cb);
    // Detaches every program, then drains what is left.
    void stop(const Callback& cb);
    // Re-reads timewait sockets (kernel address, cookie); one TwProbe event
    // per socket still alive.
    std::vector<Event> probe_timewait(const std::vector<std::pair<uint64_t, uint64_t>>& sockets);
    // A TwProbe event with no socket (cookie 0) whose (ts_ns, jiffies in
    // aux1) was read just after jiffies changed: dates a jiffy boundary for
    // Engine's JiffyClock to a few microseconds. Spins up to ten jiffies.
    std::optional<Event> clock_sample();
    DropCounters counters() const;
    // BPF run time per attached program (primaries and backups), only those
    // the kernel counted (kernel.bpf_stats_enabled=1).
    std::map<std::string, uint64_t> run_time_ns() const;
    // Every (process, fd) that holds a socket in CLOSE-WAIT now, within the
    // kernel filter (iter/task_file); usable after stop() too.
    std::vector<SocketHolder> socket_holders();
    bool accept_attached() const { return accept_attached_; }
    size_t attached_programs() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    bool accept_attached_ = false;
};

}  // namespace tcplinger
