// The recording file format (.tlr), shared by the writer and the reader.
//
//   file   := prefix frame*
//   prefix := "TLRECORD" u16 format_version u16 0 u32 crc32c(first 12 bytes)   (16 bytes)
//   frame  := u32 "TLFR" u8 type u8 flags u16 0 u32 seq u32 stored_len u32 raw_len
//             u32 crc32c(the 20 header bytes before it + payload)  payload[stored_len]
//
// Every frame is checked on its own and decodes on its own (no state carries
// over from one frame to the next), so a reader skips a damaged frame,
// finds the next "TLFR", and goes on. All integers are little-endian.
#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace tcplinger::rec {

inline constexpr char kFileMagic[8] = {'T', 'L', 'R', 'E', 'C', 'O', 'R', 'D'};
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr size_t kPrefixSize = 16;
inline constexpr uint32_t kFrameSync = 0x52464c54;  // "TLFR"
inline constexpr size_t kFrameHeaderSize = 24;
// Bounds a reader trusts: anything bigger is damage. (Fuzzing builds skip
// checksums, so they also keep allocations small.)
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
inline constexpr uint32_t kMaxFramePayload = 4u << 20;
#else
inline constexpr uint32_t kMaxFramePayload = 64u << 20;
#endif
inline constexpr const char* kFileSuffix = ".tlr";

enum class FrameType : uint8_t {
    Header = 1,   // metadata: host, clocks, per-netns sysctls and TcpExt at start (metadata.hpp)
    Events = 2,   // encoded events and advance marks, then a flush status (codec.hpp)
    Carry = 3,    // lingering sockets when a rotated file began: read only when the file before is missing
    Trailer = 4,  // end time, final drop counters, TcpExt at end
};
inline constexpr uint8_t kFrameZstd = 0x01;

uint32_t crc32c(const void* data, size_t len, uint32_t crc = 0);
// The two implementations crc32c chooses between (for tests): the table,
// and SSE4.2's crc32 instruction where the CPU has it (x86-64 only).
uint32_t crc32c_table(const void* data, size_t len, uint32_t crc = 0);
bool crc32c_hardware();

// ---- little-endian fixed-width and LEB128 varints ----
inline void put_u16(std::string& out, uint16_t v) {
    out.push_back(static_cast<char>(v));
    out.push_back(static_cast<char>(v >> 8));
}
inline void put_u32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
inline uint32_t get_u32(const char* p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
    return v;
}
inline uint16_t get_u16(const char* p) {
    return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | static_cast<uint8_t>(p[1]) << 8);
}
inline void put_varint(std::string& out, uint64_t v) {
    if (v < 0x80) return out.push_back(static_cast<char>(v));  // most of them
    char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
        buf[n++] = static_cast<char>(v | 0x80);
        v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out.append(buf, n);
}
inline uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }
inline void put_svarint(std::string& out, int64_t v) { put_varint(out, zigzag(v)); }
inline void put_bytes(std::string& out, std::string_view s) {
    put_varint(out, s.size());
    out.append(s);
}

// Reads a payload; every read is bounds-checked and a failed read poisons
// the cursor (ok() turns false and reads return 0), so decoders check once.
class Cursor {
public:
    explicit Cursor(std::string_view data) : data_(data) {}
    // A Cursor views its payload: over a temporary string it would dangle.
    explicit Cursor(std::string&&) = delete;
    bool ok() const { return ok_; }
    bool done() const { return pos_ >= data_.size(); }
    size_t left() const { return ok_ ? data_.size() - pos_ : 0; }
    void fail() { ok_ = false; }
    uint8_t byte() {
        if (!ok_ || pos_ >= data_.size()) return fail(), 0;
        return static_cast<uint8_t>(data_[pos_++]);
    }
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            uint8_t b = byte();
            if (!ok_) return 0;
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        fail();
        return 0;
    }
    int64_t svarint() { return unzigzag(varint()); }
    std::string_view bytes(size_t n) {
        if (!ok_ || n > data_.size() - pos_) return fail(), std::string_view();
        std::string_view s = data_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    // A length-prefixed string of at most max bytes.
    std::string_view string(size_t max) {
        uint64_t n = varint();
        if (n > max) return fail(), std::string_view();
        return bytes(static_cast<size_t>(n));
    }

private:
    std::string_view data_;
    size_t pos_ = 0;
    bool ok_ = true;
};

// ---- file prefix and frame headers ----
std::string encode_prefix(uint16_t version = kFormatVersion);
enum class PrefixCheck { Ok, TooShort, NotRecording, Damaged };
// On Ok, *version is the file's format version (it may be newer than ours).
PrefixCheck check_prefix(std::string_view file, uint16_t* version);

struct FrameHeader {
    FrameType type = FrameType::Events;
    uint8_t flags = 0;
    uint32_t seq = 0;
    uint32_t stored_len = 0;
    uint32_t raw_len = 0;
    uint32_t crc = 0;
};
// Frames a payload: compresses it with zstd when that makes it smaller.
// `zstd_level` 0 stores it as is.
std::string encode_frame(FrameType type, uint32_t seq, std::string_view payload, int zstd_level);
// The same into storage kept from frame to frame: no allocation, and no
// fresh pages to fault in, per frame. The view lasts until the next encode.
class FrameEncoder {
public:
    std::string_view encode(FrameType type, uint32_t seq, std::string_view payload, int zstd_level);

private:
    std::string buf_;  // grows to the largest frame and stays
};
// Parses the 24 header bytes at p (sync included); nothing if the sync or
// the bounds are wrong.
std::optional<FrameHeader> parse_frame_header(std::string_view at);
// Checks the crc and returns the decompressed payload; nothing if damaged.
std::optional<std::string> open_frame(const FrameHeader& h, std::string_view header_and_payload);

}  // namespace tcplinger::rec
