// `trace` output: one line per transition, as a table or as JSON Lines.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>

#include "lifecycle/engine.hpp"

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
};

class TraceRenderer {
public:
    TraceRenderer(std::ostream& out, TraceStyle style, WallClock clock) : out_(out), style_(style), clock_(clock) {
        line_.reserve(512);
    }
    void header();
    void line(const Transition& t);

private:
    void json_line(const Transition& t, uint64_t wall);
    void text_line(const Transition& t, uint64_t wall);
    // Appends the date and time down to the second in this style's form,
    // formatted once per second: strftime and localtime cost more than the
    // rest of a line. (Per renderer, so a TZ change shows in the next one.)
    void append_second(uint64_t wall_ns);

    std::ostream& out_;
    TraceStyle style_;
    WallClock clock_;
    std::string line_;  // every line is built here, then written at once
    uint64_t prefix_sec_ = UINT64_MAX;
    std::string prefix_;
};

}  // namespace tcplinger
