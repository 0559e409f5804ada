// trace's one field list: a row per transition. `trace -j` and
// `export --format jsonl|csv` emit it (render/fields.hpp); the table of
// `trace` and `trace -i` is a list of columns over the same getters.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "lifecycle/engine.hpp"
#include "render/fields.hpp"

namespace tcplinger {

struct TraceRow {
    const Transition& t;
    uint64_t wall_ns;  // t.ts_ns on the wall clock
};

// ts, ts_ns, pid, tid, comm, owner_pid, owner_comm, in_task, cookie, netns,
// family, laddr, lport, raddr, rport, old, new, prev_ms, prev_at_least,
// prev_ms_err, timewait, reason (README, "JSON output").
std::span<const Field<TraceRow>> trace_fields();

// trace -j's line, CSV's header (before the first row only) and row.
void append_trace_json(std::string& out, const TraceRow& row, SecondStamp& iso);
void append_trace_csv_header(std::string& out);
void append_trace_csv_row(std::string& out, const TraceRow& row, SecondStamp& iso);

// A column of the text table: "%-*s" of its width, then a space; the last
// one (width 0) unpadded.
struct TraceTextStyle {
    bool hms;           // -T: local time of day, milliseconds
    SecondStamp stamp;  // local date and time (or time of day) per second
    explicit TraceTextStyle(bool hms_)
        : hms(hms_), stamp(hms_ ? kTimeOfDaySecondFormat : kDatetimeSecondFormat, false) {}
};
struct TraceColumn {
    std::string_view header;
    size_t width, width_hms;
    void (*append)(std::string& out, const TraceRow& row, TraceTextStyle& style);
};
// TIME PID COMM LADDR:LPORT RADDR:RPORT TRANSITION MS
std::span<const TraceColumn> trace_columns();

void append_trace_text_header(std::string& out, bool hms);
void append_trace_text_line(std::string& out, const TraceRow& row, TraceTextStyle& style);

}  // namespace tcplinger
