#include "record/format.hpp"

#include <zstd.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <memory>

namespace tcplinger::rec {

namespace {
// CRC-32C (Castagnoli), reflected, as iSCSI and ext4 use it.
constexpr std::array<uint32_t, 256> make_crc_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        t[i] = c;
    }
    return t;
}
constexpr auto kCrcTable = make_crc_table();

// A fuzzer cannot forge checksums; let it reach the decoders behind them.
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
constexpr bool kCheckCrc = false;
#else
constexpr bool kCheckCrc = true;
#endif

struct ZstdCCtxFree {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxFree {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
}  // namespace

uint32_t crc32c_table(const void* data, size_t len, uint32_t crc) {
    const auto* p = static_cast<const uint8_t*>(data);
    crc = ~crc;
    for (size_t i = 0; i < len; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

// SSE4.2's crc32 is this same reflected Castagnoli step, 8 bytes at a time.
// Compiled for SSE4.2 on its own, so the binary still runs on CPUs without.
#if defined(__x86_64__)
namespace {
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const void* data, size_t len, uint32_t crc) {
    const auto* p = static_cast<const uint8_t*>(data);
    uint64_t c = ~crc;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t word;
        std::memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
    }
    auto c32 = static_cast<uint32_t>(c);
    for (; len; ++p, --len) c32 = _mm_crc32_u8(c32, *p);
    return ~c32;
}
}  // namespace

bool crc32c_hardware() {
    static const bool has = __builtin_cpu_supports("sse4.2");
    return has;
}

uint32_t crc32c(const void* data, size_t len, uint32_t crc) {
    return crc32c_hardware() ? crc32c_sse42(data, len, crc) : crc32c_table(data, len, crc);
}
#else
bool crc32c_hardware() { return false; }
uint32_t crc32c(const void* data, size_t len, uint32_t crc) { return crc32c_table(data, len, crc); }
#endif

std::string encode_prefix(uint16_t version) {
    std::string out(kFileMagic, sizeof(kFileMagic));
    put_u16(out, version);
    put_u16(out, 0);
    put_u32(out, crc32c(out.data(), out.size()));
    return out;
}

PrefixCheck check_prefix(std::string_view file, uint16_t* version) {
    if (file.empty()) return PrefixCheck::TooShort;
    size_t n = std::min(file.size(), sizeof(kFileMagic)), wrong = 0;
    for (size_t i = 0; i < n; ++i) wrong += file[i] != kFileMagic[i];
    // One wrong byte is a damaged signature, not another format: the frames
    // behind it check themselves (a flipped byte must cost one frame at most).
    if (wrong > 1 || (wrong && file.size() < kPrefixSize)) return PrefixCheck::NotRecording;
    if (file.size() < kPrefixSize) return PrefixCheck::TooShort;
    if (wrong || (kCheckCrc && crc32c(file.data(), 12) != get_u32(file.data() + 12))) return PrefixCheck::Damaged;
    *version = get_u16(file.data() + 8);
    return PrefixCheck::Ok;
}

std::string encode_frame(FrameType type, uint32_t seq, std::string_view payload, int zstd_level) {
    FrameEncoder framer;
    return std::string(framer.encode(type, seq, payload, zstd_level));
}

std::string_view FrameEncoder::encode(FrameType type, uint32_t seq, std::string_view payload, int zstd_level) {
    const bool try_zstd = zstd_level > 0 && payload.size() > 64;
    const size_t bound = try_zstd ? ZSTD_compressBound(payload.size()) : 0;
    const size_t room = std::max(bound, payload.size());
    if (buf_.size() < kFrameHeaderSize + room) buf_.resize(kFrameHeaderSize + room);
    char* const body = buf_.data() + kFrameHeaderSize;
    size_t body_len = payload.size();
    uint8_t flags = 0;
    if (try_zstd) {
        thread_local std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree> cctx(ZSTD_createCCtx());
        size_t n = ZSTD_compressCCtx(cctx.get(), body, bound, payload.data(), payload.size(), zstd_level);
        if (!ZSTD_isError(n) && n < payload.size()) {
            body_len = n;
            flags |= kFrameZstd;
        }
    }
    if (!(flags & kFrameZstd) && !payload.empty()) std::memcpy(body, payload.data(), payload.size());

    char* const h = buf_.data();
    auto le32 = [](char* at, uint32_t v) {
        for (int i = 0; i < 4; ++i) at[i] = static_cast<char>(v >> (8 * i));
    };
    le32(h, kFrameSync);
    h[4] = static_cast<char>(type);
    h[5] = static_cast<char>(flags);
    h[6] = h[7] = 0;
    le32(h + 8, seq);
    le32(h + 12, static_cast<uint32_t>(body_len));
    le32(h + 16, static_cast<uint32_t>(payload.size()));
    le32(h + 20, crc32c(body, body_len, crc32c(h, 20)));
    return std::string_view(buf_.data(), kFrameHeaderSize + body_len);
}

std::optional<FrameHeader> parse_frame_header(std::string_view at) {
    if (at.size() < kFrameHeaderSize || get_u32(at.data()) != kFrameSync) return std::nullopt;
    FrameHeader h;
    uint8_t type = static_cast<uint8_t>(at[4]);
    if (type < static_cast<uint8_t>(FrameType::Header) || type > static_cast<uint8_t>(FrameType::Trailer))
        return std::nullopt;
    h.type = static_cast<FrameType>(type);
    h.flags = static_cast<uint8_t>(at[5]);
    h.seq = get_u32(at.data() + 8);
    h.stored_len = get_u32(at.data() + 12);
    h.raw_len = get_u32(at.data() + 16);
    h.crc = get_u32(at.data() + 20);
    if (h.stored_len > kMaxFramePayload || h.raw_len > kMaxFramePayload) return std::nullopt;
    if (!(h.flags & kFrameZstd) && h.stored_len != h.raw_len) return std::nullopt;
    return h;
}

std::optional<std::string> open_frame(const FrameHeader& h, std::string_view frame) {
    if (frame.size() < kFrameHeaderSize + h.stored_len) return std::nullopt;
    std::string_view body = frame.substr(kFrameHeaderSize, h.stored_len);
    if (kCheckCrc) {
        uint32_t crc = crc32c(frame.data(), 20);
        if (crc32c(body.data(), body.size(), crc) != h.crc) return std::nullopt;
    }
    if (!(h.flags & kFrameZstd)) return std::string(body);
    thread_local std::unique_ptr<ZSTD_DCtx, ZstdDCtxFree> dctx(ZSTD_createDCtx());
    std::string out(h.raw_len, '\0');
    size_t n = ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), body.data(), body.size());
    if (ZSTD_isError(n) || n != h.raw_len) return std::nullopt;
    return out;
}

}  // namespace tcplinger::rec
