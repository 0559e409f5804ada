// The flight recorder: writes the live event stream into framed,
// checksummed, compressed files; flushes (and fdatasyncs) at least every
// second; rotates files in a directory within --max-size x --max-files,
// deleting the oldest. Each file opens with its own header (and the
// lingering sockets carried over), so any surviving file reads alone.
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifecycle/engine.hpp"
#include "record/codec.hpp"
#include "record/format.hpp"
#include "record/host_facts.hpp"
#include "record/metadata.hpp"

namespace tcplinger::rec {

struct RecorderOptions {
    std::string path;                 // a directory (rotation) or a single file
    bool rotate = true;               // path is a directory of tcplinger-NNNNNN.tlr files
    uint64_t max_size = 64ull << 20;  // per file (rotation only)
    uint32_t max_files = 8;           // files kept in the directory, oldest deleted
    int zstd_level = 3;               // 0: no compression
    uint64_t flush_ns = 1'000'000'000;
    uint32_t netns = 0;   // the traced namespace (0: all), for the per-netns facts
    std::string command;  // stored in the header
};

struct RecorderTotals {
    uint64_t events = 0;
    uint64_t files = 0;              // files opened
    uint64_t bytes = 0;              // bytes written, all files
    uint64_t deleted_files = 0;      // removed by rotation
    uint64_t deleted_for_space = 0;  // of those, removed early because the disk was full
    uint64_t carried = 0;            // sockets carried over into rotated files
    uint64_t carry_dropped = 0;      // lingering sockets left out of a carry frame (size cap)
    uint64_t lost_events = 0;        // events not written after a write failure
};

class Recorder {
public:
    // Creates the directory or the file (0600) now, so a bad path fails
    // before tracing starts. Throws FatalError.
    explicit Recorder(RecorderOptions opts);
    ~Recorder();
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    // Sockets still lingering when a file is rotated are carried over from
    // this engine (fed the same events).
    void carry_from(const Engine* engine) { engine_ = engine; }
    // Tracing began (before the snapshot): writes the header.
    void start(uint64_t started_mono_ns);
    void event(const Event& ev);
    void counters(const DropCounters& drops) { drops_ = drops; }
    // After each live poll: marks where the engine settled pending ends,
    // and writes a frame when the flush interval has passed.
    void poll(uint64_t now_ns);
    // Closes the recording: last frame, trailer, fdatasync.
    void finish(uint64_t end_mono_ns, const DropCounters& drops);

    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }
    const RecorderTotals& totals() const { return totals_; }
    // A line worth telling the user now (the disk filled up), once; "" if none.
    std::string take_notice() { return std::exchange(notice_, std::string()); }
    // Files of this recording still on disk, oldest first.
    std::vector<std::string> files() const;

private:
    FileHeader file_header(uint64_t file_start_ns) const;
    void open_file(uint64_t now_ns);
    void close_file(uint64_t end_ns, Trailer::Reason reason);
    void flush(uint64_t now_ns, bool sync);
    void write_header(std::string_view header, uint64_t now_ns);
    void write_frame(FrameType type, std::string_view payload, bool may_rotate, uint64_t now_ns);
    bool write_all(std::string_view bytes);
    bool make_room();       // deletes the oldest file; false if none can go
    void lock_directory();  // throws FatalError naming the pid that holds it
    void name_cgroups();
    // Lingering sockets as Existing/Owner events, in frames.
    std::vector<std::string> carry_payloads(uint64_t now_ns, uint64_t* carried, uint64_t* dropped);
    uint64_t trailer_reserve() const;

    RecorderOptions opts_;
    const Engine* engine_ = nullptr;
    HostFacts host_;
    std::vector<NetnsFacts> netns_;  // TcpExt as of the current file's start
    uint64_t recording_id_ = 0;
    uint64_t started_ns_ = 0;
    uint32_t file_index_ = 0;  // within this recording
    uint32_t next_name_ = 1;   // tcplinger-NNNNNN.tlr
    std::vector<std::string> own_files_;
    int fd_ = -1;
    int dir_fd_ = -1;
    int lock_fd_ = -1;      // flock'ed .tcplinger.lock (rotation only)
    bool started_ = false;  // tracing began: the files are a recording
    bool created_dir_ = false;
    std::string file_path_;
    uint64_t file_bytes_ = 0;
    uint32_t frame_seq_ = 0;
    uint64_t file_events_ = 0;
    uint32_t hz_seen_ = 0;
    EventsEncoder encoder_;
    std::string payload_;              // the Events frame being written; swaps storage with encoder_
    FrameEncoder framer_;              // every frame is built here
    uint64_t frame_limit_ = 1u << 20;  // raw bytes per Events frame
    uint64_t last_flush_ns_ = 0, last_sync_ns_ = 0;
    bool events_since_mark_ = false;
    std::set<uint64_t> cgroups_named_, cgroups_pending_;
    DropCounters drops_;
    std::string error_;
    std::string notice_;
    RecorderTotals totals_;
};

// Parses "64M", "1G", "512K", "1000000" (bytes). Nothing on error.
std::optional<uint64_t> parse_size(const std::string& text);

}  // namespace tcplinger::rec
