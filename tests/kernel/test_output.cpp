// End to end, issue 10 sections 2 and 3: the built binary writing into a
// real pipe read by a real `head`, into the real /dev/full, and printing a
// comm that a hostile process chose, through every output kind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "bpf_objects.hpp"
#include "harness.hpp"

namespace tltest {
namespace {

// The comm of issue 10: a , b " c newline ESC [ 3 1 m 0xff (12 bytes: the
// kernel keeps all of it, TASK_COMM_LEN is 16).
const std::string kHostileComm = "a,b\"c\n\x1b[31m\xff";
// As text output shows it (render/escape.hpp).
const std::string kHostileText = "a,b\"c\\n\\x1b[31m\\xff";
// As a JSON or CSV reader gets it: 0xff is not UTF-8 and reads as U+00FF.
const std::string kHostileDecoded = "a,b\"c\n\x1b[31m\xc3\xbf";

struct Child {
    pid_t pid = -1;
    int out = -1, err = -1;  // pipes to read, when not redirected
};

// Runs args with stdout to out_fd (a new pipe if -1) and stdin from in_fd
// (/dev/null if -1); stderr is a pipe. Every pipe is O_CLOEXEC, so no other
// process holds an end the test did not give it.
Child start(const std::vector<std::string>& args, int out_fd = -1, int in_fd = -1) {
    int o[2] = {-1, -1}, e[2];
    if (out_fd < 0) {
        EXPECT_EQ(pipe2(o, O_CLOEXEC), 0);
    }
    EXPECT_EQ(pipe2(e, O_CLOEXEC), 0);
    std::fflush(nullptr);
    Child c;
    c.pid = fork();
    if (c.pid == 0) {
        int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(out_fd >= 0 ? out_fd : o[1], 1);
        dup2(e[1], 2);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    if (out_fd < 0) {
        close(o[1]);
        c.out = o[0];
    }
    close(e[1]);
    c.err = e[0];
    return c;
}

// Reads fd until `needle` appeared or the timeout; returns what was read.
std::string read_until(int fd, const std::string& needle, double timeout_s) {
    std::string got;
    uint64_t end = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
    while (got.find(needle) == std::string::npos && now_ns() < end) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
    }
    return got;
}

std::string slurp(int fd) {
    std::string s;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) s.append(buf, static_cast<size_t>(n));
    close(fd);
    return s;
}

// Exit code (128 + signal), or -1 if still running after timeout_s (then killed).
int wait_exit(pid_t pid, double timeout_s) {
    uint64_t end = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
    int st = 0;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ns() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        sleep_ms(5);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct Result {
    int code = -1;
    std::string out, err;
};

// Reads both pipes to EOF, then the exit code.
Result finish(Child c, double timeout_s = 60) {
    Result r;
    std::thread reader([&] { r.out = c.out >= 0 ? slurp(c.out) : ""; });
    r.err = slurp(c.err);
    reader.join();
    r.code = wait_exit(c.pid, timeout_s);
    return r;
}

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

bool printable_ascii_lines(const std::string& s) {
    for (unsigned char c : s)
        if (c != '\n' && (c < 0x20 || c >= 0x7f)) return false;
    return s.empty() || s.back() == '\n';
}

// The workload as a hostile user runs it: its comm set with
// prctl(PR_SET_NAME), n connections (the client closing first) or, with
// n < 0, connections until killed. Exit 5 if the kernel kept another comm.
int hostile_workload(uint16_t port, int n, const std::string& cgroup_dir = "") {
    if (!cgroup_dir.empty()) {
        std::ofstream procs(cgroup_dir + "/cgroup.procs");
        procs << 0 << std::flush;
        if (!procs) return 9;
    }
    prctl(PR_SET_NAME, kHostileComm.c_str());
    char kept[17] = {};
    prctl(PR_GET_NAME, kept);
    if (kHostileComm != kept) return 5;
    int l = tcp_listen(AF_INET, port);
    for (int i = 0; n < 0 || i < n; ++i) connect_close_client_first(l, AF_INET, port, 1);
    close(l);
    return 0;
}

// ---- 2. pipes: `tcplinger trace | head -N` ----

// tcplinger's stdout into a real head's stdin; head exits after its lines.
// tcplinger must follow within a second, exit 0 without an error line, and
// leave no program or link behind.
void into_head(const std::vector<std::string>& command, const std::string& head_lines, bool traffic) {
    Netns ns;
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    std::vector<std::string> args = {TL_BINARY, "--netns", ns.path()};
    args.insert(args.begin() + 1, command.begin(), command.end());
    Child tl = start(args, p[1]);
    Child head = start({"/usr/bin/head", "-n", head_lines}, -1, p[0]);
    close(p[0]);
    close(p[1]);
    pid_t load = traffic ? spawn_in(ns, [] { return hostile_workload(7401, -1); }) : -1;

    // The programs, while tcplinger holds them (loaded before it attaches,
    // so before its first line).
    std::set<uint32_t> progs;
    int head_status = 0;
    uint64_t deadline = now_ns() + 30'000'000'000ULL;
    while (waitpid(head.pid, &head_status, WNOHANG) == 0 && now_ns() < deadline) {
        for (uint32_t id : bpf_prog_ids_of(tl.pid)) progs.insert(id);
        sleep_ms(5);
    }
    const uint64_t head_gone = now_ns();
    // Once more: an idle trace's header can reach head within the 5 ms
    // between two samples of a load still in progress (CI saw 7 of 8).
    for (uint32_t id : bpf_prog_ids_of(tl.pid)) progs.insert(id);
    ASSERT_TRUE(WIFEXITED(head_status)) << "head did not finish";
    const int code = wait_exit(tl.pid, 1.0);
    const double after_head_s = static_cast<double>(now_ns() - head_gone) / 1e9;
    if (load > 0) {
        kill(load, SIGKILL);
        waitpid(load, nullptr, 0);
    }
    std::string head_out = slurp(head.out);
    std::string err = slurp(tl.err);
    slurp(head.err);

    ASSERT_NE(code, -1) << "tcplinger still running 1 s after head exited";
    EXPECT_EQ(code, 0) << err;
    EXPECT_LT(after_head_s, 1.0);
    for (const std::string& line : lines_of(err)) {
        EXPECT_EQ(line.find("failed"), std::string::npos) << err;  // quiet: EPIPE is no error
        EXPECT_EQ(line.find("error"), std::string::npos) << err;
    }
    EXPECT_EQ(lines_of(head_out).size(), static_cast<size_t>(std::stoi(head_lines))) << head_out;
    ASSERT_GE(progs.size(), 8u) << "saw the tracer's programs";
    EXPECT_TRUE(still_loaded(progs).empty()) << "programs still loaded 2 s after exit";
    EXPECT_TRUE(links_to(progs).empty()) << "links left attached";
}

// Under traffic: the write after head left fails with EPIPE.
TEST(Output, TraceJsonIntoHeadUnderTrafficExitsWithinASecondAndDetaches) { into_head({"trace", "-j"}, "3", true); }

// Idle: no write would ever fail; the pipe's POLLERR says head is gone.
TEST(Output, IdleTraceIntoHeadExitsWithinASecondAndDetaches) { into_head({"trace"}, "1", false); }

// stats --interval writes a report every interval: the one after head left
// fails with EPIPE.
TEST(Output, StatsIntervalIntoHeadExitsWithinASecondAndDetaches) {
    into_head({"stats", "-j", "--interval", "0.3"}, "1", true);
}

// ---- the recording shared by the replay tests, made by a hostile process ----

class OutputRecorded : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = std::filesystem::temp_directory_path() / ("tl-output-" + std::to_string(getpid()));
        std::filesystem::create_directories(dir_);
        Netns ns;
        Child rec = start({TL_BINARY, "record", "-o", (dir_ / "run.tlr").string(), "--netns", ns.path()});
        std::string ready = read_until(rec.err, kTracingLine, 30);
        ASSERT_NE(ready.find(kTracingLine), std::string::npos) << ready;
        pid_t w = spawn_in(ns, [] { return hostile_workload(7411, 3); });
        ASSERT_EQ(reap(w), 0);
        kill(rec.pid, SIGTERM);
        Result r = finish(rec);
        ASSERT_EQ(r.code, 0) << ready << r.err;
    }
    static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
    static std::string recording() { return (dir_ / "run.tlr").string(); }
    static std::filesystem::path dir_;
};
std::filesystem::path OutputRecorded::dir_;

// stdout is the real /dev/full: exactly one line naming the output, exit 1.
Result into_dev_full(const std::vector<std::string>& args) {
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    EXPECT_GE(full, 0);
    Child c = start(args, full);
    close(full);
    return finish(c);
}

void expect_write_error(const Result& r, const std::string& what) {
    EXPECT_EQ(r.code, 1) << what << ": " << r.err;
    size_t named = 0;
    for (const std::string& line : lines_of(r.err))
        if (line == "tcplinger: failed to write standard output: No space left on device") ++named;
    EXPECT_EQ(named, 1u) << what << ": " << r.err;
    EXPECT_EQ(r.err.find("exported"), std::string::npos) << what << ": nothing announced: " << r.err;
}

TEST_F(OutputRecorded, ReplayCommandsIntoDevFullSayWhatFailedAndExit1) {
    const std::string in = recording();
    const std::vector<std::vector<std::string>> commands = {
        {"trace", "-i", in},           {"trace", "-j", "-i", in},
        {"export", "-i", in},          {"export", "--format", "csv", "-i", in},
        {"report", "-i", in},          {"report", "-j", "-i", in},
        {"report", "--info", "-i", in}};
    for (auto args : commands) {
        std::string what;
        for (const auto& a : args) what += a + " ";
        args.insert(args.begin(), TL_BINARY);
        expect_write_error(into_dev_full(args), what);
    }
}

TEST(Output, LiveCommandsIntoDevFullSayWhatFailedAndExit1) {
    Netns ns;
    pid_t load = spawn_in(ns, [] { return hostile_workload(7421, -1); });
    const std::vector<std::vector<std::string>> commands = {{"trace", "--duration", "30"},
                                                            {"trace", "-j", "--duration", "30"},
                                                            {"stats", "--duration", "1"},
                                                            {"stats", "-j", "--duration", "1"}};
    for (auto args : commands) {
        std::string what;
        for (const auto& a : args) what += a + " ";
        args.insert(args.begin(), TL_BINARY);
        args.insert(args.end(), {"--netns", ns.path()});
        uint64_t t0 = now_ns();
        expect_write_error(into_dev_full(args), what);
        // trace stops at its first failed write, long before --duration.
        EXPECT_LT(static_cast<double>(now_ns() - t0) / 1e9, 20.0) << what;
    }
    kill(load, SIGKILL);
    waitpid(load, nullptr, 0);
}

// ---- 3. untrusted strings ----

TEST_F(OutputRecorded, HostileCommIsEscapedInTextAndValidInJsonAndCsv) {
    const std::string in = recording();
    // Text: trace -i and report print the comm escaped, nothing else.
    for (const std::vector<std::string>& args : {std::vector<std::string>{TL_BINARY, "trace", "-i", in},
                                                 std::vector<std::string>{TL_BINARY, "report", "-i", in}}) {
        Result r = finish(start(args));
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_TRUE(printable_ascii_lines(r.out)) << r.out;
        EXPECT_NE(r.out.find(kHostileText), std::string::npos) << args[1] << ":\n" << r.out;
    }
    // JSON: every line parses (nlohmann rejects ill-formed UTF-8), the comm reads back.
    Result j = finish(start({TL_BINARY, "export", "-i", in}));
    ASSERT_EQ(j.code, 0) << j.err;
    size_t hostile = 0;
    for (const std::string& line : lines_of(j.out)) {
        nlohmann::json v;
        ASSERT_NO_THROW(v = nlohmann::json::parse(line)) << line;
        if (v["comm"].is_string() && v["comm"].get<std::string>() == kHostileDecoded) ++hostile;
    }
    EXPECT_GE(hostile, 3u) << j.out;  // CLOSE -> SYN-SENT of each of its 3 connections, at least
    Result rj = finish(start({TL_BINARY, "report", "-j", "-i", in}));
    ASSERT_EQ(rj.code, 0) << rj.err;
    nlohmann::json report;
    ASSERT_NO_THROW(report = nlohmann::json::parse(rj.out)) << rj.out;
    bool found = false;
    for (const auto& g : report["groups"]) found |= g["comm"].is_string() && g["comm"] == kHostileDecoded;
    EXPECT_TRUE(found) << rj.out;

    // CSV: read back by Python's csv module with strict UTF-8 decoding.
    const std::string csv_path = (dir_ / "out.csv").string();
    int csv_fd = open(csv_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(csv_fd, 0);
    Child c = start({TL_BINARY, "export", "--format", "csv", "-i", in}, csv_fd);
    close(csv_fd);
    Result cr = finish(c);
    ASSERT_EQ(cr.code, 0) << cr.err;
    const std::string script =
        "import csv, sys\n"
        "with open(sys.argv[1], encoding='utf-8', errors='strict', newline='') as f:\n"
        "    rows = list(csv.reader(f))\n"
        "head, body = rows[0], rows[1:]\n"
        "assert all(len(r) == len(head) for r in body), 'ragged rows'\n"
        "comm = head.index('comm')\n"
        "print(sum(1 for r in body if r[comm] == 'a,b\"c\\n\\x1b[31m\\xff'))\n";
    Result py = finish(start({"/usr/bin/python3", "-c", script, csv_path}));
    ASSERT_EQ(py.code, 0) << py.err;
    EXPECT_EQ(std::stoul(py.out), hostile) << "every JSON line with the comm is a CSV row with it";
}

// A file name is chosen by whoever can write the directory: the line
// about a bad file names it escaped.
TEST_F(OutputRecorded, ProblemLinesEscapeFileNames) {
    const std::filesystem::path bad = dir_ / "bad";
    std::filesystem::create_directories(bad);
    std::ofstream(bad / "x\n\x1b[2J\xff.tlr") << "not a recording";
    Result r = finish(start({TL_BINARY, "report", "-i", bad.string()}));
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_TRUE(printable_ascii_lines(r.err)) << r.err;
    EXPECT_NE(r.err.find("x\\n\\x1b[2J\\xff.tlr: "), std::string::npos) << r.err;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
}

// Live: trace and stats (by process and by cgroup) at once, while the
// hostile process works from a cgroup with a hostile name (cgroup_mkdir
// refuses a newline, the rest it takes).
TEST(Output, LiveTextOutputsEscapeCommAndCgroupPath) {
    const std::string root = cgroup2_mount();
    ASSERT_FALSE(root.empty()) << "no cgroup2 hierarchy mounted";
    const std::string name = "tl,\"\x1b[31m\xff-" + std::to_string(getpid());
    const std::string cg = root + "/" + name;
    ASSERT_EQ(mkdir(cg.c_str(), 0755), 0) << strerror(errno);
    Netns ns;
    Child trace = start({TL_BINARY, "trace", "--netns", ns.path()});
    Child stats = start({TL_BINARY, "stats", "--netns", ns.path()});
    Child by_cg = start({TL_BINARY, "stats", "--by", "cgroup", "--netns", ns.path()});
    // Readiness: trace's header (after attach), stats' "tracing" line.
    std::string trace_head = read_until(trace.out, "TRANSITION", 30);
    std::string stats_err = read_until(stats.err, "tracing", 30);
    std::string by_cg_err = read_until(by_cg.err, "tracing", 30);
    pid_t w = spawn_in(ns, [&] { return hostile_workload(7431, 3, cg); });
    EXPECT_EQ(reap(w), 0);
    // No wait: the workload's own connect()/close() made the records before
    // it exited, and SIGTERM drains the ring buffer before the end.
    for (pid_t p : {trace.pid, stats.pid, by_cg.pid}) kill(p, SIGTERM);
    Result t = finish(trace), s = finish(stats), c = finish(by_cg);
    rmdir(cg.c_str());
    ASSERT_EQ(t.code, 0) << t.err;
    ASSERT_EQ(s.code, 0) << s.err;
    ASSERT_EQ(c.code, 0) << c.err;
    t.out = trace_head + t.out;
    EXPECT_TRUE(printable_ascii_lines(t.out)) << t.out;
    EXPECT_TRUE(printable_ascii_lines(s.out)) << s.out;
    EXPECT_TRUE(printable_ascii_lines(c.out)) << c.out;
    size_t lines_with_comm = 0;
    for (const std::string& line : lines_of(t.out))
        lines_with_comm += line.find(" " + kHostileText + " ") != std::string::npos;
    EXPECT_GE(lines_with_comm, 3u) << t.out;
    EXPECT_NE(s.out.find(" " + kHostileText), std::string::npos) << s.out;
    // The table's key column is cut at 28; the no-TIME-WAIT and other lines
    // are not, so look for the start of the path.
    EXPECT_NE(c.out.find("/tl,\"\\x1b[31m\\xff-"), std::string::npos) << c.out;
}

}  // namespace
}  // namespace tltest
