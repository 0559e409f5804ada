// Whole recording files: written by the Recorder, read back exactly; and
// every kind of bad input gives one line saying what was recovered and
// what was skipped, exit 0 when something was read and 1 when nothing was.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include "core/error.hpp"
#include "record/file_reader.hpp"
#include "record/recording_set.hpp"
#include "record_util.hpp"

using namespace tcplinger;
using namespace tcplinger::rec;
using namespace rectest;

namespace {
class Collect : public ReplayVisitor {
public:
    std::vector<Event> events;
    std::vector<uint64_t> advances;
    size_t segments = 0;
    std::vector<SegmentEnd> ends;
    void segment_begin(const FileHeader&) override { ++segments; }
    bool event(const Event& ev) override {
        events.push_back(ev);
        return true;
    }
    void advance(uint64_t ts) override { advances.push_back(ts); }
    void segment_end(const SegmentEnd& e) override { ends.push_back(e); }
};

std::vector<Event> without_kaddr(std::vector<Event> events) {
    for (auto& e : events) e.kaddr = 0;
    return events;
}

struct Recorded {
    TempDir dir;
    std::string file;
    std::vector<Event> events;
    Written written;
    explicit Recorded(Workload w = {}) {
        file = dir / "r.tlr";
        events = make_events(w);
        written = write_recording(single_file(file), events, nullptr, 61 * kSec);
    }
};

// Frame boundaries of a file: offsets where each frame starts.
std::vector<size_t> frame_starts(const std::string& data) {
    std::vector<size_t> out;
    size_t pos = kPrefixSize;
    while (pos < data.size()) {
        auto h = parse_frame_header(std::string_view(data).substr(pos));
        if (!h) break;
        out.push_back(pos);
        pos += kFrameHeaderSize + h->stored_len;
    }
    return out;
}

// Plays events into a Recorder until the end; the recorder's error ("" if
// none). Writing stops at the first failed write.
std::string record_until_failure(const rec::RecorderOptions& o, const std::vector<Event>& events) {
    rec::Recorder r(o);
    r.start(events.front().ts_ns - kMs);
    play(
        events, 50 * kMs, [&](const Event& ev) { r.event(ev); }, [&](uint64_t now) { r.poll(now); });
    r.finish(events.back().ts_ns, {});
    return r.error();
}
}  // namespace

TEST(RecordFile, ReadsBackEveryEventInOrder) {
    Recorded r;
    Collect c;
    ReadSummary s = replay({r.file}, c);
    EXPECT_TRUE(s.problems.empty()) << s.problems[0];
    EXPECT_EQ(c.events, without_kaddr(r.events));
    EXPECT_FALSE(c.advances.empty());
    ASSERT_EQ(c.ends.size(), 1u);
    EXPECT_TRUE(c.ends[0].closed);
    EXPECT_EQ(c.ends[0].start_ns, r.written.started);
    EXPECT_EQ(c.ends[0].end_ns, r.written.ended);
    EXPECT_EQ(c.ends[0].drops.events, r.events.size());
    struct stat st {};
    ASSERT_EQ(stat(r.file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Files are read with pread() in 1 MiB windows: frames straddle a window's
// edge and resynchronisation runs across one.
TEST(RecordFile, ReadsAcrossReadWindows) {
    TempDir d;
    rec::RecorderOptions o = single_file(d / "big.tlr");
    o.zstd_level = 0;
    auto events = make_events(Workload{.connections = 8000, .spacing = 1 * kMs});
    write_recording(o, events, nullptr, 61 * kSec);
    std::string data = slurp(o.path);
    ASSERT_GT(data.size(), 3u << 19);
    Collect c;
    ReadSummary s = replay({o.path}, c);
    EXPECT_TRUE(s.problems.empty()) << s.problems[0];
    EXPECT_EQ(c.events, without_kaddr(events));
    // Damage just before the first window's end: the reader resyncs past it.
    auto starts = frame_starts(data);
    size_t victim = 0;
    for (size_t i = 0; i < starts.size(); ++i)
        if (starts[i] < (1u << 20)) victim = i;
    data[starts[victim] + kFrameHeaderSize + 1] ^= 1;
    spit(o.path, data);
    Collect damaged;
    s = replay({o.path}, damaged);
    ASSERT_EQ(s.problems.size(), 1u);
    EXPECT_NE(s.problems[0].find("skipped 1 damaged stretch"), std::string::npos) << s.problems[0];
    EXPECT_GT(damaged.events.size(), events.size() / 2);
    EXPECT_LT(damaged.events.size(), events.size());
}

// A FIFO or a directory named like a recording is refused, not waited on.
TEST(RecordFile, NotARegularFileIsRefusedAtOnce) {
    TempDir d;
    ASSERT_EQ(mkfifo((d / "pipe.tlr").c_str(), 0600), 0);
    CliResult res = run_cli({"report", "-i", d / "pipe.tlr"});
    EXPECT_EQ(res.code, 1);
    EXPECT_EQ(res.err, "tcplinger: " + (d / "pipe.tlr") + ": cannot open: not a regular file\n");
}

// A real full filesystem (a 128 KiB tmpfs): after the short write the
// recorder truncates and writes on at its tracked end, so the file is whole
// frames to its last byte, with no zero-filled hole a reader must skip.
TEST(RecordFile, FullTmpfsLeavesWholeFramesOnly) {
    TempDir d;
    const std::string mnt = d / "disk";
    std::filesystem::create_directory(mnt);
    if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=128k") != 0) GTEST_SKIP() << "mount tmpfs: needs root";
    struct Unmount {
        std::string path;
        ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
    } unmount{mnt};
    rec::RecorderOptions o = single_file(mnt + "/full.tlr");
    o.zstd_level = 0;
    // Frames of ~40 KB: a short write spans pages that the ftruncate frees,
    // so a write at the fd's offset would land past a hole.
    auto events = make_events(Workload{.connections = 3000, .spacing = 5 * kMs});
    std::string error = record_until_failure(o, events);
    EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
    std::string data = slurp(o.path);
    auto starts = frame_starts(data);
    ASSERT_GE(starts.size(), 3u);
    auto last = parse_frame_header(std::string_view(data).substr(starts.back()));
    EXPECT_EQ(starts.back() + kFrameHeaderSize + last->stored_len, data.size()) << "frames to the last byte";
    Collect c;
    ReadSummary s = replay({o.path}, c);
    ASSERT_EQ(s.problems.size(), 1u);
    EXPECT_EQ(s.problems[0].find("damaged"), std::string::npos) << s.problems[0];
    EXPECT_GT(c.events.size(), 1000u);
}

TEST(RecordFile, RefusesToOverwrite) {
    Recorded r;
    EXPECT_THROW(Recorder(single_file(r.file)), FatalError);
}

TEST(RecordFile, TruncatedAnywhereReadsEverythingBeforeTheCut) {
    Recorded r(Workload{.connections = 60});
    std::string data = slurp(r.file);
    auto starts = frame_starts(data);
    ASSERT_GT(starts.size(), 3u);
    // Events in the complete frames before each cut.
    std::vector<size_t> events_before(starts.size() + 1, 0);
    for (size_t i = 0; i < starts.size(); ++i) {
        Collect c;
        spit(r.file, data.substr(0, i + 1 < starts.size() ? starts[i + 1] : data.size()));
        replay({r.file}, c);
        events_before[i + 1] = c.events.size();
    }
    for (size_t cut = 0; cut < data.size(); cut += 1 + cut / 40) {
        spit(r.file, data.substr(0, cut));
        Collect c;
        ReadSummary s = replay({r.file}, c);
        size_t complete = std::upper_bound(starts.begin(), starts.end(), cut) - starts.begin();
        // Frames [0, complete-1) are whole; the one at starts[complete-1] is cut unless it ends exactly here.
        size_t whole = complete;
        if (complete && cut < (complete < starts.size() ? starts[complete] : data.size())) whole = complete - 1;
        EXPECT_EQ(c.events.size(), events_before[whole]) << "cut at " << cut;
        std::vector<Event> want = without_kaddr(r.events);
        want.resize(c.events.size());
        EXPECT_EQ(c.events, want) << "cut at " << cut;
        ASSERT_LE(s.problems.size(), 1u) << "one line per file";
        if (cut == 0) {
            EXPECT_EQ(s.problems[0], r.file + ": empty file: nothing recovered, skipped");
        } else if (whole == 0) {
            EXPECT_FALSE(s.useful());
            EXPECT_NE(s.problems[0].find("nothing recovered"), std::string::npos) << s.problems[0];
        } else {
            EXPECT_TRUE(s.useful());
            EXPECT_NE(s.problems[0].find("recovered"), std::string::npos) << s.problems[0];
        }
    }
}

TEST(RecordFile, FlippedBytesLoseOnlyTheirFrame) {
    Recorded r(Workload{.connections = 300});
    std::string data = slurp(r.file);
    auto starts = frame_starts(data);
    ASSERT_GT(starts.size(), 4u);
    size_t victim = starts.size() / 2;
    std::string bad = data;
    bad[starts[victim] + kFrameHeaderSize + 3] ^= 0x5a;
    spit(r.file, bad);
    Collect c;
    ReadSummary s = replay({r.file}, c);
    ASSERT_EQ(s.problems.size(), 1u);
    EXPECT_NE(s.problems[0].find("damaged (checksum mismatch): recovered"), std::string::npos) << s.problems[0];
    EXPECT_NE(s.problems[0].find("skipped 1 damaged stretch"), std::string::npos) << s.problems[0];
    EXPECT_NE(s.problems[0].find("1 frame)"), std::string::npos) << s.problems[0];
    // Exactly the damaged frame's events are missing.
    Collect whole;
    spit(r.file, data);
    replay({r.file}, whole);
    EXPECT_LT(c.events.size(), whole.events.size());
    EXPECT_GT(c.events.size(), whole.events.size() / 2);
    EXPECT_TRUE(std::includes(whole.events.begin(), whole.events.end(), c.events.begin(), c.events.end(),
                              [](const Event& a, const Event& b) { return a.ts_ns < b.ts_ns; }));
}

// Issue 10: one flipped byte anywhere in a recording, the prefix and both
// header frames included, loses at most the frame it is in. Every offset of
// a small real recording (plain and compressed), each read back through the
// file path report takes.
TEST(RecordFile, AFlippedByteAtAnyOffsetLosesAtMostItsFrame) {
    for (int level : {0, 3}) {
        SCOPED_TRACE("zstd level " + std::to_string(level));
        TempDir d;
        const std::string file = d / "small.tlr";
        rec::RecorderOptions o = single_file(file);
        o.zstd_level = level;
        auto events = make_events(Workload{.connections = 8, .spacing = 400 * kMs});
        write_recording(o, events, nullptr, 61 * kSec);
        const std::string data = slurp(file);
        // Each frame's extent and the events it holds.
        struct Extent {
            size_t begin, end;
            std::vector<Event> events;
        };
        std::vector<Extent> frames;
        for (size_t start : frame_starts(data)) {
            auto h = parse_frame_header(std::string_view(data).substr(start));
            Extent x{start, start + kFrameHeaderSize + h->stored_len, {}};
            if (h->type == FrameType::Events) {
                auto items = decode_items(*open_frame(*h, std::string_view(data).substr(start)));
                for (const Item& it : items->items)
                    if (it.type == Item::Type::Event) x.events.push_back(it.event);
            }
            frames.push_back(std::move(x));
        }
        ASSERT_EQ(frames.back().end, data.size());
        ASSERT_GE(frames.size(), 6u) << "prefix, header, its copy, events frames, trailer";
        size_t events_frames = 0;
        for (const auto& f : frames) events_frames += !f.events.empty();
        ASSERT_GE(events_frames, 3u);

        size_t checked = 0, lost_frames = 0;
        for (size_t off = 0; off < data.size(); ++off) {
            std::string bad = data;
            bad[off] = static_cast<char>(bad[off] ^ (off % 2 ? 0x01 : 0x80));
            spit(file, bad);
            std::vector<Event> want;
            bool in_events_frame = false;
            for (const auto& f : frames) {
                bool hit = off >= f.begin && off < f.end;
                in_events_frame |= hit && !f.events.empty();
                if (!hit) want.insert(want.end(), f.events.begin(), f.events.end());
            }
            Collect c;
            ReadSummary s = replay({file}, c);
            ASSERT_TRUE(s.useful()) << "offset " << off << ": " << (s.problems.empty() ? "" : s.problems[0]);
            ASSERT_EQ(c.events, want) << "offset " << off << " of " << data.size() << ": "
                                      << (s.problems.empty() ? "" : s.problems[0]);
            ASSERT_EQ(s.problems.size(), 1u) << "offset " << off << ": the damage is reported";
            lost_frames += in_events_frame;
            ++checked;
        }
        EXPECT_EQ(checked, data.size());
        EXPECT_GT(lost_frames, 0u);
    }
}

TEST(RecordFile, DamagedFrameHeaderIsSkippedByResync) {
    Recorded r(Workload{.connections = 300});
    std::string data = slurp(r.file);
    auto starts = frame_starts(data);
    std::string bad = data;
    bad[starts[2] + 13] ^= 0xff;  // stored_len of the third frame
    spit(r.file, bad);
    Collect c;
    ReadSummary s = replay({r.file}, c);
    ASSERT_EQ(s.problems.size(), 1u);
    EXPECT_NE(s.problems[0].find("damaged"), std::string::npos) << s.problems[0];
    EXPECT_GT(c.events.size(), 0u);
    EXPECT_TRUE(s.useful());
}

// The cases of issue 4 section 4, through the command a user runs.
TEST(RecordBadInput, EachCaseGetsOneLineAndTheRightExitCode) {
    Recorded r;
    TempDir d;
    std::string data = slurp(r.file);
    auto starts = frame_starts(data);

    spit(d / "truncated.tlr", data.substr(0, starts[starts.size() / 2] + 30));
    std::string flipped = data;
    flipped[starts[starts.size() / 2] + kFrameHeaderSize + 1] ^= 1;
    spit(d / "flipped.tlr", flipped);
    spit(d / "other.tlr", "{\"ts\":\"2026-11-22T09:44:53Z\"}\n");
    spit(d / "empty.tlr", "");
    std::filesystem::create_directory(d / "nothing");
    spit(d / "nothing/readme.txt", "hi");
    std::string newer = encode_prefix(kFormatVersion + 1) + data.substr(kPrefixSize);
    spit(d / "newer.tlr", newer);
    spit(d / "good.tlr", data);

    struct Case {
        std::string input;
        std::string line;  // the one stderr line (after "tcplinger: ")
        int code;
    } cases[] = {
        {d / "truncated.tlr", d / "truncated.tlr: truncated (recorder killed, power cut or disk full?): recovered ", 0},
        {d / "flipped.tlr", d / "flipped.tlr: damaged (checksum mismatch): recovered ", 0},
        {d / "other.tlr", d / "other.tlr: not a tcplinger recording (no TLRECORD signature): skipped", 1},
        {d / "empty.tlr", d / "empty.tlr: empty file: nothing recovered, skipped", 1},
        {d / "nothing", d / "nothing: no recordings (*.tlr files) in this directory", 1},
        {d / "newer.tlr",
         d / "newer.tlr: format version " + std::to_string(kFormatVersion + 1) +
             " is newer than this tcplinger reads (" + std::to_string(kFormatVersion) +
             "): skipped; read it with a newer tcplinger",
         1},
        {d / "missing.tlr", d / "missing.tlr: cannot open: No such file or directory", 1},
    };
    for (const auto& c : cases) {
        for (const char* cmd : {"report", "trace", "export"}) {
            CliResult res = run_cli({cmd, "-i", c.input});
            SCOPED_TRACE(std::string(cmd) + " " + c.input + "\nstderr: " + res.err);
            EXPECT_EQ(res.code, c.code);
            auto lines = lines_of(res.err);
            ASSERT_GE(lines.size(), 1u);
            EXPECT_EQ(lines[0].rfind("tcplinger: " + c.line, 0), 0u) << lines[0];
            if (c.code == 1) {
                EXPECT_EQ(lines.size(), 1u) << "nothing else on stderr";
                EXPECT_TRUE(res.out.empty() || std::string(cmd) == "trace") << res.out;
            } else {
                EXPECT_FALSE(res.out.empty());
            }
        }
    }
    // Good and bad together: the good one is read, each bad one has its line, exit 0.
    CliResult mixed = run_cli({"report", "-i", d / "good.tlr", d / "empty.tlr", d / "other.tlr"});
    EXPECT_EQ(mixed.code, 0);
    EXPECT_NE(mixed.err.find("empty.tlr: empty file"), std::string::npos);
    EXPECT_NE(mixed.err.find("other.tlr: not a tcplinger recording"), std::string::npos);
    EXPECT_NE(mixed.out.find("TIME-WAIT"), std::string::npos);
}

TEST(RecordFile, FullDiskKeepsEverythingWrittenBefore) {
    TempDir d;
    std::string path = d / "full.tlr";
    auto events = make_events(Workload{.connections = 400});
    pid_t pid = fork();
    if (pid == 0) {
        // A file size limit fails write() with EFBIG, as a full disk fails it with ENOSPC.
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim {
            20000, 20000
        };
        setrlimit(RLIMIT_FSIZE, &lim);
        _exit(record_until_failure(single_file(path), events).find("File too large") != std::string::npos ? 0 : 3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the recorder saw the write fail";
    std::string data = slurp(path);
    EXPECT_LE(data.size(), 20000u);
    Collect c;
    ReadSummary s = replay({path}, c);
    EXPECT_TRUE(s.useful());
    ASSERT_GT(c.events.size(), 0u);
    std::vector<Event> want = without_kaddr(events);
    want.resize(c.events.size());
    EXPECT_EQ(c.events, want);
    // No partial frame was left: the one line says the recording stopped.
    ASSERT_EQ(s.problems.size(), 1u);
    EXPECT_NE(s.problems[0].find("disk full"), std::string::npos) << s.problems[0];
    EXPECT_EQ(s.problems[0].find("skipped"), std::string::npos) << s.problems[0];
}
