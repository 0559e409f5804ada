#include "render/fields_stats.hpp"

#include <array>
#include <cstdio>
#include <utility>

#include "render/append.hpp"
#include "render/escape.hpp"
#include "render/json.hpp"
#include "render/stats_format.hpp"

namespace tcplinger {

void append_stats_ms(std::string& out, uint64_t ns) {
    char buf[32];
    int n = std::snprintf(buf, sizeof(buf), ns < 10'000'000 ? "%.3f" : "%.1f", static_cast<double>(ns) / 1e6);
    out.append(buf, static_cast<size_t>(n));
}

namespace {
FieldValue null_value() { return FieldValue{.null = true}; }
FieldValue number(uint64_t v) { return FieldValue{.num = v}; }
FieldValue maybe(bool known, uint64_t v) { return known ? number(v) : null_value(); }
FieldValue text_of(std::string_view s) { return FieldValue{.str = s}; }

// ---- a state's figures ----
uint64_t completed_of(const StateFigures& f) { return f.residency.count(); }
FieldValue entered(const StateFigures& f) { return number(f.entered); }
FieldValue present_at_start(const StateFigures& f) { return number(f.present_at_start); }
FieldValue in(const StateFigures& f) { return number(f.entered + f.present_at_start); }
FieldValue current(const StateFigures& f) { return number(f.current); }
FieldValue completed(const StateFigures& f) { return number(completed_of(f)); }
// Residency quantiles of completed stays; none without one.
FieldValue p50(const StateFigures& f) { return maybe(completed_of(f), f.residency.quantile(0.5)); }
FieldValue p90(const StateFigures& f) { return maybe(completed_of(f), f.residency.quantile(0.9)); }
FieldValue p99(const StateFigures& f) { return maybe(completed_of(f), f.residency.quantile(0.99)); }
FieldValue max_stay(const StateFigures& f) { return maybe(completed_of(f), f.residency.max()); }
// The age of the oldest socket still in the state; a lower bound when it
// began before tracing (">=", as trace marks such a stay).
FieldValue oldest(const StateFigures& f) { return maybe(f.current, f.oldest_ns); }
FieldValue oldest_at_least(const StateFigures& f) { return number(f.current && f.oldest_at_least); }

constexpr std::array<StatsField<StateFigures>, 11> kStateFields{{
    {"entered", FieldType::Uint, entered, {TextLine::First, ": entered ", ""}},
    {"present_at_start", FieldType::Uint, present_at_start, {TextLine::First, ", present at start ", ""}},
    // The table's IN: what the sort ranks by (stats_format.cpp: rank_count).
    {"in", FieldType::Uint, in, {}, {"-IN", 8, 7}, nullptr, false, "JSON: entered and present_at_start apart"},
    {"current", FieldType::Uint, current, {TextLine::First, ", now ", ""}, {"-NOW", 8, 7}},
    {"completed",
     FieldType::Uint,
     completed,
     {},
     {},
     nullptr,
     true,
     "text: the residency line and histogram are there when it is not 0"},
    {"p50_ms", FieldType::Millis, p50, {TextLine::Second, "  residency p50 ", " ms"}, {"-P50ms", 10, 0}},
    {"p90_ms", FieldType::Millis, p90, {TextLine::Second, ", p90 ", " ms"}},
    {"p99_ms", FieldType::Millis, p99, {TextLine::Second, ", p99 ", " ms"}, {"-P99ms", 10, 0}},
    {"max_ms", FieldType::Millis, max_stay, {TextLine::Second, ", max ", " ms"}, {"-MAXms", 10, 0}},
    {"oldest_ms",
     FieldType::Millis,
     oldest,
     {TextLine::First, " (oldest ", " ms)"},
     {"-OLDms", 10, 0},
     oldest_at_least},
    {"oldest_at_least", FieldType::Bool, oldest_at_least, {}, {}, nullptr, true, "text: >= before oldest_ms"},
}};

// How TIME-WAIT ended (render/stats_format.cpp prints them for every
// state; only TIME-WAIT has any). A reason only the text leaves out when 0.
template <EndReason R>
FieldValue ended(const StateFigures& f) {
    auto it = f.end_reasons.find(R);
    return number(it == f.end_reasons.end() ? 0 : it->second);
}
constexpr std::array<StatsField<StateFigures>, 5> kEndReasonFields{{
    {"expired", FieldType::Uint, ended<EndReason::Expired>, {TextLine::First, " expired ", ""}},
    {"reused", FieldType::Uint, ended<EndReason::Reused>, {TextLine::First, " reused ", ""}},
    {"reset", FieldType::Uint, ended<EndReason::Reset>, {TextLine::First, " reset ", ""}},
    {"purged", FieldType::Uint, ended<EndReason::Purged>, {TextLine::First, " purged ", ""}},
    {"unknown", FieldType::Uint, ended<EndReason::Unknown>, {TextLine::First, " unknown ", ""}},
}};

// ---- a CLOSE-WAIT socket held open: "  held by 4242 server fd 5: 127.0.0.1:7201 <- 127.0.0.1:40000, 1700.0 ms" ----
// fd is never negative here: it comes from the holder's fd table.
FieldValue holder_pid(const HeldSocket& h) { return number(h.holder.pid); }
FieldValue holder_comm(const HeldSocket& h) { return text_of(h.holder.comm); }
FieldValue holder_fd(const HeldSocket& h) { return number(static_cast<uint64_t>(h.fd)); }
FieldValue holder_cookie(const HeldSocket& h) { return number(h.cookie); }
FieldValue holder_laddr(const HeldSocket& h) { return FieldValue{.endpoint = &h.local}; }
FieldValue holder_lport(const HeldSocket& h) { return number(h.local.port); }
FieldValue holder_raddr(const HeldSocket& h) { return FieldValue{.endpoint = &h.remote}; }
FieldValue holder_rport(const HeldSocket& h) { return number(h.remote.port); }
FieldValue holder_age(const HeldSocket& h) { return number(h.age_ns); }
FieldValue holder_age_at_least(const HeldSocket& h) { return number(h.age_at_least); }

constexpr std::array<StatsField<HeldSocket>, 10> kHolderFields{{
    {"pid", FieldType::Uint, holder_pid, {TextLine::First, "  held by ", ""}},
    {"comm", FieldType::Text, holder_comm, {TextLine::First, " ", ""}},
    {"fd", FieldType::Uint, holder_fd, {TextLine::First, " fd ", ""}},
    {"cookie", FieldType::Uint, holder_cookie, {}, {}, nullptr, true, "text: the endpoints name the socket"},
    {"laddr", FieldType::Addr, holder_laddr, {TextLine::First, ": ", ""}},
    {"lport", FieldType::Uint, holder_lport, {}, {}, nullptr, true, "text: in laddr's address:port"},
    {"raddr", FieldType::Addr, holder_raddr, {TextLine::First, " <- ", ""}},
    {"rport", FieldType::Uint, holder_rport, {}, {}, nullptr, true, "text: in raddr's address:port"},
    {"age_ms", FieldType::Millis, holder_age, {TextLine::First, ", ", " ms"}, {}, holder_age_at_least},
    {"age_at_least", FieldType::Bool, holder_age_at_least, {}, {}, nullptr, true, "text: >= before age_ms"},
}};

// ---- a group: its key per --by, then its notes ----
const GroupKey& key(const GroupRow& r) { return r.g.key; }
// pid 0: nobody tcplinger saw owns or closed the socket.
FieldValue key_pid(const GroupRow& r) { return maybe(key(r).pid, key(r).pid); }
FieldValue key_process_comm(const GroupRow& r) { return key(r).pid ? text_of(key(r).comm) : null_value(); }
FieldValue key_comm(const GroupRow& r) { return key(r).comm.empty() ? null_value() : text_of(key(r).comm); }
FieldValue key_workers(const GroupRow& r) { return number(r.g.workers); }
FieldValue key_raddr(const GroupRow& r) { return FieldValue{.endpoint = &key(r).remote}; }
FieldValue key_rport(const GroupRow& r) { return number(key(r).remote.port); }
FieldValue key_lport(const GroupRow& r) { return number(key(r).lport); }
FieldValue key_cgroup_id(const GroupRow& r) { return number(key(r).cgroup); }
// The path (and workload label) the recording or the host gives, "" if
// none; asked for only where it is printed (it may read the host).
std::string cgroup_path(const GroupRow& r) { return r.r.cgroup_name ? r.r.cgroup_name(key(r).cgroup) : ""; }
FieldValue key_cgroup(const GroupRow& r) {
    r.cgroup = cgroup_path(r);
    return text_of(r.cgroup);
}

constexpr std::string_view kKeyWhy = "text: the first column names the group (KeyForm::text)";
constexpr std::array<StatsField<GroupRow>, 2> kProcessKey{{
    {"pid", FieldType::Uint, key_pid, {}, {}, nullptr, true, kKeyWhy},
    {"comm", FieldType::Text, key_process_comm, {}, {}, nullptr, true, kKeyWhy},
}};
constexpr std::array<StatsField<GroupRow>, 2> kEndpointKey{{
    {"raddr", FieldType::Addr, key_raddr, {}, {}, nullptr, true, kKeyWhy},
    {"rport", FieldType::Uint, key_rport, {}, {}, nullptr, true, kKeyWhy},
}};
constexpr std::array<StatsField<GroupRow>, 1> kLocalPortKey{{
    {"lport", FieldType::Uint, key_lport, {}, {}, nullptr, true, kKeyWhy},
}};
constexpr std::array<StatsField<GroupRow>, 2> kCgroupKey{{
    {"cgroup_id", FieldType::Uint, key_cgroup_id, {}, {}, nullptr, true, kKeyWhy},
    {"cgroup", FieldType::Text, key_cgroup, {}, {}, nullptr, true, kKeyWhy},
}};
constexpr std::array<StatsField<GroupRow>, 2> kCommKey{{
    {"comm", FieldType::Text, key_comm, {}, {}, nullptr, true, kKeyWhy},
    {"workers", FieldType::Uint, key_workers, {}, {}, nullptr, true, kKeyWhy},
}};
constexpr std::array<StatsField<GroupRow>, 1> kRemoteAddrKey{{
    {"raddr", FieldType::Addr, key_raddr, {}, {}, nullptr, true, kKeyWhy},
}};

std::string unknown_or(std::string name) { return name.empty() ? "- (unknown)" : name; }
std::string process_name(const GroupRow& r) {
    if (!key(r).pid) return "- (unknown)";
    std::string out;
    append_uint(out, key(r).pid);
    out.push_back(' ');
    out.append(key(r).comm);
    return out;
}
std::string cgroup_name(const GroupRow& r) {
    std::string name = cgroup_path(r);
    if (!name.empty() || !key(r).cgroup) return unknown_or(std::move(name));
    name = "cgroup ";
    append_uint(name, key(r).cgroup);
    return name;
}
// The group's name as text output shows it: comm and cgroup paths come
// from outside, so the name is escaped (render/escape.hpp).
std::string process_text(const GroupRow& r, size_t w) { return text(process_name(r), w); }
std::string endpoint_text(const GroupRow& r, size_t w) { return text(format_endpoint(key(r).remote), w); }
std::string lport_text(const GroupRow& r, size_t w) { return text(std::to_string(key(r).lport), w); }
std::string cgroup_text(const GroupRow& r, size_t w) { return text(cgroup_name(r), w); }
std::string raddr_text(const GroupRow& r, size_t w) {
    return text(format_addr(key(r).remote.family, key(r).remote.addr), w);
}
// "nginx x4": the worker count kept visible when the comm is cut.
std::string comm_text(const GroupRow& r, size_t w) {
    if (key(r).comm.empty()) return text("- (unknown)", w);
    std::string count = " x";
    append_uint(count, r.g.workers);
    size_t room = w == std::string::npos || w <= count.size() ? std::string::npos : w - count.size();
    return text(key(r).comm, room) + count;
}

// In GroupBy's order.
const std::array<KeyForm, 6> kKeyForms{{
    {"PID COMM", kProcessKey, process_text},
    {"REMOTE", kEndpointKey, endpoint_text},
    {"LPORT", kLocalPortKey, lport_text},
    {"CGROUP", kCgroupKey, cgroup_text},
    {"COMM xPIDS", kCommKey, comm_text},
    {"RADDR", kRemoteAddrKey, raddr_text},
}};

FieldValue no_timewait(const GroupRow& r) { return number(r.g.no_timewait); }
FieldValue aborted(const GroupRow& r) { return number(r.g.aborted); }
constexpr std::array<StatsField<GroupRow>, 2> kGroupFields{{
    {"no_timewait",
     FieldType::Uint,
     no_timewait,
     {TextLine::Note, ": ", " closes got no TIME-WAIT (tcp_max_tw_buckets full)"}},
    {"aborted",
     FieldType::Uint,
     aborted,
     {TextLine::Note, ": ", " connections ended by RST or abort, not an orderly close"}},
}};

// ---- the loss figures (README, "No silent loss") ----
// A duplicate is a hit a backup handled again after its primary did: the
// engine drops it, and it does not hide a miss (core/counters.hpp).
uint64_t bpf_evicted(const LossRow& r) { return r.d.sock_untracked + r.d.sock_map_full; }
FieldValue ringbuf(const LossRow& r) { return number(r.d.ringbuf_drops); }
FieldValue missed(const LossRow& r) { return number(r.d.recursion_missed(r.e.duplicates)); }
FieldValue lost(const LossRow& r) { return number(r.d.lost(r.e.duplicates)); }
FieldValue caught(const LossRow& r) { return number(r.d.nested_caught); }
FieldValue evicted(const LossRow& r) { return number(bpf_evicted(r) + r.e.evicted); }
FieldValue evicted_bpf(const LossRow& r) { return number(bpf_evicted(r)); }
FieldValue evicted_engine(const LossRow& r) { return number(r.e.evicted); }
FieldValue events(const LossRow& r) { return number(r.d.events); }
FieldValue skipped(const LossRow& r) { return number(r.d.recursion_skipped); }
FieldValue duplicates(const LossRow& r) { return number(r.e.duplicates); }
FieldValue no_cookie(const LossRow& r) { return number(r.d.no_cookie); }
FieldValue unknown_sockets(const LossRow& r) { return number(r.e.unknown_sockets); }

// In text they are pieces of kLossSummary (every one) and kLossLine (the
// totals): their order is not JSON's, so the lines are templates by name.
constexpr std::array<StatsField<LossRow>, 14> kLossFields{{
    {"dropped.ringbuf", FieldType::Uint, ringbuf},
    {"dropped.recursion", FieldType::Uint, missed},
    {"dropped.total", FieldType::Uint, lost},
    {"nested_recovered", FieldType::Uint, caught},
    {"evicted", FieldType::Uint, evicted},
    {"events", FieldType::Uint, events},
    {"recursion_hits.skipped", FieldType::Uint, skipped},
    {"recursion_hits.caught", FieldType::Uint, caught},
    {"recursion_hits.duplicates", FieldType::Uint, duplicates},
    {"recursion_hits.missed", FieldType::Uint, missed},
    {"no_cookie", FieldType::Uint, no_cookie},
    {"unknown_sockets", FieldType::Uint, unknown_sockets},
    {"evicted_bpf", FieldType::Uint, evicted_bpf, {}, {}, nullptr, false, "JSON: in evicted"},
    {"evicted_engine", FieldType::Uint, evicted_engine, {}, {}, nullptr, false, "JSON: in evicted"},
}};

// A value in text (see StatsField).
template <class Row>
void append_text_value(std::string& out, const StatsField<Row>& f, const FieldValue& v, const Row& row) {
    switch (f.type) {
        case FieldType::Millis:
            if (f.at_least && f.at_least(row).num) out.append(">=");
            append_stats_ms(out, v.num);
            return;
        case FieldType::Text:
            append_text(out, v.str);
            return;
        case FieldType::Addr:
            append_endpoint(out, *v.endpoint);
            return;
        case FieldType::Name:
            out.append(v.str);
            return;
        case FieldType::Time:  // not in stats' rows
        case FieldType::Uint:
        case FieldType::Bool:
            append_uint(out, v.num);
            return;
    }
}

// " %*s": right-aligned in width, after a space.
void append_right(std::string& out, std::string_view s, int width) {
    out.push_back(' ');
    if (s.size() < static_cast<size_t>(width)) out.append(static_cast<size_t>(width) - s.size(), ' ');
    out.append(s);
}
}  // namespace

std::span<const StatsField<StateFigures>> state_fields() { return kStateFields; }
std::span<const StatsField<StateFigures>> end_reason_fields() { return kEndReasonFields; }
std::span<const StatsField<HeldSocket>> holder_fields() { return kHolderFields; }
std::span<const StatsField<GroupRow>> group_fields() { return kGroupFields; }
std::span<const StatsField<LossRow>> loss_fields() { return kLossFields; }
const KeyForm& key_form(GroupBy by) { return kKeyForms.at(static_cast<size_t>(by)); }

template <class Row>
void append_json_members(std::string& out, std::span<const StatsField<Row>> fields, const Row& row) {
    static thread_local SecondStamp iso{kIsoSecondFormat, true};  // no Time in stats' rows
    std::string_view open;                                        // the object a dotted name is in
    bool first = true, first_inside = true;
    for (const StatsField<Row>& f : fields) {
        if (!f.json) continue;
        std::string_view name = f.name, object;
        if (size_t dot = name.find('.'); dot != std::string_view::npos) {
            object = name.substr(0, dot);
            name = name.substr(dot + 1);
        }
        if (object != open) {
            if (!open.empty()) out.push_back('}');
            if (!object.empty()) {
                if (!std::exchange(first, false)) out.push_back(',');
                out.push_back('"');
                out.append(object);
                out.append("\":{");
                first_inside = true;
            }
            open = object;
        }
        if (!std::exchange(object.empty() ? first : first_inside, false)) out.push_back(',');
        out.push_back('"');
        out.append(name);
        out.append("\":");
        append_json_value(out, f.type, f.get(row), iso);
    }
    if (!open.empty()) out.push_back('}');
}

template <class Row>
bool append_text_line(std::string& out, std::span<const StatsField<Row>> fields, const Row& row, TextLine line) {
    bool any = false;
    for (const StatsField<Row>& f : fields) {
        if (f.piece.line != line) continue;
        FieldValue v = f.get(row);
        if (v.null) continue;
        out.append(f.piece.before);
        append_text_value(out, f, v, row);
        out.append(f.piece.after);
        any = true;
    }
    return any;
}

template void append_json_members(std::string&, std::span<const StatsField<StateFigures>>, const StateFigures&);
template void append_json_members(std::string&, std::span<const StatsField<HeldSocket>>, const HeldSocket&);
template void append_json_members(std::string&, std::span<const StatsField<GroupRow>>, const GroupRow&);
template void append_json_members(std::string&, std::span<const StatsField<LossRow>>, const LossRow&);
template bool append_text_line(std::string&, std::span<const StatsField<StateFigures>>, const StateFigures&, TextLine);
template bool append_text_line(std::string&, std::span<const StatsField<HeldSocket>>, const HeldSocket&, TextLine);
template bool append_text_line(std::string&, std::span<const StatsField<GroupRow>>, const GroupRow&, TextLine);

void append_state_header(std::string& out, std::span<const StatsField<StateFigures>> fields,
                         std::string_view short_name, bool sort) {
    for (const auto& f : fields) {
        int width = sort ? f.column.sort_width : f.column.other_width;
        if (!width) continue;
        std::string header(short_name);
        header.append(f.column.suffix);
        append_right(out, header, width);
    }
}

void append_state_cells(std::string& out, std::span<const StatsField<StateFigures>> fields, const StateFigures& s,
                        bool sort) {
    std::string cell;
    for (const auto& f : fields) {
        int width = sort ? f.column.sort_width : f.column.other_width;
        if (!width) continue;
        FieldValue v = f.get(s);
        cell.clear();
        if (v.null)
            cell.push_back('-');
        else
            append_text_value(cell, f, v, s);
        append_right(out, cell, width);
    }
}

void append_notes(std::string& out, std::span<const StatsField<GroupRow>> fields, const GroupRow& row) {
    for (const auto& f : fields) {
        if (f.piece.line != TextLine::Note) continue;
        FieldValue v = f.get(row);
        if (v.null || !v.num) continue;
        out.push_back('\n');
        out.append(key_form(row.r.by).text(row, std::string::npos));
        out.append(f.piece.before);
        append_uint(out, v.num);
        out.append(f.piece.after);
        out.push_back('\n');
    }
}

// The map holds only reasons that ended a stay (stats/aggregator.cpp), so
// "not 0" is "there".
void append_end_reasons_text(std::string& out, std::span<const StatsField<StateFigures>> fields,
                             const StateFigures& f) {
    bool any = false;
    for (const auto& r : fields) any |= r.get(f).num != 0;
    if (!any) return;
    out.append(", ended:");
    for (const auto& r : fields) {
        FieldValue v = r.get(f);
        if (!v.num) continue;
        out.append(r.piece.before);
        append_uint(out, v.num);
    }
}

void append_template(std::string& out, std::string_view tmpl, std::span<const StatsField<LossRow>> fields,
                     const LossRow& row) {
    while (!tmpl.empty()) {
        size_t open = tmpl.find('{');
        out.append(tmpl.substr(0, open));
        if (open == std::string_view::npos) return;
        size_t close = tmpl.find('}', open);
        std::string_view name = tmpl.substr(open + 1, close - open - 1);
        for (const auto& f : fields)
            if (f.name == name) append_text_value(out, f, f.get(row), row);
        tmpl.remove_prefix(close + 1);
    }
}

}  // namespace tcplinger
