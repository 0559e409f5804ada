#include "app/top/table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "render/escape.hpp"
#include "render/trace_format.hpp"

namespace tcplinger::top {

const char* view_name(View v) {
    switch (v) {
        case View::Processes:
            return "processes";
        case View::Destinations:
            return "destinations";
        case View::LocalPorts:
            return "local ports";
    }
    return "";
}

std::string rate_text(double per_s) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), per_s < 1000 ? "%.1f" : "%.0f", per_s);
    return buf;
}

std::string seconds_text(double s) {
    if (!std::isfinite(s)) return "never";
    char buf[32];
    if (s < 60)
        std::snprintf(buf, sizeof(buf), "%.1fs", s);
    else if (s < 3600)
        std::snprintf(buf, sizeof(buf), "%.1fm", s / 60);
    else if (s < 86400 * 10)
        std::snprintf(buf, sizeof(buf), "%.1fh", s / 3600);
    else
        std::snprintf(buf, sizeof(buf), "%.0fd", s / 86400);
    return buf;
}

std::string age_text(uint64_t ns) {
    if (ns < 1'000'000'000) return std::to_string(ns / 1'000'000) + "ms";
    return seconds_text(static_cast<double>(ns) / 1e9);
}

namespace {
Cell num(uint64_t v) { return {std::to_string(v), static_cast<double>(v)}; }
Cell rate(double v) { return {rate_text(v), v}; }
Cell str(const std::string& s) { return {text(s), std::nullopt}; }

const char* reuse_short(headroom::ReuseVerdict v) {
    switch (v) {
        case headroom::ReuseVerdict::Applies:
            return "yes";
        case headroom::ReuseVerdict::Off:
            return "no: off";
        case headroom::ReuseVerdict::NotLoopback:
            return "no: not lo";
        case headroom::ReuseVerdict::NoTimestamps:
            return "no: no ts";
    }
    return "-";
}

Table processes(const Frame& f, const CgroupNamer& cgroup_name) {
    Table t;
    t.view = View::Processes;
    // All fit 80 columns (72 with the shortest CGROUP). Narrower, they go
    // in this order: CGROUP, ABRT/s, FW2, CW-AGE, PID/PROCS; COMM, TW, TW/s
    // and CW always stay.
    t.columns = {{"COMM", 15, true, 0}, {f.by_comm ? "PROCS" : "PID", 7, false, 2},
                 {"TW", 6, false, 0},   {"TW/s", 7, false, 0},
                 {"CW", 5, false, 0},   {"CW-AGE", 7, false, 3},
                 {"FW2", 5, false, 4},  {"ABRT/s", 6, false, 5},
                 {"CGROUP", 6, true, 6}};
    t.default_sort = 3;
    for (const ProcessRow& r : f.processes) {
        // Idle (only past figures): left to -j, which lists every row.
        if (!r.tw_now && !r.cw_now && !r.fw2_now && r.tw_per_s == 0 && r.aborts_per_s == 0) continue;
        std::string cg = r.cgroup && cgroup_name ? cgroup_name(r.cgroup) : "";
        // Appended, not `">" + age_text(...)`: GCC 12's -Wrestrict misfires
        // on operator+(const char*, string&&) in Release builds.
        std::string cw_age = r.cw_oldest_at_least ? ">" : "";
        cw_age += age_text(r.cw_oldest_ns);
        t.rows.push_back({str(r.comm.empty() ? "-" : r.comm),
                          f.by_comm ? num(r.workers) : (r.pid ? num(r.pid) : Cell{"-", 0.0}), num(r.tw_now),
                          rate(r.tw_per_s), num(r.cw_now),
                          r.cw_now ? Cell{cw_age, static_cast<double>(r.cw_oldest_ns)} : Cell{"-", -1.0},
                          num(r.fw2_now), rate(r.aborts_per_s), str(cg.empty() ? "-" : cg)});
    }
    return t;
}

Table destinations(const Frame& f) {
    Table t;
    t.view = View::Destinations;
    // 73 columns; narrower, REUSE goes first, then INUSE, then EXHAUST.
    t.columns = {{"DESTINATION", 21, true, 0}, {"CONN/s", 8, false, 0},  {"TW", 6, false, 0},   {"INUSE", 6, false, 4},
                 {"HEADROOM", 8, false, 0},    {"EXHAUST", 8, false, 3}, {"REUSE", 10, true, 5}};
    t.default_sort = 1;
    for (const DestinationRow& r : f.destinations) {
        if (r.conn_per_s == 0 && !r.tw_now && !r.ports_in_use) continue;
        t.rows.push_back({str(format_endpoint(r.remote)), rate(r.conn_per_s), num(r.tw_now), num(r.ports_in_use),
                          r.headroom ? num(*r.headroom) : Cell{"-", 1e12},
                          r.headroom && *r.headroom == 0 ? Cell{"now", 0.0}
                                                         : Cell{seconds_text(r.exhaustion_s),
                                                                std::isfinite(r.exhaustion_s) ? r.exhaustion_s : 1e18},
                          str(r.reuse ? reuse_short(*r.reuse) : "-")});
    }
    return t;
}

Table local_ports(const Frame& f) {
    Table t;
    t.view = View::LocalPorts;
    t.columns = {{"LPORT", 7, false, 0},
                 {"TW", 7, false, 0},
                 {"CW", 7, false, 0},
                 {"CONN/s", 8, false, 0},
                 {"NETNS", 10, false, 1}};
    t.default_sort = 1;
    for (const LocalPortRow& r : f.local_ports)
        if (r.conn_per_s != 0 || r.tw_now || r.cw_now)
            t.rows.push_back({num(r.port), num(r.tw_now), num(r.cw_now), rate(r.conn_per_s), num(r.netns)});
    return t;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// A cell in its column: numbers right-aligned, text left; cut to the width.
void append_cell(std::string& out, const Column& c, const std::string& s, int width) {
    std::string v = s.size() > static_cast<size_t>(width) ? s.substr(0, static_cast<size_t>(width)) : s;
    std::string pad(static_cast<size_t>(width) - v.size(), ' ');
    out += c.left ? v + pad : pad + v;
}

std::string line(const Table& t, const std::vector<size_t>& cols, int width,
                 const std::function<std::string(size_t)>& cell) {
    std::string out;
    for (size_t i = 0; i < cols.size(); ++i) {
        const Column& c = t.columns[cols[i]];
        if (i) out += ' ';
        int w = c.width;
        if (i + 1 == cols.size()) {
            // A last text column takes the rest of the line (a long cgroup).
            if (c.left && width > 0)
                w = std::max(w, width - static_cast<int>(out.size()));
            else if (c.left)
                w = std::max<int>(w, static_cast<int>(cell(cols[i]).size()));
        }
        append_cell(out, c, cell(cols[i]), w);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (width > 0 && out.size() > static_cast<size_t>(width)) out.resize(static_cast<size_t>(width));
    return out;
}
}  // namespace

Table table_of(const Frame& f, View v, const CgroupNamer& cgroup_name) {
    Table t = v == View::Processes      ? processes(f, cgroup_name)
              : v == View::Destinations ? destinations(f)
                                        : local_ports(f);
    sort_rows(t, t.default_sort, true);
    return t;
}

void sort_rows(Table& t, size_t col, bool descending) {
    if (col >= t.columns.size()) return;
    std::stable_sort(t.rows.begin(), t.rows.end(), [&](const auto& a, const auto& b) { return a[0].text < b[0].text; });
    std::stable_sort(t.rows.begin(), t.rows.end(), [&](const auto& a, const auto& b) {
        const Cell &x = a[col], &y = b[col];
        if (x.number && y.number) return descending ? *x.number > *y.number : *x.number < *y.number;
        return descending ? x.text > y.text : x.text < y.text;
    });
}

void filter_rows(Table& t, const std::string& needle) {
    if (needle.empty()) return;
    const std::string n = lower(needle);
    std::erase_if(t.rows, [&](const std::vector<Cell>& row) {
        std::string joined;
        for (const Cell& c : row) joined += c.text + " ";
        return lower(joined).find(n) == std::string::npos;
    });
}

std::vector<size_t> visible_columns(const Table& t, int width) {
    std::vector<size_t> cols;
    for (size_t i = 0; i < t.columns.size(); ++i) cols.push_back(i);
    if (width <= 0) return cols;
    auto needed = [&] {
        int w = -1;
        for (size_t i : cols) w += t.columns[i].width + 1;
        return w;
    };
    while (needed() > width) {
        auto worst = std::max_element(cols.begin(), cols.end(),
                                      [&](size_t a, size_t b) { return t.columns[a].drop < t.columns[b].drop; });
        if (worst == cols.end() || t.columns[*worst].drop == 0) break;
        cols.erase(worst);
    }
    return cols;
}

std::string heading_line(const Table& t, const std::vector<size_t>& cols, int width, std::optional<size_t> sort_col) {
    return line(t, cols, width, [&](size_t c) {
        std::string name = t.columns[c].name;
        return sort_col && *sort_col == c ? (t.columns[c].left ? name + "*" : "*" + name) : name;
    });
}

std::string row_line(const Table& t, size_t row, const std::vector<size_t>& cols, int width) {
    return line(t, cols, width, [&](size_t c) { return t.rows[row][c].text; });
}

std::vector<std::string> header_lines(const Frame& f, const std::string& scope, int width) {
    const Header& h = f.header;
    char buf[512];
    std::vector<std::string> out;
    std::snprintf(buf, sizeof(buf), "tcplinger top - %s up %s, every %.1fs, %s",
                  h.wall_ns ? format_datetime(h.wall_ns).substr(11, 8).c_str() : "-", seconds_text(h.uptime_s).c_str(),
                  h.delay_s > 0 ? h.delay_s : h.interval_s, scope.c_str());
    out.emplace_back(buf);
    if (h.host.known)
        std::snprintf(
            buf, sizeof(buf), "TIME-WAIT %llu/%llu max_tw_buckets, orphans %llu/%llu max_orphans",
            static_cast<unsigned long long>(h.host.time_wait), static_cast<unsigned long long>(h.host.max_tw_buckets),
            static_cast<unsigned long long>(h.host.orphans), static_cast<unsigned long long>(h.host.max_orphans));
    else
        std::snprintf(buf, sizeof(buf), "TIME-WAIT ? (the namespace's sockstat could not be read)");
    out.emplace_back(buf);
    std::snprintf(buf, sizeof(buf), "new conn/s %s out, %s in; TIME-WAIT entered/s %s",
                  rate_text(h.active_opens_per_s).c_str(), rate_text(h.passive_opens_per_s).c_str(),
                  rate_text(h.tw_entered_per_s).c_str());
    out.emplace_back(buf);
    std::snprintf(buf, sizeof(buf), "since start: overflows %llu, aborts %llu; tracer lost %llu, evicted %llu",
                  static_cast<unsigned long long>(h.overflows), static_cast<unsigned long long>(h.aborts),
                  static_cast<unsigned long long>(h.lost), static_cast<unsigned long long>(h.evicted));
    out.emplace_back(buf);
    if (width > 0)
        for (auto& l : out)
            if (l.size() > static_cast<size_t>(width)) l.resize(static_cast<size_t>(width));
    return out;
}

}  // namespace tcplinger::top
