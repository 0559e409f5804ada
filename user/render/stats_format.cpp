#include "render/stats_format.hpp"

#include <algorithm>
#include <cstdio>

#include "render/escape.hpp"
#include "render/json.hpp"
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

uint64_t rank_count(const GroupFigures& g, uint8_t state) {
    auto it = g.states.find(state);
    if (it == g.states.end()) return 0;
    return it->second.entered + it->second.present_at_start;
}

std::string ms(uint64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), ns < 10'000'000 ? "%.3f" : "%.1f", static_cast<double>(ns) / 1e6);
    return buf;
}

// ">=" when the oldest began before tracing and its start is unknown, as
// trace marks such a stay.
std::string oldest_text(const StateFigures& f) { return (f.oldest_at_least ? ">=" : "") + ms(f.oldest_ns); }

std::string key_name(const GroupKey& k, GroupBy by, const StatsReport& r) {
    switch (by) {
        case GroupBy::Process:
            return k.pid ? std::to_string(k.pid) + " " + k.comm : "- (unknown)";
        case GroupBy::Endpoint:
            return format_endpoint(k.remote);
        case GroupBy::LocalPort:
            return std::to_string(k.lport);
        case GroupBy::Cgroup: {
            std::string name = r.cgroup_name ? r.cgroup_name(k.cgroup) : "";
            return name.empty() ? (k.cgroup ? "cgroup " + std::to_string(k.cgroup) : "- (unknown)") : name;
        }
        case GroupBy::Comm:
            return k.comm.empty() ? "- (unknown)" : k.comm;
        case GroupBy::RemoteAddr:
            return format_addr(k.remote.family, k.remote.addr);
    }
    return "";
}

// The group's name as text output shows it: comm and cgroup paths come
// from outside, so the name is escaped (render/escape.hpp).
std::string key_text(const GroupKey& k, GroupBy by, const StatsReport& r, size_t max_width = std::string::npos) {
    return text(key_name(k, by, r), max_width);
}

// --by comm: "nginx x4", the worker count kept visible when the comm is cut.
std::string key_text(const GroupFigures& g, const StatsReport& r, size_t max_width = std::string::npos) {
    if (r.by != GroupBy::Comm || g.key.comm.empty()) return key_text(g.key, r.by, r, max_width);
    std::string count = " x" + std::to_string(g.workers);
    size_t room =
        max_width == std::string::npos || max_width <= count.size() ? std::string::npos : max_width - count.size();
    return key_text(g.key, r.by, r, room) + count;
}

const StateFigures& figures(const GroupFigures& g, uint8_t s) {
    static const StateFigures empty;
    auto it = g.states.find(s);
    return it == g.states.end() ? empty : it->second;
}

void reasons_json(std::ostream& out, const std::map<EndReason, uint64_t>& reasons) {
    out << "{";
    bool first = true;
    for (EndReason r :
         {EndReason::Expired, EndReason::Reused, EndReason::Reset, EndReason::Purged, EndReason::Unknown}) {
        auto it = reasons.find(r);
        out << (first ? "" : ",") << '"' << end_reason_name(r) << "\":" << (it == reasons.end() ? 0 : it->second);
        first = false;
    }
    out << "}";
}

void state_json(std::ostream& out, const StateFigures& f) {
    const Histogram& h = f.residency;
    out << "{\"entered\":" << f.entered << ",\"present_at_start\":" << f.present_at_start
        << ",\"current\":" << f.current << ",\"completed\":" << h.count();
    auto num = [&](const char* name, uint64_t ns, bool valid) {
        out << ",\"" << name << "\":";
        if (valid)
            json::millis(out, ns);
        else
            out << "null";
    };
    num("p50_ms", h.quantile(0.5), h.count());
    num("p90_ms", h.quantile(0.9), h.count());
    num("p99_ms", h.quantile(0.99), h.count());
    num("max_ms", h.max(), h.count());
    num("oldest_ms", f.oldest_ns, f.current);
    out << ",\"oldest_at_least\":" << (f.current && f.oldest_at_least ? "true" : "false");
    out << ",\"end_reasons\":";
    reasons_json(out, f.end_reasons);
    out << "}";
}

void states_json(std::ostream& out, const std::map<uint8_t, StateFigures>& states) {
    out << "{";
    bool first = true;
    for (uint8_t s : kLingeringStates) {
        auto it = states.find(s);
        out << (first ? "" : ",") << '"' << state_name(s) << "\":";
        state_json(out, it == states.end() ? StateFigures{} : it->second);
        first = false;
    }
    out << "}";
}

// Who holds each CLOSE-WAIT socket still open: pid, comm and fd.
void holders_json(std::ostream& out, const std::vector<HeldSocket>& holders) {
    out << "[";
    bool first = true;
    for (const HeldSocket& h : holders) {
        out << (first ? "" : ",") << "{\"pid\":" << h.holder.pid << ",\"comm\":";
        json::string(out, h.holder.comm);
        out << ",\"fd\":" << h.fd << ",\"cookie\":" << h.cookie << ",\"laddr\":\""
            << format_addr(h.local.family, h.local.addr) << "\",\"lport\":" << h.local.port << ",\"raddr\":\""
            << format_addr(h.remote.family, h.remote.addr) << "\",\"rport\":" << h.remote.port << ",\"age_ms\":";
        json::millis(out, h.age_ns);
        out << ",\"age_at_least\":" << (h.age_at_least ? "true" : "false") << "}";
        first = false;
    }
    out << "]";
}

void drops_json(std::ostream& out, const StatsReport& r) {
    const DropCounters& d = r.drops;
    const uint64_t dup = r.engine.duplicates;
    out << "\"dropped\":{\"ringbuf\":" << d.ringbuf_drops << ",\"recursion\":" << d.recursion_missed(dup)
        << ",\"total\":" << d.lost(dup) << "},\"nested_recovered\":" << d.nested_caught
        << ",\"evicted\":" << (d.sock_untracked + d.sock_map_full + r.engine.evicted) << ",\"events\":" << d.events
        << ",\"recursion_hits\":{\"skipped\":" << d.recursion_skipped << ",\"caught\":" << d.nested_caught
        << ",\"duplicates\":" << dup << ",\"missed\":" << d.recursion_missed(dup) << "},\"no_cookie\":" << d.no_cookie
        << ",\"unknown_sockets\":" << r.engine.unknown_sockets;
}
// "  held by 4242 server fd 5: 127.0.0.1:7201 <- 127.0.0.1:40000, 1700.0 ms",
// oldest first, at most --top rows.
void held_text(std::ostream& out, const StatsReport& r) {
    std::vector<const HeldSocket*> rows;
    for (const auto& g : r.groups)
        for (const auto& h : g.holders) rows.push_back(&h);
    std::stable_sort(rows.begin(), rows.end(),
                     [](const HeldSocket* a, const HeldSocket* b) { return a->age_ns > b->age_ns; });
    for (size_t i = 0; i < rows.size() && i < r.top; ++i) {
        const HeldSocket& h = *rows[i];
        out << "  held by " << h.holder.pid << " " << text(h.holder.comm) << " fd " << h.fd << ": "
            << format_endpoint(h.local) << " <- " << format_endpoint(h.remote) << ", " << (h.age_at_least ? ">=" : "")
            << ms(h.age_ns) << " ms\n";
    }
    if (rows.size() > r.top) out << "  (" << rows.size() - r.top << " more held; use --top or -j)\n";
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

void render_stats_text(std::ostream& out, const StatsReport& r) {
    char buf[512];
    if (r.wall_ns) {
        std::snprintf(buf, sizeof(buf), "=== %s, %.1f s since start ===\n",
                      format_datetime(r.wall_ns).substr(0, 19).c_str(), static_cast<double>(r.duration_ns) / 1e9);
        out << buf;
    }
    std::snprintf(buf, sizeof(buf), "%-28s",
                  std::string(group_by_name(r.by) == "process"    ? "PID COMM"
                              : group_by_name(r.by) == "endpoint" ? "REMOTE"
                              : group_by_name(r.by) == "lport"    ? "LPORT"
                              : group_by_name(r.by) == "comm"     ? "COMM xPIDS"
                              : group_by_name(r.by) == "raddr"    ? "RADDR"
                                                                  : "CGROUP")
                      .c_str());
    out << buf;
    const uint8_t s = r.sort_state;
    std::string sn = short_name(s);
    std::snprintf(buf, sizeof(buf), " %8s %8s %10s %10s %10s %10s", (sn + "-IN").c_str(), (sn + "-NOW").c_str(),
                  (sn + "-P50ms").c_str(), (sn + "-P99ms").c_str(), (sn + "-MAXms").c_str(), (sn + "-OLDms").c_str());
    out << buf;
    for (uint8_t o : kLingeringStates) {
        if (o == s) continue;
        std::string on = short_name(o);
        std::snprintf(buf, sizeof(buf), " %7s %7s", (on + "-IN").c_str(), (on + "-NOW").c_str());
        out << buf;
    }
    out << "\n";
    size_t shown = 0;
    for (const GroupFigures* g : ranked(r)) {
        if (shown++ >= r.top) break;
        const StateFigures& f = figures(*g, s);
        const Histogram& h = f.residency;
        std::string key = key_text(*g, r, 28);
        std::snprintf(buf, sizeof(buf), "%-28s %8llu %8llu %10s %10s %10s %10s", key.c_str(),
                      static_cast<unsigned long long>(f.entered + f.present_at_start),
                      static_cast<unsigned long long>(f.current), h.count() ? ms(h.quantile(0.5)).c_str() : "-",
                      h.count() ? ms(h.quantile(0.99)).c_str() : "-", h.count() ? ms(h.max()).c_str() : "-",
                      f.current ? oldest_text(f).c_str() : "-");
        out << buf;
        for (uint8_t o : kLingeringStates) {
            if (o == s) continue;
            const StateFigures& of = figures(*g, o);
            std::snprintf(buf, sizeof(buf), " %7llu %7llu",
                          static_cast<unsigned long long>(of.entered + of.present_at_start),
                          static_cast<unsigned long long>(of.current));
            out << buf;
        }
        out << "\n";
    }
    if (r.groups.size() > r.top) out << "(" << r.groups.size() - r.top << " more groups; use --top)\n";

    auto all = totals(r.groups);
    for (uint8_t st : kLingeringStates) {
        const StateFigures& f = all[st];
        const Histogram& h = f.residency;
        if (!f.entered && !f.present_at_start && !f.current) continue;
        out << "\n"
            << state_name(st) << ": entered " << f.entered << ", present at start " << f.present_at_start << ", now "
            << f.current;
        if (f.current) out << " (oldest " << oldest_text(f) << " ms)";
        if (!f.end_reasons.empty()) {
            out << ", ended:";
            for (const auto& [reason, n] : f.end_reasons) out << " " << end_reason_name(reason) << " " << n;
        }
        out << "\n";
        if (st == kCloseWait) held_text(out, r);
        if (!h.count()) continue;
        out << "  residency p50 " << ms(h.quantile(0.5)) << " ms, p90 " << ms(h.quantile(0.9)) << " ms, p99 "
            << ms(h.quantile(0.99)) << " ms, max " << ms(h.max()) << " ms\n";
        auto rows = h.log2_rows(1'000'000);
        uint64_t peak = 0;
        for (const auto& row : rows) peak = std::max(peak, row.second);
        out << "  " << std::string(14, ' ') << "ms : count    distribution\n";
        for (const auto& [low, n] : rows) {
            uint64_t high = low == 0 ? 0 : 2 * low - 1;
            int stars = peak ? static_cast<int>(n * 40 / peak) : 0;
            std::snprintf(buf, sizeof(buf), "  %8llu -> %-8llu : %-8llu |%-40s|\n",
                          static_cast<unsigned long long>(low), static_cast<unsigned long long>(high),
                          static_cast<unsigned long long>(n), std::string(stars, '*').c_str());
            out << buf;
        }
    }
    for (const GroupFigures* g : ranked(r)) {
        if (g->no_timewait)
            out << "\n"
                << key_text(*g, r) << ": " << g->no_timewait << " closes got no TIME-WAIT (tcp_max_tw_buckets full)\n";
        if (g->aborted)
            out << "\n"
                << key_text(*g, r) << ": " << g->aborted
                << " connections ended by RST or abort, not an orderly close\n";
    }
    for (const auto& [ns, n] : r.tw_overflow)
        if (n)
            out << "\nnetns " << ns << ": " << n
                << " connections got no TIME-WAIT (TCPTimeWaitOverflow, tcp_max_tw_buckets)\n";
    out << "\n"
        << "lost " << r.drops.lost(r.engine.duplicates) << " (ring buffer " << r.drops.ringbuf_drops << ", recursion "
        << r.drops.recursion_missed(r.engine.duplicates) << "), evicted "
        << (r.drops.sock_untracked + r.drops.sock_map_full + r.engine.evicted) << "\n";
}

void render_stats_json(std::ostream& out, const StatsReport& r) {
    out << "{";
    if (r.wall_ns) out << "\"ts\":\"" << format_iso8601(r.wall_ns) << "\",";
    out << "\"by\":\"" << group_by_name(r.by) << "\",\"duration_s\":";
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(r.duration_ns) / 1e9);
    out << buf << ",\"groups_total\":" << r.groups.size() << ",\"groups\":[";
    bool first = true;
    size_t shown = 0;
    for (const GroupFigures* g : ranked(r)) {
        if (shown++ >= r.top) break;
        out << (first ? "" : ",") << "{";
        first = false;
        const GroupKey& k = g->key;
        switch (r.by) {
            case GroupBy::Process:
                out << "\"pid\":";
                if (k.pid)
                    out << k.pid;
                else
                    out << "null";
                out << ",\"comm\":";
                if (k.pid)
                    json::string(out, k.comm);
                else
                    out << "null";
                break;
            case GroupBy::Endpoint:
                out << "\"raddr\":\"" << format_addr(k.remote.family, k.remote.addr)
                    << "\",\"rport\":" << k.remote.port;
                break;
            case GroupBy::LocalPort:
                out << "\"lport\":" << k.lport;
                break;
            case GroupBy::Cgroup:
                out << "\"cgroup_id\":" << k.cgroup << ",\"cgroup\":";
                json::string(out, r.cgroup_name ? r.cgroup_name(k.cgroup) : "");
                break;
            case GroupBy::Comm:
                out << "\"comm\":";
                if (k.comm.empty())
                    out << "null";
                else
                    json::string(out, k.comm);
                out << ",\"workers\":" << g->workers;
                break;
            case GroupBy::RemoteAddr:
                out << "\"raddr\":\"" << format_addr(k.remote.family, k.remote.addr) << '"';
                break;
        }
        out << ",\"no_timewait\":" << g->no_timewait << ",\"aborted\":" << g->aborted << ",\"states\":";
        states_json(out, g->states);
        out << ",\"holders\":";
        holders_json(out, g->holders);
        out << "}";
    }
    out << "],\"states\":";
    auto all = totals(r.groups);
    states_json(out, all);
    out << ",\"time_wait_end_reasons\":";
    reasons_json(out, all[kTimeWait].end_reasons);
    out << ",\"tw_overflow\":{";
    first = true;
    for (const auto& [ns, n] : r.tw_overflow) {
        out << (first ? "" : ",") << "\"" << ns << "\":" << n;
        first = false;
    }
    out << "},";
    drops_json(out, r);
    out << "}\n";
}

}  // namespace tcplinger
