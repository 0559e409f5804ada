// Engine + trace renderer, for trace (live), trace -i and export.
#include <algorithm>

#include "app/pipeline.hpp"

namespace tcplinger {

TracePipeline::TracePipeline(std::ostream& out, Format format, bool hms, bool raw, const Filter& filter,
                             TimeWindow window)
    : out_(out), format_(format), hms_(hms), raw_(raw), filter_(filter), window_(window) {
    begin_run(0);
}

void TracePipeline::header() {
    if (format_ == Format::Text) renderer_->header();
}

void TracePipeline::begin_run(int64_t clock_offset_ns) {
    if (engine_) before_ = sum(before_, engine_->counters());
    engine_ = std::make_unique<Engine>(max_connections_);
    engine_->set_raw(raw_);
    engine_->on_transition([this](const Transition& t) { line(t); });
    set_clock(clock_offset_ns);
}

void TracePipeline::set_clock(int64_t clock_offset_ns) {
    offset_ = clock_offset_ns;
    if (!renderer_) use_clock(offset_);
}

// Held lines keep the clock offset of the file they came from.
void TracePipeline::use_clock(int64_t clock_offset_ns) {
    if (renderer_ && clock_offset_ns == renderer_offset_) return;
    renderer_offset_ = clock_offset_ns;
    if (renderer_) {
        renderer_->set_clock(WallClock{renderer_offset_});
        return;
    }
    renderer_ = std::make_unique<TraceRenderer>(out_, TraceStyle{format_ == Format::Json, hms_, format_ == Format::Csv},
                                                WallClock{renderer_offset_});
}

void TracePipeline::event(const Event& ev) {
    engine_->process(ev);
    advance_stream(ev.ts_ns);
}

void TracePipeline::advance(uint64_t now_ns) {
    engine_->advance(now_ns);
    advance_stream(now_ns);
    if (live_ && now_ns > kLiveHoldNs) release(std::min(now_ns - kLiveHoldNs, engine_->earliest_unemitted_ns()));
}

void TracePipeline::advance_stream(uint64_t now_ns) {
    if (now_ns <= stream_ns_) return;
    stream_ns_ = now_ns;
    if (stream_ns_ > kOrderHoldNs) release(stream_ns_ - kOrderHoldNs);
}

void TracePipeline::end_run() {
    engine_->flush();
    release(UINT64_MAX);
    stream_ns_ = 0;  // the next run has its own clock (a recording of another boot)
}

void TracePipeline::line(const Transition& t) {
    if (!filter_.match(t)) return;
    if (!window_.contains(static_cast<uint64_t>(static_cast<int64_t>(t.ts_ns) + offset_))) return;
    Held h{t, held_seq_++, offset_};
    if (in_order_.empty() || t.ts_ns >= in_order_.back().t.ts_ns)
        in_order_.push_back(std::move(h));
    else
        late_.push(std::move(h));
}

void TracePipeline::release(uint64_t before_ns) {
    for (;;) {
        // The earlier of the two heads by (time, arrival): the order one
        // heap of every line would give.
        bool fifo = !in_order_.empty() && (late_.empty() || Later{}(late_.top(), in_order_.front()));
        const Held* next = fifo ? &in_order_.front() : late_.empty() ? nullptr : &late_.top();
        if (!next || next->t.ts_ns >= before_ns) return;
        use_clock(next->offset_ns);
        print(next->t);
        if (fifo)
            in_order_.pop_front();
        else
            late_.pop();
    }
}

void TracePipeline::print(const Transition& t) {
    renderer_->line(t);
    ++lines_;
}

}  // namespace tcplinger
