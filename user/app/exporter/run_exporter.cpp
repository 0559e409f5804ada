// tcplinger exporter: the stats (lean) capture path feeding an Engine and a
// bounded series model; every second the capture loop publishes an
// immutable snapshot that the HTTP threads render on each scrape.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <unordered_map>

#include "app/exporter/exporter_options.hpp"
#include "app/exporter/series.hpp"
#include "app/exporter/server.hpp"
#include "app/exporter/web_config.hpp"
#include "app/host_poller.hpp"
#include "app/tracer_options.hpp"
#include "capture/live.hpp"
#include "core/error.hpp"
#include "host/cgroup.hpp"
#include "host/clock.hpp"
#include "host/workload.hpp"
#include "lifecycle/engine.hpp"
#include "stats/aggregator.hpp"
#include "stats/filter.hpp"
#include "stats/headroom.hpp"
#include "stats/holders.hpp"
#include "stats/socket_table.hpp"

namespace tcplinger {

namespace {

std::atomic<bool> g_reload{false};
void on_hup(int) { g_reload = true; }

constexpr uint64_t kPublishNs = 1'000'000'000;  // snapshot period
constexpr uint64_t kHostNs = 5'000'000'000;     // host facts period (HostPoller)

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
    GroupLabels of(const Process& p, uint64_t now_ns) {
        GroupLabels l = workload(p.cgroup, now_ns);
        l.comm = p.comm;
        return l;
    }

private:
    static constexpr size_t kMax = 4096;
    // A pod's names can come later than its cgroup (the kubelet writes the
    // log tree after): the answer is asked again after this long.
    static constexpr uint64_t kRefreshNs = 10'000'000'000;
    struct Known {
        std::string path;
        GroupLabels labels;
        uint64_t at_ns = 0;
    };
    const GroupLabels& workload(uint64_t cgroup, uint64_t now_ns) {
        auto it = by_cgroup_.find(cgroup);
        if (it != by_cgroup_.end() && now_ns - it->second.at_ns < kRefreshNs) return it->second.labels;
        if (it == by_cgroup_.end()) {
            // Bounded: cgroups come and go with containers.
            if (by_cgroup_.size() >= kMax) by_cgroup_.clear();
            // id -> path walks the cgroup tree (sys::cgroup_path): once per id.
            it = by_cgroup_.emplace(cgroup, Known{cgroup ? sys::cgroup_path(cgroup) : std::string()}).first;
        }
        Known& k = it->second;
        k.at_ns = now_ns;
        if (k.path.empty()) return k.labels;
        // unit, container_id and the Kubernetes names (host/workload.hpp).
        WorkloadLabels w = workload_labels(k.path, pods_log_root_);
        k.labels = GroupLabels{"",
                               std::move(w.unit),
                               std::move(w.container_id),
                               std::move(w.k8s_namespace),
                               std::move(w.pod),
                               std::move(w.container)};
        return k.labels;
    }
    std::filesystem::path pods_log_root_;
    std::unordered_map<uint64_t, Known> by_cgroup_;
};

// The engine's sockets now, summed per (cgroup, comm, state) before any
// label is looked up: under churn the engine holds a minute of TIME-WAIT
// (hundreds of thousands), the processes behind them are few.
struct SocketKey {
    uint64_t cgroup;
    std::string comm;
    size_t state;
    bool operator==(const SocketKey&) const = default;
};
struct SocketKeyHash {
    size_t operator()(const SocketKey& k) const {
        return std::hash<std::string>()(k.comm) ^ (k.cgroup * 0x9e3779b97f4a7c15ull) ^ (k.state << 1);
    }
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
        model.stay(labels.of(r.owner, now_ns), state_index(r.state), r.duration_ns() / 1e9, entered, end, now_ns);
    });
    engine.on_transition([&](const Transition& t) {
        if (!t.aborted || !match.match(t)) return;
        model.abort(labels.of(t.charged, now_ns), now_ns);
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
    uint64_t started = 0, last_publish = 0;
    // Host facts every 5 s on the poller's thread: the namespaces' TcpExt
    // counters, the iter/tcp walk behind headroom and the CLOSE-WAIT
    // holders take long with many sockets (100-120 ms at 30,000), and the
    // capture loop must not stall (in the soak, the ring buffer filled when
    // it did).
    std::unique_ptr<HostPoller> poller;
    std::map<uint32_t, uint64_t> overflow_base;
    exporter::TracerFigures tracer_figures;
    auto publish = [&](uint64_t now) {
        std::shared_ptr<const HostPoll> host = poller ? poller->latest() : nullptr;
        // Open CLOSE-WAIT sockets are charged to their holder, as stats does.
        const HolderIndex holders(host ? host->holders : std::vector<SocketHolder>{});
        std::unordered_map<SocketKey, exporter::CurrentSockets, SocketKeyHash> sums;
        for (const auto& [cookie, c] : engine.connections()) {
            if (!is_lingering(c.state)) continue;
            const Process* charged = holders.charged(cookie, c, match);
            if (!charged) continue;
            exporter::CurrentSockets& s = sums[SocketKey{charged->cgroup, charged->comm, state_index(c.state)}];
            s.sockets++;
            s.entered += c.entered_known && c.entered_ns >= started && !c.stay_before_start;
            s.oldest_s = std::max(s.oldest_s, now > c.entered_ns ? (now - c.entered_ns) / 1e9 : 0.0);
        }
        std::vector<exporter::CurrentSockets> current;
        current.reserve(sums.size());
        for (auto& [k, s] : sums) {
            s.labels = labels.of(Process{0, k.comm, k.cgroup}, now);
            s.state = k.state;
            current.push_back(std::move(s));
        }
        auto snap = std::make_shared<MetricsSnapshot>(base);
        snap->groups = model.build(current, now);
        snap->series_dropped = model.dropped();
        if (host) {
            // TCPTimeWaitOverflow per namespace since the exporter first saw it.
            std::vector<DestinationHeadroom> all;
            for (const auto& ns : host->namespaces) {
                if (auto it = ns.tcpext.find("TCPTimeWaitOverflow"); it != ns.tcpext.end()) {
                    uint64_t& b = overflow_base.try_emplace(ns.inode, it->second).first->second;
                    snap->tw_overflow[ns.inode] = it->second - b;
                }
                if (!host->sockets_known) continue;
                snap->port_range_usable[ns.inode] = ns.usable;
                all.insert(all.end(), ns.destinations.begin(), ns.destinations.end());
            }
            // The busiest destinations of every namespace (SocketTable::busiest).
            size_t n = std::min(all.size(), o.headroom_top);
            std::partial_sort(all.begin(), all.begin() + n, all.end(), busier);
            for (size_t i = 0; i < n; ++i) {
                const auto& d = all[i].headroom.dest;
                snap->headroom.push_back(HeadroomMetric{d.netns, format_addr(d.family, d.saddr),
                                                        format_addr(d.family, d.daddr), d.dport,
                                                        all[i].headroom.headroom});
            }
        }
        if (tracer) {
            DropCounters d = tracer->counters();
            tracer_figures.fill(*snap, d, engine.counters());
            for (const auto& [prog, ns] : tracer->run_time_ns()) snap->bpf_run_seconds[prog] = ns / 1e9;
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
        HostPollerOptions po;
        po.netns = filter.kernel().netns;
        po.interval_s = kHostNs / 1e9;
        po.sockets = o.headroom_top > 0;
        po.verbose = o.common.verbose;
        poller = std::make_unique<HostPoller>(*tracer, po);
        poller->start();
        std::fprintf(stderr, "tcplinger: exporter listening on %s\n", addr->url(server.tls()).c_str());
    };
    hooks.on_event = [&](const Event& ev) {
        engine.process(ev);
        if (poller) poller->event(ev);
    };
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
        if (now - last_publish >= kPublishNs) {
            last_publish = now;
            publish(now);
        }
    };
    // The poller walks the tracer's sockets: stopped before it detaches.
    auto stop_poller = [&] {
        if (poller) poller->stop();
    };
    hooks.before_stop = [&](Tracer&) { stop_poller(); };
    hooks.on_stopped = [&](Tracer&) {
        stop_poller();
        tracer = nullptr;
    };
    DropCounters drops;
    try {
        drops = run_live(live, hooks);
    } catch (...) {
        stop_poller();
        server.stop();
        throw;
    }
    stop_poller();
    server.stop();
    std::fprintf(stderr, "tcplinger: %s\n", drops_line(drops, engine.counters()).c_str());
    return 0;
}

}  // namespace tcplinger
