// The one part of tcplinger that talks to libbpf: load, attach, snapshot,
// poll, count drops, detach. Everything it hands out is a decoded Event.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/event.hpp"

namespace tcplinger {

// Timewait sockets re-read per probe round at most (Tracer::probe_timewait).
inline constexpr size_t kMaxProbedPerRound = 65536;

struct KernelFilter {
    uint32_t netns = 0;  // 0: every namespace
    uint8_t family = 0;  // 0, 4 or 6
    uint16_t lport = 0, rport = 0, port = 0;
};

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

// Everything that can be lost, always reported. The recursion figures are
// gross: skipped (the kernel's count), caught by the backup programs, and
// missed = skipped - (caught - duplicates), where a duplicate is a hit a
// backup handled again after its primary did, dropped by the engine
// (EngineCounters::duplicates, so it is an argument here).
struct DropCounters {
    uint64_t events = 0;          // records the kernel produced
    uint64_t ringbuf_drops = 0;   // ring buffer full
    uint64_t sock_untracked = 0;  // socket missing from the BPF map (LRU eviction)
    uint64_t sock_map_full = 0;
    uint64_t nested_caught = 0;      // nested tracepoint hits the backup programs handled (duplicates included)
    uint64_t recursion_lost = 0;     // max(0, skipped - caught): the net figure recordings always kept
    uint64_t no_cookie = 0;          // timewait records whose socket had no cookie
    uint64_t recursion_skipped = 0;  // hits the kernel skipped in a primary (bpf_prog_info.recursion_misses)
    // Hits neither program handled.
    uint64_t recursion_missed(uint64_t duplicates = 0) const {
        return recursion_skipped + duplicates > nested_caught ? recursion_skipped + duplicates - nested_caught : 0;
    }
    uint64_t lost(uint64_t duplicates = 0) const { return ringbuf_drops + recursion_missed(duplicates); }
};

// A process holding a TCP socket in CLOSE-WAIT now, at fd (the answer to
// "who leaks"): read from the kernel's fd tables, not from past events.
struct SocketHolder {
    uint64_t cookie = 0;
    Process process;  // tgid, comm, cgroup v2 id
    int32_t fd = -1;
    bool operator==(const SocketHolder&) const = default;
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
