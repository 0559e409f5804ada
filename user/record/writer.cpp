#include "record/writer.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/abi_check.hpp"
#include "core/error.hpp"
#include "host/cgroup.hpp"
#include "record/format.hpp"

namespace fs = std::filesystem;

namespace tcplinger::rec {

namespace {
constexpr uint64_t kHeartbeatNs = 60'000'000'000ULL;  // an idle recorder still says "alive" each minute
constexpr const char* kNamePrefix = "tcplinger-";
// Held (flock) by the recorder writing a directory. Never unlinked while in
// use: unlinking a lock file lets a third recorder lock a new inode while a
// second still waits on the old one.
constexpr const char* kLockName = ".tcplinger.lock";

std::string errno_text() { return std::strerror(errno); }

// tcplinger-NNNNNN.tlr files in dir, by number.
std::vector<std::pair<uint32_t, std::string>> rotation_files(const std::string& dir) {
    std::vector<std::pair<uint32_t, std::string>> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename();
        if (name.rfind(kNamePrefix, 0) != 0 || name.size() <= std::strlen(kNamePrefix) + 4 ||
            name.substr(name.size() - 4) != kFileSuffix)
            continue;
        std::string digits = name.substr(std::strlen(kNamePrefix), name.size() - std::strlen(kNamePrefix) - 4);
        if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit) || digits.size() > 9) continue;
        out.emplace_back(static_cast<uint32_t>(std::stoul(digits)), e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string numbered_name(const std::string& dir, uint32_t n) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%s%06u%s", kNamePrefix, n, kFileSuffix);
    return (fs::path(dir) / buf).string();
}

bool disk_full(int err) { return err == ENOSPC || err == EFBIG || err == EDQUOT; }
}  // namespace

std::optional<uint64_t> parse_size(const std::string& text) {
    if (text.empty()) return std::nullopt;
    size_t i = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == 0 || i > 15) return std::nullopt;
    uint64_t n = std::stoull(text.substr(0, i));
    std::string unit = text.substr(i);
    if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
    if (unit.size() == 2 && (unit[1] == 'i' || unit[1] == 'I')) unit.pop_back();  // MiB
    if (unit.empty()) return n;
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
        case 'K':
            return unit.size() == 1 ? std::optional<uint64_t>(n << 10) : std::nullopt;
        case 'M':
            return unit.size() == 1 ? std::optional<uint64_t>(n << 20) : std::nullopt;
        case 'G':
            return unit.size() == 1 ? std::optional<uint64_t>(n << 30) : std::nullopt;
    }
    return std::nullopt;
}

Recorder::Recorder(RecorderOptions opts) : opts_(std::move(opts)) {
    std::error_code ec;
    std::string dir = opts_.path;
    if (opts_.rotate) {
        if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
            throw FatalError(dir +
                             " is not a directory: give a directory for rotating files, or a name ending in .tlr");
        if (!fs::exists(dir, ec)) {
            if (mkdir(dir.c_str(), 0700) != 0)
                throw FatalError("failed to create directory " + dir + ": " + errno_text());
            created_dir_ = true;
            // The new directory's own entry must survive a power cut too.
            fs::path leaf = fs::path(dir).lexically_normal();
            if (leaf.filename().empty()) leaf = leaf.parent_path();  // "dir/"
            std::string parent = leaf.parent_path().string();
            int pfd = open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (pfd >= 0) {
                fsync(pfd);
                close(pfd);
            }
        }
        lock_directory();
        auto existing = rotation_files(dir);
        next_name_ = existing.empty() ? 1 : existing.back().first + 1;
        frame_limit_ = std::clamp<uint64_t>(opts_.max_size / 8, 16 << 10, 1 << 20);
    } else {
        if (fs::exists(dir, ec))
            throw FatalError(dir + " exists: give a new file name (recordings are never overwritten)");
        dir = fs::path(dir).parent_path().string();
        if (dir.empty()) dir = ".";
    }
    dir_fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) throw FatalError("failed to open directory " + dir + ": " + errno_text());
    file_path_ = opts_.rotate ? numbered_name(opts_.path, next_name_) : opts_.path;
    fd_ = open(file_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) throw FatalError("failed to create " + file_path_ + ": " + errno_text());
    if (opts_.rotate) ++next_name_;
    own_files_.push_back(file_path_);
    ++totals_.files;
    if (!write_all(encode_prefix())) throw FatalError("failed to write " + file_path_ + ": " + errno_text());
    file_bytes_ = kPrefixSize;
    totals_.bytes += kPrefixSize;
}

Recorder::~Recorder() {
    if (fd_ >= 0) close(fd_);
    if (dir_fd_ >= 0) close(dir_fd_);
    // Tracing never started (e.g. the BPF programs failed to load): leave
    // no empty recording behind.
    if (!started_) {
        unlink(file_path_.c_str());
        if (created_dir_) {
            unlink((fs::path(opts_.path) / kLockName).c_str());
            rmdir(opts_.path.c_str());
        }
    }
    if (lock_fd_ >= 0) close(lock_fd_);
}

// Two recorders rotating in one directory would delete each other's files.
// The lock goes with the open file description, so it is released when
// this process exits however it exits (fs/locks.c: locks_remove_file).
void Recorder::lock_directory() {
    std::string path = (fs::path(opts_.path) / kLockName).string();
    lock_fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw FatalError("failed to create lock file " + path + ": " + errno_text());
    if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err != EWOULDBLOCK) throw FatalError("failed to lock " + path + ": " + std::strerror(err));
        char buf[32] = {};
        ssize_t n = pread(lock_fd_, buf, sizeof(buf) - 1, 0);
        long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
        throw FatalError(opts_.path + " is in use by another recorder (" +
                         (pid > 0 ? "pid " + std::to_string(pid) : std::string("pid unknown")) +
                         "): stop it, or record to another directory");
    }
    std::string pid = std::to_string(getpid()) + "\n";
    if (ftruncate(lock_fd_, 0) != 0 ||
        pwrite(lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        // The lock holds without the pid in it; only the message of a second recorder is poorer.
    }
}

std::vector<std::string> Recorder::files() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& f : own_files_)
        if (fs::exists(f, ec)) out.push_back(f);
    return out;
}

uint64_t Recorder::trailer_reserve() const {
    Trailer t;
    t.end_ns = t.events = UINT64_MAX;
    t.drops =
        DropCounters{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
    t.hz = UINT32_MAX;
    for (const auto& n : netns_) {
        NetnsFacts c{n.inode, n.path, {}, {}};
        for (const char* name : kTcpExtKept) c.tcpext[name] = UINT64_MAX;
        t.netns.push_back(std::move(c));
    }
    return kFrameHeaderSize + encode_trailer(t).size() + 64;
}

FileHeader Recorder::file_header(uint64_t file_start_ns) const {
    FileHeader h;
    h.format_version = kFormatVersion;
    h.tool_version = TL_VERSION;
    h.abi = TL_ABI_VERSION;
    h.hostname = host_.hostname;
    h.kernel_release = host_.kernel_release;
    h.boot_id = host_.boot_id;
    // A fresh offset per file: the clocks drift apart over weeks.
    h.clock_offset_ns = clock_offset_ns();
    h.hz = host_.hz ? host_.hz : hz_seen_;
    h.recording_id = recording_id_;
    h.file_index = file_index_;
    h.recording_start_ns = started_ns_;
    h.file_start_ns = file_start_ns;
    h.drops_at_start = drops_;
    h.command = opts_.command;
    h.netns = netns_;
    return h;
}

void Recorder::start(uint64_t started_mono_ns) {
    started_ns_ = started_mono_ns;
    std::random_device rd;
    recording_id_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    host_ = host_facts();
    netns_ = netns_facts(opts_.netns, true);
    file_index_ = 1;

    std::string header = encode_header(file_header(started_mono_ns));
    if (opts_.rotate && kPrefixSize + 2 * (kFrameHeaderSize + header.size()) + trailer_reserve() > opts_.max_size / 2)
        throw FatalError("--max-size " + std::to_string(opts_.max_size) +
                         " is too small: a file's header and trailer take " +
                         std::to_string(2 * header.size() + trailer_reserve()) + " bytes (" +
                         std::to_string(netns_.size()) + " network namespaces); give at least " +
                         std::to_string(4 * (2 * header.size() + trailer_reserve())) + " or trace one --netns");
    started_ = true;
    write_header(header, started_mono_ns);
    if (fd_ >= 0) fdatasync(fd_);
    fsync(dir_fd_);
    last_flush_ns_ = last_sync_ns_ = started_mono_ns;
}

void Recorder::event(const Event& ev) {
    if (failed()) {
        ++totals_.lost_events;
        return;
    }
    encoder_.event(ev);
    events_since_mark_ = true;
    ++file_events_;
    ++totals_.events;
    if (ev.hz) hz_seen_ = ev.hz;
    for (uint64_t id : {ev.task.cgroup, ev.owner.cgroup})
        if (id && !cgroups_named_.count(id)) cgroups_pending_.insert(id);
    if (encoder_.bytes() >= frame_limit_) flush(ev.ts_ns, false);
}

void Recorder::poll(uint64_t now_ns) {
    if (failed()) return;
    if (events_since_mark_) {
        encoder_.advance(now_ns);
        events_since_mark_ = false;
    }
    uint64_t since = now_ns - last_flush_ns_;
    if ((!encoder_.empty() && since >= opts_.flush_ns) || since >= kHeartbeatNs) flush(now_ns, true);
}

void Recorder::name_cgroups() {
    for (uint64_t id : cgroups_pending_) {
        encoder_.cgroup_name(id, sys::cgroup_path(id));
        cgroups_named_.insert(id);
    }
    cgroups_pending_.clear();
}

void Recorder::flush(uint64_t now_ns, bool sync) {
    if (failed() || fd_ < 0) return;
    name_cgroups();
    encoder_.finish(FlushStatus{now_ns, drops_}, payload_);
    write_frame(FrameType::Events, payload_, true, now_ns);
    last_flush_ns_ = now_ns;
    // At most one fdatasync a second: the "everything flushed reads back
    // after a power cut" promise, without a sync per frame under load.
    if (sync || now_ns - last_sync_ns_ >= opts_.flush_ns) {
        if (fd_ >= 0) fdatasync(fd_);
        last_sync_ns_ = now_ns;
    }
}

void Recorder::write_frame(FrameType type, std::string_view payload, bool may_rotate, uint64_t now_ns) {
    if (failed() || fd_ < 0) return;
    std::string_view frame = framer_.encode(type, frame_seq_, payload, opts_.zstd_level);
    if (opts_.rotate && may_rotate && file_bytes_ + frame.size() + trailer_reserve() > opts_.max_size) {
        close_file(now_ns, Trailer::Reason::Rotated);
        open_file(now_ns);
        if (failed()) return;
        // The new file's header frames went through framer_: encode again.
        frame = framer_.encode(type, frame_seq_, payload, opts_.zstd_level);
    }
    while (!write_all(frame)) {
        int err = errno;
        // Leave no partial frame behind: the file stays readable to its end.
        // (write_all writes at file_bytes_ with pwrite, so the next try
        // starts there too and never leaves a zero-filled hole.)
        if (ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) {
        }
        if (disk_full(err) && opts_.rotate && make_room()) continue;
        error_ = "failed to write " + file_path_ + ": " + std::strerror(err) +
                 "; recording stopped, everything written before is kept";
        if (type == FrameType::Events) totals_.lost_events += file_events_;
        return;
    }
    ++frame_seq_;
    file_bytes_ += frame.size();
    totals_.bytes += frame.size();
}

// Twice: every other frame is read without the ones around it, but only
// with a header. With its copy in the next frame, one damaged frame still
// costs only itself (the reader keeps the first header that checks).
void Recorder::write_header(std::string_view header, uint64_t now_ns) {
    write_frame(FrameType::Header, header, false, now_ns);
    write_frame(FrameType::Header, header, false, now_ns);
}

// At the tracked end of the file, not the fd's offset: after a short write
// and the ftruncate that removes it, the offset is past the end, and a
// write() there would leave a hole that reads back as zeros.
bool Recorder::write_all(std::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(file_bytes_ + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = ENOSPC;
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

bool Recorder::make_room() {
    auto existing = rotation_files(opts_.path);
    for (const auto& [n, path] : existing) {
        if (path == file_path_) continue;
        if (unlink(path.c_str()) != 0) return false;
        fsync(dir_fd_);
        ++totals_.deleted_files;
        if (!totals_.deleted_for_space++)
            notice_ = "the filesystem holding " + opts_.path +
                      " is full: deleting the oldest recording files early to go on (fewer than --max-files " +
                      std::to_string(opts_.max_files) + " kept); free space or lower --max-size";
        return true;
    }
    return false;
}

void Recorder::close_file(uint64_t end_ns, Trailer::Reason reason) {
    if (fd_ < 0) return;
    Trailer t;
    t.end_ns = end_ns;
    t.drops = drops_;
    t.netns = netns_counters(netns_);
    t.reason = reason;
    t.hz = hz_seen_;
    t.events = file_events_;
    std::string error = error_;
    error_.clear();  // a trailer is still worth a try after a failed frame
    write_frame(FrameType::Trailer, encode_trailer(t), false, end_ns);
    if (!error.empty()) error_ = error;
    fdatasync(fd_);
    close(fd_);
    fd_ = -1;
    if (reason == Trailer::Reason::Rotated) netns_ = t.netns;
}

void Recorder::open_file(uint64_t now_ns) {
    auto existing = rotation_files(opts_.path);
    // Keep at most max_files, this one included: delete before creating.
    for (size_t i = 0; i + opts_.max_files <= existing.size(); ++i) {
        if (unlink(existing[i].second.c_str()) == 0) ++totals_.deleted_files;
    }
    file_path_ = numbered_name(opts_.path, next_name_++);
    fd_ = open(file_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) {
        error_ = "failed to create " + file_path_ + ": " + errno_text() + "; recording stopped";
        return;
    }
    own_files_.push_back(file_path_);
    ++totals_.files;
    file_bytes_ = 0;
    frame_seq_ = 0;
    file_events_ = 0;
    cgroups_named_.clear();
    ++file_index_;
    std::string prefix = encode_prefix();
    while (!write_all(prefix)) {
        int err = errno;
        if (ftruncate(fd_, 0) != 0) {
        }
        if (disk_full(err) && make_room()) continue;
        error_ = "failed to write " + file_path_ + ": " + std::strerror(err) + "; recording stopped";
        return;
    }
    file_bytes_ = kPrefixSize;
    totals_.bytes += kPrefixSize;

    // A fresh header: clocks drift, sysctls change, namespaces come and go.
    std::vector<NetnsFacts> with_sysctls = netns_facts(opts_.netns, true);
    // TcpExt at the start of this file: the previous file's end values.
    for (auto& n : with_sysctls)
        for (const auto& prev : netns_)
            if (prev.inode == n.inode && !prev.tcpext.empty()) n.tcpext = prev.tcpext;
    netns_ = with_sysctls;
    FileHeader h = file_header(now_ns);
    std::vector<std::string> carry = carry_payloads(now_ns, &h.carried, &h.carry_dropped);
    totals_.carried += h.carried;
    totals_.carry_dropped += h.carry_dropped;
    write_header(encode_header(h), now_ns);
    for (const auto& payload : carry) write_frame(FrameType::Carry, payload, false, now_ns);
    fdatasync(fd_);
    fsync(dir_fd_);
}

std::vector<std::string> Recorder::carry_payloads(uint64_t now_ns, uint64_t* carried, uint64_t* dropped) {
    std::vector<std::string> frames;
    *carried = *dropped = 0;
    if (!engine_) return frames;
    // The long stays first (CLOSE-WAIT leaks, orphaned FIN-WAIT-2): when the
    // carry is capped, what goes are TIME-WAITs, which end within 60 s anyway.
    std::vector<std::pair<uint64_t, const Connection*>> lingering;
    for (const auto& [cookie, c] : engine_->connections())
        if (is_lingering(c.state)) lingering.emplace_back(cookie, &c);
    // By cookie within each kind: small cookie deltas, and the same bytes
    // for the same sockets.
    std::sort(lingering.begin(), lingering.end(), [](const auto& a, const auto& b) {
        bool a_tw = a.second->state == kTimeWait, b_tw = b.second->state == kTimeWait;
        return a_tw != b_tw ? b_tw : a.first < b.first;
    });
    const uint64_t budget = opts_.rotate ? opts_.max_size / 4 : UINT64_MAX;
    uint64_t used = 0;
    EventsEncoder enc;
    // The clock relation learned so far (Engine JiffyClock), as a probe
    // sample dated exactly on a jiffy boundary: a file read alone learns
    // the same relation as the whole recording.
    if (const JiffyClock& clock = engine_->clock(); clock.known()) {
        Event ev;
        ev.kind = EventKind::TwProbe;
        ev.aux1 = clock.jiffy_at(now_ns);
        ev.ts_ns = clock.jiffy_start(ev.aux1);
        ev.hz = clock.hz();
        enc.event(ev);
    }
    for (const auto& [cookie, cp] : lingering) {
        const Connection& c = *cp;
        if (used + enc.bytes() >= budget) {
            ++*dropped;
            continue;
        }
        // As the tracer's snapshot describes a socket present at start
        // (Engine::on_existing): the timewait substate in old_state.
        Event ev;
        ev.kind = EventKind::Existing;
        ev.ts_ns = now_ns;
        ev.cookie = cookie;
        ev.netns = c.netns;
        ev.local = c.local;
        ev.remote = c.remote;
        ev.hz = c.timewait ? engine_->facts().hz : 0;  // as the timer records it came from said
        ev.new_state = c.timewait ? static_cast<uint8_t>(kTimeWait) : c.state;
        ev.old_state = c.timewait ? c.state : 0;
        enc.event(ev);
        const Process& charged = responsible(c, c.state);
        if (charged.known()) {
            ev.kind = EventKind::Owner;
            ev.task = charged;
            enc.event(ev);
        }
        ++*carried;
        if (enc.bytes() >= frame_limit_) {
            used += enc.bytes();
            frames.push_back(enc.finish(std::nullopt));
        }
    }
    if (!enc.empty()) frames.push_back(enc.finish(std::nullopt));
    return frames;
}

void Recorder::finish(uint64_t end_mono_ns, const DropCounters& drops) {
    drops_ = drops;
    if (fd_ < 0) return;
    if (!failed()) {
        if (events_since_mark_) {
            encoder_.advance(end_mono_ns);
            events_since_mark_ = false;
        }
        flush(end_mono_ns, false);
    }
    close_file(end_mono_ns, failed() ? Trailer::Reason::WriteFailed : Trailer::Reason::Stopped);
    fsync(dir_fd_);
}

}  // namespace tcplinger::rec
