// stats' and report's field lists (issue 11: one field list per output).
// Each kind of row has one table; each field says, in one entry, its JSON
// key and value type, where it shows in the text (a piece of a text line,
// a table column) and, for a format that leaves it out, why. `stats -j`
// and the text walk the same tables (render/stats_format.cpp), so a field
// is added in one place, and FieldLists.* (tests/unit/test_fields_stats.cpp)
// fail when a field reaches one format only.
//
// Rows: a state's figures (per group and the totals), a held CLOSE-WAIT
// socket, a group (its key per --by, its notes), the loss figures. The
// histogram bars and the report's frame (by, duration, ts) are text or
// JSON structure, not fields.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/counters.hpp"
#include "lifecycle/engine.hpp"
#include "render/fields.hpp"
#include "stats/aggregator.hpp"

namespace tcplinger {

// Text lines a field can be a piece of: written `before`, the value,
// `after`, and left out with them when the value is null; a line whose
// every piece is null is not written. A note is its own line after the
// histograms, written only when the value is not zero.
enum class TextLine : uint8_t { None, First, Second, Note };
struct Piece {
    TextLine line = TextLine::None;
    std::string_view before, after;
};

// A column of the group table: " %*s" of the state's short name and the
// suffix over its value ("-" for null), sort_width wide among the --state
// columns, other_width among every other state's (0: not there).
struct Column {
    std::string_view suffix;
    int sort_width = 0, other_width = 0;
};

// Values in text: Uint in decimal, Millis as append_stats_ms (with ">=" first
// when at_least says so), Text escaped (render/escape.hpp), Addr as the
// endpoint's address:port, Name as is.
template <class Row>
struct StatsField {
    std::string_view name;  // the JSON key
    FieldType type;         // the JSON value
    FieldValue (*get)(const Row&);
    Piece piece{};
    Column column{};
    FieldValue (*at_least)(const Row&) = nullptr;  // Millis: the value is a lower bound
    bool json = true;
    // The formats that leave the field out, and what they show instead.
    std::string_view why_not{};
    bool in_text() const { return piece.line != TextLine::None || column.sort_width; }
};

// One group and the report it is in (the cgroup names, --by).
struct StatsReport;
struct GroupRow {
    const GroupFigures& g;
    const StatsReport& r;
    mutable std::string cgroup{};  // the cgroup field's value, while it is written
};
// The loss figures: what the tracer and the engines counted.
struct LossRow {
    const DropCounters& d;
    const EngineCounters& e;
};

// entered, present_at_start, (the table's IN), current, completed, p50_ms,
// p90_ms, p99_ms, max_ms, oldest_ms, oldest_at_least.
std::span<const StatsField<StateFigures>> state_fields();
// expired, reused, reset, purged, unknown: a state's end_reasons.
std::span<const StatsField<StateFigures>> end_reason_fields();
// pid, comm, fd, cookie, laddr, lport, raddr, rport, age_ms, age_at_least.
std::span<const StatsField<HeldSocket>> holder_fields();
// no_timewait, aborted (the key's fields are key_form(by).fields).
std::span<const StatsField<GroupRow>> group_fields();
// dropped{ringbuf, recursion, total}, nested_recovered, evicted, events,
// recursion_hits{skipped, caught, duplicates, missed}, no_cookie,
// unknown_sockets, and the summary line's evicted_bpf, evicted_engine.
// A name with a dot is a member of the object before the dot.
std::span<const StatsField<LossRow>> loss_fields();

// How each --by names its groups: the table's first column (header, and
// the name, escaped, cut to max_width) and the JSON's key fields.
struct KeyForm {
    std::string_view header;
    std::span<const StatsField<GroupRow>> fields;
    std::string (*text)(const GroupRow& row, size_t max_width);
};
const KeyForm& key_form(GroupBy by);

// The loss lines, from loss_fields() by name ({name}): the report's last
// line (the totals) and the stderr summary every command ends with (every
// figure).
inline constexpr std::string_view kLossLine =
    "lost {dropped.total} (ring buffer {dropped.ringbuf}, recursion {dropped.recursion}), evicted {evicted}";
inline constexpr std::string_view kLossSummary =
    "{events} events, {dropped.total} lost (ring buffer {dropped.ringbuf}, recursion {dropped.recursion}), "
    "{nested_recovered} nested hits recovered, {evicted} sockets evicted (bpf {evicted_bpf}, engine "
    "{evicted_engine}); recursion hits: {recursion_hits.skipped} skipped by the kernel, {recursion_hits.caught} "
    "caught by backups, {recursion_hits.duplicates} duplicates dropped, {recursion_hits.missed} missed; "
    "{no_cookie} timewait records without cookie, {unknown_sockets} unknown sockets (first seen mid-life)";

// ms as stats prints them: "%.3f" below 10 ms, "%.1f" from there.
void append_stats_ms(std::string& out, uint64_t ns);

// The emitters, over any list of a row's fields (the tests give them
// altered lists; the renderers the ones above).
// JSON members `"name":value,...` (no braces); a dotted name opens its object.
template <class Row>
void append_json_members(std::string& out, std::span<const StatsField<Row>> fields, const Row& row);
// The pieces of one line of the row, without a newline; false if none.
template <class Row>
bool append_text_line(std::string& out, std::span<const StatsField<Row>> fields, const Row& row, TextLine line);
// The table's header and cells of one state's columns.
void append_state_header(std::string& out, std::span<const StatsField<StateFigures>> fields,
                         std::string_view short_name, bool sort);
void append_state_cells(std::string& out, std::span<const StatsField<StateFigures>> fields, const StateFigures& f,
                        bool sort);
// "\nKEY: 2 connections ended by RST or abort, ...\n", a line per note not 0.
void append_notes(std::string& out, std::span<const StatsField<GroupRow>> fields, const GroupRow& row);
// ", ended: expired 6 reused 2" (the reasons that ended a stay), or nothing.
void append_end_reasons_text(std::string& out, std::span<const StatsField<StateFigures>> fields, const StateFigures& f);
// A template's {name}s replaced by the text of the field of that name.
void append_template(std::string& out, std::string_view tmpl, std::span<const StatsField<LossRow>> fields,
                     const LossRow& row);

extern template void append_json_members(std::string&, std::span<const StatsField<StateFigures>>, const StateFigures&);
extern template void append_json_members(std::string&, std::span<const StatsField<HeldSocket>>, const HeldSocket&);
extern template void append_json_members(std::string&, std::span<const StatsField<GroupRow>>, const GroupRow&);
extern template void append_json_members(std::string&, std::span<const StatsField<LossRow>>, const LossRow&);
extern template bool append_text_line(std::string&, std::span<const StatsField<StateFigures>>, const StateFigures&,
                                      TextLine);
extern template bool append_text_line(std::string&, std::span<const StatsField<HeldSocket>>, const HeldSocket&,
                                      TextLine);
extern template bool append_text_line(std::string&, std::span<const StatsField<GroupRow>>, const GroupRow&, TextLine);

}  // namespace tcplinger
