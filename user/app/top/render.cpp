#include "app/top/render.hpp"

#include <cmath>
#include <cstdio>

#include "render/json.hpp"
#include "render/trace_format.hpp"

namespace tcplinger::top {

void render_batch(std::ostream& out, const Frame& f, const std::string& scope, const CgroupNamer& cgroup_name) {
    for (const std::string& l : header_lines(f, scope, 0)) out << l << "\n";
    for (View v : kViews) {
        Table t = table_of(f, v, cgroup_name);
        auto cols = visible_columns(t, 0);
        out << "\n" << heading_line(t, cols, 0) << "\n";
        for (size_t i = 0; i < t.rows.size(); ++i) out << row_line(t, i, cols, 0) << "\n";
    }
    out << "\n";
}

namespace {
void number(std::ostream& out, double v) {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%.3f", v);
    out << buf;
}
}  // namespace

void render_json(std::ostream& out, const Frame& f, const CgroupNamer& cgroup_name) {
    const Header& h = f.header;
    out << "{\"ts\":\"" << format_iso8601(h.wall_ns) << "\",\"interval_s\":";
    number(out, h.interval_s);
    out << ",\"delay_s\":";
    number(out, h.delay_s);
    out << ",\"uptime_s\":";
    number(out, h.uptime_s);
    out << ",\"header\":{\"sockstat_known\":" << (h.host.known ? "true" : "false")
        << ",\"time_wait\":" << h.host.time_wait << ",\"max_tw_buckets\":" << h.host.max_tw_buckets
        << ",\"orphans\":" << h.host.orphans << ",\"max_orphans\":" << h.host.max_orphans << ",\"active_opens_per_s\":";
    number(out, h.active_opens_per_s);
    out << ",\"passive_opens_per_s\":";
    number(out, h.passive_opens_per_s);
    out << ",\"time_wait_entered_per_s\":";
    number(out, h.tw_entered_per_s);
    out << ",\"overflows\":" << h.overflows << ",\"aborts\":" << h.aborts << ",\"lost\":" << h.lost
        << ",\"evicted\":" << h.evicted << "},\"by_comm\":" << (f.by_comm ? "true" : "false") << ",\"processes\":[";
    const char* sep = "";
    for (const ProcessRow& r : f.processes) {
        out << sep << "{\"pid\":";
        sep = ",";
        if (r.pid)
            out << r.pid;
        else
            out << "null";
        out << ",\"workers\":" << r.workers << ",\"comm\":";
        if (r.comm.empty())
            out << "null";
        else
            json::string(out, r.comm);
        out << ",\"cgroup_id\":" << r.cgroup << ",\"cgroup\":";
        json::string(out, r.cgroup && cgroup_name ? cgroup_name(r.cgroup) : "");
        out << ",\"time_wait\":" << r.tw_now << ",\"time_wait_per_s\":";
        number(out, r.tw_per_s);
        out << ",\"time_wait_entered\":" << r.tw_entered << ",\"close_wait\":" << r.cw_now
            << ",\"close_wait_oldest_ms\":";
        if (r.cw_now)
            json::millis(out, r.cw_oldest_ns);
        else
            out << "null";
        out << ",\"close_wait_oldest_at_least\":" << (r.cw_now && r.cw_oldest_at_least ? "true" : "false")
            << ",\"fin_wait_2\":" << r.fw2_now << ",\"aborts_per_s\":";
        number(out, r.aborts_per_s);
        out << ",\"aborts\":" << r.aborts << "}";
    }
    out << "],\"destinations\":[";
    sep = "";
    for (const DestinationRow& r : f.destinations) {
        out << sep << "{\"netns\":" << r.netns << ",\"raddr\":\"" << format_addr(r.remote.family, r.remote.addr)
            << "\",\"rport\":" << r.remote.port << ",\"conn_per_s\":";
        sep = ",";
        number(out, r.conn_per_s);
        out << ",\"connections\":" << r.conns << ",\"time_wait\":" << r.tw_now << ",\"ports_in_use\":" << r.ports_in_use
            << ",\"headroom\":";
        if (r.headroom)
            out << *r.headroom;
        else
            out << "null";
        out << ",\"exhaustion_s\":";
        if (std::isfinite(r.exhaustion_s))
            number(out, r.exhaustion_s);
        else
            out << "null";
        out << ",\"tw_reuse\":";
        if (r.reuse)
            json::string(out, headroom::reuse_verdict_text(*r.reuse));
        else
            out << "null";
        out << "}";
    }
    out << "],\"local_ports\":[";
    sep = "";
    for (const LocalPortRow& r : f.local_ports) {
        out << sep << "{\"netns\":" << r.netns << ",\"lport\":" << r.port << ",\"time_wait\":" << r.tw_now
            << ",\"close_wait\":" << r.cw_now << ",\"conn_per_s\":";
        sep = ",";
        number(out, r.conn_per_s);
        out << ",\"connections\":" << r.conns << "}";
    }
    out << "]}\n";
}

}  // namespace tcplinger::top
