#include "capture/live.hpp"

#include <signal.h>

#include <atomic>

#include "core/error.hpp"
#include "host/netns.hpp"
#include "render/stats_format.hpp"

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

std::string drops_line(const DropCounters& d, const EngineCounters& engine) { return loss_summary(d, engine); }

}  // namespace tcplinger
