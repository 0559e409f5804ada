#include "record/format.hpp"

#include <zstd.h>

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

uint32_t crc32c(const void* data, size_t len, uint32_t crc) {
    const auto* p = static_cast<const uint8_t*>(data);
    crc = ~crc;
    for (size_t i = 0; i < len; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

std::string encode_prefix(uint16_t version) {
    std::string out(kFileMagic, sizeof(kFileMagic));
    put_u16(out, version);
    put_u16(out, 0);
    put_u32(out, crc32c(out.data(), out.size()));
    return out;
}

PrefixCheck check_prefix(std::string_view file, uint16_t* version) {
    if (file.empty()) return PrefixCheck::TooShort;
    size_t n = std::min(file.size(), sizeof(kFileMagic));
    if (std::memcmp(file.data(), kFileMagic, n) != 0) return PrefixCheck::NotRecording;
    if (file.size() < kPrefixSize) return PrefixCheck::TooShort;
    if (kCheckCrc && crc32c(file.data(), 12) != get_u32(file.data() + 12)) return PrefixCheck::Damaged;
    *version = get_u16(file.data() + 8);
    return PrefixCheck::Ok;
}

std::string encode_frame(FrameType type, uint32_t seq, std::string_view payload, int zstd_level) {
    std::string body;
    uint8_t flags = 0;
    if (zstd_level > 0 && payload.size() > 64) {
        thread_local std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree> cctx(ZSTD_createCCtx());
        body.resize(ZSTD_compressBound(payload.size()));
        size_t n = ZSTD_compressCCtx(cctx.get(), body.data(), body.size(), payload.data(), payload.size(), zstd_level);
        if (!ZSTD_isError(n) && n < payload.size()) {
            body.resize(n);
            flags |= kFrameZstd;
        } else {
            body.clear();
        }
    }
    if (!(flags & kFrameZstd)) body.assign(payload);

    std::string out;
    out.reserve(kFrameHeaderSize + body.size());
    put_u32(out, kFrameSync);
    out.push_back(static_cast<char>(type));
    out.push_back(static_cast<char>(flags));
    put_u16(out, 0);
    put_u32(out, seq);
    put_u32(out, static_cast<uint32_t>(body.size()));
    put_u32(out, static_cast<uint32_t>(payload.size()));
    uint32_t crc = crc32c(out.data(), out.size());
    crc = crc32c(body.data(), body.size(), crc);
    put_u32(out, crc);
    out += body;
    return out;
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
