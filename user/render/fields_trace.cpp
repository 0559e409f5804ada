#include "render/fields_trace.hpp"

#include <array>
#include <utility>

#include "render/append.hpp"
#include "render/escape.hpp"
#include "render/json.hpp"

namespace tcplinger {

namespace {
constexpr uint64_t kNsPerSec = 1'000'000'000ULL;
// A comm from the kernel has at most 15 bytes (TASK_COMM_LEN), 60
// characters escaped; a longer one (from a crafted recording) is cut with
// `~`, so that every line stays whole, ending in its newline.
constexpr size_t kMaxCommWidth = 64;

FieldValue null_value() { return FieldValue{.null = true}; }
FieldValue number(uint64_t v) { return FieldValue{.num = v}; }
FieldValue text_of(std::string_view s) { return FieldValue{.str = s}; }

// The getters: what each field is, for every output.
FieldValue ts(const TraceRow& r) { return number(r.wall_ns); }
FieldValue ts_ns(const TraceRow& r) { return number(r.t.ts_ns); }
// The actor is unknown (pid 0) for a transition in softirq of a socket
// whose owner tcplinger never saw.
FieldValue pid(const TraceRow& r) { return r.t.actor.known() ? number(r.t.actor.pid) : null_value(); }
FieldValue tid(const TraceRow& r) { return r.t.tid ? number(r.t.tid) : null_value(); }
FieldValue comm(const TraceRow& r) { return r.t.actor.known() ? text_of(r.t.actor.comm) : null_value(); }
FieldValue owner_pid(const TraceRow& r) { return r.t.owner.known() ? number(r.t.owner.pid) : null_value(); }
FieldValue owner_comm(const TraceRow& r) { return r.t.owner.known() ? text_of(r.t.owner.comm) : null_value(); }
FieldValue in_task(const TraceRow& r) { return number(r.t.in_task); }
FieldValue cookie(const TraceRow& r) { return number(r.t.cookie); }
FieldValue netns(const TraceRow& r) { return number(r.t.netns); }
FieldValue family(const TraceRow& r) { return number(r.t.local.family); }
// Each address in its own family's form (a dual-stack socket's remote is
// ::ffff:a.b.c.d, as its local).
FieldValue laddr(const TraceRow& r) { return FieldValue{.endpoint = &r.t.local}; }
FieldValue lport(const TraceRow& r) { return number(r.t.local.port); }
FieldValue raddr(const TraceRow& r) { return FieldValue{.endpoint = &r.t.remote}; }
FieldValue rport(const TraceRow& r) { return number(r.t.remote.port); }
FieldValue old_state(const TraceRow& r) { return text_of(state_name(r.t.old_state)); }
FieldValue new_state(const TraceRow& r) { return text_of(state_name(r.t.new_state)); }
FieldValue prev_ms(const TraceRow& r) { return r.t.prev_ns ? number(*r.t.prev_ns) : null_value(); }
FieldValue prev_at_least(const TraceRow& r) { return number(r.t.prev_at_least); }
// The error bound of prev_ms: 0 where both ends are event times, half a
// jiffy at most where one is recovered from a timer (README, Accuracy).
FieldValue prev_ms_err(const TraceRow& r) { return r.t.prev_ns ? number(r.t.prev_err_ns) : null_value(); }
FieldValue timewait(const TraceRow& r) { return number(r.t.timewait); }
FieldValue reason(const TraceRow& r) {
    return r.t.reason != EndReason::None ? text_of(end_reason_name(r.t.reason)) : null_value();
}

constexpr std::array<Field<TraceRow>, 22> kTraceFields{{
    {"ts", FieldType::Time, ts, true},
    {"ts_ns", FieldType::Uint, ts_ns},
    {"pid", FieldType::Uint, pid},
    {"tid", FieldType::Uint, tid},
    {"comm", FieldType::Text, comm},
    {"owner_pid", FieldType::Uint, owner_pid},
    {"owner_comm", FieldType::Text, owner_comm},
    {"in_task", FieldType::Bool, in_task},
    {"cookie", FieldType::Uint, cookie},
    {"netns", FieldType::Uint, netns},
    {"family", FieldType::Uint, family},
    {"laddr", FieldType::Addr, laddr, true},
    {"lport", FieldType::Uint, lport},
    {"raddr", FieldType::Addr, raddr, true},
    {"rport", FieldType::Uint, rport},
    {"old", FieldType::Name, old_state, true},
    {"new", FieldType::Name, new_state, true},
    {"prev_ms", FieldType::Millis, prev_ms},
    {"prev_at_least", FieldType::Bool, prev_at_least},
    {"prev_ms_err", FieldType::Millis, prev_ms_err},
    {"timewait", FieldType::Bool, timewait},
    {"reason", FieldType::Name, reason},
}};

// The text table's columns, from the same getters; "-" where JSON has null.
void dash_if_null(std::string& out, const FieldValue& v) {
    if (v.null) out.push_back('-');
}

void time_column(std::string& out, const TraceRow& r, TraceTextStyle& style) {
    uint64_t wall = ts(r).num;
    style.stamp.append(out, wall);
    out.push_back('.');
    if (style.hms)
        append_digits(out, static_cast<unsigned>((wall % kNsPerSec) / 1'000'000), 3);
    else
        append_digits(out, static_cast<unsigned>((wall % kNsPerSec) / 1000), 6);
}

void pid_column(std::string& out, const TraceRow& r, TraceTextStyle&) {
    FieldValue v = pid(r);
    dash_if_null(out, v);
    if (!v.null) append_uint(out, v.num);
}

void comm_column(std::string& out, const TraceRow& r, TraceTextStyle&) {
    FieldValue v = comm(r);
    dash_if_null(out, v);
    if (!v.null) append_text(out, v.str, kMaxCommWidth);  // chosen by any process: escaped (render/escape.hpp)
}

void local_column(std::string& out, const TraceRow& r, TraceTextStyle&) { append_endpoint(out, *laddr(r).endpoint); }
void remote_column(std::string& out, const TraceRow& r, TraceTextStyle&) { append_endpoint(out, *raddr(r).endpoint); }

void transition_column(std::string& out, const TraceRow& r, TraceTextStyle&) {
    out.append(old_state(r).str);
    out.append(" -> ");
    out.append(new_state(r).str);
}

// The time in the old state (">=" when it is a lower bound), then the end
// reason.
void ms_column(std::string& out, const TraceRow& r, TraceTextStyle&) {
    FieldValue v = prev_ms(r);
    dash_if_null(out, v);
    if (!v.null) {
        if (prev_at_least(r).num) out.append(">=");
        json::append_millis(out, v.num);
    }
    FieldValue why = reason(r);
    if (!why.null) {
        out.push_back(' ');
        out.append(why.str);
    }
}

constexpr std::array<TraceColumn, 7> kTraceColumns{{
    {"TIME", 26, 12, time_column},
    {"PID", 7, 7, pid_column},
    {"COMM", 15, 15, comm_column},
    {"LADDR:LPORT", 25, 25, local_column},
    {"RADDR:RPORT", 25, 25, remote_column},
    {"TRANSITION", 27, 27, transition_column},
    {"MS", 0, 0, ms_column},
}};

void end_column(std::string& out, size_t start, const TraceColumn& c, bool hms) {
    size_t width = hms ? c.width_hms : c.width;
    if (!width) return;
    pad_from(out, start, width);
    out.push_back(' ');
}
}  // namespace

std::span<const Field<TraceRow>> trace_fields() { return kTraceFields; }

// Flattened: the unrolled table inlines every getter and value writer, down
// to std::string's push_back, as the hand-written line it replaced did
// (scripts/bench, tl_fmtbench).
[[gnu::flatten]] void append_trace_json(std::string& out, const TraceRow& row, SecondStamp& iso) {
    append_json_line<kTraceFields>(out, row, iso);
}
void append_trace_csv_header(std::string& out) { append_csv_header<kTraceFields>(out); }
[[gnu::flatten]] void append_trace_csv_row(std::string& out, const TraceRow& row, SecondStamp& iso) {
    append_csv_row<kTraceFields>(out, row, iso);
}
std::span<const TraceColumn> trace_columns() { return kTraceColumns; }

void append_trace_text_header(std::string& out, bool hms) {
    for (const TraceColumn& c : kTraceColumns) {
        size_t start = out.size();
        out.append(c.header);
        end_column(out, start, c, hms);
    }
    out.push_back('\n');
}

// Unrolled over the columns and flattened, as append_trace_json.
[[gnu::flatten]] void append_trace_text_line(std::string& out, const TraceRow& row, TraceTextStyle& style) {
    [&]<size_t... I>(std::index_sequence<I...>) {
        (
            (void)[&] {
                size_t start = out.size();
                kTraceColumns[I].append(out, row, style);
                end_column(out, start, kTraceColumns[I], style.hms);
            }(),
            ...);
    }
    (std::make_index_sequence<kTraceColumns.size()>{});
    out.push_back('\n');
}

}  // namespace tcplinger
