#include "render/trace_format.hpp"

#include <utility>

#include "host/clock.hpp"
#include "render/append.hpp"
#include "render/fields.hpp"

namespace tcplinger {

WallClock WallClock::now() {
    WallClock c;
    c.offset_ns = static_cast<int64_t>(sys::realtime_ns()) - static_cast<int64_t>(sys::monotonic_ns());
    return c;
}

namespace {
constexpr uint64_t kNsPerSec = 1'000'000'000ULL;

unsigned micros_of(uint64_t wall_ns) { return static_cast<unsigned>((wall_ns % kNsPerSec) / 1000); }
unsigned millis_of(uint64_t wall_ns) { return static_cast<unsigned>((wall_ns % kNsPerSec) / 1'000'000); }
}  // namespace

std::string format_iso8601(uint64_t wall_ns) {
    std::string out;
    append_strftime(out, wall_ns, kIsoSecondFormat, true);
    out.push_back('.');
    append_digits(out, micros_of(wall_ns), 6);
    out.push_back('Z');
    return out;
}

std::string format_hms(uint64_t wall_ns) {
    std::string out;
    append_strftime(out, wall_ns, kTimeOfDaySecondFormat, false);
    out.push_back('.');
    append_digits(out, millis_of(wall_ns), 3);
    return out;
}

std::string format_datetime(uint64_t wall_ns) {
    std::string out;
    append_strftime(out, wall_ns, kDatetimeSecondFormat, false);
    out.push_back('.');
    append_digits(out, micros_of(wall_ns), 6);
    return out;
}

void TraceRenderer::header() {
    if (style_.json || style_.csv) return;
    line_.clear();
    append_trace_text_header(line_, style_.hms);
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
}

void TraceRenderer::line(const Transition& t) {
    TraceRow row{t, clock_.wall(t.ts_ns)};
    line_.clear();
    if (style_.csv) {
        if (!std::exchange(csv_header_done_, true)) append_trace_csv_header(line_);
        append_trace_csv_row(line_, row, iso_);
    } else if (style_.json) {
        append_trace_json(line_, row, iso_);
    } else {
        append_trace_text_line(line_, row, text_);
    }
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
}

}  // namespace tcplinger
