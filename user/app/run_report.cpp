#include <cstdio>
#include <ctime>
#include <iostream>

#include "app/options.hpp"
#include "app/pipeline.hpp"
#include "capture/live.hpp"
#include "host/clock.hpp"
#include "record/recording_set.hpp"
#include "render/escape.hpp"
#include "render/output.hpp"
#include "render/trace_format.hpp"

namespace tcplinger {

namespace {
std::string when(uint64_t mono_ns, int64_t offset) {
    return format_datetime(static_cast<uint64_t>(static_cast<int64_t>(mono_ns) + offset));
}

std::string tcpext_text(const rec::NetnsFacts& start, const rec::NetnsFacts* end) {
    std::string out;
    for (const char* name : rec::kTcpExtKept) {
        auto a = start.tcpext.find(name);
        out += std::string(out.empty() ? "" : ", ") + name + " " +
               (a == start.tcpext.end() ? "?" : std::to_string(a->second));
        if (!end) continue;
        auto b = end->tcpext.find(name);
        out += " -> " + (b == end->tcpext.end() ? std::string("?") : std::to_string(b->second));
    }
    return out;
}

// report --info: what each file holds, oldest first. Every string read
// from the file (written from the host, /proc, the command line) is escaped.
class InfoPrinter : public rec::ReplayVisitor {
public:
    explicit InfoPrinter(std::ostream& out) : out_(out) {}
    bool event(const Event&) override { return true; }
    void file_end(const std::string& path, const rec::FileReport& r,
                  const std::optional<rec::Trailer>& trailer) override {
        const rec::FileHeader& h = *r.header;
        char id[24];
        std::snprintf(id, sizeof(id), "%016llx", static_cast<unsigned long long>(h.recording_id));
        out_ << text(path) << " (" << r.file_bytes << " bytes, format " << h.format_version << ", tcplinger "
             << text(h.tool_version) << ")\n";
        out_ << "  recording " << id << " file " << h.file_index << ", host " << text(h.hostname) << ", kernel "
             << text(h.kernel_release) << ", boot " << text(h.boot_id) << ", CONFIG_HZ "
             << (h.hz                     ? std::to_string(h.hz)
                 : trailer && trailer->hz ? std::to_string(trailer->hz)
                                          : "?")
             << "\n";
        out_ << "  " << when(h.file_start_ns, h.clock_offset_ns) << " to "
             << when(std::max(r.last_mono_ns, h.file_start_ns), h.clock_offset_ns) << " (local time), " << r.events
             << " events, "
             << (!trailer                                               ? "not closed"
                 : trailer->reason == rec::Trailer::Reason::Rotated     ? "closed (rotated)"
                 : trailer->reason == rec::Trailer::Reason::WriteFailed ? "closed after a write failure"
                                                                        : "closed")
             << "\n";
        char ratio[64];
        std::snprintf(ratio, sizeof(ratio), "%.2f",
                      r.stored_bytes ? static_cast<double>(r.raw_bytes) / r.stored_bytes : 0.0);
        out_ << "  " << r.frames << " frames: " << r.stored_bytes << " bytes stored, " << r.raw_bytes
             << " decompressed (x" << ratio << ")";
        if (r.events) {
            char per[32];
            std::snprintf(per, sizeof(per), "%.2f", static_cast<double>(r.file_bytes) / static_cast<double>(r.events));
            out_ << ", " << per << " bytes/event";
        }
        out_ << "\n";
        if (trailer) {
            DropCounters d = rec::drops_between(h.drops_at_start, trailer->drops);
            out_ << "  lost " << d.lost() << " (ring buffer " << d.ringbuf_drops << ", recursion " << d.recursion_lost
                 << "), evicted " << d.sock_untracked + d.sock_map_full << "\n";
        }
        out_ << "  command: " << text(h.command) << "\n";
        for (const auto& n : h.netns) {
            const rec::NetnsFacts* end = nullptr;
            if (trailer)
                for (const auto& e : trailer->netns)
                    if (e.inode == n.inode) end = &e;
            out_ << "  netns " << n.inode << " (" << text(n.path) << "): " << tcpext_text(n, end) << "\n";
            for (const auto& [name, value] : n.sysctls) out_ << "    " << text(name) << " = " << text(value) << "\n";
        }
    }

private:
    std::ostream& out_;
};

int print_info(const std::vector<std::string>& inputs) {
    Output out;
    InfoPrinter printer(out.stream());
    rec::ReadSummary s = rec::replay(inputs, printer);
    out.flush();
    print_problems(s.problems);
    out.finish();
    return s.useful() ? 0 : 1;
}
}  // namespace

int run_report(const ReportOptions& ro) {
    const StatsOptions& o = ro.stats;
    Filter filter(o.common.filter);
    if (ro.info) return print_info(o.inputs);
    TimeWindow window = parse_window(o.from, o.to, sys::realtime_ns());
    StatsPipeline pipeline(o, filter, window);
    ReplayResult r = replay_recordings(o.inputs, window, pipeline);
    if (!r.useful) return 1;
    pipeline.cgroup_name = [&](uint64_t id) {
        auto it = r.cgroup_paths.find(id);
        return it == r.cgroup_paths.end() ? std::string() : cgroup_display(it->second);
    };
    std::map<uint32_t, uint64_t> overflow;
    for (const auto& [ns, n] : r.tw_overflow)
        if (!filter.kernel().netns || ns == filter.kernel().netns) overflow[ns] = n;
    Output out;
    pipeline.print(out.stream(), pipeline.report(r.now_ns, r.duration_ns, r.drops, std::move(overflow)));
    out.flush();
    std::fprintf(stderr, "tcplinger: recorded: %s\n", drops_line(r.drops, pipeline.engine_counters()).c_str());
    out.finish();
    return 0;
}

}  // namespace tcplinger
