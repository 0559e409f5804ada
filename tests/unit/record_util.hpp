// Helpers for the recording tests: a synthetic event stream shaped like the
// tracer's, temporary directories, recordings written through the real
// Recorder, and the CLI run in a child with its output captured.
#pragma once
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "core/event.hpp"
#include "record/writer.hpp"

namespace rectest {

using namespace tcplinger;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;
constexpr uint32_t kHz = 250;

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/tl-rec-XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void spit(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
}

// Connections as the tracer reports them: client (connect, active close,
// timewait socket that expires or is reused), server (accept, CLOSE-WAIT,
// LAST-ACK); every `leak_every`th server never closes (a CLOSE-WAIT leak).
struct Workload {
    size_t connections = 200;
    uint64_t t0 = 100 * kSec;
    uint64_t spacing = 5 * kMs;
    size_t leak_every = 17;
    unsigned seed = 1;
};

inline uint64_t jiffies_at(uint64_t t) { return 4'294'000'000ULL + t / (kSec / kHz); }

inline std::vector<Event> make_events(const Workload& w) {
    std::mt19937_64 rng(w.seed);
    std::vector<Event> out;
    const Process clients[] = {{1201, "curl", 4001}, {1202, "python3", 4002}, {1203, "java", 4003}};
    const Process server{900, "nginx", 5000};
    const Process softirq{0, "swapper/1", 1};
    for (size_t i = 0; i < w.connections; ++i) {
        bool v6 = i % 5 == 4;
        const Process& client = clients[i % 3];
        uint64_t t = w.t0 + i * w.spacing + rng() % 1000;
        uint64_t cc = 10'000 + 2 * i, sc = cc + 1;
        uint16_t cport = static_cast<uint16_t>(30000 + i % 20000), sport = static_cast<uint16_t>(80 + i % 3);
        auto base = [&](EventKind k, uint64_t ts, uint64_t cookie, bool client_side) {
            Event e;
            e.kind = k;
            e.ts_ns = ts;
            e.cookie = cookie;
            e.netns = 4026532000u + (i % 2);
            e.local.family = e.remote.family = v6 ? 6 : 4;
            std::array<uint8_t, 16> a{};
            if (v6) {
                a[15] = 1;
            } else {
                a = {127, 0, 0, static_cast<uint8_t>(1 + i % 4)};
            }
            e.local.addr = e.remote.addr = a;
            e.local.port = client_side ? cport : sport;
            e.remote.port = client_side ? sport : cport;
            e.hz = kHz;
            e.task = softirq;
            e.task_tid = 0;
            return e;
        };
        auto state = [&](uint64_t ts, uint64_t cookie, bool cs, uint8_t from, uint8_t to, const Process* task,
                         uint64_t in_old = 0) {
            Event e = base(EventKind::State, ts, cookie, cs);
            e.old_state = from;
            e.new_state = to;
            e.aux0 = in_old;
            if (task) {
                e.flags |= flag::kTaskCtx;
                e.task = *task;
                e.task_tid = task->pid + 1;
            }
            out.push_back(e);
        };
        uint64_t est = t + 50'000 + rng() % 50'000;
        state(t, cc, true, kClose, kSynSent, &client);
        state(est - 20'000, sc, false, kListen, kSynRecv, nullptr);
        state(est, cc, true, kSynSent, kEstablished, nullptr, est - t);
        state(est + 10'000, sc, false, kSynRecv, kEstablished, nullptr, 30'000);
        Event acc = base(EventKind::Owner, est + 40'000, sc, false);
        acc.new_state = kEstablished;
        acc.flags = flag::kTaskCtx;
        acc.task = server;
        acc.task_tid = server.pid;
        out.push_back(acc);
        uint64_t close = est + (1 + rng() % 20) * kMs;
        state(close, cc, true, kEstablished, kFinWait1, &client, close - est);
        state(close + 30'000, sc, false, kEstablished, kCloseWait, nullptr, close - est);
        state(close + 40'000, cc, true, kFinWait1, kFinWait2, nullptr, 40'000);
        if (w.leak_every && i % w.leak_every == 0) continue;  // server never closes; client stays in FIN-WAIT-2
        uint64_t sclose = close + (1 + rng() % 50) * kMs;
        state(sclose, sc, false, kCloseWait, kLastAck, &server, sclose - close);
        uint64_t tw = sclose + 20'000;
        Event start = base(EventKind::TwStart, tw, cc, true);
        start.new_state = kTimeWait;
        start.aux0 = jiffies_at(tw) + 60 * kHz;
        start.aux1 = jiffies_at(tw);
        start.kaddr = 0xffff888000000000ULL + i * 256;  // live only: never recorded
        out.push_back(start);
        state(tw, cc, true, kFinWait2, kClose, nullptr, tw - close);
        state(tw + 25'000, sc, false, kLastAck, kClose, nullptr, 25'000);
        bool reused = i % 7 == 3;
        uint64_t end = reused ? tw + (1 + rng() % 5) * kSec : tw + 60 * kSec + rng() % (2 * kSec);
        Event cancel = base(EventKind::TwCancel, end, cc, true);
        cancel.new_state = kTimeWait;
        cancel.aux0 = start.aux0;
        cancel.aux1 = jiffies_at(end);
        cancel.flags = reused ? 0 : flag::kDue;
        out.push_back(cancel);
        Event why = base(reused ? EventKind::TwReuse : EventKind::TwExpire, end + 2'000, cc, true);
        why.new_state = kTimeWait;
        why.aux0 = cancel.aux0;
        why.aux1 = cancel.aux1;
        out.push_back(why);
    }
    std::stable_sort(out.begin(), out.end(), [](const Event& a, const Event& b) { return a.ts_ns < b.ts_ns; });
    return out;
}

// The live loop's shape: events, then an advance after each "poll".
template <typename OnEvent, typename OnPoll>
void play(const std::vector<Event>& events, uint64_t poll_every, OnEvent on_event, OnPoll on_poll) {
    uint64_t next = events.empty() ? 0 : events.front().ts_ns + poll_every;
    for (const Event& ev : events) {
        while (ev.ts_ns >= next) {
            on_poll(next);
            next += poll_every;
        }
        on_event(ev);
    }
    on_poll(next);
}

// A recording of `events` in `path` (rotation off unless opts say so).
struct Written {
    uint64_t started = 0, ended = 0;
    rec::RecorderTotals totals;
};
inline Written write_recording(rec::RecorderOptions opts, const std::vector<Event>& events, Engine* engine = nullptr,
                               uint64_t tail_ns = 0) {
    Written w;
    rec::Recorder r(opts);
    if (engine) r.carry_from(engine);
    w.started = events.empty() ? 1 : events.front().ts_ns - kMs;
    r.start(w.started);
    play(
        events, 50 * kMs,
        [&](const Event& ev) {
            if (engine) engine->process(ev);
            r.event(ev);
        },
        [&](uint64_t now) {
            if (engine) engine->advance(now);
            r.poll(now);
        });
    w.ended = (events.empty() ? w.started : events.back().ts_ns) + tail_ns + kMs;
    if (engine) engine->flush();
    r.finish(w.ended, DropCounters{events.size(), 0, 0, 0, 0, 0, 0});
    w.totals = r.totals();
    return w;
}

inline rec::RecorderOptions single_file(const std::string& path) {
    rec::RecorderOptions o;
    o.path = path;
    o.rotate = false;
    o.netns = 1;  // no namespace has inode 1: keeps the header small and the test independent of the host
    return o;
}

// The whole CLI in a child, as a user runs it.
struct CliResult {
    int code = -1;
    std::string out, err;
};
inline CliResult run_cli(std::vector<std::string> args) {
    char out_path[] = "/tmp/tl-cli-out-XXXXXX";
    char err_path[] = "/tmp/tl-cli-err-XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
    args.insert(args.begin(), "tcplinger");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        int code = tcplinger::run_cli(static_cast<int>(args.size()), argv.data());
        std::fflush(nullptr);
        std::cout.flush();
        _exit(code);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CliResult r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    close(out_fd);
    close(err_fd);
    unlink(out_path);
    unlink(err_path);
    return r;
}

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

}  // namespace rectest

namespace tcplinger {
// Short gtest output for events (the default dumps 208 raw bytes).
inline void PrintTo(const Event& e, std::ostream* os) {
    *os << "{kind " << static_cast<int>(e.kind) << " ts " << e.ts_ns << " cookie " << e.cookie << " "
        << static_cast<int>(e.old_state) << ">" << static_cast<int>(e.new_state) << "}";
}
}  // namespace tcplinger
