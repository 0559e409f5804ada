#include "record/metadata.hpp"

#include "record/format.hpp"

namespace tcplinger::rec {

namespace {
enum HeaderKey : uint64_t {
    kFormatVersionKey = 1,
    kToolVersion,
    kAbi,
    kHostname,
    kKernelRelease,
    kBootId,
    kClockOffset,
    kHz,
    kRecordingId,
    kFileIndex,
    kRecordingStart,
    kFileStart,
    kDropsAtStart,
    kCommand,
    kNetns,
    kCarried,
    kCarryDropped,
};
enum TrailerKey : uint64_t { kEnd = 1, kDrops, kTrailerNetns, kReason, kTrailerHz, kEvents };
enum NetnsKey : uint64_t { kInode = 1, kPath, kSysctl, kTcpExt };

void field(std::string& out, uint64_t key, std::string_view value) {
    put_varint(out, key);
    put_bytes(out, value);
}
void field_u(std::string& out, uint64_t key, uint64_t v) {
    std::string tmp;
    put_varint(tmp, v);
    field(out, key, tmp);
}
void field_s(std::string& out, uint64_t key, int64_t v) { field_u(out, key, zigzag(v)); }

std::string encode_drops(const DropCounters& d) {
    std::string out;
    for (uint64_t v :
         {d.events, d.ringbuf_drops, d.sock_untracked, d.sock_map_full, d.nested_caught, d.recursion_lost, d.no_cookie})
        put_varint(out, v);
    // As in a frame's status (codec.cpp): only when it cannot be derived.
    if (d.recursion_skipped != legacy_recursion_skipped(d)) put_varint(out, d.recursion_skipped);
    return out;
}
DropCounters decode_drops(std::string_view v, bool* ok) {
    Cursor in(v);
    uint64_t f[8] = {};
    size_t n = 0;
    for (uint64_t& x : f)
        if (!in.done()) x = in.varint(), ++n;
    *ok = *ok && in.ok();
    DropCounters d{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
    if (n < 8) d.recursion_skipped = legacy_recursion_skipped(d);
    return d;
}

std::string encode_netns(const NetnsFacts& n) {
    std::string out;
    field_u(out, kInode, n.inode);
    field(out, kPath, n.path);
    for (const auto& [name, value] : n.sysctls) {
        std::string pair;
        put_bytes(pair, name);
        put_bytes(pair, value);
        field(out, kSysctl, pair);
    }
    for (const auto& [name, value] : n.tcpext) {
        std::string pair;
        put_bytes(pair, name);
        put_varint(pair, value);
        field(out, kTcpExt, pair);
    }
    return out;
}

// Calls fn(key, value) for each field; false if the list is damaged.
template <typename Fn>
bool for_fields(std::string_view payload, Fn fn) {
    Cursor in(payload);
    while (in.ok() && !in.done()) {
        uint64_t key = in.varint();
        std::string_view value = in.string(kMaxFramePayload);
        if (!in.ok() || !fn(key, value)) return false;
    }
    return in.ok();
}

bool read_u(std::string_view v, uint64_t* out) {
    Cursor in(v);
    *out = in.varint();
    return in.ok();
}

std::optional<NetnsFacts> decode_netns(std::string_view payload) {
    NetnsFacts n;
    bool ok = for_fields(payload, [&](uint64_t key, std::string_view v) {
        uint64_t x = 0;
        switch (key) {
            case kInode:
                if (!read_u(v, &x)) return false;
                n.inode = static_cast<uint32_t>(x);
                return true;
            case kPath:
                n.path = v;
                return true;
            case kSysctl: {
                Cursor in(v);
                std::string name(in.string(v.size()));
                std::string value(in.string(v.size()));
                if (!in.ok()) return false;
                n.sysctls.emplace_back(std::move(name), std::move(value));
                return true;
            }
            case kTcpExt: {
                Cursor in(v);
                std::string name(in.string(v.size()));
                uint64_t value = in.varint();
                if (!in.ok()) return false;
                n.tcpext[name] = value;
                return true;
            }
            default:
                return true;
        }
    });
    if (!ok) return std::nullopt;
    return n;
}
}  // namespace

std::map<uint32_t, uint64_t> tw_overflow_between(const std::vector<NetnsFacts>& start,
                                                 const std::vector<NetnsFacts>& end) {
    auto overflow = [](const NetnsFacts& n) {
        auto it = n.tcpext.find("TCPTimeWaitOverflow");
        return it == n.tcpext.end() ? uint64_t{0} : it->second;
    };
    std::map<uint32_t, uint64_t> out;
    for (const auto& s : start) {
        uint64_t at_end = 0;
        for (const auto& e : end)
            if (e.inode == s.inode) at_end = overflow(e);
        out[s.inode] = at_end > overflow(s) ? at_end - overflow(s) : 0;
    }
    return out;
}

bool same_drops(const DropCounters& a, const DropCounters& b) { return encode_drops(a) == encode_drops(b); }

std::string encode_header(const FileHeader& h) {
    std::string out;
    field_u(out, kFormatVersionKey, h.format_version);
    field(out, kToolVersion, h.tool_version);
    field_u(out, kAbi, h.abi);
    field(out, kHostname, h.hostname);
    field(out, kKernelRelease, h.kernel_release);
    field(out, kBootId, h.boot_id);
    field_s(out, kClockOffset, h.clock_offset_ns);
    field_u(out, kHz, h.hz);
    field_u(out, kRecordingId, h.recording_id);
    field_u(out, kFileIndex, h.file_index);
    field_u(out, kRecordingStart, h.recording_start_ns);
    field_u(out, kFileStart, h.file_start_ns);
    field(out, kDropsAtStart, encode_drops(h.drops_at_start));
    field(out, kCommand, h.command);
    for (const auto& n : h.netns) field(out, kNetns, encode_netns(n));
    if (h.carried) field_u(out, kCarried, h.carried);
    if (h.carry_dropped) field_u(out, kCarryDropped, h.carry_dropped);
    return out;
}

std::optional<FileHeader> decode_header(std::string_view payload) {
    FileHeader h;
    bool ok = true;
    bool parsed = for_fields(payload, [&](uint64_t key, std::string_view v) {
        uint64_t x = 0;
        auto number = [&](auto* dst) {
            if (!read_u(v, &x)) return false;
            *dst = static_cast<std::remove_pointer_t<decltype(dst)>>(x);
            return true;
        };
        switch (key) {
            case kFormatVersionKey:
                return number(&h.format_version);
            case kToolVersion:
                h.tool_version = v;
                return true;
            case kAbi:
                return number(&h.abi);
            case kHostname:
                h.hostname = v;
                return true;
            case kKernelRelease:
                h.kernel_release = v;
                return true;
            case kBootId:
                h.boot_id = v;
                return true;
            case kClockOffset:
                if (!read_u(v, &x)) return false;
                h.clock_offset_ns = unzigzag(x);
                return true;
            case kHz:
                return number(&h.hz);
            case kRecordingId:
                return number(&h.recording_id);
            case kFileIndex:
                return number(&h.file_index);
            case kRecordingStart:
                return number(&h.recording_start_ns);
            case kFileStart:
                return number(&h.file_start_ns);
            case kDropsAtStart:
                h.drops_at_start = decode_drops(v, &ok);
                return ok;
            case kCommand:
                h.command = v;
                return true;
            case kCarried:
                return number(&h.carried);
            case kCarryDropped:
                return number(&h.carry_dropped);
            case kNetns: {
                auto n = decode_netns(v);
                if (!n) return false;
                h.netns.push_back(std::move(*n));
                return true;
            }
            default:
                return true;
        }
    });
    if (!parsed || !ok) return std::nullopt;
    return h;
}

std::string encode_trailer(const Trailer& t) {
    std::string out;
    field_u(out, kEnd, t.end_ns);
    field(out, kDrops, encode_drops(t.drops));
    for (const auto& n : t.netns) field(out, kTrailerNetns, encode_netns(n));
    field_u(out, kReason, static_cast<uint64_t>(t.reason));
    field_u(out, kTrailerHz, t.hz);
    field_u(out, kEvents, t.events);
    return out;
}

std::optional<Trailer> decode_trailer(std::string_view payload) {
    Trailer t;
    bool ok = true;
    bool parsed = for_fields(payload, [&](uint64_t key, std::string_view v) {
        uint64_t x = 0;
        switch (key) {
            case kEnd:
                return read_u(v, &t.end_ns);
            case kDrops:
                t.drops = decode_drops(v, &ok);
                return ok;
            case kTrailerNetns: {
                auto n = decode_netns(v);
                if (!n) return false;
                t.netns.push_back(std::move(*n));
                return true;
            }
            case kReason:
                if (!read_u(v, &x) || x > 2) return false;
                t.reason = static_cast<Trailer::Reason>(x);
                return true;
            case kTrailerHz:
                if (!read_u(v, &x)) return false;
                t.hz = static_cast<uint32_t>(x);
                return true;
            case kEvents:
                return read_u(v, &t.events);
            default:
                return true;
        }
    });
    if (!parsed || !ok) return std::nullopt;
    return t;
}

}  // namespace tcplinger::rec
