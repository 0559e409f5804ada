// doctor's findings from settings, counters and observations; the
// /proc/net/tcp and sockstat readers.
#include <gtest/gtest.h>

#include <sstream>

#include "app/doctor/findings.hpp"
#include "app/doctor/host.hpp"
#include "app/doctor/render.hpp"

namespace tcplinger::doctor {
namespace {

// Captured here: a listener on 127.0.0.1:8080 and a client-side TIME-WAIT
// 1.21 s old (58.79 s left, in USER_HZ ticks).
const char* kProcNetTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 67788 1 "
    "00000000ff60d87a 100 0 0 10 0\n"
    "   1: 0100007F:9238 0100007F:1F90 06 00000000:00000000 03:000016F7 00000000     0        0 0 3 "
    "00000000294eff98\n";

NetnsState defaults() {
    NetnsState ns;
    ns.inode = 42;
    ns.name = "blue";
    ns.settings = {{"net.ipv4.tcp_fin_timeout", "60"},
                   {"net.ipv4.tcp_tw_reuse", "2"},
                   {"net.ipv4.tcp_tw_reuse_delay", "1000"},
                   {"net.ipv4.tcp_timestamps", "1"},
                   {"net.ipv4.tcp_max_tw_buckets", "131072"},
                   {"net.ipv4.tcp_rfc1337", "0"},
                   {"net.ipv4.ip_local_port_range", "32768 60999"},
                   {"net.ipv4.ip_local_reserved_ports", ""},
                   {"net.ipv4.tcp_max_orphans", "131072"},
                   {"net.ipv4.tcp_orphan_retries", "0"},
                   {"net.core.somaxconn", "4096"},
                   {"net.ipv4.tcp_max_syn_backlog", "2048"},
                   {"net.ipv4.tcp_syncookies", "1"}};
    ns.sockstat.known = true;
    return ns;
}

const Finding* find(const std::vector<Finding>& all, const std::string& check) {
    for (const auto& f : all)
        if (f.check == check) return &f;
    return nullptr;
}

std::string evidence(const Finding& f, const std::string& name) {
    for (const auto& e : f.evidence)
        if (e.name == name) return e.value;
    return "(none)";
}

TEST(DoctorHost, ParsesProcNetTcpWithTimeWaitAge) {
    auto s = parse_proc_net_tcp(kProcNetTcp, 4, 9);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].state, kListen);
    EXPECT_EQ(format_endpoint(s[0].local), "127.0.0.1:8080");
    EXPECT_EQ(s[1].state, kTimeWait);
    EXPECT_EQ(s[1].tw_substate, kTimeWait);
    EXPECT_EQ(format_endpoint(s[1].local), "127.0.0.1:37432");
    EXPECT_EQ(format_endpoint(s[1].remote), "127.0.0.1:8080");
    ASSERT_TRUE(s[1].tw_age_ms);
    EXPECT_EQ(*s[1].tw_age_ms, 60000u - 58790u);
    EXPECT_EQ(s[1].netns, 9u);
}

TEST(DoctorHost, ParsesSockstat) {
    Sockstat s = parse_sockstat("sockets: used 17\nTCP: inuse 1 orphan 2 tw 3 alloc 4 mem 304\nUDP: inuse 0 mem 0\n");
    EXPECT_TRUE(s.known);
    EXPECT_EQ(s.inuse, 1u);
    EXPECT_EQ(s.orphan, 2u);
    EXPECT_EQ(s.tw, 3u);
}

TEST(DoctorFindings, DefaultsAreOk) {
    auto all = check_namespace(defaults(), nullptr);
    for (const auto& f : all) EXPECT_EQ(f.severity, Severity::Ok) << f.check << ": " << f.summary;
    ASSERT_TRUE(find(all, "tcp_tw_reuse"));
    EXPECT_EQ(find(all, "tcp_tw_reuse")->summary,
              "tcp_tw_reuse=2 (default): connect() reuses TIME-WAITs older than 1000 ms on loopback only");
}

TEST(DoctorFindings, TwReuseWithoutTimestampsDoesNothing) {
    NetnsState ns = defaults();
    ns.settings["net.ipv4.tcp_tw_reuse"] = "1";
    ns.settings["net.ipv4.tcp_timestamps"] = "0";
    auto all = check_namespace(ns, nullptr);
    const Finding* f = find(all, "tcp_tw_reuse");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->severity, Severity::Warn);
    EXPECT_EQ(f->summary, "tcp_tw_reuse=1 has no effect: tcp_timestamps=0");
    EXPECT_NE(f->kernel.find("tcp_twsk_unique"), std::string::npos);
    ASSERT_TRUE(find(all, "tcp_timestamps"));
    EXPECT_EQ(find(all, "tcp_timestamps")->severity, Severity::Warn);
}

TEST(DoctorFindings, OverflowInTheWindowIsAProblem) {
    NetnsState ns = defaults();
    ns.settings["net.ipv4.tcp_max_tw_buckets"] = "5000";
    ns.sockstat.tw = 5000;
    ns.tcpext["TCPTimeWaitOverflow"] = 1500;
    Observation obs;
    obs.seconds = 10;
    obs.tcpext_known = true;
    obs.tcpext_delta["TCPTimeWaitOverflow"] = 1203;
    auto all = check_namespace(ns, &obs);
    const Finding* f = find(all, "tw_overflow");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->severity, Severity::Problem);
    EXPECT_EQ(f->summary,
              "TCPTimeWaitOverflow rose by 1,203 in 10.0 s: tcp_max_tw_buckets=5,000 is lower than the TIME-WAIT "
              "this host makes");
    EXPECT_EQ(evidence(*f, "TCPTimeWaitOverflow_in_window"), "1203");
    // Without a capture: full now.
    auto now = check_namespace(ns, nullptr);
    f = find(now, "tw_overflow");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->severity, Severity::Problem);
}

TEST(DoctorFindings, ListenerInsideThePortRange) {
    NetnsState ns = defaults();
    ns.sockets_known = true;
    ns.sockets = parse_proc_net_tcp(kProcNetTcp, 4, ns.inode);
    ns.settings["net.ipv4.ip_local_port_range"] = "8000 8999";
    auto all = check_namespace(ns, nullptr);
    const Finding* f = find(all, "listener_in_range");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->severity, Severity::Warn);
    EXPECT_EQ(evidence(*f, "listening_ports_in_range"), "8080");
    EXPECT_EQ(f->advice, "add them to net.ipv4.ip_local_reserved_ports (8080)");
    ns.settings["net.ipv4.ip_local_reserved_ports"] = "8080";
    auto reserved = check_namespace(ns, nullptr);
    EXPECT_FALSE(find(reserved, "listener_in_range"));
}

TEST(DoctorFindings, DestinationAdviceFollowsTheReuseRules) {
    NetnsState ns = defaults();
    Observation obs;
    obs.seconds = 10;
    DestinationLoad d;
    d.headroom.dest.family = 4;
    d.headroom.dest.daddr = {10, 0, 0, 5};
    d.headroom.dest.dport = 5432;
    d.headroom.usable = 28232;
    d.headroom.headroom = 2000;
    d.headroom.taken = d.headroom.time_wait = 26232;
    d.headroom.reuse = headroom::ReuseVerdict::NotLoopback;
    d.time_wait_entered = 4800;  // 480/s x 60 s > 28,232: it does not level off in time
    d.growth_per_s = 400;
    d.processes = {"app (pid 7)"};
    obs.destinations.push_back(d);
    auto all = check_namespace(ns, &obs);
    const Finding* f = find(all, "destination");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->severity, Severity::Problem);
    EXPECT_EQ(f->summary,
              "10.0.0.5:5432 takes 480 new TIME-WAIT/s from app (pid 7); headroom 2,000 of 28,232 ports, exhausted "
              "in 5.0 s at this rate; tcp_tw_reuse=2 reuses loopback only: not here");
    EXPECT_EQ(f->advice,
              "for 10.0.0.5:5432 the fix is connection pooling (keep-alive), or tcp_tw_reuse=1 (timestamps are on); "
              "a wider ip_local_port_range only buys time");
}

TEST(DoctorFindings, FinTimeoutSaysWhatItDoesWithTheMeasuredTimeWait) {
    NetnsState ns = defaults();
    ns.settings["net.ipv4.tcp_fin_timeout"] = "15";
    Observation obs;
    obs.seconds = 70;
    obs.tw_expired = 3;
    obs.tw_p50_ns = 60'200'000'000;
    obs.tw_max_ns = 60'900'000'000;
    auto all = check_namespace(ns, &obs);
    const Finding* f = find(all, "tcp_fin_timeout");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->severity, Severity::Info);
    EXPECT_EQ(f->summary,
              "tcp_fin_timeout=15 bounds orphaned FIN-WAIT-2 only; TIME-WAIT measured 60.2 s (median of 3 that ran "
              "their course)");
}

TEST(DoctorRender, JsonEvidenceNumbersAndSettings) {
    Finding f;
    f.severity = Severity::Warn;
    f.check = "headroom";
    f.summary = "a \"quoted\" summary";
    f.evidence = {{"held", "1,203"},
                  {"net.ipv4.ip_local_reserved_ports", "100,200"},
                  {"exhaustion", "5.0 s"},
                  {"time_wait_per_s", "1.5"},
                  {"odd", "1,20"}};
    std::ostringstream out;
    render_json(out, {NamespaceReport{7, "blue", "/run/netns/blue", "now", {f}}});
    EXPECT_EQ(out.str(),
              "{\"namespaces\":[{\"inode\":7,\"name\":\"blue\",\"path\":\"/run/netns/blue\",\"source\":\"now\","
              "\"findings\":[{\"severity\":\"warn\",\"check\":\"headroom\",\"summary\":\"a \\\"quoted\\\" summary\","
              "\"evidence\":{\"held\":1203,\"net.ipv4.ip_local_reserved_ports\":\"100,200\",\"exhaustion\":\"5.0 s\","
              "\"time_wait_per_s\":1.5,\"odd\":\"1,20\"},\"kernel\":\"\",\"advice\":\"\"}]}],\"worst\":\"warn\"}\n");
}

}  // namespace
}  // namespace tcplinger::doctor
