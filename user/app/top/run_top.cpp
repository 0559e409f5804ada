// tcplinger top: the stats (lean) capture, a Model fed by the engine, and
// at each interval one Frame drawn on the screen, or printed (batch, JSON).
// Nothing is drawn per event: the refresh reads the model's tallies and
// the engine's connections once per interval.
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include "app/host_poller.hpp"
#include "app/pipeline.hpp"
#include "app/top/host.hpp"
#include "app/top/render.hpp"
#include "app/top/screen.hpp"
#include "app/top/top_options.hpp"
#include "app/tracer_options.hpp"
#include "capture/live.hpp"
#include "host/cgroup.hpp"
#include "host/clock.hpp"
#include "render/output.hpp"

namespace tcplinger {

namespace {
uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

std::string netns_selector(const FilterOptions& f) {
    if (f.netns) return std::to_string(f.netns);
    return f.netns_path;
}
}  // namespace

int run_top(const TopOptions& o) {
    Filter filter(o.common.filter);
    const bool screen_mode = !o.batch && !o.json && isatty(STDOUT_FILENO);
    const std::string selector = netns_selector(o.common.filter);
    const std::string scope = selector.empty() ? "every netns" : "netns " + selector;

    Output out;
    top::Model model(filter);
    Engine engine(o.common.max_sockets);
    engine.set_transitions(Engine::Transitions::NoTimeWaitOnly);
    engine.on_transition([&](const Transition& t) { model.add(t); });
    engine.on_residency([&](const Residency& r) { model.add(r); });

    std::map<uint64_t, std::string> cgroup_names;
    top::CgroupNamer cgroup_name = [&](uint64_t id) {
        auto it = cgroup_names.find(id);
        if (it == cgroup_names.end()) {
            std::string path = sys::cgroup_path(id);
            std::string label = sys::cgroup_label(path);
            it = cgroup_names.emplace(id, label.empty() ? path : label).first;
        }
        return it->second;
    };

    top::UiState ui;
    ui.interval_s = o.delay;
    ui.by_comm = o.by_comm;
    std::unique_ptr<top::Screen> screen;
    top::Frame frame;
    bool have_frame = false;
    uint64_t frames = 0;
    Tracer* tracer = nullptr;

    auto learn = [&](const top::HostRead& host) {
        for (const auto& [ns, port] : host.listeners) model.note_listener(ns, port);
        for (const auto& [ns, range] : host.ranges) model.set_port_range(ns, range);
    };
    // The namespaces' counters, the tracer's sockets (headroom) and the
    // CLOSE-WAIT holders are read on the poller's thread, one pass per
    // interval: with tens of thousands of sockets a pass takes tens of
    // milliseconds, and the poll loop must go on draining the ring buffer
    // meanwhile (scripts/bench lost events when it did not). A frame is made
    // when a pass arrives, so that the two cover the same interval.
    std::unique_ptr<HostPoller> poller;
    std::shared_ptr<const HostPoll> last_poll;
    uint64_t shown_generation = 0;
    top::HostRead last_host;
    HolderIndex holders;
    auto make_frame = [&](uint64_t now) {
        frame =
            model.refresh(engine, now, sys::realtime_ns(), last_host.sample, last_host.headroom, holders, ui.by_comm);
        frame.header.delay_s = ui.interval_s;
        if (tracer) {
            DropCounters d = tracer->counters();
            frame.header.lost = d.lost(engine.counters().duplicates);
            frame.header.evicted = d.sock_untracked + d.sock_map_full + engine.counters().evicted;
        }
        have_frame = true;
        ++frames;
    };
    auto take_poll = [&](std::shared_ptr<const HostPoll> p) {
        last_poll = std::move(p);
        shown_generation = last_poll->generation;
        last_host = top::host_read(*last_poll);
        holders = HolderIndex(last_poll->holders);
        learn(last_host);
    };
    auto show = [&] {
        if (!have_frame) return;
        if (screen)
            screen->draw(frame, ui, scope, cgroup_name);
        else if (o.json)
            top::render_json(out.stream(), frame, cgroup_name);
        else
            top::render_batch(out.stream(), frame, scope, cgroup_name);
        if (!screen) out.flush();
    };

    LiveOptions live;
    live.tracer = tracer_options(o.common, filter);
    live.tracer.lean = true;  // the stays, as stats counts them
    LiveHooks hooks;
    hooks.on_loaded = [&](Tracer& t) { tracer = &t; };
    // The poller walks the tracer's sockets: stopped before it detaches.
    hooks.before_stop = [&](Tracer&) {
        if (poller) poller->stop();
    };
    hooks.on_stopped = [&](Tracer&) {
        if (poller) poller->stop();
        tracer = nullptr;
    };
    hooks.on_started = [&] {
        uint64_t now = sys::monotonic_ns();
        model.set_start(now);
        HostPollerOptions po;
        po.netns = filter.kernel().netns;
        po.interval_s = ui.interval_s;
        po.counters = true;  // the header's sockstat and Tcp MIB
        po.verbose = o.common.verbose;
        poller = std::make_unique<HostPoller>(*tracer, po);
        // The first pass here: listeners that exist already (their accepted
        // sockets are a server's) and the rates' first pass.
        poller->start();
        take_poll(poller->latest());
    };
    hooks.on_event = [&](const Event& ev) {
        if (listens(ev)) model.note_listener(ev.netns, ev.local.port);
        engine.process(ev);
        if (poller) poller->event(ev);
    };
    hooks.timewait_probes = [&] { return engine.timewait_probes(kMaxProbedPerRound); };
    hooks.on_poll = [&](uint64_t now) {
        engine.advance(now);
        // The screen starts after the readiness line went to stderr, so that
        // the line does not land on it.
        if (screen_mode && !screen) {
            screen = std::make_unique<top::Screen>();
            ui.redraw = true;
        }
        if (screen) {
            for (int k; (k = screen->key()) != -1;) {
                top::handle_key(ui, k, top::table_of(have_frame ? frame : top::Frame{}, ui.view));
                if (ui.quit) return;
            }
            if (ui.refresh && have_frame) {
                // Regrouped (c): the same counters, new rows now.
                ui.refresh = false;
                make_frame(now);
            }
        }
        poller->set_interval(ui.interval_s);
        // -v: the loop's CPU for each refresh (the pass taken, the frame
        // built and shown), apart from the poller's pass it prints itself;
        // scripts/bench reads both.
        const uint64_t frames_before = frames;
        const uint64_t cpu_before = o.common.verbose ? thread_cpu_ns() : 0;
        if (auto p = poller->latest(); p && p->generation != shown_generation) {
            // Paused: the pass is skipped, the next frame's rates cover the pause.
            if (!ui.paused) {
                take_poll(std::move(p));
                make_frame(now);
                ui.redraw = true;
            } else {
                shown_generation = p->generation;
            }
        }
        if (ui.redraw) {
            ui.redraw = false;
            if (screen) {
                if (have_frame) {
                    show();
                } else {
                    top::Frame empty;
                    empty.header.interval_s = ui.interval_s;
                    empty.header.wall_ns = sys::realtime_ns();
                    screen->draw(empty, ui, scope, cgroup_name);
                }
            } else {
                show();
            }
        }
        if (o.common.verbose && frames != frames_before)
            std::fprintf(stderr, "tcplinger: frame (built and shown) took %.1f ms CPU\n",
                         (thread_cpu_ns() - cpu_before) / 1e6);
    };
    hooks.should_stop = [&] {
        return ui.quit || (o.iterations && frames >= o.iterations) || (!screen_mode && out.check());
    };
    DropCounters drops = run_live(live, hooks);
    screen.reset();  // the terminal back before the last line
    out.flush();
    std::fprintf(stderr, "tcplinger: %s\n", drops_line(drops, engine.counters()).c_str());
    out.finish();
    return 0;
}

}  // namespace tcplinger
