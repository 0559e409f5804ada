#include "record/recording_set.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "record/file_reader.hpp"

namespace fs = std::filesystem;

namespace tcplinger::rec {

namespace {
struct Input {
    std::string path;
    FileHeader header;
    int64_t start_wall() const { return static_cast<int64_t>(header.recording_start_ns) + header.clock_offset_ns; }
};

std::vector<std::string> expand(const std::vector<std::string>& inputs, std::vector<std::string>& problems) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    auto add = [&](const fs::path& p) {
        std::error_code ec;
        std::string key = fs::weakly_canonical(p, ec).string();
        if (seen.insert(key.empty() ? p.string() : key).second) out.push_back(p.string());
    };
    for (const auto& in : inputs) {
        std::error_code ec;
        fs::file_status st = fs::status(in, ec);
        if (ec && ec != std::errc::no_such_file_or_directory) {
            // EACCES on a path component: say so, not "no such file".
            problems.push_back(in + ": cannot open: " + ec.message());
        } else if (fs::is_directory(st)) {
            std::vector<fs::path> found;
            fs::directory_iterator it(in, ec), end;
            // An unreadable directory (0700, another user's) is not an empty one.
            for (; !ec && it != end; it.increment(ec))
                if (std::error_code kind; it->path().extension() == kFileSuffix && it->is_regular_file(kind))
                    found.push_back(it->path());
            if (ec) {
                problems.push_back(in + ": cannot read directory: " + ec.message());
                continue;
            }
            if (found.empty())
                problems.push_back(in + ": no recordings (*" + kFileSuffix + " files) in this directory");
            std::sort(found.begin(), found.end());
            for (const auto& f : found) add(f);
        } else if (!fs::exists(st)) {
            problems.push_back(in + ": cannot open: " + std::strerror(ENOENT));
        } else {
            add(in);
        }
    }
    return out;
}

uint64_t sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

// Feeds one file's frames to the visitor and keeps what the segment needs.
class FileFeed : public FileVisitor {
public:
    FileFeed(ReplayVisitor& v, ReadSummary& s, bool use_carry) : v_(v), s_(s), use_carry_(use_carry) {}

    bool items(FrameType type, const DecodedItems& d) override {
        if (type == FrameType::Carry && !use_carry_) return true;
        for (const Item& item : d.items) {
            switch (item.type) {
                case Item::Type::Event:
                    ++s_.events;
                    if (!v_.event(item.event)) return false;
                    break;
                case Item::Type::Advance:
                    v_.advance(item.ts_ns);
                    break;
                case Item::Type::CgroupName:
                    if (!item.cgroup_path.empty()) s_.cgroup_paths[item.cgroup_id] = item.cgroup_path;
                    break;
            }
            if (item.type == Item::Type::Event) last_ns = std::max(last_ns, item.event.ts_ns);
        }
        if (d.status) {
            last_ns = std::max(last_ns, d.status->mono_ns);
            drops = d.status->drops;
            have_drops = true;
            if (!v_.status(*d.status)) return false;
        }
        return true;
    }
    bool trailer(const Trailer& t) override {
        trailer_seen = t;
        drops = t.drops;
        have_drops = true;
        last_ns = std::max(last_ns, t.end_ns);
        return true;
    }

    std::optional<Trailer> trailer_seen;
    uint64_t last_ns = 0;
    DropCounters drops;
    bool have_drops = false;

private:
    ReplayVisitor& v_;
    ReadSummary& s_;
    bool use_carry_;
};

struct OpenSegment {
    FileHeader first;
    uint64_t end_ns = 0;
    DropCounters drops;
    std::optional<Trailer> trailer;  // of the last file
};

SegmentEnd finish_segment(const OpenSegment& seg) {
    SegmentEnd end;
    end.start_ns = seg.first.file_start_ns;
    end.end_ns = std::max(seg.end_ns, end.start_ns);
    end.drops = drops_between(seg.first.drops_at_start, seg.drops);
    if (seg.trailer) {
        end.closed = seg.trailer->reason != Trailer::Reason::Rotated;
        end.end_ns = std::max(end.start_ns, seg.trailer->end_ns);
        end.overflow_known = true;
        end.tw_overflow = tw_overflow_between(seg.first.netns, seg.trailer->netns);
    }
    return end;
}
}  // namespace

DropCounters drops_between(const DropCounters& a, const DropCounters& b) {
    return DropCounters{sub(b.events, a.events),
                        sub(b.ringbuf_drops, a.ringbuf_drops),
                        sub(b.sock_untracked, a.sock_untracked),
                        sub(b.sock_map_full, a.sock_map_full),
                        sub(b.nested_caught, a.nested_caught),
                        sub(b.recursion_lost, a.recursion_lost),
                        sub(b.no_cookie, a.no_cookie),
                        sub(b.recursion_skipped, a.recursion_skipped)};
}

ReadSummary replay(const std::vector<std::string>& inputs, ReplayVisitor& visitor) {
    ReadSummary summary;
    std::vector<Input> files;
    for (const auto& path : expand(inputs, summary.problems)) {
        Input in;
        in.path = path;
        std::string error;
        auto source = FileSource::open(path, &error);
        if (!source) {
            summary.problems.push_back(path + ": cannot open: " + error);
            ++summary.files_skipped;
            continue;
        }
        FileReport peek = peek_header(*source);
        if (!peek.useful()) {
            summary.problems.push_back(describe(path, peek));
            ++summary.files_skipped;
            continue;
        }
        in.header = *peek.header;
        files.push_back(std::move(in));
    }
    // Recordings oldest first (each file's clock offset differs a little:
    // take the earliest per recording), then each recording's files in order.
    std::map<uint64_t, int64_t> recording_start;
    for (const Input& in : files) {
        auto [it, added] = recording_start.emplace(in.header.recording_id, in.start_wall());
        if (!added) it->second = std::min(it->second, in.start_wall());
    }
    std::stable_sort(files.begin(), files.end(), [&](const Input& a, const Input& b) {
        int64_t sa = recording_start[a.header.recording_id], sb = recording_start[b.header.recording_id];
        if (sa != sb) return sa < sb;
        if (a.header.recording_id != b.header.recording_id) return a.header.recording_id < b.header.recording_id;
        return a.header.file_index < b.header.file_index;
    });

    std::optional<OpenSegment> seg;
    const Input* prev = nullptr;
    bool stop = false;
    for (const Input& in : files) {
        if (stop) break;
        // Files continue each other only when nothing is missing between
        // them: same recording, next index, and the previous one was closed
        // by a rotation.
        bool continues = seg && prev && prev->header.recording_id == in.header.recording_id &&
                         in.header.file_index == prev->header.file_index + 1 && seg->trailer &&
                         seg->trailer->reason == Trailer::Reason::Rotated;
        if (prev && seg && prev->header.recording_id == in.header.recording_id &&
            in.header.file_index == prev->header.file_index) {
            summary.problems.push_back(in.path + ": same recording file as " + prev->path + ": skipped");
            ++summary.files_skipped;
            continue;
        }
        if (!continues) {
            if (seg) visitor.segment_end(finish_segment(*seg));
            seg = OpenSegment{in.header, in.header.file_start_ns, in.header.drops_at_start, std::nullopt};
            ++summary.segments;
            visitor.segment_begin(in.header);
            if (in.header.carry_dropped)
                summary.problems.push_back(in.path + ": " + std::to_string(in.header.carry_dropped) +
                                           " sockets lingering when this file began were left out of it (" +
                                           std::to_string(in.header.carried) +
                                           " carried over; --max-size too small): their figures are missing");
        }
        // Opened again: files are read one at a time, never all held open.
        std::string error;
        auto source = FileSource::open(in.path, &error);
        if (!source) {
            summary.problems.push_back(in.path + ": cannot open: " + error);
            ++summary.files_skipped;
            continue;
        }
        visitor.file_begin(in.path, in.header);
        FileFeed feed(visitor, summary, !continues);
        FileReport report = read_file(*source, feed);
        stop = report.stopped;
        ++summary.files_read;
        if (std::string line = describe(in.path, report); !line.empty()) summary.problems.push_back(line);
        seg->end_ns = std::max(seg->end_ns, feed.last_ns);
        if (feed.have_drops) seg->drops = feed.drops;
        seg->trailer = feed.trailer_seen;
        visitor.file_end(in.path, report, feed.trailer_seen);
        prev = &in;
    }
    if (seg) visitor.segment_end(finish_segment(*seg));
    return summary;
}

}  // namespace tcplinger::rec
