// Issue 2: exact transition sequences on both ends of real loopback
// connections, IPv4 and IPv6, attributed to the test's own process.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "harness.hpp"

namespace tltest {
namespace {

class TraceTest : public ::testing::TestWithParam<int> {
protected:
    int family() const { return GetParam(); }
    Netns ns;
};

// Shared pipe for the child to report its client port to the parent.
struct PortPipe {
    int fds[2];
    PortPipe() { EXPECT_EQ(pipe(fds), 0); }
    void send(uint16_t port) { EXPECT_EQ(write(fds[1], &port, sizeof(port)), 2); }
    uint16_t receive() {
        uint16_t port = 0;
        EXPECT_EQ(read(fds[0], &port, sizeof(port)), 2);
        return port;
    }
};

void expect_clean(const Captured& cap) {
    EXPECT_EQ(cap.drops.ringbuf_drops, 0u);
    EXPECT_EQ(cap.drops.recursion_lost, 0u) << "nested caught " << cap.drops.nested_caught;
    EXPECT_EQ(cap.drops.sock_untracked, 0u);
    EXPECT_EQ(cap.drops.sock_map_full, 0u);
}

// Transitions made in process context carry the caller's pid and comm.
void expect_actor(const std::vector<Transition>& ts, uint8_t from, uint8_t to, pid_t pid) {
    for (const auto& t : ts) {
        if (t.old_state != from || t.new_state != to) continue;
        EXPECT_TRUE(t.in_task) << state_name(from) << ">" << state_name(to);
        EXPECT_EQ(t.actor.pid, static_cast<uint32_t>(pid)) << state_name(from) << ">" << state_name(to);
        EXPECT_EQ(t.actor.comm, own_comm());
        return;
    }
    ADD_FAILURE() << "no " << state_name(from) << ">" << state_name(to);
}

// The two halves of an orderly close, as of_socket() orders a socket's
// transitions: how each end opened, and how the first and the second
// closer end.
const std::string kClientOpened = "CLOSE>SYN-SENT SYN-SENT>ESTABLISHED ";
const std::string kServerOpened = "LISTEN>SYN-RECV SYN-RECV>ESTABLISHED ";
const std::string kClosedFirst = "ESTABLISHED>FIN-WAIT-1 FIN-WAIT-1>FIN-WAIT-2 FIN-WAIT-2>TIME-WAIT";
const std::string kClosedSecond = "ESTABLISHED>CLOSE-WAIT CLOSE-WAIT>LAST-ACK LAST-ACK>CLOSE";

enum class First { Client, Server };

// One loopback connection, closed first by the client or by the server; the
// other end closes 100 ms after EOF (the first FIN is acked before the
// second one goes out). Pumps until the first closer is in TIME-WAIT.
struct OneClose {
    pid_t child = 0;
    Captured cap;
    std::vector<Transition> client, server;
};

void close_one(const Netns& ns, int family, uint16_t port, First first, OneClose* out) {
    Session s(ns);
    PortPipe pp;
    out->child = spawn_in(ns, [&] {
        int l = tcp_listen(family, port);
        int c = tcp_connect(family, port);
        int a = tcp_accept(l);
        pp.send(local_port(c));
        const int closer = first == First::Client ? c : a, peer = first == First::Client ? a : c;
        close(closer);
        read_until_eof(peer);
        sleep_ms(100);
        close(peer);
        close(l);
        return 0;
    });
    const uint16_t cport = pp.receive();
    ASSERT_EQ(s.wait(out->child), 0);
    const uint16_t lport = first == First::Client ? cport : port, rport = first == First::Client ? port : cport;
    s.pump_until(
        [&] {
            return sequence(of_socket(s.so_far().transitions, lport, rport)).find("TIME-WAIT") != std::string::npos;
        },
        2);
    out->cap = s.finish();
    out->client = of_socket(out->cap.transitions, cport, port);
    out->server = of_socket(out->cap.transitions, port, cport);
}

// What both orderly closes show: the full sequence of each end, and the
// workload's pid on the transitions its own calls made (connect(), the
// first close(), the second close()).
void expect_orderly_close(const OneClose& r, First first) {
    const auto& closer = first == First::Client ? r.client : r.server;
    const auto& peer = first == First::Client ? r.server : r.client;
    EXPECT_EQ(sequence(r.client), kClientOpened + (first == First::Client ? kClosedFirst : kClosedSecond));
    EXPECT_EQ(sequence(r.server), kServerOpened + (first == First::Client ? kClosedSecond : kClosedFirst));
    expect_actor(r.client, kClose, kSynSent, r.child);
    expect_actor(closer, kEstablished, kFinWait1, r.child);
    expect_actor(peer, kCloseWait, kLastAck, r.child);
    expect_clean(r.cap);
}

TEST_P(TraceTest, ClientClosesFirst) {
    OneClose r;
    ASSERT_NO_FATAL_FAILURE(close_one(ns, family(), 7001, First::Client, &r));
    expect_orderly_close(r, First::Client);
    // The accepted socket is owned by the accepting process, even for the
    // transitions the kernel made in softirq.
    for (const auto& t : r.server) {
        if (t.new_state == kCloseWait) {
            EXPECT_FALSE(t.in_task);
            EXPECT_EQ(t.actor.pid, static_cast<uint32_t>(r.child));
        }
    }
    for (const auto& t : r.client) EXPECT_EQ(t.local.family, family() == AF_INET6 ? 6 : 4);
}

TEST_P(TraceTest, ServerClosesFirst) {
    OneClose r;
    ASSERT_NO_FATAL_FAILURE(close_one(ns, family(), 7002, First::Server, &r));
    expect_orderly_close(r, First::Server);
}

TEST_P(TraceTest, ConnectionRefused) {
    const uint16_t port = 7003;
    Session s(ns);
    pid_t child = spawn_in(ns, [&] { return tcp_connect(family(), port) < 0 && errno == ECONNREFUSED ? 0 : 1; });
    ASSERT_EQ(s.wait(child), 0);
    s.pump(0.2);
    Captured cap = s.finish();
    ASSERT_FALSE(cap.transitions.empty());
    uint64_t cookie = cap.transitions.front().cookie;
    std::vector<Transition> mine;
    for (const auto& t : cap.transitions)
        if (t.cookie == cookie) mine.push_back(t);
    EXPECT_EQ(sequence(mine), "CLOSE>SYN-SENT SYN-SENT>CLOSE");
    EXPECT_EQ(cap.transitions.size(), 2u);
    EXPECT_EQ(mine.back().remote.port, port);
    expect_actor(mine, kClose, kSynSent, child);
    expect_clean(cap);
}

TEST_P(TraceTest, AbortByReset) {
    const uint16_t port = 7004;
    Session s(ns);
    PortPipe pp;
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(family(), port);
        int c = tcp_connect(family(), port);
        int a = tcp_accept(l);
        pp.send(local_port(c));
        linger_zero(c);
        close(c);  // RST
        sleep_ms(50);
        close(a);
        close(l);
        return 0;
    });
    uint16_t cport = pp.receive();
    ASSERT_EQ(s.wait(child), 0);
    s.pump(0.2);
    Captured cap = s.finish();
    auto client = of_socket(cap.transitions, cport, port);
    auto server = of_socket(cap.transitions, port, cport);
    EXPECT_EQ(sequence(client), "CLOSE>SYN-SENT SYN-SENT>ESTABLISHED ESTABLISHED>CLOSE");
    EXPECT_EQ(sequence(server), "LISTEN>SYN-RECV SYN-RECV>ESTABLISHED ESTABLISHED>CLOSE");
    expect_actor(client, kEstablished, kClose, child);
    for (const auto& t : server) {
        if (t.new_state == kClose) {
            EXPECT_FALSE(t.in_task) << "the RST is processed in softirq";
        }
    }
    expect_clean(cap);
}

TEST_P(TraceTest, OtherNamespaceIsNotReported) {
    Netns other;
    const uint16_t port = 7005;
    Session s(ns);
    pid_t child = spawn_in(other, [&] {
        int l = tcp_listen(family(), port);
        int c = tcp_connect(family(), port);
        int a = tcp_accept(l);
        close(c);
        close(a);
        close(l);
        return 0;
    });
    ASSERT_EQ(s.wait(child), 0);
    s.pump(0.3);
    Captured cap = s.finish();
    EXPECT_TRUE(cap.transitions.empty()) << sequence(cap.transitions);
    for (const auto& ev : cap.events) EXPECT_EQ(ev.netns, ns.inode());
}

INSTANTIATE_TEST_SUITE_P(Families, TraceTest, ::testing::Values(AF_INET, AF_INET6),
                         [](const auto& info) { return info.param == AF_INET ? "IPv4" : "IPv6"; });

}  // namespace
}  // namespace tltest
