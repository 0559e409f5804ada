// --from/--to: a wall-clock window over recordings.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace tcplinger {

// [from, to) in CLOCK_REALTIME ns.
struct TimeWindow {
    uint64_t from = 0;
    uint64_t to = UINT64_MAX;
    bool has_from() const { return from != 0; }
    bool has_to() const { return to != UINT64_MAX; }
    bool contains(uint64_t wall_ns) const { return wall_ns >= from && wall_ns < to; }
};

// Accepts, in local time unless a zone is given:
//   2026-11-22T03:12:00[.123][Z|+01:00|+0100]   ISO 8601
//   2026-11-22 03:12[:00[.123]]                 date and time
//   2026-11-22                                  midnight
//   03:12[:00[.123]]                            today (the day of now_wall_ns)
//   @1795000000[.5]                             seconds since the epoch
// Nothing on error.
std::optional<uint64_t> parse_wall_time(const std::string& text, uint64_t now_wall_ns);

// Both ends, or throws FatalError naming the bad one ("--from 25:00: ...").
TimeWindow parse_window(const std::string& from, const std::string& to, uint64_t now_wall_ns);

}  // namespace tcplinger
