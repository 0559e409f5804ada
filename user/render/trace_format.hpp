// `trace` output: one line per transition, as a table, as JSON Lines or as
// CSV, all from trace's field list (render/fields_trace.hpp).
#pragma once
#include <cstdint>
#include <ostream>
#include <string>

#include "lifecycle/engine.hpp"
#include "render/fields_trace.hpp"

namespace tcplinger {

// Maps CLOCK_MONOTONIC stamps to wall-clock time.
struct WallClock {
    int64_t offset_ns = 0;  // realtime - monotonic
    uint64_t wall(uint64_t mono_ns) const { return mono_ns + offset_ns; }
    static WallClock now();
};

std::string format_iso8601(uint64_t wall_ns);   // 2026-11-22T09:44:53.123456Z
std::string format_hms(uint64_t wall_ns);       // 09:44:53.123 (local time)
std::string format_datetime(uint64_t wall_ns);  // 2026-11-22 09:44:53.123456 (local time)

struct TraceStyle {
    bool json = false;
    bool hms = false;  // -T
    bool csv = false;  // export --format csv (json is then ignored)
};

class TraceRenderer {
public:
    TraceRenderer(std::ostream& out, TraceStyle style, WallClock clock)
        : out_(out), style_(style), clock_(clock), text_(style.hms) {
        line_.reserve(512);
    }
    // The table's column names (text only; CSV's header comes with its first row).
    void header();
    void line(const Transition& t);
    // The clock of the lines that follow (each recorded file has its own);
    // the CSV header is not repeated.
    void set_clock(WallClock clock) { clock_ = clock; }

private:
    std::ostream& out_;
    TraceStyle style_;
    WallClock clock_;
    std::string line_;                         // every line is built here, then written at once
    SecondStamp iso_{kIsoSecondFormat, true};  // JSON and CSV
    bool csv_header_done_ = false;
    TraceTextStyle text_;
};

}  // namespace tcplinger
