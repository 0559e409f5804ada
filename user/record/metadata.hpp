// What a later reader needs besides the events: the Header frame that opens
// every file and the Trailer frame that closes it. Both are lists of
// (varint key, length-prefixed value); a reader skips keys it does not know,
// so fields can be added without a format version bump.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/counters.hpp"

namespace tcplinger::rec {

// The TcpExt counters a recording keeps (/proc/net/netstat): the timewait
// life, aborts and listen-queue drops (doctor -i reviews them).
inline constexpr const char* kTcpExtKept[] = {"TW",
                                              "TWKilled",
                                              "TWRecycled",
                                              "TCPTimeWaitOverflow",
                                              "TCPAbortOnData",
                                              "TCPAbortOnClose",
                                              "ListenOverflows",
                                              "ListenDrops"};

// One traced network namespace, as seen from inside it.
struct NetnsFacts {
    uint32_t inode = 0;
    std::string path;                                          // how the recorder opened it
    std::vector<std::pair<std::string, std::string>> sysctls;  // kLingeringSysctls (Header only)
    std::map<std::string, uint64_t> tcpext;                    // kTcpExtKept; empty if unreadable
    bool operator==(const NetnsFacts&) const = default;
};

struct FileHeader {
    uint16_t format_version = 0;
    std::string tool_version;  // TL_VERSION
    uint32_t abi = 0;          // TL_ABI_VERSION of the tracer that recorded
    std::string hostname, kernel_release, boot_id;
    int64_t clock_offset_ns = 0;      // CLOCK_REALTIME - CLOCK_MONOTONIC when the file began
    uint32_t hz = 0;                  // CONFIG_HZ (0: unknown; events carry it too)
    uint64_t recording_id = 0;        // random, shared by the files of one recording
    uint32_t file_index = 1;          // 1, 2, ... within the recording
    uint64_t recording_start_ns = 0;  // CLOCK_MONOTONIC: tracing began
    uint64_t file_start_ns = 0;       // CLOCK_MONOTONIC: this file began
    DropCounters drops_at_start;      // cumulative when this file began
    std::string command;              // the record command line
    std::vector<NetnsFacts> netns;    // at file start
    uint64_t carried = 0;             // lingering sockets carried into this file (Carry frames)
    uint64_t carry_dropped = 0;       // lingering sockets left out: the carry is capped at max-size / 4
};

struct Trailer {
    enum class Reason : uint8_t { Stopped = 0, Rotated = 1, WriteFailed = 2 };
    uint64_t end_ns = 0;            // CLOCK_MONOTONIC: the figures' "now"
    DropCounters drops;             // cumulative, final
    std::vector<NetnsFacts> netns;  // TcpExt at end
    Reason reason = Reason::Stopped;
    uint32_t hz = 0;      // CONFIG_HZ seen in the events
    uint64_t events = 0;  // events written in this file
};

// TCPTimeWaitOverflow gained per namespace of `start` (0 where `end` has no
// reading: the namespace is gone).
std::map<uint32_t, uint64_t> tw_overflow_between(const std::vector<NetnsFacts>& start,
                                                 const std::vector<NetnsFacts>& end);

bool same_drops(const DropCounters& a, const DropCounters& b);
// Recordings made before the kernel's skip count was kept hold only the net
// recursion figure: skipped = net + caught (exact unless caught > skipped).
// Newer ones store the skip count only where this would be wrong.
inline uint64_t legacy_recursion_skipped(const DropCounters& d) { return d.recursion_lost + d.nested_caught; }

std::string encode_header(const FileHeader& h);
std::optional<FileHeader> decode_header(std::string_view payload);
std::string encode_trailer(const Trailer& t);
std::optional<Trailer> decode_trailer(std::string_view payload);

}  // namespace tcplinger::rec
