// Reads back recordings given as files and directories: orders the files,
// splits them into segments (runs of files that continue each other) and
// hands the events over in the order the live pipeline received them.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "record/codec.hpp"
#include "record/file_reader.hpp"
#include "record/metadata.hpp"

namespace tcplinger::rec {

// A segment is a stretch of one recording with no gap: the events of its
// files follow each other. A new segment starts with each recording, and
// after a missing or damaged file (then the sockets carried over into the
// next file stand in for the history that is gone).
struct SegmentEnd {
    uint64_t start_ns = 0, end_ns = 0;         // CLOCK_MONOTONIC: the run the figures cover
    bool closed = false;                       // ended with a trailer
    DropCounters drops;                        // lost during the segment
    bool overflow_known = false;               // TcpExt read at both ends
    std::map<uint32_t, uint64_t> tw_overflow;  // netns -> TCPTimeWaitOverflow during the segment
};

class ReplayVisitor {
public:
    virtual ~ReplayVisitor() = default;
    virtual void segment_begin(const FileHeader& /*first file*/) {}
    virtual void file_begin(const std::string& /*path*/, const FileHeader&) {}
    // Returning false stops the whole read (e.g. past --to).
    virtual bool event(const Event&) { return true; }
    virtual void advance(uint64_t /*mono_ns*/) {}
    // A flush status (how far the recording got, drops so far); false stops.
    virtual bool status(const FlushStatus&) { return true; }
    virtual void segment_end(const SegmentEnd&) {}
    // After each file: what was read from it (report --info).
    virtual void file_end(const std::string& /*path*/, const FileReport&, const std::optional<Trailer>&) {}
};

struct ReadSummary {
    size_t files_read = 0, files_skipped = 0, segments = 0;
    uint64_t events = 0;
    std::map<uint64_t, std::string> cgroup_paths;  // cgroup id -> path when recorded
    std::vector<std::string> problems;             // one line each, without "tcplinger: "
    bool useful() const { return files_read > 0; }
};

ReadSummary replay(const std::vector<std::string>& inputs, ReplayVisitor& visitor);

// Drop counters lost between two cumulative readings.
DropCounters drops_between(const DropCounters& from, const DropCounters& to);

}  // namespace tcplinger::rec
