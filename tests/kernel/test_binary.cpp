// End to end: the built tcplinger binary, as a user runs it.
#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "../common/json.hpp"
#include "bpf_objects.hpp"
#include "capture/live.hpp"
#include "harness.hpp"

namespace tltest {
namespace {

struct Proc {
    pid_t pid = -1;
    int out = -1, err = -1;
    std::string err_seen;  // stderr already read by wait_for_tracing
};

// env: extra NAME=VALUE settings for the child.
Proc launch(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    int o[2], e[2];
    EXPECT_EQ(pipe(o), 0);
    EXPECT_EQ(pipe(e), 0);
    Proc p;
    p.pid = fork();
    if (p.pid == 0) {
        dup2(o[1], 1);
        dup2(e[1], 2);
        close(o[0]);
        close(e[0]);
        for (const auto& kv : env) putenv(const_cast<char*>(kv.c_str()));
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(o[1]);
    close(e[1]);
    p.out = o[0];
    p.err = e[0];
    return p;
}

std::string slurp(int fd) {
    std::string s;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) s.append(buf, n);
    close(fd);
    return s;
}

struct Result {
    int code = -1;
    std::string out, err;
};

// Reads both pipes (stdout on a thread) and waits for the exit code.
Result finish(Proc p) {
    Result r;
    std::string out;
    std::thread reader([&] { out = slurp(p.out); });
    r.err = p.err_seen + slurp(p.err);
    reader.join();
    r.out = out;
    int st = 0;
    waitpid(p.pid, &st, 0);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

Result run(const std::vector<std::string>& args) { return finish(launch(args)); }

int client_closes_first(uint16_t port, int n);

// Launches a live command and returns once it says it is tracing.
Proc launch_ready(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    Proc p = launch(args, env);
    EXPECT_TRUE(wait_for_tracing(p.err, &p.err_seen)) << "no readiness line; stderr: " << p.err_seen;
    return p;
}

TEST(Binary, TraceJsonPrintsOneValidLinePerTransitionForBothFamilies) {
    Netns ns;
    Proc p = launch_ready({TL_BINARY, "trace", "-j", "--duration", "4", "--netns", ns.path()});
    const uint16_t port = 7201;
    pid_t child = spawn_in(ns, [&] {
        for (int family : {AF_INET, AF_INET6}) {
            int l = tcp_listen(family, port);
            connect_close_client_first(l, family, port, 1);
            close(l);
        }
        return 0;
    });
    ASSERT_EQ(reap(child), 0);
    Result r = finish(p);
    ASSERT_EQ(r.code, 0) << r.err;
    std::istringstream lines(r.out);
    std::string line;
    std::map<int, std::vector<std::string>> client_seq;
    const char* keys[] = {"ts",    "ts_ns", "pid",   "tid", "comm", "cookie",  "netns",  "family",    "laddr",
                          "lport", "raddr", "rport", "old", "new",  "prev_ms", "reason", "owner_pid", "in_task"};
    size_t n = 0;
    while (std::getline(lines, line)) {
        ++n;
        auto v = parse_json(line);
        ASSERT_TRUE(v) << "not JSON: " << line;
        for (const char* k : keys) ASSERT_TRUE(v->contains(k)) << k << " missing in " << line;
        EXPECT_EQ((*v).at("netns").get<double>(), ns.inode());
        EXPECT_EQ((*v).at("ts").get<std::string>().size(), 27u)
            << (*v).at("ts").get<std::string>();  // 2026-11-22T09:44:53.123456Z
        int fam = static_cast<int>((*v).at("family").get<double>());
        EXPECT_TRUE(fam == 4 || fam == 6);
        if ((*v).at("rport").get<double>() == port)
            client_seq[fam].push_back((*v).at("old").get<std::string>() + ">" + (*v).at("new").get<std::string>());
        if ((*v).at("old").get<std::string>() == "CLOSE") {
            EXPECT_TRUE((*v).at("prev_ms").is_null());
        }
    }
    EXPECT_GE(n, 20u);
    for (int fam : {4, 6}) {
        std::vector<std::string> want = {"CLOSE>SYN-SENT", "SYN-SENT>ESTABLISHED", "ESTABLISHED>FIN-WAIT-1",
                                         "FIN-WAIT-1>FIN-WAIT-2", "FIN-WAIT-2>TIME-WAIT"};
        EXPECT_EQ(client_seq[fam], want) << "family " << fam;
    }
    EXPECT_NE(r.err.find(" 0 lost"), std::string::npos) << r.err;
}

TEST(Binary, WithoutPrivilegesOneLineNamingCapabilitiesExit1) {
    Result r = run({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                    TL_BINARY, "trace"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("CAP_BPF"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("CAP_PERFMON"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

void expect_detached_after(const std::function<void(pid_t)>& stop, int want_code) {
    Proc p = launch_ready({TL_BINARY, "stats", "-j", "--duration", "30"});
    int attached = attached_programs_in(p.err_seen);
    std::set<uint32_t> progs = bpf_prog_ids_of(p.pid);
    ASSERT_GE(progs.size(), 8u) << "the tracer loaded its programs";
    EXPECT_GE(attached, 8) << p.err_seen;
    EXPECT_EQ(links_to(progs).size(), static_cast<size_t>(attached)) << "one link per attached program";
    stop(p.pid);
    Result r = finish(p);
    EXPECT_EQ(r.code, want_code) << r.err;
    EXPECT_TRUE(still_loaded(progs).empty()) << "programs still loaded 2 s after exit";
    EXPECT_TRUE(links_to(progs).empty());
    if (want_code == 0) {
        EXPECT_TRUE(parse_json(r.out)) << r.out;
    }
}

TEST(Binary, NothingLeftAttachedAfterSigterm) {
    expect_detached_after([](pid_t pid) { kill(pid, SIGTERM); }, 0);
}

TEST(Binary, NothingLeftAttachedAfterDuration) {
    Proc p = launch_ready({TL_BINARY, "trace", "--duration", "1"});
    // Taken while it traces: the programs whose unloading is checked below
    // (a guessed sleep used to find none when loading was slow).
    std::set<uint32_t> progs = bpf_prog_ids_of(p.pid);
    ASSERT_GE(progs.size(), 8u) << "read while tracing";
    EXPECT_EQ(links_to(progs).size(), static_cast<size_t>(attached_programs_in(p.err_seen)));
    Result r = finish(p);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(links_to(progs).empty());
    EXPECT_TRUE(still_loaded(progs).empty()) << "programs still loaded 2 s after exit";
}

TEST(Binary, BadArgumentsExit2) {
    EXPECT_EQ(run({TL_BINARY, "trace", "--state", "WAITING"}).code, 2);
    EXPECT_EQ(run({TL_BINARY, "trace", "--lport", "0"}).code, 2);
    EXPECT_EQ(run({TL_BINARY, "stats", "--by", "color"}).code, 2);
    EXPECT_EQ(run({TL_BINARY, "frobnicate"}).code, 2);
    EXPECT_EQ(run({TL_BINARY}).code, 2);
    Result e = run({TL_BINARY, "trace", "--netns", "/nonexistent/ns"});
    EXPECT_EQ(e.code, 1);
    EXPECT_NE(e.err.find("network namespace"), std::string::npos) << e.err;
}

// Section 4 of issue 10, as a user types it: a bad value is CLI11's message
// and exit 2; a value that parses but names nothing, one line and exit 1.
TEST(Binary, BadNumbersAndStatesExit2WithAMessage) {
    struct Case {
        std::vector<std::string> args;
        const char* says;
    };
    const std::vector<Case> cases = {
        {{"trace", "--netns", "99999999999999999999"}, "out of range"},  // was an abort (134)
        {{"trace", "--netns", "4294967297"}, "1 to 4294967295"},         // was silently 1
        {{"trace", "--duration", "-1"}, "give seconds"},                 // was a 309-digit range
        {{"stats", "--duration", "1e11"}, "give seconds"},               // exited at once
        {{"trace", "--duration", "nan"}, "give seconds"},                // ran forever
        {{"stats", "--interval", "nan"}, "give seconds"},
        {{"stats", "--state", "ESTABLISHED"}, "TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT, LAST-ACK and CLOSING"},
        {{"record", "-o", "/nonexistent/x", "--pid", "1"}, "filters apply when reading"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> args = {TL_BINARY};
        args.insert(args.end(), c.args.begin(), c.args.end());
        Result r = run(args);
        EXPECT_EQ(r.code, 2) << c.args[1] << " " << c.args[2] << ": " << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
        EXPECT_LT(r.err.size(), 300u) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

// An inode no process or /run/netns file has: tracing it would show
// nothing, exit 0. Now one line and exit 1, before a file is made.
TEST(Binary, NetnsInodeThatNamesNothingExit1) {
    char tmpl[] = "/tmp/tl-kbin-XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    for (std::vector<std::string> args :
         std::vector<std::vector<std::string>>{{TL_BINARY, "trace", "--netns", "12345"},
                                               {TL_BINARY, "stats", "--netns", "12345", "--duration", "1"},
                                               {TL_BINARY, "record", "-o", dir + "/r.tlr", "--netns", "12345"}}) {
        Result r = run(args);
        EXPECT_EQ(r.code, 1) << args[1] << ": " << r.err;
        EXPECT_NE(r.err.find("no network namespace has inode 12345"), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    EXPECT_FALSE(std::filesystem::exists(dir + "/r.tlr")) << "nothing created on disk";
    Netns ns;  // an inode that exists is taken
    Result ok = run({TL_BINARY, "trace", "--duration", "0.2", "--netns", std::to_string(ns.inode())});
    EXPECT_EQ(ok.code, 0) << ok.err;
    std::filesystem::remove_all(dir);
}

// A path ending in .tlr is one file, never a directory of rotated files;
// the summary adds up with the drops line, and says "1 file".
TEST(Binary, RecordToATlrPathWritesOneFileAndASummaryThatAddsUp) {
    char tmpl[] = "/tmp/tl-kbin-XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    Netns ns;
    const std::string file = dir + "/name.tlr";
    Proc p = launch_ready({TL_BINARY, "record", "-o", file, "--netns", ns.path(), "--duration", "1.5"});
    pid_t child = spawn_in(ns, [] { return client_closes_first(7401, 20); });
    EXPECT_EQ(reap(child), 0);
    Result r = finish(p);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::is_regular_file(file)) << r.err;
    std::smatch rec, drops;
    ASSERT_TRUE(std::regex_search(
        r.err, rec,
        std::regex(R"(recorded (\d+) events \((\d+) kernel records, (\d+) from the start )"
                   R"(snapshot and timewait probes\), \d+ bytes \([0-9.]+ bytes/event\) in 1 file\n)")))
        << r.err;
    ASSERT_TRUE(std::regex_search(r.err, drops, std::regex(R"(tcplinger: (\d+) events, 0 lost)"))) << r.err;
    EXPECT_EQ(std::stoull(rec[2]), std::stoull(drops[1])) << "the kernel records are the drops line's events\n"
                                                          << r.err;
    EXPECT_EQ(std::stoull(rec[1]), std::stoull(rec[2]) + std::stoull(rec[3])) << r.err;
    EXPECT_GE(std::stoull(rec[2]), 20u * 5) << r.err;

    // An existing directory called *.tlr: one line, exit 1, nothing written in it.
    const std::string tlr_dir = dir + "/old.tlr";
    ASSERT_EQ(mkdir(tlr_dir.c_str(), 0700), 0);
    Result d = run({TL_BINARY, "record", "-o", tlr_dir, "--duration", "0.5"});
    EXPECT_EQ(d.code, 1) << d.err;
    EXPECT_NE(d.err.find("is a directory, but a path ending in .tlr names one recording file"), std::string::npos)
        << d.err;
    EXPECT_TRUE(std::filesystem::is_empty(tlr_dir));
    std::filesystem::remove_all(dir);
}

// stats --interval: every report carries its time and is set apart.
TEST(Binary, IntervalReportsCarryTheirTime) {
    Netns ns;
    Result text = run({TL_BINARY, "stats", "--netns", ns.path(), "--interval", "0.5", "--duration", "1.3"});
    ASSERT_EQ(text.code, 0) << text.err;
    std::regex heading(R"(=== \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, [0-9.]+ s since start ===\n)");
    auto n = std::distance(std::sregex_iterator(text.out.begin(), text.out.end(), heading), std::sregex_iterator());
    EXPECT_EQ(n, 3) << "two interval reports and the final one\n" << text.out;
    Result json = run({TL_BINARY, "stats", "-j", "--netns", ns.path(), "--interval", "0.5", "--duration", "1.3"});
    ASSERT_EQ(json.code, 0) << json.err;
    std::istringstream lines(json.out);
    std::string line;
    std::vector<std::string> stamps;
    while (std::getline(lines, line)) {
        auto v = parse_json(line);
        ASSERT_TRUE(v) << line;
        stamps.push_back((*v).at("ts").get<std::string>());
        EXPECT_EQ(stamps.back().size(), 27u) << line;
    }
    EXPECT_EQ(stamps.size(), 3u) << json.out;
    EXPECT_TRUE(std::is_sorted(stamps.begin(), stamps.end()));
}

// --top bounds -j too (it was ignored there).
TEST(Binary, TopBoundsJson) {
    Netns ns;
    Proc p = launch_ready({TL_BINARY, "stats", "-j", "--top", "1", "--netns", ns.path()});
    pid_t a = spawn_in(ns, [] { return client_closes_first(7411, 3); });
    pid_t b = spawn_in(ns, [] { return client_closes_first(7412, 2); });
    EXPECT_EQ(reap(a), 0);
    EXPECT_EQ(reap(b), 0);
    kill(p.pid, SIGTERM);
    Result r = finish(p);
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = parse_json(r.out);
    ASSERT_TRUE(v) << r.out;
    ASSERT_EQ((*v).at("groups").size(), 1u) << r.out;
    EXPECT_EQ((*v).at("groups")[0].at("states").at("TIME-WAIT").at("entered").get<double>(), 3) << r.out;
    EXPECT_EQ((*v).at("groups_total").get<double>(), 2) << r.out;
    EXPECT_EQ((*v).at("states").at("TIME-WAIT").at("entered").get<double>(), 5) << r.out;
}

// Every live mode says when it is attached and tracing, on stderr, after
// the start snapshot; what happens after the line is traced.
TEST(Binary, EveryLiveModeSaysWhenItIsTracing) {
    char tmpl[] = "/tmp/tl-kbin-XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    for (std::vector<std::string> args :
         std::vector<std::vector<std::string>>{{TL_BINARY, "trace", "--duration", "1"},
                                               {TL_BINARY, "stats", "--duration", "1"},
                                               {TL_BINARY, "stats", "-j", "--duration", "1"},
                                               {TL_BINARY, "record", "-o", dir + "/r.tlr", "--duration", "1"}}) {
        Proc p = launch_ready(args);
        int n = attached_programs_in(p.err_seen);
        EXPECT_GE(n, 8) << p.err_seen;
        Result r = finish(p);
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.err.find(kTracingLine), r.err.rfind(kTracingLine)) << "once: " << r.err;
        // The line precedes the run's summary, and follows its start line.
        EXPECT_LT(r.err.find(kTracingLine), r.err.find(" events, ")) << r.err;
    }
    std::filesystem::remove_all(dir);
}

// sd_notify for a systemd Type=notify service: READY=1 once tracing, then
// STOPPING=1, on the datagram socket NOTIFY_SOCKET names.
TEST(Binary, NotifiesSystemdReadyThenStopping) {
    char tmpl[] = "/tmp/tl-kbin-XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    const std::string path = dir + "/notify";
    int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(sock, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
    timeval tv{30, 0};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    auto receive = [&] {
        char buf[512];
        ssize_t n = recv(sock, buf, sizeof(buf), 0);
        return n > 0 ? std::string(buf, n) : std::string();
    };
    Proc p = launch({TL_BINARY, "stats", "-j", "--duration", "30"}, {"NOTIFY_SOCKET=" + path});
    std::string ready = receive();
    EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
    EXPECT_NE(ready.find("STATUS=tracing (attached "), std::string::npos) << ready;
    // systemd's READY=1 comes once the stderr line is out: both say the same.
    ASSERT_TRUE(wait_for_tracing(p.err, &p.err_seen, 1)) << p.err_seen;
    std::set<uint32_t> progs = bpf_prog_ids_of(p.pid);
    EXPECT_GE(links_to(progs).size(), 8u) << "attached when READY=1 arrived";
    kill(p.pid, SIGTERM);
    std::string stopping = receive();
    EXPECT_EQ(stopping, "STOPPING=1");
    Result r = finish(p);
    EXPECT_EQ(r.code, 0) << r.err;
    close(sock);
    std::filesystem::remove_all(dir);
}

TEST(Binary, HelpHasUsageAndExamples) {
    for (const char* cmd : {"trace", "stats"}) {
        Result r = run({TL_BINARY, cmd, "--help"});
        EXPECT_EQ(r.code, 0);
        EXPECT_NE(r.out.find("EXAMPLES"), std::string::npos) << cmd;
        EXPECT_NE(r.out.find("--netns"), std::string::npos) << cmd;
    }
}

// n connections to a listener of this process; the client closes first, so
// each leaves one client-side TIME-WAIT.
int client_closes_first(uint16_t port, int n) {
    int l = tcp_listen(AF_INET, port);
    if (l < 0) return 2;
    for (int i = 0; i < n; ++i) {
        int c = tcp_connect(AF_INET, port);
        int a = tcp_accept(l);
        if (c < 0 || a < 0) return 3;
        close(c);
        read_until_eof(a);
        close(a);
    }
    close(l);
    return 0;
}

// --cgroup keeps the stays of processes in that cgroup (v2) and nothing
// else: two processes in the same namespace, one moved into a new cgroup.
TEST(Binary, CgroupFilterKeepsOnlyThatCgroupsStays) {
    std::string root = cgroup2_mount();
    ASSERT_FALSE(root.empty()) << "no cgroup2 hierarchy mounted";
    const std::string name = "tltest-" + std::to_string(getpid());
    const std::string dir = root + "/" + name;
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << dir << ": " << strerror(errno);
    struct stat st {};
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    Netns ns;
    Proc p = launch_ready({TL_BINARY, "stats", "-j", "--by", "cgroup", "--cgroup", "/" + name, "--netns", ns.path()});
    pid_t inside = spawn_in(ns, [&] {
        std::ofstream procs(dir + "/cgroup.procs");
        procs << 0 << std::flush;  // this process
        if (!procs) return 9;
        return client_closes_first(7301, 5);
    });
    pid_t outside = spawn_in(ns, [&] { return client_closes_first(7302, 7); });
    EXPECT_EQ(reap(inside), 0);
    EXPECT_EQ(reap(outside), 0);
    kill(p.pid, SIGTERM);  // stopping drains the ring buffer: nothing to wait for
    Result r = finish(p);
    rmdir(dir.c_str());
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = parse_json(r.out);
    ASSERT_TRUE(v) << r.out;
    EXPECT_EQ((*v).at("states").at("TIME-WAIT").at("entered").get<double>(), 5) << r.out;
    ASSERT_EQ((*v).at("groups").size(), 1u) << r.out;
    EXPECT_EQ((*v).at("groups")[0].at("cgroup_id").get<double>(), static_cast<double>(st.st_ino)) << r.out;
    EXPECT_EQ((*v).at("groups")[0].at("cgroup").get<std::string>(), "/" + name) << r.out;
}

// -v passes libbpf's own log through; without it only tcplinger speaks.
TEST(Binary, VerboseShowsLibbpfLog) {
    Result quiet = run({TL_BINARY, "trace", "--duration", "0.5"});
    EXPECT_EQ(quiet.code, 0) << quiet.err;
    EXPECT_EQ(quiet.err.find("libbpf: "), std::string::npos) << quiet.err;
    Result loud = run({TL_BINARY, "trace", "-v", "--duration", "0.5"});
    EXPECT_EQ(loud.code, 0) << loud.err;
    EXPECT_NE(loud.err.find("libbpf: "), std::string::npos) << loud.err;
}

// ---- issue 9.5/9.6: trace, stats, record side by side, against tcpdump ----

constexpr uint64_t kMs = 1'000'000;
// The recovered moments of issue 9 (parts 4-5): CONFIG_HZ here is 250
// (KERNEL_NOTES.md). The learned jiffy boundary is late by the tick's own
// latency (the jiffies update runs in the tick interrupt), and the jiffies
// the kernel read at the move may lag a late tick (seen here, in a VM: 1.1 ms).
constexpr uint64_t kTick = 1'000'000'000 / 250;
constexpr uint64_t kClockErr = 1'500'000;
uint64_t distance(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

// Reads stderr until a line containing `what` (the tool's start line).
bool wait_for_line(int fd, const std::string& what, std::string& seen, int timeout_ms) {
    uint64_t end = now_ns() + static_cast<uint64_t>(timeout_ms) * kMs;
    char buf[4096];
    while (seen.find(what) == std::string::npos) {
        if (now_ns() >= end) return false;
        fd_set set;
        FD_ZERO(&set);
        FD_SET(fd, &set);
        timeval tv{0, 50'000};
        if (select(fd + 1, &set, nullptr, nullptr, &tv) <= 0) continue;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) return false;
        seen.append(buf, static_cast<size_t>(n));
    }
    return true;
}

struct Move {
    uint64_t ts_ns = 0;  // monotonic
    double prev_ms = 0, err_ms = 0;
};

// FIN-WAIT-2 -> TIME-WAIT rows of trace -j by client port; checks time order.
std::map<uint16_t, Move> moves_of(const std::string& jsonl, uint16_t server_port) {
    std::map<uint16_t, Move> out;
    std::istringstream lines(jsonl);
    uint64_t last = 0;
    for (std::string line; std::getline(lines, line);) {
        auto v = parse_json(line);
        EXPECT_TRUE(v) << line;
        if (!v) continue;
        uint64_t ts = (*v).at("ts_ns").get<uint64_t>();
        EXPECT_LE(last, ts) << "trace -j in time order: " << line;
        last = std::max(last, ts);
        if ((*v).at("old").get<std::string>() != "FIN-WAIT-2" || (*v).at("new").get<std::string>() != "TIME-WAIT")
            continue;
        if (static_cast<uint16_t>((*v).at("rport").get<double>()) != server_port) continue;
        EXPECT_TRUE((*v).at("prev_ms_err").is_number()) << line;
        out[static_cast<uint16_t>((*v).at("lport").get<double>())] =
            Move{ts, (*v).at("prev_ms").get<double>(), (*v).at("prev_ms_err").get<double>()};
    }
    return out;
}

// Orphaned client FIN-WAIT-2s that the server's FIN ends after 0 (sub-jiffy)
// to 150 ms: the move to TIME-WAIT re-arms the timer within its wheel
// bucket, unseen. trace, stats (lean BPF), record run side by side; report
// and trace -i read the recording. The recovered moment: identical between
// the recording and its readers, within the live sessions' own timestamp
// differences of each other (the old code differed by up to a jiffy), and
// within its stated bound of the FIN that tcpdump saw.
TEST(Binary, RecoveredMoveIsTheSameInEveryModeAndWithinItsBoundOfTcpdump) {
    Netns ns;
    const uint16_t port = 7402;
    char tmpl[] = "/tmp/tl-timing-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    const std::string rec = dir + "/run.tlr";

    Proc dump = launch({"/usr/sbin/ip", "netns", "exec", ns.name(), "tcpdump", "-i", "lo", "-nn", "-l", "-tt",
                        "--time-stamp-precision=nano", "tcp[tcpflags] & tcp-fin != 0"});
    std::string dump_err;
    ASSERT_TRUE(wait_for_line(dump.err, "listening on", dump_err, 10'000)) << dump_err;
    Proc trace = launch({TL_BINARY, "trace", "-j", "--netns", ns.path()});
    Proc stats = launch({TL_BINARY, "stats", "-j", "--netns", ns.path()});
    Proc record = launch({TL_BINARY, "record", "-o", rec, "--netns", ns.path()});
    for (Proc* p : {&trace, &stats, &record})
        ASSERT_TRUE(wait_for_tracing(p->err, &p->err_seen)) << "no readiness line; stderr: " << p->err_seen;

    const int delays_ms[] = {0, 0, 0, 7, 23, 61, 97, 150};
    const int n = static_cast<int>(std::size(delays_ms));
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, port);
        for (int i = 0; i < n; ++i) {
            int c = tcp_connect(AF_INET, port);
            int a = tcp_accept(l);
            close(c);  // client closes first: orphan FIN-WAIT-2, a timewait socket
            read_until_eof(a);
            if (delays_ms[i]) sleep_ms(delays_ms[i]);
            close(a);  // the FIN: hidden move to TIME-WAIT
            sleep_ms(30);
        }
        return 0;
    });
    ASSERT_EQ(reap(child), 0);
    sleep_ms(1500);  // probe rounds
    for (Proc* p : {&trace, &stats, &record}) kill(p->pid, SIGINT);
    Result tr = finish(trace), st = finish(stats), rr = finish(record);
    kill(dump.pid, SIGINT);
    Result td = finish(dump);
    ASSERT_EQ(tr.code, 0) << tr.err;
    ASSERT_EQ(st.code, 0) << st.err;
    ASSERT_EQ(rr.code, 0) << rr.err;
    const int64_t offset = realtime_minus_monotonic_ns();

    Proc ti = launch({TL_BINARY, "trace", "-i", rec, "-j"});
    Result replay = finish(ti);
    ASSERT_EQ(replay.code, 0) << replay.err;
    Proc rp = launch({TL_BINARY, "report", "-i", rec, "-j"});
    Result report = finish(rp);
    ASSERT_EQ(report.code, 0) << report.err;

    auto live = moves_of(tr.out, port), recorded = moves_of(replay.out, port);
    ASSERT_EQ(live.size(), static_cast<size_t>(n)) << tr.out;
    ASSERT_EQ(recorded.size(), static_cast<size_t>(n)) << replay.out;

    // tcpdump: the server's FIN (port -> client port), wall clock.
    std::map<uint16_t, uint64_t> fin_wall;
    std::istringstream dl(td.out);
    for (std::string line; std::getline(dl, line);) {
        unsigned long long sec = 0, nsec = 0;
        unsigned sp = 0, cp = 0;
        char fl[64] = {};
        if (std::sscanf(line.c_str(), "%llu.%llu IP 127.0.0.1.%u > 127.0.0.1.%u: Flags [%63[^]]", &sec, &nsec, &sp, &cp,
                        fl) != 5)
            continue;
        if (sp == port && std::strchr(fl, 'F')) fin_wall[static_cast<uint16_t>(cp)] = sec * 1'000'000'000ULL + nsec;
    }
    ASSERT_EQ(fin_wall.size(), static_cast<size_t>(n)) << td.out;

    double max_fw2 = 0;
    for (const auto& [cport, m] : live) {
        SCOPED_TRACE("client port " + std::to_string(cport));
        ASSERT_TRUE(recorded.count(cport));
        const Move& r = recorded.at(cport);
        // trace and record are two sessions: their events' own timestamps
        // differ by microseconds; the recovered moment by no more.
        EXPECT_LE(distance(m.ts_ns, r.ts_ns), 100'000u);
        EXPECT_NEAR(m.prev_ms, r.prev_ms, 0.1);
        EXPECT_LE(m.err_ms, kTick / 2 / 1e6 + 1e-9);
        ASSERT_TRUE(fin_wall.count(cport));
        const uint64_t wall = static_cast<uint64_t>(static_cast<int64_t>(m.ts_ns) + offset);
        EXPECT_LE(distance(wall, fin_wall.at(cport)), static_cast<uint64_t>(m.err_ms * 1e6) + kClockErr)
            << "recovered " << wall << " tcpdump FIN " << fin_wall.at(cport) << " err " << m.err_ms << " ms";
        max_fw2 = std::max(max_fw2, m.prev_ms);
    }
    // record + report and record + trace -i: one recording, the same values.
    auto st_doc = parse_json(st.out.substr(st.out.rfind("{\"by\"")));
    auto rp_doc = parse_json(report.out.substr(report.out.rfind("{\"by\"")));
    ASSERT_TRUE(st_doc && rp_doc) << st.out << report.out;
    const auto& live_fw2 = (*st_doc).at("states").at("FIN-WAIT-2");
    const auto& rec_fw2 = (*rp_doc).at("states").at("FIN-WAIT-2");
    EXPECT_EQ(live_fw2.at("completed").get<double>(), n);
    EXPECT_EQ(rec_fw2.at("completed").get<double>(), n);
    double rec_max = 0;
    for (const auto& [cport, r] : recorded) rec_max = std::max(rec_max, r.prev_ms);
    EXPECT_NEAR(rec_fw2.at("max_ms").get<double>(), rec_max, 0.0015) << "report over the recording: trace -i's figure";
    EXPECT_NEAR(live_fw2.at("max_ms").get<double>(), max_fw2, max_fw2 * 0.02 + 0.1) << "stats (lean BPF) as trace";
    std::string cleanup = "rm -rf " + dir;
    EXPECT_EQ(std::system(cleanup.c_str()), 0);
}

}  // namespace
}  // namespace tltest
