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

// events, ringbuf_drops, sock_untracked, sock_map_full, nested_caught, recursion_lost, no_cookie
const DropCounters kDrops{1000, 3, 0, 0, 5, 4, 0};

constexpr const char* kText = "lost 7 (ring buffer 3, recursion 4)";
constexpr const char* kJson = "\"dropped\":{\"ringbuf\":3,\"recursion\":4,\"total\":7}";
constexpr const char* kSummary = "7 lost (ring buffer 3, recursion 4)";

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
    EXPECT_NE(drops_line(kDrops, 0).find(kSummary), std::string::npos) << drops_line(kDrops, 0);
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
    {
        rec::Recorder r(single_file(file));
        r.counters(DropCounters{10, 1, 0, 0, 0, 2, 0});
        r.start(events.front().ts_ns - kMs);
        for (const Event& ev : events) r.event(ev);
        r.finish(events.back().ts_ns + kMs, DropCounters{10 + events.size(), 4, 0, 0, 0, 6, 0});
    }

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
