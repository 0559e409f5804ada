#include "record/file_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

namespace tcplinger::rec {

namespace {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
constexpr size_t kReadWindow = 64;  // small windows: the fuzzer crosses their edges often
#else
constexpr size_t kReadWindow = 1 << 20;
#endif
constexpr char kSync[4] = {'T', 'L', 'F', 'R'};

class Reader {
public:
    Reader(ByteSource& src, FileVisitor& v, bool header_only) : src_(src), v_(v), header_only_(header_only) {
        r_.file_bytes = src.size();
    }

    FileReport run() {
        if (src_.size() == 0) return verdict(FileReport::Verdict::Empty);
        uint16_t version = 0;
        std::string_view prefix = src_.at(0, kPrefixSize);
        if (src_.error()) return read_failed(0);
        switch (check_prefix(prefix, &version)) {
            case PrefixCheck::NotRecording:
                return verdict(FileReport::Verdict::NotRecording);
            case PrefixCheck::TooShort:
                r_.truncated_bytes = src_.size();
                return verdict(FileReport::Verdict::NoHeader);
            case PrefixCheck::Damaged:
                // Frames check themselves: read them as this version's.
                r_.prefix_damaged = true;
                version = kFormatVersion;
                break;
            case PrefixCheck::Ok:
                break;
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
    FileReport read_failed(uint64_t pos) {
        r_.read_error = src_.error();
        r_.truncated_bytes = src_.size() - pos;
        return verdict(FileReport::Verdict::NoHeader);
    }

    void damaged(uint64_t from, uint64_t to) {
        ++r_.damaged_regions;
        r_.damaged_bytes += to - from;
    }

    // The good frame at pos, if there is one.
    std::optional<std::pair<FrameHeader, std::string>> frame_at(uint64_t pos) {
        auto h = parse_frame_header(src_.at(pos, kFrameHeaderSize));
        if (!h) return std::nullopt;
        std::string_view whole = src_.at(pos, kFrameHeaderSize + h->stored_len);
        if (whole.size() < kFrameHeaderSize + h->stored_len) return std::nullopt;
        auto payload = open_frame(*h, whole);
        if (!payload) return std::nullopt;
        return std::pair{*h, std::move(*payload)};
    }

    // Where the next good frame starts after `from`, or nothing.
    std::optional<uint64_t> resync(uint64_t from) {
        uint64_t pos = from;
        while (pos + kFrameHeaderSize <= src_.size() && !src_.error()) {
            std::string_view window = src_.at(pos, kReadWindow);
            size_t hit = window.find(std::string_view(kSync, 4));
            if (hit == std::string_view::npos) {
                if (window.size() < 4) return std::nullopt;
                pos += window.size() - 3;  // a marker may straddle the window's end
                continue;
            }
            if (frame_at(pos + hit)) return pos + hit;
            pos += hit + 1;
        }
        return std::nullopt;
    }

    void frames(uint64_t pos) {
        int64_t expect_seq = 0;
        const uint64_t size = src_.size();
        while (pos < size) {
            auto frame = frame_at(pos);
            if (!frame) {
                auto next = src_.error() ? std::nullopt : resync(pos + 1);
                if (!next) {
                    // Nothing good follows: an incomplete last frame (kill -9,
                    // power cut, full disk), a damaged tail, or a read error.
                    r_.truncated_bytes = size - pos;
                    r_.read_error = src_.error();
                    return;
                }
                damaged(pos, *next);
                if (!r_.header) ++frames_before_header_;
                pos = *next;
                continue;
            }
            const FrameHeader& h = frame->first;
            if (h.seq > expect_seq) r_.frames_lost += h.seq - expect_seq;
            expect_seq = static_cast<int64_t>(h.seq) + 1;
            uint64_t end = pos + kFrameHeaderSize + h.stored_len;
            if (!dispatch(h, frame->second)) {
                damaged(pos, end);
            } else {
                ++r_.frames;
                r_.stored_bytes += h.stored_len;
                r_.raw_bytes += h.raw_len;
            }
            if (!r_.header) ++frames_before_header_;
            pos = end;
            if (r_.stopped || (header_only_ && r_.header)) return;
            // The header and its copy open the file: past them, none will come.
            if (header_only_ && frames_before_header_ > 2) return;
        }
    }

    // False when a frame that passed its checksum does not decode.
    bool dispatch(const FrameHeader& h, const std::string& payload) {
        switch (h.type) {
            case FrameType::Header: {
                if (r_.header) return true;  // the copy (or a repeat) is ignored
                auto header = decode_header(payload);
                if (!header) return false;
                r_.header = std::move(header);
                r_.header_from_copy = h.seq != 0;
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

    ByteSource& src_;
    FileVisitor& v_;
    bool header_only_;
    uint64_t frames_before_header_ = 0;
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

std::string plural(uint64_t n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }
}  // namespace

std::unique_ptr<FileSource> FileSource::open(const std::string& path, std::string* error) {
    // O_NONBLOCK: a FIFO given as a recording must not block the open.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *error = std::strerror(errno);
        return nullptr;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *error = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
        close(fd);
        return nullptr;
    }
    return std::unique_ptr<FileSource>(new FileSource(fd, static_cast<uint64_t>(st.st_size)));
}

FileSource::~FileSource() { close(fd_); }

std::string_view FileSource::at(uint64_t pos, size_t len) {
    if (pos >= size_) return {};
    len = static_cast<size_t>(std::min<uint64_t>(len, size_ - pos));
    if (pos >= window_pos_ && pos + len <= window_pos_ + window_.size())
        return std::string_view(window_).substr(pos - window_pos_, len);
    if (error_) return {};
    size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(len, kReadWindow), size_ - pos));
    window_.resize(want);
    window_pos_ = pos;
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(fd_, window_.data() + got, want - got, static_cast<off_t>(pos + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error_ = errno;
        if (n <= 0) break;  // an error, or the file shrank since open
        got += static_cast<size_t>(n);
    }
    window_.resize(got);
    return std::string_view(window_).substr(0, std::min(len, got));
}

FileReport read_file(ByteSource& source, FileVisitor& visitor) { return Reader(source, visitor, false).run(); }

FileReport read_file(std::string_view data, FileVisitor& visitor) {
    MemorySource source(data);
    return read_file(source, visitor);
}

FileReport peek_header(ByteSource& source) {
    FileVisitor none;
    return Reader(source, none, true).run();
}

FileReport peek_header(std::string_view data) {
    MemorySource source(data);
    return peek_header(source);
}

std::string describe(const std::string& path, const FileReport& r) {
    using V = FileReport::Verdict;
    switch (r.verdict) {
        case V::Empty:
            return path + ": empty file: nothing recovered, skipped";
        case V::NotRecording:
            return path + ": not a tcplinger recording (no TLRECORD signature): skipped";
        case V::Newer:
            return path + ": format version " + std::to_string(r.version) + " is newer than this tcplinger reads (" +
                   std::to_string(kFormatVersion) + "): skipped; read it with a newer tcplinger";
        case V::NoHeader:
            if (r.read_error)
                return path + ": cannot read: " + std::strerror(r.read_error) + ": nothing recovered, skipped";
            if (r.file_bytes < kPrefixSize + kFrameHeaderSize && r.truncated_bytes)
                return path + ": truncated before its header (" + plural(r.file_bytes, "byte") +
                       "): nothing recovered, skipped";
            return path + ": header frame missing or damaged: nothing recovered, skipped all " +
                   plural(r.file_bytes, "byte");
        case V::Read:
            break;
    }
    if (r.clean() && !r.write_failed) return "";
    std::vector<std::string> skipped;
    if (r.damaged_regions) {
        std::string s = plural(r.damaged_regions, "damaged stretch") + " (" + plural(r.damaged_bytes, "byte");
        if (r.frames_lost) s += ", " + plural(r.frames_lost, "frame");
        skipped.push_back(s + ")");
    }
    if (r.read_error)
        skipped.push_back("the unreadable rest (" + plural(r.truncated_bytes, "byte") + ": " +
                          std::strerror(r.read_error) + ")");
    else if (r.truncated_bytes)
        skipped.push_back("an incomplete last frame (" + plural(r.truncated_bytes, "byte") + ")");
    if (r.prefix_damaged) skipped.push_back("a damaged file signature (frames read anyway)");
    std::string cause = r.read_error        ? std::string("read error")
                        : r.truncated_bytes ? "truncated (recorder killed, power cut or disk full?)"
                        : r.damaged_regions ? "damaged (checksum mismatch)"
                        : r.write_failed    ? "recording stopped by a write error (disk full?)"
                        : !r.trailer        ? "not closed (recorder killed, disk full, or still recording)"
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
