// The one pipeline behind each pair of commands: Engine, then Aggregator
// and the stats renderer (stats, report) or the trace renderer (trace,
// trace -i, export). Live runs feed it from run_live(); recordings from
// replay_recordings(). Same events in, same figures out.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <queue>
#include <string>
#include <vector>

#include "app/options.hpp"
#include "core/time_window.hpp"
#include "lifecycle/engine.hpp"
#include "render/stats_format.hpp"
#include "render/trace_format.hpp"
#include "stats/aggregator.hpp"
#include "stats/filter.hpp"

namespace tcplinger {

// How long after a hidden FIN-WAIT-2 -> TIME-WAIT move the event that
// reveals it comes at most: the next probe round (every 250 ms) or the
// timer's cancel (settled within Engine::kResolveWindowNs), with room for a
// late round.
inline constexpr uint64_t kRevealWindowNs = 1'000'000'000;

// The counters of several engines (one per run) added up.
inline EngineCounters sum(const EngineCounters& a, const EngineCounters& b) {
    return EngineCounters{a.events + b.events, a.evicted + b.evicted, a.unknown_sockets + b.unknown_sockets,
                          a.duplicates + b.duplicates};
}

// What a pipeline is fed with. A run is a live session or a recording
// segment; each gets a fresh engine.
class Pipeline {
public:
    virtual ~Pipeline() = default;
    virtual void begin_run(int64_t clock_offset_ns) = 0;
    // Realtime - monotonic for the events that follow (each recorded file
    // has its own, clocks drift).
    virtual void set_clock(int64_t clock_offset_ns) = 0;
    virtual void event(const Event& ev) = 0;
    virtual void advance(uint64_t now_ns) = 0;
    // End of the run's events: settles what is pending (Engine::flush).
    virtual void end_run() = 0;
    virtual Engine& engine() = 0;
    // How far past a window's end events must still be fed for every
    // transition inside it to be made (TracePipeline: its output hold).
    virtual uint64_t lookahead_ns() const { return 0; }
    // An event within the lookahead, past a window ending at to_mono.
    virtual void event_past_window(const Event& ev, uint64_t /*to_mono*/) { event(ev); }
};

// "path (label)" as stats shows a cgroup.
std::string cgroup_display(const std::string& path);

class StatsPipeline : public Pipeline {
public:
    StatsPipeline(const StatsOptions& o, const Filter& filter, TimeWindow window = {});
    void begin_run(int64_t clock_offset_ns) override;
    void set_clock(int64_t clock_offset_ns) override { offset_ = clock_offset_ns; }
    void event(const Event& ev) override { engine_->process(ev); }
    void advance(uint64_t now_ns) override { engine_->advance(now_ns); }
    void end_run() override { engine_->flush(); }
    Engine& engine() override { return *engine_; }
    // Past --to only the hidden moves made before it, which a later probe
    // or cancel reveals: the sockets are then as they were at --to.
    uint64_t lookahead_ns() const override { return kRevealWindowNs; }
    void event_past_window(const Event& ev, uint64_t to_mono) override { engine_->reveal_before(ev, to_mono); }

    // The figures at now_ns (monotonic) of the current run; earlier runs
    // contribute their completed stays. With a window, call once, at its end.
    StatsReport report(uint64_t now_ns, uint64_t duration_ns, const DropCounters& drops,
                       std::map<uint32_t, uint64_t> tw_overflow);
    void print(std::ostream& out, const StatsReport& report) const;
    uint64_t evicted() const { return engine_counters().evicted; }
    EngineCounters engine_counters() const { return sum(before_, engine_->counters()); }
    std::function<std::string(uint64_t)> cgroup_name;  // id -> shown name
    // Live only: who holds each CLOSE-WAIT socket now (Tracer::socket_holders),
    // asked once per report. A recording knows no holders.
    std::function<std::vector<SocketHolder>()> holders;

private:
    uint64_t wall(uint64_t mono_ns) const { return static_cast<uint64_t>(static_cast<int64_t>(mono_ns) + offset_); }
    void add(const Transition& t);
    void add(Residency r);

    const StatsOptions& o_;
    const Filter& filter_;
    TimeWindow window_;
    GroupBy by_;
    Aggregator agg_;
    std::unique_ptr<Engine> engine_;
    EngineCounters before_;  // engines of earlier runs
    int64_t offset_ = 0;
};

class TracePipeline : public Pipeline {
public:
    enum class Format { Text, Json, Csv };
    TracePipeline(std::ostream& out, Format format, bool hms, bool raw, const Filter& filter, TimeWindow window = {});
    void header();
    void begin_run(int64_t clock_offset_ns) override;
    void set_clock(int64_t clock_offset_ns) override;
    void event(const Event& ev) override;
    void advance(uint64_t now_ns) override;
    void end_run() override;
    Engine& engine() override { return *engine_; }
    uint64_t lookahead_ns() const override { return kOrderHoldNs; }
    uint64_t evicted() const { return engine_counters().evicted; }
    EngineCounters engine_counters() const { return sum(before_, engine_->counters()); }
    uint64_t lines() const { return lines_; }

    // Lines are printed in time order, each held until the stream has
    // reached its time + kOrderHoldNs: the engine makes a transition late
    // only when it recovers a hidden move (the moment is at most a jiffy
    // before the probe round that last saw FIN-WAIT-2).
    static constexpr uint64_t kOrderHoldNs = kRevealWindowNs;
    // Live trace: the engine's probe queue says which hidden moves can still
    // come, so a line is held only until nothing unemitted can precede it
    // (at least kLiveHoldNs, for records still in the ring buffer), not the
    // full kOrderHoldNs a replay needs.
    static constexpr uint64_t kLiveHoldNs = 200'000'000;
    void set_live() { live_ = true; }
    // Bound of the connection table (--max-sockets); call before any event.
    void set_max_connections(size_t n) {
        max_connections_ = n;
        begin_run(offset_);
    }

private:
    void line(const Transition& t);
    void release(uint64_t before_ns);
    void advance_stream(uint64_t now_ns);
    void use_clock(int64_t clock_offset_ns);
    void print(const Transition& t);

    struct Held {
        Transition t;
        uint64_t seq;
        int64_t offset_ns;
    };
    struct Later {
        bool operator()(const Held& a, const Held& b) const {
            return a.t.ts_ns != b.t.ts_ns ? a.t.ts_ns > b.t.ts_ns : a.seq > b.seq;
        }
    };
    // Almost every transition comes in time order: those wait in a FIFO
    // (appended and taken in order, cheap at any rate). Only the ones that
    // come late (a recovered move, a small cross-CPU inversion) go to a heap;
    // release() merges the two by (time, arrival). A single heap of every
    // held line cost 4x the tracer CPU per event under churn (scripts/bench).
    std::deque<Held> in_order_;
    std::priority_queue<Held, std::vector<Held>, Later> late_;
    uint64_t held_seq_ = 0;
    uint64_t stream_ns_ = 0;  // the latest event or poll time of this run
    bool live_ = false;

    std::ostream& out_;
    Format format_;
    bool hms_, raw_;
    const Filter& filter_;
    TimeWindow window_;
    std::unique_ptr<Engine> engine_;
    std::unique_ptr<TraceRenderer> renderer_;
    int64_t offset_ = 0;
    int64_t renderer_offset_ = 0;
    EngineCounters before_;  // engines of earlier runs
    uint64_t lines_ = 0;
    size_t max_connections_ = Engine::kDefaultMaxConnections;
};

// What a read of recordings gave the renderers besides the events.
struct ReplayResult {
    bool useful = false;       // something was read: exit 0
    uint64_t now_ns = 0;       // monotonic end of the last run (or the window's end)
    uint64_t duration_ns = 0;  // summed over runs, within the window
    DropCounters drops;        // lost during the runs (within the window, per 1 s flush)
    std::map<uint32_t, uint64_t> tw_overflow;
    std::map<uint64_t, std::string> cgroup_paths;
    uint64_t events = 0;
};

// Reads the recordings into the pipeline, oldest first, in runs; stops at
// the window's end, or once stop() says so (the output failed: reading on
// would only be thrown away). Prints one line per problem on stderr.
ReplayResult replay_recordings(const std::vector<std::string>& inputs, const TimeWindow& window, Pipeline& pipeline,
                               const std::function<bool()>& stop = {});
// One line each on stderr, "tcplinger: " first, escaped (render/escape.hpp).
void print_problems(const std::vector<std::string>& problems);

}  // namespace tcplinger
