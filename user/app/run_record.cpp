#include <cstdio>
#include <filesystem>

#include "app/options.hpp"
#include "app/tracer_options.hpp"
#include "capture/live.hpp"
#include "core/error.hpp"
#include "host/clock.hpp"
#include "host/privileges.hpp"
#include "record/writer.hpp"

namespace tcplinger {

namespace {
rec::RecorderOptions recorder_options(const RecordOptions& o, const Filter& filter) {
    rec::RecorderOptions r;
    r.path = o.output;
    std::error_code ec;
    // A path ending in .tlr is one file, never a directory of rotated ones.
    bool single = o.output.size() > 4 && o.output.substr(o.output.size() - 4) == ".tlr";
    if (single && std::filesystem::is_directory(o.output, ec))
        throw FatalError(o.output +
                         " is a directory, but a path ending in .tlr names one recording file: give a "
                         "new file name, or a directory path not ending in .tlr to rotate files in it");
    if (single && o.max_given)
        throw FatalError("--max-size and --max-files rotate files in a directory: give -o DIRECTORY, not a .tlr file");
    r.rotate = !single;
    r.max_size = rec::parse_size(o.max_size).value_or(64ull << 20);
    r.max_files = o.max_files;
    r.zstd_level = o.zstd_level;
    r.netns = filter.kernel().netns;
    r.command = o.command_line;
    return r;
}

// As --max-size takes it: 64M, 256K, 1G.
std::string size_text(uint64_t bytes) {
    for (auto [shift, unit] : {std::pair{30, "G"}, std::pair{20, "M"}, std::pair{10, "K"}})
        if (bytes >= (1ull << shift) && bytes % (1ull << shift) == 0) return std::to_string(bytes >> shift) + unit;
    return std::to_string(bytes) + " bytes";
}
}  // namespace

int run_record(const RecordOptions& o) {
    Filter filter(o.common.filter);
    sys::check_can_trace();  // before anything is created on disk
    check_netns_exists(filter.kernel().netns);
    rec::RecorderOptions ro = recorder_options(o, filter);
    rec::Recorder recorder(ro);
    // The recorder's own engine: it asks for the timewait substate probes
    // (their answers are events too) and knows the sockets to carry over
    // into a rotated file.
    Engine engine;
    recorder.carry_from(&engine);

    LiveOptions live;
    live.tracer = tracer_options(o.common, filter);
    live.duration_s = o.duration;
    LiveHooks hooks;
    hooks.on_started = [&] {
        recorder.start(sys::monotonic_ns());
        std::string bound = ro.rotate ? " (" + std::to_string(ro.max_files) + " files of " + size_text(ro.max_size) +
                                            " at most, oldest deleted)"
                                      : "";
        std::fprintf(stderr, "tcplinger: recording to %s%s... Ctrl-C or SIGTERM to end\n", ro.path.c_str(),
                     bound.c_str());
    };
    hooks.on_event = [&](const Event& ev) {
        engine.process(ev);
        recorder.event(ev);
    };
    hooks.on_poll = [&](uint64_t now) {
        engine.advance(now);
        recorder.poll(now);
        if (std::string notice = recorder.take_notice(); !notice.empty())
            std::fprintf(stderr, "tcplinger: %s\n", notice.c_str());
    };
    hooks.on_counters = [&](const DropCounters& d) { recorder.counters(d); };
    hooks.timewait_probes = [&] { return engine.timewait_probes(kMaxProbedPerRound); };
    hooks.should_stop = [&] { return recorder.failed(); };
    DropCounters drops = run_live(live, hooks);
    engine.flush();
    recorder.finish(sys::monotonic_ns(), drops);

    const rec::RecorderTotals& t = recorder.totals();
    // The drops line below counts the kernel's records; the recording also
    // holds the start snapshot's sockets and owners and the timewait probes'
    // answers. Say both, so the two counts add up.
    uint64_t handed = t.events + t.lost_events;
    uint64_t extra = handed > drops.events ? handed - drops.events : 0;
    std::fprintf(stderr,
                 "tcplinger: recorded %llu events (%llu kernel records, %llu from the start snapshot and "
                 "timewait probes), %llu bytes (%.1f bytes/event) in %llu file%s%s\n",
                 static_cast<unsigned long long>(t.events), static_cast<unsigned long long>(handed - extra),
                 static_cast<unsigned long long>(extra), static_cast<unsigned long long>(t.bytes),
                 t.events ? static_cast<double>(t.bytes) / static_cast<double>(t.events) : 0.0,
                 static_cast<unsigned long long>(t.files), t.files == 1 ? "" : "s",
                 t.deleted_files ? (", " + std::to_string(t.deleted_files) + " old file" +
                                    (t.deleted_files == 1 ? "" : "s") + " deleted")
                                       .c_str()
                                 : "");
    std::fprintf(stderr, "tcplinger: %s\n", drops_line(drops, engine.counters()).c_str());
    if (t.deleted_for_space)
        std::fprintf(stderr, "tcplinger: %llu files deleted early because %s was full\n",
                     static_cast<unsigned long long>(t.deleted_for_space), ro.path.c_str());
    if (recorder.failed()) {
        std::fprintf(stderr, "tcplinger: %s (%llu events not recorded)\n", recorder.error().c_str(),
                     static_cast<unsigned long long>(t.lost_events));
        return 1;
    }
    return 0;
}

}  // namespace tcplinger
