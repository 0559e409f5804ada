#include "render/trace_format.hpp"

#include <cstdio>
#include <ctime>

#include "host/clock.hpp"
#include "render/append.hpp"
#include "render/escape.hpp"
#include "render/json.hpp"

namespace tcplinger {

WallClock WallClock::now() {
    WallClock c;
    c.offset_ns = static_cast<int64_t>(sys::realtime_ns()) - static_cast<int64_t>(sys::monotonic_ns());
    return c;
}

namespace {
constexpr uint64_t kNsPerSec = 1'000'000'000ULL;
constexpr const char* kIsoFormat = "%Y-%m-%dT%H:%M:%S";
constexpr const char* kHmsFormat = "%H:%M:%S";
constexpr const char* kDatetimeFormat = "%Y-%m-%d %H:%M:%S";
// A comm from the kernel has at most 15 bytes (TASK_COMM_LEN), 60
// characters escaped; a longer one (from a crafted recording) is cut with
// `~`, so that every line stays whole, ending in its newline.
constexpr size_t kMaxCommWidth = 64;

void append_strftime(std::string& out, uint64_t wall_ns, const char* fmt, bool utc) {
    time_t secs = static_cast<time_t>(wall_ns / kNsPerSec);
    struct tm tm {};
    if (utc)
        gmtime_r(&secs, &tm);
    else
        localtime_r(&secs, &tm);
    char buf[64];
    size_t n = std::strftime(buf, sizeof(buf), fmt, &tm);
    out.append(buf, n);
}

unsigned micros_of(uint64_t wall_ns) { return static_cast<unsigned>((wall_ns % kNsPerSec) / 1000); }
unsigned millis_of(uint64_t wall_ns) { return static_cast<unsigned>((wall_ns % kNsPerSec) / 1'000'000); }

void append_bool(std::string& out, bool v) { out.append(v ? "true" : "false"); }
}  // namespace

std::string format_iso8601(uint64_t wall_ns) {
    std::string out;
    append_strftime(out, wall_ns, kIsoFormat, true);
    out.push_back('.');
    append_digits(out, micros_of(wall_ns), 6);
    out.push_back('Z');
    return out;
}

std::string format_hms(uint64_t wall_ns) {
    std::string out;
    append_strftime(out, wall_ns, kHmsFormat, false);
    out.push_back('.');
    append_digits(out, millis_of(wall_ns), 3);
    return out;
}

std::string format_datetime(uint64_t wall_ns) {
    std::string out;
    append_strftime(out, wall_ns, kDatetimeFormat, false);
    out.push_back('.');
    append_digits(out, micros_of(wall_ns), 6);
    return out;
}

void TraceRenderer::header() {
    if (style_.json) return;
    char buf[256];
    std::snprintf(buf, sizeof(buf), "%-*s %-7s %-15s %-25s %-25s %-27s %s\n", style_.hms ? 12 : 26, "TIME", "PID",
                  "COMM", "LADDR:LPORT", "RADDR:RPORT", "TRANSITION", "MS");
    out_ << buf;
}

void TraceRenderer::append_second(uint64_t wall_ns) {
    uint64_t sec = wall_ns / kNsPerSec;
    if (sec != prefix_sec_) {
        prefix_.clear();
        if (style_.json)
            append_strftime(prefix_, wall_ns, kIsoFormat, true);
        else
            append_strftime(prefix_, wall_ns, style_.hms ? kHmsFormat : kDatetimeFormat, false);
        prefix_sec_ = sec;
    }
    line_.append(prefix_);
}

void TraceRenderer::line(const Transition& t) {
    uint64_t wall = clock_.wall(t.ts_ns);
    line_.clear();
    if (style_.json)
        json_line(t, wall);
    else
        text_line(t, wall);
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
}

void TraceRenderer::json_line(const Transition& t, uint64_t wall) {
    std::string& o = line_;
    o.append("{\"ts\":\"");
    append_second(wall);
    o.push_back('.');
    append_digits(o, micros_of(wall), 6);
    o.append("Z\",\"ts_ns\":");
    append_uint(o, t.ts_ns);
    o.append(",\"pid\":");
    if (t.actor.known())
        append_uint(o, t.actor.pid);
    else
        o.append("null");
    o.append(",\"tid\":");
    if (t.tid)
        append_uint(o, t.tid);
    else
        o.append("null");
    o.append(",\"comm\":");
    if (t.actor.known())
        json::append_string(o, t.actor.comm);
    else
        o.append("null");
    o.append(",\"owner_pid\":");
    if (t.owner.known())
        append_uint(o, t.owner.pid);
    else
        o.append("null");
    o.append(",\"owner_comm\":");
    if (t.owner.known())
        json::append_string(o, t.owner.comm);
    else
        o.append("null");
    o.append(",\"in_task\":");
    append_bool(o, t.in_task);
    o.append(",\"cookie\":");
    append_uint(o, t.cookie);
    o.append(",\"netns\":");
    append_uint(o, t.netns);
    o.append(",\"family\":");
    append_uint(o, t.local.family);
    o.append(",\"laddr\":\"");
    append_addr(o, t.local.family, t.local.addr);
    o.append("\",\"lport\":");
    append_uint(o, t.local.port);
    o.append(",\"raddr\":\"");
    append_addr(o, t.remote.family, t.remote.addr);
    o.append("\",\"rport\":");
    append_uint(o, t.remote.port);
    o.append(",\"old\":\"");
    o.append(state_name(t.old_state));
    o.append("\",\"new\":\"");
    o.append(state_name(t.new_state));
    o.append("\",\"prev_ms\":");
    if (t.prev_ns)
        json::append_millis(o, *t.prev_ns);
    else
        o.append("null");
    o.append(",\"prev_at_least\":");
    append_bool(o, t.prev_at_least);
    // The error bound of prev_ms: 0 where both ends are event times, half
    // a jiffy at most where one is recovered from a timer (README, Accuracy).
    o.append(",\"prev_ms_err\":");
    if (t.prev_ns)
        json::append_millis(o, t.prev_err_ns);
    else
        o.append("null");
    o.append(",\"timewait\":");
    append_bool(o, t.timewait);
    o.append(",\"reason\":");
    if (t.reason != EndReason::None) {
        o.push_back('"');
        o.append(end_reason_name(t.reason));
        o.push_back('"');
    } else {
        o.append("null");
    }
    o.append("}\n");
}

// "%-*s %-7s %-15s %-25s %-25s %-27s %s\n": time, pid, comm, local, remote,
// transition, then the time in the old state and the end reason.
void TraceRenderer::text_line(const Transition& t, uint64_t wall) {
    std::string& o = line_;
    size_t start = o.size();
    append_second(wall);
    o.push_back('.');
    if (style_.hms)
        append_digits(o, millis_of(wall), 3);
    else
        append_digits(o, micros_of(wall), 6);
    pad_from(o, start, style_.hms ? 12 : 26);
    o.push_back(' ');

    start = o.size();
    if (t.actor.known())
        append_uint(o, t.actor.pid);
    else
        o.push_back('-');
    pad_from(o, start, 7);
    o.push_back(' ');

    start = o.size();
    if (t.actor.known())
        append_text(o, t.actor.comm, kMaxCommWidth);  // chosen by any process: escaped (render/escape.hpp)
    else
        o.push_back('-');
    pad_from(o, start, 15);
    o.push_back(' ');

    start = o.size();
    append_endpoint(o, t.local);
    pad_from(o, start, 25);
    o.push_back(' ');

    start = o.size();
    append_endpoint(o, t.remote);
    pad_from(o, start, 25);
    o.push_back(' ');

    start = o.size();
    o.append(state_name(t.old_state));
    o.append(" -> ");
    o.append(state_name(t.new_state));
    pad_from(o, start, 27);
    o.push_back(' ');

    if (t.prev_ns) {
        if (t.prev_at_least) o.append(">=");
        json::append_millis(o, *t.prev_ns);
    } else {
        o.push_back('-');
    }
    if (t.reason != EndReason::None) {
        o.push_back(' ');
        o.append(end_reason_name(t.reason));
    }
    o.push_back('\n');
}

}  // namespace tcplinger
