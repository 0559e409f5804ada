#include "render/trace_format.hpp"

#include <cstdio>
#include <ctime>

#include "render/json.hpp"
#include "tracer/system.hpp"

namespace tcplinger {

WallClock WallClock::now() {
    WallClock c;
    c.offset_ns = static_cast<int64_t>(sys::realtime_ns()) - static_cast<int64_t>(sys::monotonic_ns());
    return c;
}

namespace {
std::string strftime_of(uint64_t wall_ns, const char* fmt, bool utc) {
    time_t secs = static_cast<time_t>(wall_ns / 1'000'000'000ULL);
    struct tm tm {};
    if (utc)
        gmtime_r(&secs, &tm);
    else
        localtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof(buf), fmt, &tm);
    return buf;
}

std::string prev_text(const Transition& t) {
    if (!t.prev_ns) return "-";
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%s%.3f", t.prev_at_least ? ">=" : "", static_cast<double>(*t.prev_ns) / 1e6);
    return buf;
}

std::string transition_text(const Transition& t) {
    return std::string(state_name(t.old_state)) + " -> " + std::string(state_name(t.new_state));
}
}  // namespace

std::string format_iso8601(uint64_t wall_ns) {
    char frac[16];
    std::snprintf(frac, sizeof(frac), ".%06uZ", static_cast<unsigned>((wall_ns % 1'000'000'000ULL) / 1000));
    return strftime_of(wall_ns, "%Y-%m-%dT%H:%M:%S", true) + frac;
}

std::string format_hms(uint64_t wall_ns) {
    char frac[8];
    std::snprintf(frac, sizeof(frac), ".%03u", static_cast<unsigned>((wall_ns % 1'000'000'000ULL) / 1'000'000));
    return strftime_of(wall_ns, "%H:%M:%S", false) + frac;
}

std::string format_datetime(uint64_t wall_ns) {
    char frac[12];
    std::snprintf(frac, sizeof(frac), ".%06u", static_cast<unsigned>((wall_ns % 1'000'000'000ULL) / 1000));
    return strftime_of(wall_ns, "%Y-%m-%d %H:%M:%S", false) + frac;
}

void TraceRenderer::header() {
    if (style_.json) return;
    char buf[256];
    std::snprintf(buf, sizeof(buf), "%-*s %-7s %-15s %-25s %-25s %-27s %s\n", style_.hms ? 12 : 26, "TIME", "PID",
                  "COMM", "LADDR:LPORT", "RADDR:RPORT", "TRANSITION", "MS");
    out_ << buf;
}

void TraceRenderer::line(const Transition& t) {
    uint64_t wall = clock_.wall(t.ts_ns);
    if (style_.json) {
        out_ << "{\"ts\":\"" << format_iso8601(wall) << "\",\"ts_ns\":" << t.ts_ns;
        out_ << ",\"pid\":";
        if (t.actor.known()) out_ << t.actor.pid; else out_ << "null";
        out_ << ",\"tid\":";
        if (t.tid) out_ << t.tid; else out_ << "null";
        out_ << ",\"comm\":";
        if (t.actor.known()) json::string(out_, t.actor.comm); else out_ << "null";
        out_ << ",\"owner_pid\":";
        if (t.owner.known()) out_ << t.owner.pid; else out_ << "null";
        out_ << ",\"owner_comm\":";
        if (t.owner.known()) json::string(out_, t.owner.comm); else out_ << "null";
        out_ << ",\"in_task\":" << (t.in_task ? "true" : "false");
        out_ << ",\"cookie\":" << t.cookie << ",\"netns\":" << t.netns;
        out_ << ",\"family\":" << static_cast<int>(t.local.family);
        out_ << ",\"laddr\":\"" << format_addr(t.local.family, t.local.addr) << "\",\"lport\":" << t.local.port;
        out_ << ",\"raddr\":\"" << format_addr(t.remote.family, t.remote.addr) << "\",\"rport\":" << t.remote.port;
        out_ << ",\"old\":\"" << state_name(t.old_state) << "\",\"new\":\"" << state_name(t.new_state) << "\"";
        out_ << ",\"prev_ms\":";
        if (t.prev_ns) json::millis(out_, *t.prev_ns); else out_ << "null";
        out_ << ",\"prev_at_least\":" << (t.prev_at_least ? "true" : "false");
        out_ << ",\"timewait\":" << (t.timewait ? "true" : "false");
        out_ << ",\"reason\":";
        if (t.reason != EndReason::None) out_ << '"' << end_reason_name(t.reason) << '"'; else out_ << "null";
        out_ << "}\n";
        return;
    }
    std::string when = style_.hms ? format_hms(wall) : format_datetime(wall);
    std::string pid = t.actor.known() ? std::to_string(t.actor.pid) : "-";
    std::string comm = t.actor.known() ? t.actor.comm : "-";
    std::string extra = prev_text(t);
    if (t.reason != EndReason::None) extra += " " + std::string(end_reason_name(t.reason));
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%-*s %-7s %-15s %-25s %-25s %-27s %s\n", style_.hms ? 12 : 26, when.c_str(),
                  pid.c_str(), comm.c_str(), format_endpoint(t.local).c_str(), format_endpoint(t.remote).c_str(),
                  transition_text(t).c_str(), extra.c_str());
    out_ << buf;
}

}  // namespace tcplinger
