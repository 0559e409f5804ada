// The kernel harness runs the tool's own live loop (issue 11): the steps
// of a harness Session and of run_live as `tcplinger stats` calls it
// (lean BPF, the engine's timewait probes) follow one cadence and one stop
// order. The old harness had its own loop: it probed at its first poll and
// again just before detaching, where the tool probes 250 ms after readiness
// and once more after the drain.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include "app/options.hpp"
#include "app/tracer_options.hpp"
#include "capture/live.hpp"
#include "harness.hpp"
#include "host/clock.hpp"

namespace tltest {
namespace {

using Steps = std::vector<std::pair<LiveStep, uint64_t>>;

// "Loaded Ready Probe Probe ... BeforeStop Drained Probe Stopped" with the
// probe rounds while running counted, not listed.
std::string shape(const Steps& steps, size_t* running_probes) {
    std::string out;
    *running_probes = 0;
    bool stopping = false;
    for (const auto& [s, at] : steps) {
        (void)at;
        switch (s) {
            case LiveStep::Loaded:
                out += "Loaded ";
                break;
            case LiveStep::Ready:
                out += "Ready ";
                break;
            case LiveStep::ProbeRound:
                if (stopping)
                    out += "Probe ";
                else
                    ++*running_probes;
                break;
            case LiveStep::BeforeStop:
                stopping = true;
                out += "BeforeStop ";
                break;
            case LiveStep::Drained:
                out += "Drained ";
                break;
            case LiveStep::Stopped:
                out += "Stopped";
                break;
        }
    }
    return out;
}

// Every probe round while running comes at least kProbeEveryNs after
// readiness or the round before, and within a poll of it being due.
void expect_cadence(const Steps& steps, const char* who) {
    uint64_t last = 0;
    for (const auto& [s, at] : steps) {
        if (s == LiveStep::Ready) last = at;
        if (s == LiveStep::BeforeStop) break;
        if (s != LiveStep::ProbeRound) continue;
        ASSERT_NE(last, 0u) << who << ": a probe round before readiness";
        EXPECT_GE(at - last, LiveSession::kProbeEveryNs) << who << ": probe rounds too close";
        // Late by a poll at most, and by a busy machine: a generous bound.
        EXPECT_LT(at - last, LiveSession::kProbeEveryNs + 400'000'000ull) << who << ": a probe round missed";
        last = at;
    }
}

int churn_a_little(const Netns& ns, uint16_t port) {
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, port);
        connect_close_client_first(l, AF_INET, port, 5);
        close(l);
        return 0;
    });
    return reap(child);
}

}  // namespace

TEST(LiveSessionKernel, HarnessAndStatsShareOneCadenceAndStopOrder) {
    Netns ns;
    const double seconds = 1.2;

    // The harness, as every kernel test drives it.
    Steps harness;
    {
        Session s(ns);
        ASSERT_EQ(churn_a_little(ns, 7801), 0);
        s.pump(seconds);
        Captured cap = s.finish();
        EXPECT_FALSE(cap.transitions.empty()) << "the session saw the workload";
        harness = s.steps();
    }

    // run_live with the options and hooks `tcplinger stats --duration` uses.
    Steps tool;
    {
        StatsOptions o;
        o.common.filter.netns = ns.inode();
        Filter filter(o.common.filter);
        Engine engine;
        LiveOptions live;
        live.tracer = tracer_options(o.common, filter);
        live.tracer.lean = true;
        live.duration_s = seconds;
        live.tick_s = 0.2;
        live.announce = false;  // the test log; the binary tests check the line itself
        live.stop_on_signals = false;
        LiveHooks hooks;
        hooks.on_started = [&] { ASSERT_EQ(churn_a_little(ns, 7802), 0); };
        hooks.on_event = [&](const Event& ev) { engine.process(ev); };
        hooks.on_poll = [&](uint64_t now) { engine.advance(now); };
        hooks.timewait_probes = [&] { return engine.timewait_probes(kMaxProbedPerRound); };
        hooks.on_step = [&](LiveStep s) { tool.emplace_back(s, sys::monotonic_ns()); };
        run_live(live, hooks);
    }

    size_t harness_probes = 0, tool_probes = 0;
    const std::string want = "Loaded Ready BeforeStop Drained Probe Stopped";
    EXPECT_EQ(shape(harness, &harness_probes), want) << "harness";
    EXPECT_EQ(shape(tool, &tool_probes), want) << "tcplinger stats";
    // 1.2 s at one round per 250 ms: 4, give or take one at either end.
    EXPECT_GE(harness_probes, 3u);
    EXPECT_GE(tool_probes, 3u);
    EXPECT_LE(harness_probes, 5u);
    EXPECT_LE(tool_probes, 5u);
    expect_cadence(harness, "harness");
    expect_cadence(tool, "tcplinger stats");
}

}  // namespace tltest
