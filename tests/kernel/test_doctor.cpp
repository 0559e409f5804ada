// tcplinger doctor against the real kernel: namespaces with the knobs set,
// real traffic, and the exact findings and evidence. Independent truth:
// TcpExt read inside the namespace, the workload's own counts.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "../common/json.hpp"
#include "harness.hpp"
#include "host/netns.hpp"
#include "lifecycle_util.hpp"

namespace tltest {
namespace {

struct ToolRun {
    int code = -1;
    std::string out, err;
};

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs the binary with stdout on a pipe and stderr in a file. With `ready`,
// waits for that line on stderr (the tool's readiness), then runs `during`.
ToolRun tcplinger(const std::string& args, const std::string& ready = "", const std::function<void()>& during = {}) {
    static int n = 0;
    std::string err = "/tmp/tl-doctor-" + std::to_string(getpid()) + "-" + std::to_string(n++) + ".err";
    FILE* p = popen((std::string(TL_BINARY) + " " + args + " 2>" + err).c_str(), "r");
    ToolRun r;
    if (!p) return r;
    if (!ready.empty()) {
        uint64_t deadline = now_ns() + 30'000'000'000ULL;
        while (file_text(err).find(ready) == std::string::npos && now_ns() < deadline) sleep_ms(20);
        if (during) during();
    }
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, got);
    int st = pclose(p);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.err = file_text(err);
    unlink(err.c_str());
    return r;
}

nlohmann::json parse(const ToolRun& r) {
    auto v = parse_json(r.out);
    EXPECT_TRUE(v) << r.out << r.err;
    return v ? *v : nlohmann::json{};
}

// The findings of one check in the first namespace of a doctor -j document.
std::vector<nlohmann::json> findings(const nlohmann::json& doc, const std::string& check) {
    std::vector<nlohmann::json> out;
    if (!doc.contains("namespaces") || doc.at("namespaces").empty()) return out;
    for (const auto& f : doc.at("namespaces")[0].at("findings"))
        if (f.at("check").get<std::string>() == check) out.push_back(f);
    return out;
}

nlohmann::json one(const nlohmann::json& doc, const std::string& check) {
    auto all = findings(doc, check);
    EXPECT_EQ(all.size(), 1u) << check;
    return all.empty() ? nlohmann::json{} : all[0];
}

std::string evidence(const nlohmann::json& f, const std::string& name) {
    if (!f.contains("evidence") || !f.at("evidence").contains(name)) return "(none)";
    const auto& v = f.at("evidence").at(name);
    // Numbers are JSON numbers ("1,203" in text).
    if (v.is_number()) return std::to_string(static_cast<long long>(v.get<double>()));
    return v.get<std::string>();
}

TEST(Doctor, TwReuseSettingsPerNamespace) {
    Netns off, on_no_ts, loop;
    off.sysctl("net.ipv4.tcp_tw_reuse", "0");
    on_no_ts.sysctl("net.ipv4.tcp_tw_reuse", "1");
    on_no_ts.sysctl("net.ipv4.tcp_timestamps", "0");
    loop.sysctl("net.ipv4.tcp_tw_reuse", "2");

    auto a = parse(tcplinger("doctor -j --netns " + off.name()));
    EXPECT_EQ(a.at("namespaces")[0].at("name").get<std::string>(), off.name());
    EXPECT_EQ(a.at("namespaces")[0].at("inode").get<double>(), off.inode());
    auto f = one(a, "tcp_tw_reuse");
    EXPECT_EQ(f.at("severity").get<std::string>(), "info");
    EXPECT_EQ(f.at("summary").get<std::string>(),
              "tcp_tw_reuse=0: connect() never takes over a TIME-WAIT, each one holds its port to that destination "
              "for 60 s");
    EXPECT_EQ(evidence(f, "net.ipv4.tcp_tw_reuse"), "0");
    EXPECT_TRUE(findings(a, "tcp_timestamps").empty());

    auto b = parse(tcplinger("doctor -j --netns " + on_no_ts.name()));
    f = one(b, "tcp_tw_reuse");
    EXPECT_EQ(f.at("severity").get<std::string>(), "warn");
    EXPECT_EQ(f.at("summary").get<std::string>(), "tcp_tw_reuse=1 has no effect: tcp_timestamps=0");
    EXPECT_EQ(one(b, "tcp_timestamps").at("severity").get<std::string>(), "warn");
    EXPECT_EQ(b.at("worst").get<std::string>(), "warn");

    auto c = parse(tcplinger("doctor -j --netns " + loop.name()));
    f = one(c, "tcp_tw_reuse");
    EXPECT_EQ(f.at("severity").get<std::string>(), "ok");
    EXPECT_EQ(f.at("summary").get<std::string>(),
              "tcp_tw_reuse=2 (default): connect() reuses TIME-WAITs older than 1000 ms on loopback only");
    EXPECT_EQ(evidence(f, "net.ipv4.tcp_tw_reuse_delay"), "1000");
    // tcp_max_orphans is host-wide: the host's value, said to be global.
    f = one(c, "tcp_max_orphans");
    EXPECT_EQ(evidence(f, "scope"), "global: one value and one count for every namespace");
}

TEST(Doctor, AllNamespacesAreListed) {
    Netns ns;
    auto doc = parse(tcplinger("doctor -j"));
    bool seen = false, host = false;
    for (const auto& n : doc.at("namespaces")) {
        seen |= n.at("inode").get<double>() == ns.inode();
        host |= n.at("name").get<std::string>() == "host";
        EXPECT_FALSE(n.at("findings").empty()) << n.at("name").get<std::string>();
    }
    EXPECT_TRUE(seen);
    EXPECT_TRUE(host);
}

TEST(Doctor, RealTimeWaitOverflow) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_max_tw_buckets", "4");
    ns.sysctl("net.ipv4.tcp_tw_reuse", "0");
    constexpr int kConnections = 10;
    Gate go;
    auto traffic = [&] {
        return spawn_in(ns, [&] {
            int l = tcp_listen(AF_INET, 8080);
            go.wait();
            connect_close_client_first(l, AF_INET, 8080, kConnections);
            return 0;
        });
    };
    // With --observe: the overflow happens inside the window.
    pid_t child = traffic();
    ToolRun r = tcplinger("doctor -j --observe 2 --netns " + ns.name(), kTracingLine, [&] { go.open(); });
    ASSERT_EQ(reap(child), 0);
    ASSERT_EQ(r.code, 0) << r.err;
    auto tcpext = sys::read_tcpext(ns.path());
    ASSERT_EQ(tcpext["TCPTimeWaitOverflow"], uint64_t(kConnections - 4));  // the kernel's own count
    auto doc = parse(r);
    auto f = one(doc, "tw_overflow");
    EXPECT_EQ(f.at("severity").get<std::string>(), "problem");
    EXPECT_EQ(f.at("summary").get<std::string>().rfind("TCPTimeWaitOverflow rose by 6 in ", 0), 0u)
        << f.at("summary").get<std::string>();
    EXPECT_NE(
        f.at("summary").get<std::string>().find(": tcp_max_tw_buckets=4 is lower than the TIME-WAIT this host makes"),
        std::string::npos);
    EXPECT_EQ(evidence(f, "TCPTimeWaitOverflow_in_window"), "6");
    EXPECT_EQ(evidence(f, "sockstat_tw"), "4");
    // The engine saw the closes that got no TIME-WAIT.
    EXPECT_EQ(evidence(f, "closes_without_time_wait_seen"), "6");

    // Without a capture: TIME-WAIT is at the limit now.
    auto now = parse(tcplinger("doctor -j --netns " + ns.name()));
    f = one(now, "tw_overflow");
    EXPECT_EQ(f.at("severity").get<std::string>(), "problem");
    EXPECT_EQ(f.at("summary").get<std::string>(),
              "TIME-WAIT 4 has reached tcp_max_tw_buckets=4: new closes get no TIME-WAIT (TCPTimeWaitOverflow 6)");
}

TEST(Doctor, NarrowRangeReservedPortAndListenerInside) {
    Netns ns;
    ns.sysctl("net.ipv4.ip_local_port_range", "'40000 40099'");
    ns.sysctl("net.ipv4.ip_local_reserved_ports", "40010");
    ns.sysctl("net.ipv4.tcp_tw_reuse", "0");
    constexpr int kConnections = 60;
    Gate done, hold;
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, 40050);
        connect_close_client_first(l, AF_INET, 40050, kConnections);
        done.open();
        hold.wait();
        return 0;
    });
    done.wait();
    auto doc = parse(tcplinger("doctor -j --netns " + ns.name()));
    hold.open();
    ASSERT_EQ(reap(child), 0);

    auto f = one(doc, "listener_in_range");
    EXPECT_EQ(f.at("severity").get<std::string>(), "warn");
    EXPECT_EQ(evidence(f, "listening_ports_in_range"), "40050");
    EXPECT_EQ(f.at("advice").get<std::string>(), "add them to net.ipv4.ip_local_reserved_ports (40050)");

    f = one(doc, "ip_local_port_range");
    EXPECT_EQ(f.at("severity").get<std::string>(), "warn");
    EXPECT_EQ(evidence(f, "net.ipv4.ip_local_reserved_ports"), "40010");

    // 100 ports - 1 reserved - 1 listening = 98 usable; 60 held by TIME-WAIT.
    f = one(doc, "headroom");
    EXPECT_EQ(f.at("severity").get<std::string>(), "warn");
    EXPECT_EQ(evidence(f, "destination"), "127.0.0.1 -> 127.0.0.1:40050");
    EXPECT_EQ(evidence(f, "range"), "100");
    EXPECT_EQ(evidence(f, "reserved"), "1");
    EXPECT_EQ(evidence(f, "bound"), "1");
    EXPECT_EQ(evidence(f, "time_wait"), "60");
    EXPECT_EQ(evidence(f, "held"), "60");
    EXPECT_EQ(evidence(f, "headroom"), "38");
    EXPECT_EQ(evidence(f, "reuse"), "tcp_tw_reuse=0: no TIME-WAIT reuse");
}

TEST(Doctor, ObserveRatesProcessesAndCloseWait) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_tw_reuse", "0");
    constexpr int kConnections = 20;
    Gate go, leaked, hold;
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, 8080);
        int leak_l = tcp_listen(AF_INET, 9090);
        int server_first = tcp_listen(AF_INET, 7070);
        go.wait();
        connect_close_client_first(l, AF_INET, 8080, kConnections);
        // Three closed by the server first: its TIME-WAITs sit on port 7070.
        for (int i = 0; i < 3; ++i) {
            int c = tcp_connect(AF_INET, 7070);
            int a = tcp_accept(server_first);
            close(a);
            read_until_eof(c);
            close(c);
        }
        // A server that never closes after the peer did: CLOSE-WAIT.
        int c = tcp_connect(AF_INET, 9090);
        int a = tcp_accept(leak_l);
        close(c);
        (void)a;
        leaked.open();
        hold.wait();
        return 0;
    });
    ToolRun r = tcplinger("doctor -j --observe 3 --netns " + ns.name(), kTracingLine, [&] {
        go.open();
        leaked.wait();
    });
    hold.open();
    ASSERT_EQ(reap(child), 0);
    ASSERT_EQ(r.code, 0) << r.err;
    auto doc = parse(r);
    std::string me = own_comm();
    std::string who = me + " (pid " + std::to_string(child) + ")";

    auto dests = findings(doc, "destination");
    ASSERT_FALSE(dests.empty()) << r.out;
    auto f = dests[0];
    if (getenv("TL_DEBUG")) std::cerr << r.out;
    EXPECT_EQ(evidence(f, "destination"), "127.0.0.1 -> 127.0.0.1:8080");
    EXPECT_EQ(evidence(f, "time_wait_entered"), std::to_string(kConnections));
    EXPECT_EQ(evidence(f, "time_wait"), std::to_string(kConnections));
    EXPECT_EQ(evidence(f, "processes"), who);
    EXPECT_EQ(evidence(f, "reuse"), "tcp_tw_reuse=0: no TIME-WAIT reuse");
    // 28,232 ports minus the 20 TIME-WAITs (listeners are outside the range).
    EXPECT_EQ(evidence(f, "headroom"), "28212");

    f = one(doc, "process");
    EXPECT_EQ(evidence(f, "pid"), std::to_string(child));
    // Plus the three server-side ones and the leaked connection's client
    // side: an orphaned FIN-WAIT-2 in a timewait socket (no FIN comes back).
    EXPECT_EQ(evidence(f, "time_wait_entered"), std::to_string(kConnections + 3 + 1));
    // The server's TIME-WAITs on its own listening port are no destination.
    for (const auto& d : dests) {
        std::string dest = evidence(d, "destination");
        EXPECT_TRUE(dest.ends_with(":8080") || dest.ends_with(":9090")) << dest;
    }

    f = one(doc, "close_wait");
    EXPECT_EQ(f.at("severity").get<std::string>(), "warn");
    EXPECT_EQ(evidence(f, "sockets"), "1");
    EXPECT_EQ(f.at("summary").get<std::string>().rfind(who + " holds 1 CLOSE-WAIT socket(s)", 0), 0u)
        << f.at("summary").get<std::string>();

    f = one(doc, "tw_overflow");
    EXPECT_EQ(f.at("severity").get<std::string>(), "ok");
    EXPECT_EQ(evidence(f, "TCPTimeWaitOverflow_in_window"), "0");
}

TEST(Doctor, ReviewsARecording) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_tw_reuse", "0");
    ns.sysctl("net.ipv4.tcp_fin_timeout", "15");
    constexpr int kConnections = 12;
    std::string file = "/tmp/tl-doctor-" + std::to_string(getpid()) + ".tlr";
    unlink(file.c_str());
    Gate go;
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, 8080);
        go.wait();
        connect_close_client_first(l, AF_INET, 8080, kConnections);
        return 0;
    });
    ToolRun rec =
        tcplinger("record -o " + file + " --duration 2 --netns " + ns.path(), kTracingLine, [&] { go.open(); });
    ASSERT_EQ(reap(child), 0);
    ASSERT_EQ(rec.code, 0) << rec.err;
    ToolRun r = tcplinger("doctor -j -i " + file);
    unlink(file.c_str());
    ASSERT_EQ(r.code, 0) << r.err;
    auto doc = parse(r);
    ASSERT_EQ(doc.at("namespaces").size(), 1u) << r.out;
    EXPECT_EQ(doc.at("namespaces")[0].at("inode").get<double>(), ns.inode());
    // The settings stored in the header.
    auto f = one(doc, "tcp_tw_reuse");
    EXPECT_EQ(evidence(f, "net.ipv4.tcp_tw_reuse"), "0");
    f = one(doc, "tcp_fin_timeout");
    EXPECT_EQ(f.at("severity").get<std::string>(), "info");
    // Knobs outside net.ipv4.tcp_* are not in the header (record/host_facts.cpp).
    f = one(doc, "settings");
    EXPECT_EQ(f.at("summary").get<std::string>().rfind("not stored in the recording: ", 0), 0u)
        << f.at("summary").get<std::string>();
    // The recorded events.
    auto dests = findings(doc, "destination");
    ASSERT_FALSE(dests.empty()) << r.out;
    EXPECT_EQ(evidence(dests[0], "time_wait_entered"), std::to_string(kConnections));
    EXPECT_EQ(evidence(dests[0], "time_wait"), std::to_string(kConnections));
    // The counters of header and trailer.
    f = one(doc, "tw_overflow");
    EXPECT_EQ(evidence(f, "TCPTimeWaitOverflow_in_window"), "0");
}

// doctor -i charges each TIME-WAIT to the process the engine charges it to
// (the first close() caller), as report does. The connections here are
// made by one process and closed by a child it forked, so the connect()
// caller (the socket's owner, which a full recording's timewait records
// carry) is the wrong answer.
TEST(Doctor, RecordingChargesTimeWaitAsReportDoes) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_tw_reuse", "0");
    constexpr int kConnections = 8;
    std::string file = "/tmp/tl-doctor-charge-" + std::to_string(getpid()) + ".tlr";
    unlink(file.c_str());
    Gate go;
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, 8080);
        go.wait();
        int c[kConnections], a[kConnections];
        for (int i = 0; i < kConnections; ++i) {
            c[i] = tcp_connect(AF_INET, 8080);
            a[i] = tcp_accept(l);
        }
        Gate copies_closed;
        pid_t closer = fork();
        if (closer == 0) {
            prctl(PR_SET_NAME, "tl-closer");
            copies_closed.wait();
            for (int fd : c) close(fd);  // the last reference: FIN from here
            _exit(0);
        }
        for (int fd : c) close(fd);
        copies_closed.open();
        for (int fd : a) {
            read_until_eof(fd);
            close(fd);
        }
        return reap(closer) == 0 ? 0 : 1;
    });
    ToolRun rec =
        tcplinger("record -o " + file + " --duration 2 --netns " + ns.path(), "recording to", [&] { go.open(); });
    ASSERT_EQ(reap(child), 0);
    ASSERT_EQ(rec.code, 0) << rec.err;
    ToolRun doctor = tcplinger("doctor -j -i " + file);
    ToolRun report = tcplinger("report -j --by process -i " + file);
    unlink(file.c_str());
    ASSERT_EQ(doctor.code, 0) << doctor.err;
    ASSERT_EQ(report.code, 0) << report.err;
    // report: TIME-WAIT entered per process.
    std::map<std::string, double> by_report;
    auto rep = parse(report);
    for (const auto& g : rep["groups"]) {
        double n = g["states"]["TIME-WAIT"]["entered"].get<double>();
        if (n > 0) by_report[g["comm"].get<std::string>() + " " + std::to_string(g["pid"].get<long>())] = n;
    }
    // doctor: its process findings.
    std::map<std::string, double> by_doctor;
    auto doc = parse(doctor);
    for (const auto& f : findings(doc, "process")) {
        std::string summary = f["summary"].get<std::string>();
        std::string comm = summary.substr(0, summary.find(" (pid "));
        by_doctor[comm + " " + evidence(f, "pid")] = std::stod(evidence(f, "time_wait_entered"));
    }
    ASSERT_EQ(by_report.size(), 1u) << report.out;
    EXPECT_EQ(by_report.begin()->first.rfind("tl-closer ", 0), 0u) << report.out;
    EXPECT_EQ(by_report.begin()->second, kConnections);
    EXPECT_EQ(by_doctor, by_report) << doctor.out;
}

// A namespace only a socket keeps alive: made with unshare(), a socket
// opened in it, the process back in its own namespace. No /run/netns name,
// no process inside: doctor finds it through the socket fd (pidfd_getfd,
// SIOCGSKNS) and reads its own settings.
TEST(Doctor, NamespaceOnlyASocketLivesIn) {
    int info[2];
    ASSERT_EQ(pipe(info), 0);
    Gate done;
    pid_t child = fork();
    if (child == 0) {
        int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (home < 0 || unshare(CLONE_NEWNET) != 0) _exit(2);
        std::ofstream("/proc/sys/net/ipv4/tcp_tw_reuse") << "0\n";
        int sock = socket(AF_INET, SOCK_STREAM, 0);
        struct stat st {};
        if (sock < 0 || stat("/proc/self/ns/net", &st) != 0 || setns(home, CLONE_NEWNET) != 0) _exit(3);
        uint32_t ino = static_cast<uint32_t>(st.st_ino);
        if (write(info[1], &ino, sizeof(ino)) != sizeof(ino)) _exit(4);
        done.wait();
        _exit(0);
    }
    close(info[1]);
    uint32_t ino = 0;
    ASSERT_EQ(read(info[0], &ino, sizeof(ino)), static_cast<ssize_t>(sizeof(ino)));
    close(info[0]);
    auto doc = parse(tcplinger("doctor -j"));
    done.open();
    ASSERT_EQ(reap(child), 0);
    const nlohmann::json* found = nullptr;
    for (const auto& n : doc["namespaces"])
        if (n["inode"].get<double>() == ino) found = &n;
    ASSERT_NE(found, nullptr) << "namespace " << ino << " not listed";
    EXPECT_EQ((*found)["name"].get<std::string>().rfind("socket of pid " + std::to_string(child) + " (", 0), 0u)
        << (*found)["name"].get<std::string>();
    bool reuse_seen = false;
    for (const auto& f : (*found)["findings"])
        if (f["check"].get<std::string>() == "tcp_tw_reuse") {
            reuse_seen = true;
            EXPECT_EQ(evidence(f, "net.ipv4.tcp_tw_reuse"), "0");
        }
    EXPECT_TRUE(reuse_seen);
}

TEST(Doctor, ConfExitStatus) {
    std::string data = std::string(TL_TEST_DATA) + "/doctor/";
    ToolRun bad = tcplinger("doctor --conf " + data + "folklore.conf");
    EXPECT_EQ(bad.code, 1) << bad.out << bad.err;
    EXPECT_NE(bad.out.find("removed in Linux 4.12"), std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find("a FreeBSD/macOS key"), std::string::npos) << bad.out;
    ToolRun good = tcplinger("doctor --conf " + data + "sound.conf");
    EXPECT_EQ(good.code, 0) << good.out << good.err;
    ToolRun json = tcplinger("doctor -j --conf " + data + "sound.conf " + data + "folklore.conf");
    EXPECT_EQ(json.code, 1);
    auto doc = parse(json);
    EXPECT_EQ(doc.at("files").size(), 2u);
    EXPECT_EQ(doc.at("worst").get<std::string>(), "problem");
    ToolRun missing = tcplinger("doctor --conf /nonexistent.conf");
    EXPECT_EQ(missing.code, 2);
    EXPECT_EQ(missing.err.rfind("--conf: File does not exist: /nonexistent.conf\n", 0), 0u) << missing.err;
}

}  // namespace
}  // namespace tltest

namespace tltest {
namespace {

// The headroom doctor reports is what connect() then gets: exactly that
// many more connections succeed, and the next fails with EADDRNOTAVAIL.
// 40 ports, 30 of them in client-side TIME-WAIT toward 127.0.0.1:8080.
void headroom_matches_connect(const std::string& tw_reuse, const std::string& want_reusable,
                              const std::string& want_headroom, int want_connects) {
    Netns ns;
    ns.sysctl("net.ipv4.ip_local_port_range", "'40000 40039'");
    ns.sysctl("net.ipv4.tcp_tw_reuse", tw_reuse);
    ns.sysctl("net.ipv4.tcp_timestamps", "1");
    Gate made, checked, result;
    int counted[2];
    ASSERT_EQ(pipe(counted), 0);
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, 8080, 512);
        connect_close_client_first(l, AF_INET, 8080, 30);
        sleep_ms(1300);  // older than tcp_tw_reuse_delay (1000 ms)
        made.open();
        checked.wait();
        int n = 0;
        std::vector<int> keep;
        for (;;) {
            int c = tcp_connect(AF_INET, 8080);
            if (c < 0) {
                if (errno != EADDRNOTAVAIL) return 3;
                break;
            }
            keep.push_back(c);
            ++n;
        }
        if (write(counted[1], &n, sizeof(n)) != sizeof(n)) return 4;
        return 0;
    });
    made.wait();
    auto doc = parse(tcplinger("doctor -j --netns " + ns.name()));
    checked.open();
    int connects = -1;
    ASSERT_EQ(read(counted[0], &connects, sizeof(connects)), ssize_t(sizeof(connects)));
    ASSERT_EQ(reap(child), 0);
    auto f = one(doc, "headroom");
    EXPECT_EQ(evidence(f, "destination"), "127.0.0.1 -> 127.0.0.1:8080");
    EXPECT_EQ(evidence(f, "range"), "40");
    EXPECT_EQ(evidence(f, "time_wait"), "30");
    EXPECT_EQ(evidence(f, "reusable_time_wait"), want_reusable);
    EXPECT_EQ(evidence(f, "headroom"), want_headroom);
    EXPECT_EQ(connects, want_connects);
    EXPECT_EQ(std::to_string(connects), evidence(f, "headroom"));
}

TEST(Doctor, HeadroomIsWhatConnectGetsWithoutReuse) { headroom_matches_connect("0", "0", "10", 10); }
TEST(Doctor, HeadroomIsWhatConnectGetsWithReuse) { headroom_matches_connect("1", "30", "40", 40); }

}  // namespace
}  // namespace tltest

namespace tltest {
namespace {

// TIME-WAITs made before --observe starts are in the start snapshot, not
// growth: with no connection during the window the ports held do not grow
// and no exhaustion is forecast (issue 14: the clock sample that run_live
// feeds first once ended the snapshot before it began).
TEST(Doctor, ObserveStartSocketsAreNoGrowth) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_tw_reuse", "0");
    constexpr int kConnections = 30;
    Gate made, hold;
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, 8080);
        connect_close_client_first(l, AF_INET, 8080, kConnections);
        made.open();
        hold.wait();
        return 0;
    });
    made.wait();
    ToolRun r = tcplinger("doctor -j --observe 1 --netns " + ns.name());
    hold.open();
    ASSERT_EQ(reap(child), 0);
    ASSERT_EQ(r.code, 0) << r.err;
    auto doc = parse(r);
    auto dests = findings(doc, "destination");
    ASSERT_EQ(dests.size(), 1u) << r.out;
    EXPECT_EQ(evidence(dests[0], "destination"), "127.0.0.1 -> 127.0.0.1:8080");
    EXPECT_EQ(evidence(dests[0], "time_wait"), std::to_string(kConnections));
    EXPECT_EQ(evidence(dests[0], "time_wait_entered"), "0");
    EXPECT_EQ(evidence(dests[0], "ports_held_growth_per_s"), "0");  // a JSON number
    EXPECT_EQ(evidence(dests[0], "exhaustion"), "never");
}

}  // namespace
}  // namespace tltest

namespace tltest {
namespace {

size_t line_count(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// --netns is checked as trace and stats check it (options.cpp kNetns): a
// value that is no 32-bit inode is a usage error (exit 2) before anything
// runs (the one-line reason and CLI11's --help hint); a well-formed one
// that names no namespace is one line and exit 1.
TEST(Doctor, NetnsValuesAreValidated) {
    for (const std::string& bad : std::vector<std::string>{"99999999999999999999", "4294967297", "0"}) {
        ToolRun r = tcplinger("doctor --netns " + bad);
        EXPECT_EQ(r.code, 2) << bad << ": " << r.out << r.err;
        // CLI11's usage error, as for trace and stats: the reason, then "Run with --help".
        EXPECT_EQ(r.err.rfind("--netns: inode " + bad +
                                  " out of range: a network namespace inode is 1 to 4294967295 (ls -iL "
                                  "/proc/PID/ns/net)\n",
                              0),
                  0u)
            << r.err;
        EXPECT_EQ(line_count(r.err), 2u) << bad << ": " << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
    for (const std::string& none :
         std::vector<std::string>{"4294967295", "/nonexistent/netns", "no-such-tcplinger-ns"}) {
        ToolRun r = tcplinger("doctor --netns " + none);
        EXPECT_EQ(r.code, 1) << none << ": " << r.out << r.err;
        EXPECT_EQ(line_count(r.err), 1u) << none << ": " << r.err;
        EXPECT_NE(r.err.find("failed to find network namespace '" + none + "'"), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

// Standard output is the real /dev/full: one line naming it, exit 1, for
// the findings and for --conf alike.
TEST(Doctor, WriteErrorOnDevFull) {
    std::string data = std::string(TL_TEST_DATA) + "/doctor/";
    for (const std::string& args :
         std::vector<std::string>{"doctor", "doctor -j", "doctor --conf " + data + "sound.conf"}) {
        ToolRun r = tcplinger(args + " >/dev/full");
        EXPECT_EQ(r.code, 1) << args << ": " << r.err;
        EXPECT_EQ(r.err, "tcplinger: failed to write standard output: No space left on device\n") << args;
    }
}

}  // namespace
}  // namespace tltest

namespace tltest {
namespace {

// An accept-then-fork server: the parent accepts, forks and closes its copy;
// the child leaks the CLOSE-WAIT. doctor charges it to the child, the
// process holding it (Tracer::socket_holders), as stats does, not to the
// accept() caller (tests/kernel/test_holder.cpp has the stats side).
TEST(Doctor, CloseWaitLeakIsChargedToTheHolder) {
    Netns ns;
    const uint16_t port = 7211;
    ForkedServer srv;  // the harness's, as test_holder.cpp's stats side uses it
    ToolRun r = tcplinger("doctor -j --observe 3 --netns " + ns.name(), "tcplinger: tracing (attached ",
                          [&] { start_forked_server(ns, srv, port); });
    srv.release.open();
    srv.exit.open();
    ASSERT_EQ(reap(srv.parent), 0);
    ASSERT_EQ(r.code, 0) << r.err;
    auto doc = parse(r);
    auto f = one(doc, "close_wait");
    EXPECT_EQ(evidence(f, "sockets"), "1");
    std::string who = own_comm() + " (pid " + std::to_string(srv.child) + ")";
    EXPECT_EQ(f.at("summary").get<std::string>().rfind(who + " holds 1 CLOSE-WAIT socket(s)", 0), 0u)
        << "parent " << srv.parent << ": " << f.at("summary").get<std::string>();
}

}  // namespace
}  // namespace tltest
