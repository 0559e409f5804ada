// End to end: the built tcplinger binary, as a user runs it.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>
#include <set>
#include <sstream>

#include "../common/mini_json.hpp"
#include "bpf_objects.hpp"
#include "harness.hpp"

namespace tltest {
namespace {

struct Proc {
    pid_t pid = -1;
    int out = -1, err = -1;
};

Proc launch(const std::vector<std::string>& args) {
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
    r.err = slurp(p.err);
    reader.join();
    r.out = out;
    int st = 0;
    waitpid(p.pid, &st, 0);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

Result run(const std::vector<std::string>& args) { return finish(launch(args)); }

TEST(Binary, TraceJsonPrintsOneValidLinePerTransitionForBothFamilies) {
    Netns ns;
    Proc p = launch({TL_BINARY, "trace", "-j", "--duration", "4", "--netns", ns.path()});
    sleep_ms(1500);  // load and attach
    const uint16_t port = 7201;
    pid_t child = spawn_in(ns, [&] {
        for (int family : {AF_INET, AF_INET6}) {
            int l = tcp_listen(family, port);
            int c = tcp_connect(family, port);
            int a = tcp_accept(l);
            close(c);
            read_until_eof(a);
            close(a);
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
    const char* keys[] = {"ts", "ts_ns", "pid", "tid", "comm", "cookie", "netns", "family", "laddr", "lport",
                          "raddr", "rport", "old", "new", "prev_ms", "reason", "owner_pid", "in_task"};
    size_t n = 0;
    while (std::getline(lines, line)) {
        ++n;
        auto v = minijson::parse(line);
        ASSERT_TRUE(v) << "not JSON: " << line;
        for (const char* k : keys) ASSERT_TRUE(v->has(k)) << k << " missing in " << line;
        EXPECT_EQ((*v)["netns"].num, ns.inode());
        EXPECT_EQ((*v)["ts"].str.size(), 27u) << (*v)["ts"].str;  // 2026-11-22T09:44:53.123456Z
        int fam = static_cast<int>((*v)["family"].num);
        EXPECT_TRUE(fam == 4 || fam == 6);
        if ((*v)["rport"].num == port) client_seq[fam].push_back((*v)["old"].str + ">" + (*v)["new"].str);
        if ((*v)["old"].str == "CLOSE") {
            EXPECT_EQ((*v)["prev_ms"].kind, minijson::Value::Null);
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
    Proc p = launch({TL_BINARY, "stats", "-j", "--duration", "30"});
    std::set<uint32_t> progs;
    for (int i = 0; i < 50 && progs.size() < 8; ++i) {
        sleep_ms(100);
        progs = bpf_prog_ids_of(p.pid);
    }
    ASSERT_GE(progs.size(), 8u) << "the tracer loaded its programs";
    std::set<uint32_t> links;
    for (int i = 0; i < 50 && links.size() < 8; ++i, sleep_ms(100)) links = links_to(progs);  // attach follows load
    EXPECT_GE(links.size(), 8u);
    stop(p.pid);
    Result r = finish(p);
    EXPECT_EQ(r.code, want_code) << r.err;
    EXPECT_TRUE(still_loaded(progs).empty()) << "programs still loaded 2 s after exit";
    EXPECT_TRUE(links_to(progs).empty());
    if (want_code == 0) {
        EXPECT_TRUE(minijson::parse(r.out)) << r.out;
    }
}

TEST(Binary, NothingLeftAttachedAfterSigterm) {
    expect_detached_after([](pid_t pid) { kill(pid, SIGTERM); }, 0);
}

TEST(Binary, NothingLeftAttachedAfterDuration) {
    Proc p = launch({TL_BINARY, "trace", "--duration", "1"});
    sleep_ms(300);
    std::set<uint32_t> progs = bpf_prog_ids_of(p.pid);
    Result r = finish(p);
    EXPECT_EQ(r.code, 0) << r.err;
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
    Proc p = launch({TL_BINARY, "stats", "-j", "--by", "cgroup", "--cgroup", "/" + name, "--netns", ns.path()});
    sleep_ms(1500);  // load and attach
    pid_t inside = spawn_in(ns, [&] {
        std::ofstream procs(dir + "/cgroup.procs");
        procs << 0 << std::flush;  // this process
        if (!procs) return 9;
        return client_closes_first(7301, 5);
    });
    pid_t outside = spawn_in(ns, [&] { return client_closes_first(7302, 7); });
    EXPECT_EQ(reap(inside), 0);
    EXPECT_EQ(reap(outside), 0);
    sleep_ms(500);
    kill(p.pid, SIGTERM);
    Result r = finish(p);
    rmdir(dir.c_str());
    ASSERT_EQ(r.code, 0) << r.err;
    auto v = minijson::parse(r.out);
    ASSERT_TRUE(v) << r.out;
    EXPECT_EQ((*v)["states"]["TIME-WAIT"]["entered"].num, 5) << r.out;
    ASSERT_EQ((*v)["groups"].arr.size(), 1u) << r.out;
    EXPECT_EQ((*v)["groups"].arr[0]["cgroup_id"].num, static_cast<double>(st.st_ino)) << r.out;
    EXPECT_EQ((*v)["groups"].arr[0]["cgroup"].str, "/" + name) << r.out;
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

}  // namespace
}  // namespace tltest
