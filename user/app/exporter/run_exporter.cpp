// tcplinger exporter: the stats (lean) capture path feeding an Engine and a
// bounded series model; every second the capture loop publishes an
// immutable snapshot that the HTTP threads render on each scrape.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <unordered_map>

#include "app/exporter/exporter_cli.hpp"
#include "app/exporter/series.hpp"
#include "app/exporter/server.hpp"
#include "app/exporter/web_config.hpp"
#include "cli/filter.hpp"
#include "cli/live.hpp"
#include "core/error.hpp"
#include "lifecycle/engine.hpp"
#include "record/host_facts.hpp"
#include "stats/aggregator.hpp"
#include "tracer/system.hpp"

namespace tcplinger {

TracerOptions tracer_options(const CommonOptions& c, const Filter& filter);

namespace {

std::atomic<bool> g_reload{false};
void on_hup(int) { g_reload = true; }

constexpr uint64_t kPublishNs = 1'000'000'000;  // snapshot period
constexpr uint64_t kHostNs = 5'000'000'000;     // TcpExt counters period

size_t state_index(uint8_t state) {
    for (size_t i = 0; i < kLingeringStates.size(); ++i)
        if (kLingeringStates[i] == state) return i;
    return kLingeringStates.size();
}

int tw_end_index(EndReason r) {
    switch (r) {
        case EndReason::Expired:
            return 0;
        case EndReason::Reused:
            return 1;
        case EndReason::Reset:
            return 2;
        case EndReason::Purged:
            return 3;
        case EndReason::Unknown:
            return 4;
        case EndReason::None:
            break;
    }
    return -1;
}

// Group labels of a process: comm, and the workload its cgroup names.
class LabelCache {
public:
    explicit LabelCache(std::string pods_log_root) : pods_log_root_(std::move(pods_log_root)) {}
    GroupLabels of(const Process& p) {
        auto it = by_cgroup_.find(p.cgroup);
        if (it == by_cgroup_.end()) {
            // Bounded: cgroups come and go with containers.
            if (by_cgroup_.size() >= kMax) by_cgroup_.clear();
            it = by_cgroup_.emplace(p.cgroup, workload(p.cgroup)).first;
        }
        GroupLabels l = it->second;
        l.comm = p.comm;
        return l;
    }

private:
    static constexpr size_t kMax = 4096;
    // unit, container_id and the Kubernetes names come from
    // host/workload.hpp once merged (the deploy branch); empty until then.
    GroupLabels workload(uint64_t /*cgroup*/) const { return GroupLabels{}; }
    std::string pods_log_root_;
    std::unordered_map<uint64_t, GroupLabels> by_cgroup_;
};

}  // namespace

int run_exporter(const ExporterOptions& o) {
    auto addr = exporter::parse_listen(o.listen);  // checked by the option's validator
    if (!addr) {
        std::fprintf(stderr, "tcplinger: bad --listen '%s': give ADDR:PORT, e.g. 127.0.0.1:%u\n", o.listen.c_str(),
                     unsigned{kExporterPort});
        return 2;
    }
    exporter::WebConfig web;
    if (!o.web_config.empty()) {
        try {
            web = exporter::load_web_config(o.web_config);
        } catch (const FatalError& e) {
            std::fprintf(stderr, "tcplinger: %s\n", e.what());
            return 2;
        }
    }
    struct sigaction sa {};
    sa.sa_handler = on_hup;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, nullptr);

    Filter filter(o.common.filter);
    Filter match = filter.without_state();
    LabelCache labels(o.pods_log_root);
    exporter::SeriesModel model(o.max_series, static_cast<uint64_t>(o.series_ttl * 1e9));
    Engine engine(o.common.max_sockets);
    engine.set_transitions(Engine::Transitions::NoTimeWaitOnly);
    uint64_t now_ns = sys::monotonic_ns();
    engine.on_residency([&](const Residency& r) {
        if (!is_lingering(r.state) || !match.match(r)) return;
        bool entered = !(r.lower_bound || r.present_at_start);
        int end = r.state == kTimeWait ? tw_end_index(r.reason) : -1;
        model.stay(labels.of(r.owner), state_index(r.state), r.duration_ns() / 1e9, entered, end, now_ns);
    });
    engine.on_transition([&](const Transition& t) {
        if (!t.aborted || !match.match(t)) return;
        model.abort(labels.of(t.charged), now_ns);
    });

    exporter::SnapshotSlot slot;
    MetricsSnapshot base;
    base.version = TL_VERSION;
#ifdef TL_REVISION
    base.revision = TL_REVISION;
#endif
    slot.publish(std::make_shared<MetricsSnapshot>(base));
    exporter::MetricsServer server(*addr, exporter::ServerLimits{}, slot);
    try {
        server.start(web);
    } catch (const FatalError& e) {
        std::fprintf(stderr, "tcplinger: %s\n", e.what());
        return 1;
    }

    Tracer* tracer = nullptr;
    uint64_t started = 0, last_publish = 0, last_host = 0;
    std::map<uint32_t, uint64_t> overflow_base, overflow;
    auto refresh_host = [&] {
        // TCPTimeWaitOverflow per namespace since the exporter first saw it.
        overflow.clear();
        for (const auto& ns : rec::netns_facts(filter.kernel().netns, false)) {
            auto it = ns.tcpext.find("TCPTimeWaitOverflow");
            if (it == ns.tcpext.end()) continue;
            uint64_t& b = overflow_base.try_emplace(ns.inode, it->second).first->second;
            overflow[ns.inode] = it->second - b;
        }
    };
    auto publish = [&](uint64_t now) {
        std::vector<exporter::CurrentSocket> current;
        for (const auto& [cookie, c] : engine.connections()) {
            if (!is_lingering(c.state)) continue;
            const Process& charged = responsible(c, c.state);
            if (!match.match(c, charged)) continue;
            exporter::CurrentSocket s;
            s.labels = labels.of(charged);
            s.state = state_index(c.state);
            s.age_s = now > c.entered_ns ? (now - c.entered_ns) / 1e9 : 0;
            s.entered = c.entered_known && c.entered_ns >= started && !c.stay_before_start;
            current.push_back(std::move(s));
        }
        auto snap = std::make_shared<MetricsSnapshot>(base);
        snap->groups = model.build(current, now);
        snap->series_dropped = model.dropped();
        snap->tw_overflow = overflow;
        if (tracer) {
            DropCounters d = tracer->counters();
            snap->events = d.events;
            snap->lost_ringbuf = d.ringbuf_drops;
            snap->lost_recursion = d.recursion_lost;
            snap->evicted = d.sock_untracked + d.sock_map_full + engine.counters().evicted;
        }
        slot.publish(std::move(snap));
    };

    LiveOptions live;
    live.tracer = tracer_options(o.common, filter);
    live.tracer.lean = true;  // the stats capture path: stays, not set-up transitions
    live.tick_s = 0.2;
    LiveHooks hooks;
    hooks.on_loaded = [&](Tracer& t) { tracer = &t; };
    hooks.on_started = [&] {
        started = sys::monotonic_ns();
        refresh_host();
        std::fprintf(stderr, "tcplinger: exporter listening on %s\n", addr->url(server.tls()).c_str());
    };
    hooks.on_event = [&](const Event& ev) { engine.process(ev); };
    hooks.timewait_probes = [&] { return engine.timewait_probes(kMaxProbedPerRound); };
    hooks.on_poll = [&](uint64_t now) {
        now_ns = now;
        engine.advance(now);
        if (g_reload.exchange(false) && !o.web_config.empty()) {
            try {
                server.reload(exporter::load_web_config(o.web_config));
                std::fprintf(stderr, "tcplinger: reloaded web config %s\n", o.web_config.c_str());
            } catch (const FatalError& e) {
                std::fprintf(stderr, "tcplinger: %s; kept the previous web config\n", e.what());
            }
        }
        if (now - last_host >= kHostNs) {
            last_host = now;
            refresh_host();
        }
        if (now - last_publish >= kPublishNs) {
            last_publish = now;
            publish(now);
        }
    };
    hooks.on_stopped = [&](Tracer&) { tracer = nullptr; };
    DropCounters drops;
    try {
        drops = run_live(live, hooks);
    } catch (...) {
        server.stop();
        throw;
    }
    server.stop();
    std::fprintf(stderr, "tcplinger: %s\n", drops_line(drops, engine.counters().evicted).c_str());
    return 0;
}

}  // namespace tcplinger
