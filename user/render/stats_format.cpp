#include "render/stats_format.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "render/append.hpp"
#include "render/fields_stats.hpp"
#include "render/trace_format.hpp"

namespace tcplinger {

namespace {
const char* short_name(uint8_t s) {
    switch (s) {
        case kTimeWait:
            return "TW";
        case kFinWait2:
            return "FW2";
        case kCloseWait:
            return "CW";
        case kLastAck:
            return "LA";
        case kClosing:
            return "CLG";
    }
    return "?";
}

constexpr size_t kKeyWidth = 28;  // the table's first column

uint64_t rank_count(const GroupFigures& g, uint8_t state) {
    auto it = g.states.find(state);
    if (it == g.states.end()) return 0;
    return it->second.entered + it->second.present_at_start;
}

const StateFigures& figures(const std::map<uint8_t, StateFigures>& states, uint8_t s) {
    static const StateFigures empty;
    auto it = states.find(s);
    return it == states.end() ? empty : it->second;
}
const StateFigures& figures(const GroupFigures& g, uint8_t s) { return figures(g.states, s); }

void write(std::ostream& out, const std::string& s) { out.write(s.data(), static_cast<std::streamsize>(s.size())); }

// ---- JSON ----
// {"entered":...,"end_reasons":{"expired":...}}
void append_state_json(std::string& out, const StateFigures& f) {
    out.push_back('{');
    append_json_members(out, state_fields(), f);
    out.append(",\"end_reasons\":{");
    append_json_members(out, end_reason_fields(), f);
    out.append("}}");
}

// Every lingering state, by name, whether or not it was seen.
void append_states_json(std::string& out, const std::map<uint8_t, StateFigures>& states) {
    out.push_back('{');
    for (uint8_t s : kLingeringStates) {
        if (s != kLingeringStates[0]) out.push_back(',');
        out.push_back('"');
        out.append(state_name(s));
        out.append("\":");
        append_state_json(out, figures(states, s));
    }
    out.push_back('}');
}

void append_group_json(std::string& out, const GroupRow& row) {
    out.push_back('{');
    append_json_members(out, key_form(row.r.by).fields, row);
    out.push_back(',');
    append_json_members(out, group_fields(), row);
    out.append(",\"states\":");
    append_states_json(out, row.g.states);
    out.append(",\"holders\":[");
    for (const HeldSocket& h : row.g.holders) {
        if (&h != &row.g.holders.front()) out.push_back(',');
        out.push_back('{');
        append_json_members(out, holder_fields(), h);
        out.push_back('}');
    }
    out.append("]}");
}

// ---- text ----
// "  held by 4242 server fd 5: 127.0.0.1:7201 <- 127.0.0.1:40000, 1700.0 ms",
// oldest first, at most --top rows.
void append_held_text(std::string& out, const StatsReport& r) {
    std::vector<const HeldSocket*> rows;
    for (const auto& g : r.groups)
        for (const auto& h : g.holders) rows.push_back(&h);
    std::stable_sort(rows.begin(), rows.end(),
                     [](const HeldSocket* a, const HeldSocket* b) { return a->age_ns > b->age_ns; });
    for (size_t i = 0; i < rows.size() && i < r.top; ++i) {
        append_text_line(out, holder_fields(), *rows[i], TextLine::First);
        out.push_back('\n');
    }
    if (rows.size() > r.top) {
        out.append("  (");
        append_uint(out, rows.size() - r.top);
        out.append(" more held; use --top or -j)\n");
    }
}

// bcc-style log2 rows of milliseconds.
void append_histogram(std::string& out, const Histogram& h) {
    auto rows = h.log2_rows(1'000'000);
    uint64_t peak = 0;
    for (const auto& row : rows) peak = std::max(peak, row.second);
    out.append(16, ' ');
    out.append("ms : count    distribution\n");
    char buf[128];
    for (const auto& [low, n] : rows) {
        uint64_t high = low == 0 ? 0 : 2 * low - 1;
        int stars = peak ? static_cast<int>(n * 40 / peak) : 0;
        int len = std::snprintf(buf, sizeof(buf), "  %8llu -> %-8llu : %-8llu |", static_cast<unsigned long long>(low),
                                static_cast<unsigned long long>(high), static_cast<unsigned long long>(n));
        out.append(buf, static_cast<size_t>(len));
        out.append(static_cast<size_t>(stars), '*');
        out.append(static_cast<size_t>(40 - stars), ' ');
        out.append("|\n");
    }
}

// A state's totals: "TIME-WAIT: entered 9, ..." (and who holds each open
// CLOSE-WAIT), the residency line and the histogram of completed stays.
void append_state_text(std::string& out, uint8_t st, const StateFigures& f, const StatsReport& r) {
    out.push_back('\n');
    out.append(state_name(st));
    append_text_line(out, state_fields(), f, TextLine::First);
    append_end_reasons_text(out, end_reason_fields(), f);
    out.push_back('\n');
    if (st == kCloseWait) append_held_text(out, r);
    if (!append_text_line(out, state_fields(), f, TextLine::Second)) return;
    out.push_back('\n');
    append_histogram(out, f.residency);
}

void append_table(std::string& out, const StatsReport& r) {
    const KeyForm& key = key_form(r.by);
    const uint8_t s = r.sort_state;
    size_t start = out.size();
    out.append(key.header);
    pad_from(out, start, kKeyWidth);
    append_state_header(out, state_fields(), short_name(s), true);
    for (uint8_t o : kLingeringStates)
        if (o != s) append_state_header(out, state_fields(), short_name(o), false);
    out.push_back('\n');
    size_t shown = 0;
    for (const GroupFigures* g : ranked(r)) {
        if (shown++ >= r.top) break;
        start = out.size();
        out.append(key.text(GroupRow{*g, r}, kKeyWidth));
        pad_from(out, start, kKeyWidth);
        append_state_cells(out, state_fields(), figures(*g, s), true);
        for (uint8_t o : kLingeringStates)
            if (o != s) append_state_cells(out, state_fields(), figures(*g, o), false);
        out.push_back('\n');
    }
    if (r.groups.size() > r.top) {
        out.push_back('(');
        append_uint(out, r.groups.size() - r.top);
        out.append(" more groups; use --top)\n");
    }
}

}  // namespace

std::vector<const GroupFigures*> ranked(const StatsReport& report) {
    std::vector<const GroupFigures*> out;
    for (const auto& g : report.groups) out.push_back(&g);
    std::stable_sort(out.begin(), out.end(), [&](const GroupFigures* a, const GroupFigures* b) {
        uint64_t ca = rank_count(*a, report.sort_state), cb = rank_count(*b, report.sort_state);
        if (ca != cb) return ca > cb;
        return figures(*a, report.sort_state).current > figures(*b, report.sort_state).current;
    });
    return out;
}

std::string loss_summary(const DropCounters& d, const EngineCounters& engine) {
    std::string out;
    append_template(out, kLossSummary, loss_fields(), LossRow{d, engine});
    return out;
}

void render_stats_text(std::ostream& out, const StatsReport& r) {
    std::string text;
    if (r.wall_ns) {
        char buf[128];
        std::snprintf(buf, sizeof(buf), "=== %s, %.1f s since start ===\n",
                      format_datetime(r.wall_ns).substr(0, 19).c_str(), static_cast<double>(r.duration_ns) / 1e9);
        text.append(buf);
    }
    append_table(text, r);
    auto all = totals(r.groups);
    for (uint8_t st : kLingeringStates) {
        const StateFigures& f = all[st];
        if (f.entered || f.present_at_start || f.current) append_state_text(text, st, f, r);
    }
    for (const GroupFigures* g : ranked(r)) append_notes(text, group_fields(), GroupRow{*g, r});
    for (const auto& [ns, n] : r.tw_overflow) {
        if (!n) continue;
        text.append("\nnetns ");
        append_uint(text, ns);
        text.append(": ");
        append_uint(text, n);
        text.append(" connections got no TIME-WAIT (TCPTimeWaitOverflow, tcp_max_tw_buckets)\n");
    }
    text.push_back('\n');
    append_template(text, kLossLine, loss_fields(), LossRow{r.drops, r.engine});
    text.push_back('\n');
    write(out, text);
}

void render_stats_json(std::ostream& out, const StatsReport& r) {
    std::string json = "{";
    if (r.wall_ns) {
        json.append("\"ts\":\"");
        json.append(format_iso8601(r.wall_ns));
        json.append("\",");
    }
    json.append("\"by\":\"");
    json.append(group_by_name(r.by));
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(r.duration_ns) / 1e9);
    json.append("\",\"duration_s\":");
    json.append(buf);
    json.append(",\"groups_total\":");
    append_uint(json, r.groups.size());
    json.append(",\"groups\":[");
    size_t shown = 0;
    for (const GroupFigures* g : ranked(r)) {
        if (shown >= r.top) break;
        if (shown++) json.push_back(',');
        append_group_json(json, GroupRow{*g, r});
    }
    json.append("],\"states\":");
    auto all = totals(r.groups);
    append_states_json(json, all);
    json.append(",\"time_wait_end_reasons\":{");
    append_json_members(json, end_reason_fields(), all[kTimeWait]);
    json.append("},\"tw_overflow\":{");
    bool first = true;
    for (const auto& [ns, n] : r.tw_overflow) {
        if (!std::exchange(first, false)) json.push_back(',');
        json.push_back('"');
        append_uint(json, ns);
        json.append("\":");
        append_uint(json, n);
    }
    json.append("},");
    append_json_members(json, loss_fields(), LossRow{r.drops, r.engine});
    json.append("}\n");
    write(out, json);
}

}  // namespace tcplinger
