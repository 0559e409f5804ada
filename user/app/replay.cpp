// Recordings into a pipeline, within a wall-clock window.
#include <cstdio>

#include "app/pipeline.hpp"
#include "record/recording_set.hpp"
#include "render/escape.hpp"

namespace tcplinger {

namespace {
DropCounters plus(const DropCounters& a, const DropCounters& b) {
    return DropCounters{a.events + b.events,
                        a.ringbuf_drops + b.ringbuf_drops,
                        a.sock_untracked + b.sock_untracked,
                        a.sock_map_full + b.sock_map_full,
                        a.nested_caught + b.nested_caught,
                        a.recursion_lost + b.recursion_lost,
                        a.no_cookie + b.no_cookie,
                        a.recursion_skipped + b.recursion_skipped};
}

// Events past --to are not fed: the engine stops there, as a live run
// stopped at --to would. Reading goes on to the next flush status only, for
// the drop counters; a run that begins after --to is not read at all.
class WindowFeed : public rec::ReplayVisitor {
public:
    WindowFeed(Pipeline& p, const TimeWindow& w, ReplayResult& r, const std::function<bool()>& stop)
        : p_(p), w_(w), r_(r), stop_(stop) {}

    void segment_begin(const rec::FileHeader& h) override {
        offset_ = h.clock_offset_ns;
        skip_ = wall(h.file_start_ns) >= w_.to;
        if (skip_) return;
        p_.begin_run(h.clock_offset_ns);
        past_to_ = false;
        drops_at_start_ = drops_at_from_ = h.drops_at_start;
        drops_at_to_.reset();
    }
    void file_begin(const std::string&, const rec::FileHeader& h) override {
        offset_ = h.clock_offset_ns;
        if (!skip_) p_.set_clock(h.clock_offset_ns);
    }
    // A trace pipeline is fed a little past --to (its lookahead): a
    // transition before --to can be made from a later event (a recovered
    // FIN-WAIT-2 -> TIME-WAIT move); it prints only what lies inside.
    bool event(const Event& ev) override {
        if (skip_ || (stop_ && stop_())) return false;
        if (wall(ev.ts_ns) >= feed_to()) {
            past_to_ = true;
            return true;
        }
        if (wall(ev.ts_ns) >= w_.to)
            p_.event_past_window(ev, mono(w_.to));
        else
            p_.event(ev);
        return true;
    }
    void advance(uint64_t now_ns) override {
        if (!skip_ && !past_to_ && wall(now_ns) < feed_to()) p_.advance(now_ns);
    }
    bool status(const rec::FlushStatus& s) override {
        if (skip_) return false;
        if (wall(s.mono_ns) <= w_.from) drops_at_from_ = s.drops;
        if (!drops_at_to_ && (past_to_ || wall(s.mono_ns) >= w_.to)) drops_at_to_ = s.drops;
        return !(past_to_ || wall(s.mono_ns) >= feed_to());
    }
    void segment_end(const rec::SegmentEnd& end) override {
        if (skip_) return;
        p_.end_run();
        uint64_t start = std::max(wall(end.start_ns), w_.from);
        uint64_t stop = std::min(wall(end.end_ns), w_.to);
        if (stop > start) r_.duration_ns += stop - start;
        r_.now_ns = mono(std::max(stop, wall(end.start_ns)));
        if (!w_.has_from() && !w_.has_to()) {
            r_.drops = plus(r_.drops, end.drops);
        } else {
            DropCounters at_end = drops_at_to_ ? *drops_at_to_ : plus(drops_at_start_, end.drops);
            r_.drops = plus(r_.drops, rec::drops_between(drops_at_from_, at_end));
        }
        // TcpExt is read at both ends of a run only: a run cut by the
        // window has no figure.
        bool inside = wall(end.start_ns) >= w_.from && wall(end.end_ns) <= w_.to;
        if (end.overflow_known && inside)
            for (const auto& [ns, n] : end.tw_overflow) r_.tw_overflow[ns] += n;
    }

private:
    uint64_t feed_to() const { return w_.to > UINT64_MAX - p_.lookahead_ns() ? UINT64_MAX : w_.to + p_.lookahead_ns(); }
    uint64_t wall(uint64_t mono_ns) const { return static_cast<uint64_t>(static_cast<int64_t>(mono_ns) + offset_); }
    uint64_t mono(uint64_t wall_ns) const { return static_cast<uint64_t>(static_cast<int64_t>(wall_ns) - offset_); }

    Pipeline& p_;
    const TimeWindow& w_;
    ReplayResult& r_;
    const std::function<bool()>& stop_;
    int64_t offset_ = 0;
    bool skip_ = false, past_to_ = false;
    DropCounters drops_at_start_, drops_at_from_;
    std::optional<DropCounters> drops_at_to_;
};
}  // namespace

void print_problems(const std::vector<std::string>& problems) {
    // A line names files found in a directory: escaped like any text output.
    for (const auto& line : problems) std::fprintf(stderr, "tcplinger: %s\n", text(line).c_str());
}

ReplayResult replay_recordings(const std::vector<std::string>& inputs, const TimeWindow& window, Pipeline& pipeline,
                               const std::function<bool()>& stop) {
    ReplayResult result;
    WindowFeed feed(pipeline, window, result, stop);
    rec::ReadSummary summary = rec::replay(inputs, feed);
    print_problems(summary.problems);
    result.useful = summary.useful();
    result.cgroup_paths = summary.cgroup_paths;
    result.events = summary.events;
    return result;
}

}  // namespace tcplinger
