#include "capture/live.hpp"

#include <signal.h>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <cstdio>

#include "core/error.hpp"
#include "host/system.hpp"

namespace tcplinger {

namespace {
std::atomic<bool> g_stop{false};

void on_signal(int sig) {
    g_stop.store(true);
    // The next one kills: restore the default action.
    signal(sig, SIG_DFL);
}
}  // namespace

bool stop_requested() { return g_stop.load(); }

void check_netns_exists(uint32_t netns) {
    if (!netns || sys::list_netns().count(netns)) return;
    throw FatalError("no network namespace has inode " + std::to_string(netns) +
                     " (none in /proc/*/ns/net or /run/netns): give a live namespace's inode (ls -iL "
                     "/proc/PID/ns/net), /run/netns/NAME or /proc/PID/ns/net");
}

void announce_tracing(size_t programs) {
    std::fprintf(stderr, "%s%zu programs)\n", kTracingLine, programs);
    std::fflush(stderr);
    // A no-op unless started by systemd with Type=notify (NOTIFY_SOCKET set).
    sd_notifyf(0, "READY=1\nSTATUS=tracing (attached %zu programs)", programs);
}

void install_stop_signals() {
    g_stop.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

DropCounters run_live(const LiveOptions& opts, const LiveHooks& hooks) {
    install_stop_signals();
    check_netns_exists(opts.tracer.filter.netns);
    Tracer tracer(opts.tracer);
    if (!tracer.accept_attached())
        std::fprintf(stderr,
                     "tcplinger: warning: accept() tracepoints unavailable (tracefs not mountable); "
                     "accepted sockets are attributed when they close\n");
    if (hooks.on_loaded) hooks.on_loaded(tracer);
    if (hooks.on_started) hooks.on_started();
    Tracer::Callback cb = [&](const Event& ev) { hooks.on_event(ev); };
    // The jiffies-to-clock relation for recovered moments (Engine
    // JiffyClock), first in the stream (the snapshot's TIME-WAIT ages use
    // it) so that a recording carries it too.
    if (auto sample = tracer.clock_sample()) hooks.on_event(*sample);
    if (opts.snapshot)
        for (const Event& ev : tracer.snapshot()) hooks.on_event(ev);
    // Attached before the snapshot was taken: whatever happens from here on
    // is either in the snapshot or in the ring buffer.
    announce_tracing(tracer.attached_programs());

    const uint64_t start = sys::monotonic_ns();
    const uint64_t end = opts.duration_s > 0 ? start + static_cast<uint64_t>(opts.duration_s * 1e9) : UINT64_MAX;
    const uint64_t tick_ns = opts.tick_s > 0 ? static_cast<uint64_t>(opts.tick_s * 1e9) : 0;
    uint64_t next_tick = tick_ns ? start + tick_ns : UINT64_MAX;
    constexpr uint64_t kProbeEveryNs = 250'000'000;
    uint64_t next_probe = start + kProbeEveryNs;
    constexpr uint64_t kCountersEveryNs = 1'000'000'000;
    uint64_t next_counters = start;
    auto probe = [&] {
        if (!hooks.timewait_probes) return;
        for (const Event& ev : tracer.probe_timewait(hooks.timewait_probes())) hooks.on_event(ev);
    };
    while (!g_stop.load()) {
        uint64_t now = sys::monotonic_ns();
        if (now >= end) break;
        int64_t wait_ms = std::min<int64_t>(50, (std::min(end, next_tick) - now) / 1'000'000 + 1);
        if (tracer.poll(static_cast<int>(wait_ms), cb) < 0) break;
        now = sys::monotonic_ns();
        if (now >= next_probe) {
            next_probe = now + kProbeEveryNs;
            probe();
        }
        if (hooks.on_counters && now >= next_counters) {
            next_counters = now + kCountersEveryNs;
            hooks.on_counters(tracer.counters());
        }
        if (hooks.on_poll) hooks.on_poll(now);
        if (hooks.should_stop && hooks.should_stop()) break;
        if (now >= next_tick) {
            next_tick += tick_ns;
            if (hooks.on_tick) hooks.on_tick(now);
        }
    }
    if (hooks.before_stop) hooks.before_stop(tracer);
    sd_notify(0, "STOPPING=1");
    tracer.stop(cb);
    probe();
    if (hooks.on_stopped) hooks.on_stopped(tracer);
    return tracer.counters();
}

std::string drops_line(const DropCounters& d, const EngineCounters& engine) {
    auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    const uint64_t dup = engine.duplicates, bpf_evicted = d.sock_untracked + d.sock_map_full;
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "%llu events, %llu lost (ring buffer %llu, recursion %llu), %llu nested hits recovered, "
                  "%llu sockets evicted (bpf %llu, engine %llu); recursion hits: %llu skipped by the kernel, "
                  "%llu caught by backups, %llu duplicates dropped, %llu missed; %llu timewait records without "
                  "cookie, %llu unknown sockets (first seen mid-life)",
                  u(d.events), u(d.lost(dup)), u(d.ringbuf_drops), u(d.recursion_missed(dup)), u(d.nested_caught),
                  u(bpf_evicted + engine.evicted), u(bpf_evicted), u(engine.evicted), u(d.recursion_skipped),
                  u(d.nested_caught), u(dup), u(d.recursion_missed(dup)), u(d.no_cookie), u(engine.unknown_sockets));
    return buf;
}

}  // namespace tcplinger
