#include "capture/live_session.hpp"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdio>

#include "capture/live.hpp"
#include "host/clock.hpp"

namespace tcplinger {

namespace {
void announce_tracing(size_t programs) {
    std::fprintf(stderr, "%s%zu programs)\n", kTracingLine, programs);
    std::fflush(stderr);
    // A no-op unless started by systemd with Type=notify (NOTIFY_SOCKET set).
    sd_notifyf(0, "READY=1\nSTATUS=tracing (attached %zu programs)", programs);
}
}  // namespace

LiveSession::LiveSession(LiveOptions opts, LiveHooks hooks) : opts_(std::move(opts)), hooks_(std::move(hooks)) {}

// Not stop(): destroyed by an exception, the hooks may refer to what is
// gone already; ~Tracer detaches the programs.
LiveSession::~LiveSession() = default;

void LiveSession::step(LiveStep s) {
    if (hooks_.on_step) hooks_.on_step(s);
}

void LiveSession::probe_round() {
    if (!hooks_.timewait_probes) return;
    for (const Event& ev : tracer_->probe_timewait(hooks_.timewait_probes())) hooks_.on_event(ev);
    step(LiveStep::ProbeRound);
}

void LiveSession::start() {
    if (opts_.stop_on_signals) install_stop_signals();
    check_netns_exists(opts_.tracer.filter.netns);
    tracer_ = std::make_unique<Tracer>(opts_.tracer);
    if (!tracer_->accept_attached())
        std::fprintf(stderr,
                     "tcplinger: warning: accept() tracepoints unavailable (tracefs not mountable); "
                     "accepted sockets are attributed when they close\n");
    step(LiveStep::Loaded);
    if (hooks_.on_loaded) hooks_.on_loaded(*tracer_);
    if (hooks_.on_started) hooks_.on_started();
    // The jiffies-to-clock relation for recovered moments (Engine
    // JiffyClock), first in the stream (the snapshot's TIME-WAIT ages use
    // it) so that a recording carries it too.
    if (auto sample = tracer_->clock_sample()) hooks_.on_event(*sample);
    if (opts_.snapshot)
        for (const Event& ev : tracer_->snapshot()) hooks_.on_event(ev);
    // Attached before the snapshot was taken: whatever happens from here on
    // is either in the snapshot or in the ring buffer.
    if (opts_.announce) announce_tracing(tracer_->attached_programs());
    step(LiveStep::Ready);

    const uint64_t start = sys::monotonic_ns();
    end_ = opts_.duration_s > 0 ? start + static_cast<uint64_t>(opts_.duration_s * 1e9) : UINT64_MAX;
    tick_ns_ = opts_.tick_s > 0 ? static_cast<uint64_t>(opts_.tick_s * 1e9) : 0;
    next_tick_ = tick_ns_ ? start + tick_ns_ : UINT64_MAX;
    next_probe_ = start + kProbeEveryNs;
    next_counters_ = start;
}

bool LiveSession::poll_once() {
    constexpr uint64_t kCountersEveryNs = 1'000'000'000;
    if (opts_.stop_on_signals && stop_requested()) return false;
    uint64_t now = sys::monotonic_ns();
    if (now >= end_) return false;
    int64_t wait_ms = std::min<int64_t>(kPollMs, (std::min(end_, next_tick_) - now) / 1'000'000 + 1);
    if (tracer_->poll(static_cast<int>(wait_ms), hooks_.on_event) < 0) return false;
    now = sys::monotonic_ns();
    if (now >= next_probe_) {
        next_probe_ = now + kProbeEveryNs;
        probe_round();
    }
    if (hooks_.on_counters && now >= next_counters_) {
        next_counters_ = now + kCountersEveryNs;
        hooks_.on_counters(tracer_->counters());
    }
    if (hooks_.on_poll) hooks_.on_poll(now);
    if (hooks_.should_stop && hooks_.should_stop()) return false;
    if (now >= next_tick_) {
        next_tick_ += tick_ns_;
        if (hooks_.on_tick) hooks_.on_tick(now);
    }
    return true;
}

bool LiveSession::run_until(const std::function<bool()>& until) {
    while (poll_once())
        if (until && until()) return true;
    return false;
}

DropCounters LiveSession::stop() {
    if (stopped_ || !tracer_) return final_;
    stopped_ = true;
    step(LiveStep::BeforeStop);
    if (hooks_.before_stop) hooks_.before_stop(*tracer_);
    if (opts_.announce) sd_notify(0, "STOPPING=1");
    tracer_->stop(hooks_.on_event);
    step(LiveStep::Drained);
    // After the drain: the last transitions may have made new FIN-WAIT-2
    // timewait sockets to read once more.
    probe_round();
    if (hooks_.on_stopped) hooks_.on_stopped(*tracer_);
    step(LiveStep::Stopped);
    final_ = tracer_->counters();
    return final_;
}

}  // namespace tcplinger
