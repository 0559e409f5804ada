// The flight recorder's rotation: disk use stays within --max-size x
// --max-files at every moment, the newest data is kept, files continue each
// other, and any surviving file reads alone (lingering sockets carried over).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "../common/json.hpp"
#include "app/pipeline.hpp"
#include "record/recording_set.hpp"
#include "record_util.hpp"

using namespace tcplinger;
using namespace tcplinger::rec;
using namespace rectest;

namespace {
uint64_t dir_bytes(const std::string& dir, size_t* files) {
    uint64_t total = 0;
    *files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() != ".tlr") continue;  // the lock file
        total += e.file_size();
        ++*files;
    }
    return total;
}

class Collect : public ReplayVisitor {
public:
    std::vector<Event> events;
    size_t segments = 0;
    void segment_begin(const FileHeader&) override { ++segments; }
    bool event(const Event& ev) override {
        events.push_back(ev);
        return true;
    }
};

RecorderOptions rotating(const std::string& dir, uint64_t max_size, uint32_t max_files) {
    RecorderOptions o;
    o.path = dir;
    o.rotate = true;
    o.max_size = max_size;
    o.max_files = max_files;
    o.netns = 1;
    return o;
}
}  // namespace

TEST(RecordRotation, StaysWithinTheBoundAndKeepsTheNewest) {
    TempDir d;
    const std::string dir = d / "flight";
    const uint64_t max_size = 256 << 10;
    const uint32_t max_files = 3;
    auto events = make_events(Workload{.connections = 40000, .spacing = 1 * kMs});
    Engine engine;
    Recorder r(rotating(dir, max_size, max_files));
    r.carry_from(&engine);
    r.start(events.front().ts_ns - kMs);
    uint64_t worst = 0;
    size_t most_files = 0;
    play(
        events, 50 * kMs,
        [&](const Event& ev) {
            engine.process(ev);
            r.event(ev);
        },
        [&](uint64_t now) {
            engine.advance(now);
            r.poll(now);
            size_t files = 0;
            worst = std::max(worst, dir_bytes(dir, &files));
            most_files = std::max(most_files, files);
        });
    engine.flush();
    r.finish(events.back().ts_ns + kMs, {});
    size_t files = 0;
    uint64_t total = dir_bytes(dir, &files);
    EXPECT_GT(r.totals().files, 5u) << "the workload fills several files";
    EXPECT_LE(worst, max_size * max_files);
    EXPECT_LE(total, max_size * max_files);
    EXPECT_LE(most_files, max_files);
    EXPECT_EQ(files, max_files);
    EXPECT_EQ(r.totals().deleted_files, r.totals().files - max_files);
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        EXPECT_LE(e.file_size(), max_size) << e.path();
        struct stat st {};
        stat(e.path().c_str(), &st);
        EXPECT_EQ(st.st_mode & 0777, 0600u) << e.path();
    }
    struct stat st {};
    stat(dir.c_str(), &st);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    // The directory reads as one segment that ends with the last event.
    Collect c;
    ReadSummary s = replay({dir}, c);
    // 60 s of TIME-WAITs at 1000 connections/s do not all fit a quarter of
    // 256K: the first surviving file says how many it left out.
    ASSERT_EQ(s.problems.size(), 1u);
    EXPECT_NE(s.problems[0].find("sockets lingering when this file began were left out"), std::string::npos)
        << s.problems[0];
    EXPECT_EQ(c.segments, 1u);
    ASSERT_FALSE(c.events.empty());
    Event last = events.back();
    last.kaddr = 0;
    EXPECT_EQ(c.events.back(), last);
    // After the carried-over sockets, the events are the tail of what was written.
    size_t carried = 0;
    while (carried < c.events.size() &&
           (c.events[carried].kind == EventKind::Existing || c.events[carried].kind == EventKind::Owner ||
            (c.events[carried].kind == EventKind::TwProbe && c.events[carried].cookie == 0)))
        ++carried;
    EXPECT_GT(carried, 0u) << "lingering sockets carried into the first surviving file";
    std::vector<Event> tail(c.events.begin() + carried, c.events.end());
    std::vector<Event> want(events.end() - tail.size(), events.end());
    for (auto& e : want) e.kaddr = 0;
    EXPECT_EQ(tail, want);
}

TEST(RecordRotation, AnySurvivingFileReadsAlone) {
    TempDir d;
    const std::string dir = d / "flight";
    auto events = make_events(Workload{.connections = 20000, .spacing = 1 * kMs});
    Engine engine;
    RecorderOptions o = rotating(dir, 256 << 10, 100);
    write_recording(o, events, &engine);
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".tlr") names.push_back(e.path());
    std::sort(names.begin(), names.end());
    ASSERT_GE(names.size(), 3u);
    // A middle file alone: its header, the sockets carried into it, its events.
    Collect alone;
    ReadSummary s = replay({names[1]}, alone);
    for (const auto& p : s.problems) EXPECT_NE(p.find("were left out"), std::string::npos) << p;
    EXPECT_EQ(alone.segments, 1u);
    // First the clock relation carried over (Engine JiffyClock), then the sockets.
    ASSERT_GE(alone.events.size(), 2u);
    EXPECT_EQ(alone.events[0].kind, EventKind::TwProbe);
    EXPECT_EQ(alone.events[0].cookie, 0u);
    EXPECT_EQ(alone.events[1].kind, EventKind::Existing);
    // All files: one segment, no carry used, exactly the events written.
    Collect all;
    replay({dir}, all);
    EXPECT_EQ(all.segments, 1u);
    std::vector<Event> want = events;
    for (auto& e : want) e.kaddr = 0;
    EXPECT_EQ(all.events, want);
    // A file missing in the middle: two segments, the second starts from the carry.
    std::filesystem::remove(names[1]);
    Collect gap;
    replay({dir}, gap);
    EXPECT_EQ(gap.segments, 2u);
}

TEST(RecordRotation, ReportFromTheNewestFilesCountsCarriedSocketsAsPresentAtStart) {
    TempDir d;
    const std::string dir = d / "flight";
    Workload w{.connections = 20000, .spacing = 1 * kMs, .leak_every = 50};
    auto events = make_events(w);
    Engine engine;
    write_recording(rotating(dir, 256 << 10, 2), events, &engine);
    CliResult r = run_cli({"report", "-i", dir, "-j", "--state", "CLOSE-WAIT"});
    ASSERT_EQ(r.code, 0) << r.err;
    // Every leaked CLOSE-WAIT socket is still there at the end, whether it
    // was born in a surviving file or carried over from a deleted one.
    size_t leaks = (w.connections + w.leak_every - 1) / w.leak_every;
    auto doc = parse_json(r.out);
    ASSERT_TRUE(doc) << r.out;
    const auto& cw = (*doc).at("states").at("CLOSE-WAIT");
    EXPECT_EQ(cw.at("current").get<double>(), static_cast<double>(leaks));
    EXPECT_GT(cw.at("present_at_start").get<double>(), 0) << "leaks born in deleted files were carried over";
}
