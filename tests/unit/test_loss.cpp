// Loss accounting through every output: both kinds of loss non-zero and
// different (ring buffer 3, recursion 4), so a total that leaves one out, or
// a figure that shows one in place of the other, fails. The kernel side (a
// real ring buffer overrun) is tests/kernel/test_loss.cpp.
#include <gtest/gtest.h>

#include <sstream>

#include "capture/live.hpp"
#include "record_util.hpp"
#include "render/stats_format.hpp"

using namespace rectest;

namespace {

// events, ringbuf_drops, sock_untracked, sock_map_full, nested_caught, recursion_lost, no_cookie,
// recursion_skipped: 9 skipped, 5 caught, so 4 missed
const DropCounters kDrops{1000, 3, 0, 0, 5, 4, 0, 9};

constexpr const char* kText = "lost 7 (ring buffer 3, recursion 4)";
constexpr const char* kJson = "\"dropped\":{\"ringbuf\":3,\"recursion\":4,\"total\":7}";
constexpr const char* kSummary = "7 lost (ring buffer 3, recursion 4)";

// A recording of events whose tracer had counted at_start when it began
// and at_end when it stopped.
void write_recording(const std::string& file, const std::vector<Event>& events, const DropCounters& at_start,
                     const DropCounters& at_end) {
    rec::Recorder r(single_file(file));
    r.counters(at_start);
    r.start(events.front().ts_ns - kMs);
    for (const Event& ev : events) r.event(ev);
    r.finish(events.back().ts_ns + kMs, at_end);
}

TEST(Loss, TotalIsRingBufferPlusRecursion) { EXPECT_EQ(kDrops.lost(), 7u); }

TEST(Loss, LiveStatsTextJsonAndSummaryLine) {
    StatsReport r;
    r.drops = kDrops;
    std::ostringstream text, json;
    render_stats_text(text, r);
    render_stats_json(json, r);
    EXPECT_NE(text.str().find(kText), std::string::npos) << text.str();
    EXPECT_NE(json.str().find(kJson), std::string::npos) << json.str();
    // The stderr line of trace, stats, record and export.
    EXPECT_NE(drops_line(kDrops, {}).find(kSummary), std::string::npos) << drops_line(kDrops, {});
}

// Every gross figure non-zero and different from the others, so one shown
// in place of another fails: 9 hits skipped by the kernel, 5 caught by the
// backups of which 2 were duplicates (a backup that handled a hit its
// primary had handled too), so 9 - (5 - 2) = 6 missed; the net figure
// (9 - 5 = 4) would hide two of them.
TEST(Loss, GrossRecursionFiguresNoCookieAndUnknownSockets) {
    const DropCounters d{1000, 3, 0, 0, 5, 4, 7, 9};
    EngineCounters e;
    e.unknown_sockets = 11;
    e.duplicates = 2;
    EXPECT_EQ(d.recursion_missed(e.duplicates), 6u);
    EXPECT_EQ(d.lost(e.duplicates), 9u);
    const std::string line = drops_line(d, e);
    for (const char* want :
         {"9 lost (ring buffer 3, recursion 6), 5 nested hits recovered",
          "recursion hits: 9 skipped by the kernel, 5 caught by backups, 2 duplicates dropped, 6 missed",
          "7 timewait records without cookie, 11 unknown sockets (first seen mid-life)"})
        EXPECT_NE(line.find(want), std::string::npos) << want << "\n" << line;

    StatsReport r;
    r.drops = d;
    r.engine = e;
    std::ostringstream text, json;
    render_stats_text(text, r);
    render_stats_json(json, r);
    EXPECT_NE(text.str().find("lost 9 (ring buffer 3, recursion 6)"), std::string::npos) << text.str();
    for (const char* want : {"\"dropped\":{\"ringbuf\":3,\"recursion\":6,\"total\":9}",
                             "\"recursion_hits\":{\"skipped\":9,\"caught\":5,\"duplicates\":2,\"missed\":6},"
                             "\"no_cookie\":7,\"unknown_sockets\":11"})
        EXPECT_NE(json.str().find(want), std::string::npos) << want << "\n" << json.str();
}

// A transition reported twice (what a backup that handled a hit again
// produces) is dropped by the engine and shown as a duplicate, through a
// recording read back by report.
TEST(Loss, DuplicateTransitionIsDroppedAndShown) {
    TempDir d;
    const std::string file = d / "dup.tlr";
    Workload w;
    w.connections = 5;
    std::vector<Event> events = make_events(w);
    size_t at = 0;
    for (size_t i = 0; i < events.size() && !at; ++i)
        if (events[i].kind == EventKind::State && events[i].old_state == kEstablished) at = i;
    ASSERT_NE(at, 0u);
    events.insert(events.begin() + static_cast<long>(at) + 1, events[at]);
    write_recording(file, events, {}, DropCounters{events.size(), 0, 0, 0, 1, 0, 0, 1});
    CliResult report = run_cli({"report", "-i", file});
    ASSERT_EQ(report.code, 0) << report.err;
    EXPECT_NE(report.err.find("1 caught by backups, 1 duplicates dropped, 1 missed"), std::string::npos) << report.err;
    CliResult json = run_cli({"report", "-i", file, "-j"});
    ASSERT_EQ(json.code, 0) << json.err;
    EXPECT_NE(json.out.find("\"duplicates\":1,\"missed\":1}"), std::string::npos) << json.out;
}

// A recording whose tracer had already lost some before it started (ring
// buffer 1, recursion 2) and more by the end (4, 6): every reader reports what
// was lost while recording, 3 and 4.
TEST(Loss, RecordingReportsWhatWasLostWhileRecording) {
    TempDir d;
    const std::string file = d / "loss.tlr";
    Workload w;
    w.connections = 20;
    std::vector<Event> events = make_events(w);
    write_recording(file, events, DropCounters{10, 1, 0, 0, 0, 2, 0, 2},
                    DropCounters{10 + events.size(), 4, 0, 0, 0, 6, 0, 6});

    CliResult report = run_cli({"report", "-i", file});
    ASSERT_EQ(report.code, 0) << report.err;
    EXPECT_NE(report.out.find(kText), std::string::npos) << report.out;

    CliResult json = run_cli({"report", "-i", file, "-j"});
    ASSERT_EQ(json.code, 0) << json.err;
    EXPECT_NE(json.out.find(kJson), std::string::npos) << json.out;

    CliResult info = run_cli({"report", "-i", file, "--info"});
    ASSERT_EQ(info.code, 0) << info.err;
    EXPECT_NE(info.out.find(kText), std::string::npos) << info.out;

    for (const char* cmd : {"trace", "export"}) {
        CliResult res = run_cli({cmd, "-i", file});
        ASSERT_EQ(res.code, 0) << cmd << ": " << res.err;
        EXPECT_NE(res.err.find(kSummary), std::string::npos) << cmd << ": " << res.err;
    }
}

}  // namespace
