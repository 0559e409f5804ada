#include "capture/live.hpp"

#include <signal.h>

#include <atomic>
#include <cstdio>

#include "core/error.hpp"
#include "host/netns.hpp"

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
    LiveSession session(opts, hooks);
    session.start();
    session.run_until();
    return session.stop();
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
