// tcplinger doctor: the TCP knobs and counters of every namespace checked
// against what the kernel does; --observe adds a short capture, --conf
// checks a sysctl file, -i reviews a recording.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "app/doctor/conf.hpp"
#include "app/doctor/host.hpp"
#include "app/doctor/knobs.hpp"
#include "app/doctor/observe.hpp"
#include "app/doctor/observe_live.hpp"
#include "app/doctor/render.hpp"
#include "app/options.hpp"
#include "app/pipeline.hpp"
#include "capture/live.hpp"
#include "core/error.hpp"
#include "host/clock.hpp"
#include "host/netns.hpp"
#include "host/privileges.hpp"
#include "record/recording_set.hpp"
#include "render/output.hpp"

namespace tcplinger {

namespace {
using namespace doctor;

std::string read_whole(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw FatalError("failed to read " + path + ": " + std::strerror(errno) + " (give a readable file)");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Through the output sink every command uses (render/output.hpp): a write
// error is one line and exit 1, a closed pipe exit 0.
void print(const DoctorOptions& o, const std::vector<NamespaceReport>& reports) {
    Output out;
    if (o.json)
        render_json(out.stream(), reports);
    else
        render_text(out.stream(), reports, o.all);
    out.finish();
}

int run_conf(const DoctorOptions& o) {
    std::vector<NetnsState> namespaces = read_namespaces(o.netns, true);
    ConfContext ctx;
    const NetnsState* target = &namespaces.front();
    for (const auto& ns : namespaces)
        if (ns.host && o.netns.empty()) target = &ns;
    std::string path = target->in_place ? "" : target->path;
    ctx.key_exists = [path](const std::string& raw) {
        bool ok = false;
        sys::run_in_netns(path, [&] { ok = access(proc_path(raw).c_str(), F_OK) == 0; });
        return ok;
    };
    ctx.current = [target](const std::string& raw) -> std::optional<std::string> {
        auto it = target->settings.find(normalize_key(raw));
        if (it == target->settings.end()) return std::nullopt;
        return it->second;
    };
    for (const auto& ns : namespaces) {
        ctx.time_wait_now = std::max(ctx.time_wait_now, ns.sockstat.tw);
        for (const auto& h : headroom::compute(ports_of(ns), ns.sockets, ns.inode))
            ctx.max_ports_to_one_destination = std::max(ctx.max_ports_to_one_destination, h.taken + h.reusable_tw);
    }
    ctx.listening_ports = headroom::bound_ports(target->sockets, target->inode);

    std::vector<ConfFileReport> files;
    std::map<std::string, std::string> all_keys;
    std::vector<std::vector<ConfLine>> parsed;
    for (const auto& file : o.conf) {
        parsed.push_back(parse_conf(read_whole(file)));
        for (const auto& l : parsed.back())
            if (!l.syntax_error) all_keys[l.key] = l.value;
    }
    Severity worst = Severity::Ok;
    for (size_t i = 0; i < o.conf.size(); ++i) {
        files.push_back({o.conf[i], check_conf(parsed[i], all_keys, ctx)});
        for (const auto& v : files.back().lines) worst = std::max(worst, v.worst());
    }
    Output out;
    if (o.json)
        render_conf_json(out.stream(), files);
    else
        render_conf_text(out.stream(), files);
    out.finish();
    return worst == Severity::Problem ? 1 : 0;
}

std::map<std::string, int64_t> delta(const std::map<std::string, uint64_t>& from,
                                     const std::map<std::string, uint64_t>& to) {
    std::map<std::string, int64_t> out;
    for (const auto& [k, v] : to) {
        auto it = from.find(k);
        if (it != from.end()) out[k] = static_cast<int64_t>(v) - static_cast<int64_t>(it->second);
    }
    return out;
}

int run_observe(const DoctorOptions& o) {
    sys::check_can_trace();
    std::vector<NetnsState> before = read_namespaces(o.netns, false);
    FilterOptions fo;
    if (!o.netns.empty() && before.size() == 1) fo.netns = before.front().inode;
    Filter filter(fo);
    Observer observer(o.common.max_sockets);
    ObservedRun run = observe_live(o, filter, observer);
    const DropCounters& drops = run.drops;
    uint64_t now = sys::monotonic_ns();
    double seconds = (now - run.started_ns) / 1e9;
    std::vector<NetnsState> after = read_namespaces(o.netns, false);
    std::vector<NamespaceReport> reports;
    char source[64];
    std::snprintf(source, sizeof(source), "observed %.1f s", seconds);
    for (const auto& ns : after) {
        Observation obs = observer.build(ns, now, seconds);
        obs.lost_events = drops.lost(observer.engine().counters().duplicates);
        for (const auto& b : before)
            if (b.inode == ns.inode) {
                obs.tcpext_delta = delta(b.tcpext, ns.tcpext);
                obs.tcpext_known = !b.tcpext.empty() && !ns.tcpext.empty();
            }
        NamespaceReport r{ns.inode, ns.name, ns.path, source, check_namespace(ns, &obs)};
        reports.push_back(std::move(r));
    }
    print(o, reports);
    std::fprintf(stderr, "tcplinger: %s\n", drops_line(drops, observer.engine().counters()).c_str());
    return 0;
}

// The recording's first header and last trailer, and its events into an
// Observer (a full recording: every transition).
class RecordingFeed : public rec::ReplayVisitor {
public:
    explicit RecordingFeed(Observer& o) : obs_(o) {}
    void segment_begin(const rec::FileHeader&) override { obs_.begin_run(); }
    void file_begin(const std::string&, const rec::FileHeader& h) override {
        if (!first) {
            first = h;
            start_ns = h.recording_start_ns;
        }
    }
    bool event(const Event& ev) override {
        obs_.event(ev);
        return true;
    }
    void advance(uint64_t now) override { obs_.advance(now); }
    void segment_end(const rec::SegmentEnd& end) override {
        obs_.end_run();
        end_ns = std::max(end_ns, end.end_ns);
    }
    void file_end(const std::string&, const rec::FileReport&, const std::optional<rec::Trailer>& t) override {
        if (t) last = t;
    }
    std::optional<rec::FileHeader> first;
    std::optional<rec::Trailer> last;
    uint64_t start_ns = 0, end_ns = 0;

private:
    Observer& obs_;
};

int run_recording(const DoctorOptions& o) {
    Observer observer;
    RecordingFeed feed(observer);
    rec::ReadSummary summary = rec::replay(o.inputs, feed);
    print_problems(summary.problems);
    if (!summary.useful() || !feed.first)
        throw FatalError(
            "failed to read a recording from the input: give files or directories made by tcplinger record");
    double seconds = feed.end_ns > feed.start_ns ? (feed.end_ns - feed.start_ns) / 1e9 : 0;
    std::vector<NamespaceReport> reports;
    std::string source = "recording of " + feed.first->hostname + ", " + feed.first->kernel_release;
    for (const auto& facts : feed.first->netns) {
        NetnsState ns;
        ns.inode = facts.inode;
        ns.path = facts.path;
        ns.recorded = true;
        ns.name = facts.path.rfind("/run/netns/", 0) == 0 ? facts.path.substr(11) : facts.path;
        for (const auto& [k, v] : facts.sysctls) ns.settings[normalize_key(k)] = normalize_value(v);
        ns.tcpext = facts.tcpext;
        Observation obs;
        if (feed.last)
            for (const auto& end : feed.last->netns)
                if (end.inode == facts.inode && !end.tcpext.empty()) {
                    obs.tcpext_delta = delta(facts.tcpext, end.tcpext);
                    obs.tcpext_known = !facts.tcpext.empty();
                    ns.tcpext = end.tcpext;
                }
        // TIME-WAIT at the end, as the events left it.
        ns.sockstat.known = true;
        for (const auto& [cookie, c] : observer.engine().connections())
            if (c.netns == ns.inode && c.timewait) ++ns.sockstat.tw;
        Observation built = observer.build(ns, feed.end_ns, seconds);
        built.tcpext_delta = obs.tcpext_delta;
        built.tcpext_known = obs.tcpext_known;
        reports.push_back({ns.inode, ns.name, ns.path, source, check_namespace(ns, &built)});
    }
    print(o, reports);
    return 0;
}
}  // namespace

int run_doctor(const DoctorOptions& o) {
    if (!o.conf.empty()) return run_conf(o);
    if (!o.inputs.empty()) return run_recording(o);
    if (o.observe > 0) return run_observe(o);
    std::vector<NamespaceReport> reports;
    for (const auto& ns : read_namespaces(o.netns, true))
        reports.push_back({ns.inode, ns.name, ns.path, "now", check_namespace(ns, nullptr)});
    print(o, reports);
    return 0;
}

}  // namespace tcplinger
