// Reads one recording file: checks every frame, skips damaged ones
// (resynchronising on the next frame marker), stops cleanly at a truncated
// end, and says what it recovered and what it skipped. Never throws on bad
// input; this is what the fuzz target drives. Files are read with pread(),
// never mapped: a mapped page the filesystem cannot supply (a hole on a full
// tmpfs, an I/O error) is a SIGBUS, a pread() of it an error code.
#pragma once
#include <cstdint>
#include <memory>
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
    uint64_t frames_lost = 0;       // frame numbers missing around damage
    uint64_t truncated_bytes = 0;   // incomplete last frame (or unreadable tail)
    int read_error = 0;             // errno of a failed read (the rest of the file is unread)
    bool header_from_copy = false;  // the first header frame was damaged; its copy was read
    bool prefix_damaged = false;
    bool trailer = false;
    bool write_failed = false;  // the trailer says the recorder stopped on a write error
    bool stopped = false;       // the visitor asked to stop
    std::optional<FileHeader> header;
    uint64_t last_mono_ns = 0;  // latest flush status or event time read
    bool useful() const { return verdict == Verdict::Read && header.has_value(); }
    bool clean() const {
        return useful() && !damaged_regions && !truncated_bytes && !prefix_damaged && (trailer || stopped);
    }
};

// Where the reader gets bytes from: memory, or a file read in windows.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    virtual uint64_t size() const = 0;
    // Bytes [pos, pos + len) clipped to size(), valid until the next call;
    // shorter than asked only at the end, or after a read error (error()).
    virtual std::string_view at(uint64_t pos, size_t len) = 0;
    virtual int error() const { return 0; }
};

class MemorySource : public ByteSource {
public:
    explicit MemorySource(std::string_view data) : data_(data) {}
    uint64_t size() const override { return data_.size(); }
    std::string_view at(uint64_t pos, size_t len) override {
        return pos >= data_.size() ? std::string_view() : data_.substr(pos, len);
    }

private:
    std::string_view data_;
};

// A regular file read with pread() into a window that moves with the reader
// (a frame at most kMaxFramePayload: memory stays bounded however big the file).
class FileSource : public ByteSource {
public:
    // Opens path; on failure *error says why (strerror, or "not a regular file").
    static std::unique_ptr<FileSource> open(const std::string& path, std::string* error);
    ~FileSource() override;
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;
    uint64_t size() const override { return size_; }
    std::string_view at(uint64_t pos, size_t len) override;
    int error() const override { return error_; }

private:
    FileSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
    int fd_;
    uint64_t size_;
    uint64_t window_pos_ = 0;
    std::string window_;
    int error_ = 0;
};

FileReport read_file(ByteSource& source, FileVisitor& visitor);
FileReport read_file(std::string_view data, FileVisitor& visitor);
// Only the prefix and the header frame (for ordering files before reading).
FileReport peek_header(ByteSource& source);
FileReport peek_header(std::string_view data);
// One line for a file that was not read cleanly: what was recovered and
// what was skipped ("" when clean).
std::string describe(const std::string& path, const FileReport& r);

}  // namespace tcplinger::rec
