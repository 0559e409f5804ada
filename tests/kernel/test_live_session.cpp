// The kernel harness runs the tool's own live loop (issue 11): the steps
// of a harness Session, of run_live as `tcplinger stats` calls it (lean
// BPF, the engine's timewait probes) and of doctor --observe's live path
// follow one cadence and one stop order. The old harness had its own loop:
// it probed at its first poll and again just before detaching, where the
// tool probes 250 ms after readiness and once more after the drain.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include "app/doctor/host.hpp"
#include "app/doctor/observe_live.hpp"
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

int churn_a_little(const Netns& ns, uint16_t port) { return reap(spawn_client_first_closes(ns, port, 5)); }

// A harness Session over a little churn, for `seconds`: its steps.
void harness_steps(const Netns& ns, uint16_t port, double seconds, Steps* steps) {
    Session s(ns);
    ASSERT_EQ(churn_a_little(ns, port), 0);
    s.pump(seconds);
    Captured cap = s.finish();
    EXPECT_FALSE(cap.transitions.empty()) << "the session saw the workload";
    *steps = s.steps();
}

// The one stop order, and 1.2 s at one probe round per 250 ms while
// running: 4, give or take one at either end, each on the cadence.
void expect_same_run(const Steps& steps, const char* who) {
    size_t probes = 0;
    EXPECT_EQ(shape(steps, &probes), "Loaded Ready BeforeStop Drained Probe Stopped") << who;
    EXPECT_GE(probes, 3u) << who;
    EXPECT_LE(probes, 5u) << who;
    expect_cadence(steps, who);
}

}  // namespace

TEST(LiveSessionKernel, HarnessAndStatsShareOneCadenceAndStopOrder) {
    Netns ns;
    const double seconds = 1.2;

    // The harness, as every kernel test drives it.
    Steps harness;
    ASSERT_NO_FATAL_FAILURE(harness_steps(ns, 7801, seconds, &harness));

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

    expect_same_run(harness, "harness");
    expect_same_run(tool, "tcplinger stats");
}

// doctor --observe through its own live path (doctor::observe_live, what
// run_doctor calls): the harness's steps, and what it measured from them
// (the end sockets read before the programs detach).
TEST(LiveSessionKernel, HarnessAndDoctorObserveShareOneCadenceAndStopOrder) {
    Netns ns;
    const double seconds = 1.2;
    const uint16_t port = 7803;
    Steps harness;
    {
        Netns other;  // its TIME-WAITs stay out of doctor's figures
        ASSERT_NO_FATAL_FAILURE(harness_steps(other, 7804, seconds, &harness));
    }

    DoctorOptions o;
    o.netns = ns.name();
    o.observe = seconds;
    FilterOptions fo;
    fo.netns = ns.inode();  // as run_doctor narrows it for --netns
    Filter filter(fo);
    doctor::Observer observer(o.common.max_sockets);
    Steps doctor;
    pid_t child = 0;
    // observe_live stops on SIGINT/SIGTERM as the tool does and ignores
    // SIGPIPE: this process's dispositions are put back afterwards.
    struct sigaction saved[3];
    const int sigs[3] = {SIGINT, SIGTERM, SIGPIPE};
    for (int i = 0; i < 3; ++i) sigaction(sigs[i], nullptr, &saved[i]);
    doctor::ObservedRun run = doctor::observe_live(o, filter, observer, [&](LiveStep s) {
        doctor.emplace_back(s, sys::monotonic_ns());
        // Once ready, as the harness's workloads start.
        if (s == LiveStep::Ready) child = spawn_client_first_closes(ns, port, 5);
    });
    for (int i = 0; i < 3; ++i) sigaction(sigs[i], &saved[i], nullptr);
    ASSERT_GT(child, 0);
    EXPECT_EQ(reap(child), 0);
    EXPECT_EQ(run.drops.lost(observer.engine().counters().duplicates), 0u);

    expect_same_run(harness, "harness");
    expect_same_run(doctor, "doctor --observe");

    std::vector<doctor::NetnsState> after = doctor::read_namespaces(ns.name(), false);
    ASSERT_EQ(after.size(), 1u);
    doctor::Observation obs = observer.build(after.front(), sys::monotonic_ns(), seconds);
    ASSERT_EQ(obs.destinations.size(), 1u);
    const doctor::DestinationLoad& d = obs.destinations.front();
    EXPECT_EQ(d.headroom.dest.dport, port);
    EXPECT_EQ(d.time_wait_entered, 5u);
    EXPECT_EQ(d.headroom.time_wait, 5u) << "the end sockets, read before the programs detached";
    EXPECT_EQ(d.processes, std::vector<std::string>{own_comm() + " (pid " + std::to_string(child) + ")"});
}

}  // namespace tltest
