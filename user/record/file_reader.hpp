// Reads one recording file from memory: checks every frame, skips damaged
// ones (resynchronising on the next frame marker), stops cleanly at a
// truncated end, and says what it recovered and what it skipped. Never
// throws on bad input; this is what the fuzz target drives.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "record/codec.hpp"
#include "record/format.hpp"
#include "record/metadata.hpp"

namespace tcplinger::rec {

class FileVisitor {
public:
    virtual ~FileVisitor() = default;
    // Each returns false to stop reading (not an error).
    virtual bool header(const FileHeader&) { return true; }
    virtual bool items(FrameType /*Events or Carry*/, const DecodedItems&) { return true; }
    virtual bool trailer(const Trailer&) { return true; }
};

struct FileReport {
    enum class Verdict {
        Read,          // frames were read (maybe with damage, see below)
        Empty,         // 0 bytes
        NotRecording,  // another format
        Newer,         // format version newer than this reader
        NoHeader,      // the header frame is damaged or missing: nothing usable
    };
    Verdict verdict = Verdict::Read;
    uint16_t version = 0;
    uint64_t file_bytes = 0;
    uint64_t frames = 0;           // frames read
    uint64_t stored_bytes = 0;     // their payloads as stored (compressed)
    uint64_t raw_bytes = 0;        // and decompressed
    uint64_t events = 0;           // events read (carry included)
    uint64_t damaged_regions = 0;  // stretches of bad bytes skipped
    uint64_t damaged_bytes = 0;
    uint64_t frames_lost = 0;      // frame numbers missing around damage
    uint64_t truncated_bytes = 0;  // incomplete last frame (or unreadable tail)
    bool prefix_damaged = false;
    bool trailer = false;
    bool write_failed = false;     // the trailer says the recorder stopped on a write error
    bool stopped = false;          // the visitor asked to stop
    std::optional<FileHeader> header;
    uint64_t last_mono_ns = 0;     // latest flush status or event time read
    bool useful() const { return verdict == Verdict::Read && header.has_value(); }
    bool clean() const {
        return useful() && !damaged_regions && !truncated_bytes && !prefix_damaged && (trailer || stopped);
    }
};

FileReport read_file(std::string_view data, FileVisitor& visitor);
// Only the prefix and the header frame (for ordering files before reading).
FileReport peek_header(std::string_view data);
// One line for a file that was not read cleanly: what was recovered and
// what was skipped ("" when clean).
std::string describe(const std::string& path, const FileReport& r);

}  // namespace tcplinger::rec
