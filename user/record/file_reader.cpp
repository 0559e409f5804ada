#include "record/file_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

namespace tcplinger::rec {

namespace {
// Where the next good frame starts after `from`, or npos.
size_t resync(std::string_view data, size_t from) {
    static const char sync[4] = {'T', 'L', 'F', 'R'};
    for (size_t pos = from; pos + kFrameHeaderSize <= data.size(); ++pos) {
        pos = data.find(std::string_view(sync, 4), pos);
        if (pos == std::string_view::npos) return pos;
        auto h = parse_frame_header(data.substr(pos));
        if (h && open_frame(*h, data.substr(pos))) return pos;
    }
    return std::string_view::npos;
}

class Reader {
public:
    Reader(std::string_view data, FileVisitor& v, bool header_only) : data_(data), v_(v), header_only_(header_only) {
        r_.file_bytes = data.size();
    }

    FileReport run() {
        if (data_.empty()) return verdict(FileReport::Verdict::Empty);
        uint16_t version = 0;
        switch (check_prefix(data_, &version)) {
        case PrefixCheck::NotRecording: return verdict(FileReport::Verdict::NotRecording);
        case PrefixCheck::TooShort:
            r_.truncated_bytes = data_.size();
            return verdict(FileReport::Verdict::NoHeader);
        case PrefixCheck::Damaged:
            // Frames check themselves: read them as this version's.
            r_.prefix_damaged = true;
            version = kFormatVersion;
            break;
        case PrefixCheck::Ok: break;
        }
        r_.version = version;
        if (version > kFormatVersion) return verdict(FileReport::Verdict::Newer);
        frames(kPrefixSize);
        if (!r_.header) r_.verdict = FileReport::Verdict::NoHeader;
        return r_;
    }

private:
    FileReport verdict(FileReport::Verdict v) {
        r_.verdict = v;
        return r_;
    }

    void damaged(size_t from, size_t to) {
        ++r_.damaged_regions;
        r_.damaged_bytes += to - from;
    }

    void frames(size_t pos) {
        int64_t expect_seq = 0;
        while (pos < data_.size()) {
            std::string_view at = data_.substr(pos);
            auto h = parse_frame_header(at);
            std::optional<std::string> payload;
            if (h && at.size() >= kFrameHeaderSize + h->stored_len) payload = open_frame(*h, at);
            if (!payload) {
                size_t next = resync(data_, pos + 1);
                if (next == std::string_view::npos) {
                    // Nothing good follows: an incomplete last frame (kill -9,
                    // power cut, full disk) or a damaged tail.
                    r_.truncated_bytes = data_.size() - pos;
                    return;
                }
                damaged(pos, next);
                pos = next;
                continue;
            }
            if (h->seq > expect_seq) r_.frames_lost += h->seq - expect_seq;
            expect_seq = static_cast<int64_t>(h->seq) + 1;
            size_t end = pos + kFrameHeaderSize + h->stored_len;
            if (!dispatch(*h, *payload)) {
                damaged(pos, end);
            } else {
                ++r_.frames;
                r_.stored_bytes += h->stored_len;
                r_.raw_bytes += h->raw_len;
            }
            pos = end;
            if (r_.stopped || (header_only_ && r_.header)) return;
            if (header_only_ && r_.frames + r_.damaged_regions > 0 && !r_.header) return;
        }
    }

    // False when a frame that passed its checksum does not decode.
    bool dispatch(const FrameHeader& h, const std::string& payload) {
        switch (h.type) {
        case FrameType::Header: {
            if (r_.header) return true;  // one per file; a repeat is ignored
            auto header = decode_header(payload);
            if (!header) return false;
            r_.header = std::move(header);
            r_.stopped = !v_.header(*r_.header);
            return true;
        }
        case FrameType::Events:
        case FrameType::Carry: {
            // Events before the header cannot be placed in time: skipped.
            if (!r_.header) return false;
            auto decoded = decode_items(payload);
            if (!decoded) return false;
            for (const Item& item : decoded->items) {
                if (item.type == Item::Type::Event) {
                    ++r_.events;
                    if (h.type == FrameType::Events) r_.last_mono_ns = std::max(r_.last_mono_ns, item.event.ts_ns);
                }
            }
            if (decoded->status) r_.last_mono_ns = std::max(r_.last_mono_ns, decoded->status->mono_ns);
            r_.stopped = !v_.items(h.type, *decoded);
            return true;
        }
        case FrameType::Trailer: {
            if (!r_.header) return false;
            auto trailer = decode_trailer(payload);
            if (!trailer) return false;
            r_.trailer = true;
            r_.write_failed = trailer->reason == Trailer::Reason::WriteFailed;
            r_.last_mono_ns = std::max(r_.last_mono_ns, trailer->end_ns);
            r_.stopped = !v_.trailer(*trailer);
            return true;
        }
        }
        return false;
    }

    std::string_view data_;
    FileVisitor& v_;
    bool header_only_;
    FileReport r_;
};

std::string wall_text(const FileReport& r) {
    if (!r.header || !r.last_mono_ns) return "";
    int64_t wall = static_cast<int64_t>(r.last_mono_ns) + r.header->clock_offset_ns;
    time_t secs = static_cast<time_t>(wall / 1'000'000'000);
    struct tm tm {};
    localtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof(buf), " up to %Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string plural(uint64_t n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}
}  // namespace

FileReport read_file(std::string_view data, FileVisitor& visitor) { return Reader(data, visitor, false).run(); }

FileReport peek_header(std::string_view data) {
    FileVisitor none;
    return Reader(data, none, true).run();
}

std::string describe(const std::string& path, const FileReport& r) {
    using V = FileReport::Verdict;
    switch (r.verdict) {
    case V::Empty: return path + ": empty file: nothing recovered, skipped";
    case V::NotRecording: return path + ": not a tcplinger recording (no TLRECORD signature): skipped";
    case V::Newer:
        return path + ": format version " + std::to_string(r.version) + " is newer than this tcplinger reads (" +
               std::to_string(kFormatVersion) + "): skipped; read it with a newer tcplinger";
    case V::NoHeader:
        if (r.file_bytes < kPrefixSize + kFrameHeaderSize && r.truncated_bytes)
            return path + ": truncated before its header (" + plural(r.file_bytes, "byte") +
                   "): nothing recovered, skipped";
        return path + ": header frame missing or damaged: nothing recovered, skipped all " +
               plural(r.file_bytes, "byte");
    case V::Read: break;
    }
    if (r.clean() && !r.write_failed) return "";
    std::vector<std::string> skipped;
    if (r.damaged_regions) {
        std::string s = plural(r.damaged_regions, "damaged stretch") + " (" + plural(r.damaged_bytes, "byte");
        if (r.frames_lost) s += ", " + plural(r.frames_lost, "frame");
        skipped.push_back(s + ")");
    }
    if (r.truncated_bytes) skipped.push_back("an incomplete last frame (" + plural(r.truncated_bytes, "byte") + ")");
    if (r.prefix_damaged) skipped.push_back("a damaged file signature (frames read anyway)");
    std::string cause = r.truncated_bytes ? "truncated (recorder killed, power cut or disk full?)"
                        : r.damaged_regions ? "damaged (checksum mismatch)"
                        : r.write_failed ? "recording stopped by a write error (disk full?)"
                        : !r.trailer ? "not closed (recorder killed, disk full, or still recording)"
                                     : "damaged";
    std::string line = path + ": " + cause + ": recovered " + plural(r.frames, "frame") + ", " +
                       plural(r.events, "event") + wall_text(r);
    if (!skipped.empty()) {
        line += "; skipped ";
        for (size_t i = 0; i < skipped.size(); ++i) line += (i ? ", " : "") + skipped[i];
    }
    return line;
}

}  // namespace tcplinger::rec
