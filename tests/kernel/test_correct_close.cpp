// Issue 9, sections 1, 2 and 7: a close() that leaves the state as it is
// (tcp_close_state after shutdown) is not a new stay; no_timewait is exactly
// TcpExt TCPTimeWaitOverflow and aborts are counted apart; a BPF socket
// filter follows a connection to its end. Checked against tcpdump in the
// namespace and the namespace's own TcpExt counters.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "harness.hpp"
#include "host/netns.hpp"
#include "lifecycle_util.hpp"
#include "stats/aggregator.hpp"
#include "stats/filter.hpp"

namespace tltest {
namespace {

constexpr uint64_t kMs = 1'000'000;

// Values the workload children hand back: anonymous shared memory.
template <typename T>
T* shared() {
    void* p = mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    return new (p) T{};
}

void expect_complete(const Captured& cap) {
    EXPECT_EQ(cap.drops.lost(), 0u);
    EXPECT_EQ(cap.drops.sock_untracked + cap.drops.sock_map_full, 0u);
    EXPECT_EQ(cap.engine.evicted, 0u);
}

void wait_state(int fd, int state) {
    for (int k = 0; k < 400 && tcp_state(fd) != state; ++k) sleep_ms(5);
    if (tcp_state(fd) != state) {
        std::fprintf(stderr, "workload: socket never reached state %d (is %d)\n", state, tcp_state(fd));
        _exit(98);
    }
}

// ---- tcpdump in the namespace: the independent clock of the wire ----

struct Packet {
    double ts = 0;  // CLOCK_REALTIME, s (pcap)
    uint16_t sport = 0, dport = 0;
    std::string flags;
    uint32_t seq_end = 0;  // sequence number after the payload (a FIN's own number)
    bool has_ack = false;
    uint32_t ack = 0;
    bool fin() const { return flags.find('F') != std::string::npos; }
};

class Tcpdump {
public:
    Tcpdump(const Netns& ns, const std::string& filter) {
        static int n = 0;
        path_ = "/tmp/tlt-cc-" + std::to_string(getpid()) + "-" + std::to_string(n++) + ".pcap";
        int err[2];
        EXPECT_EQ(pipe(err), 0);
        pid_ = fork();
        if (pid_ == 0) {
            dup2(err[1], 2);
            close(err[0]);
            execlp("ip", "ip", "netns", "exec", ns.name().c_str(), "tcpdump", "-i", "lo", "-n", "-U",
                   "--immediate-mode", "--time-stamp-precision=nano", "-w", path_.c_str(), filter.c_str(),
                   (char*)nullptr);
            _exit(127);
        }
        close(err[1]);
        // Readiness: tcpdump says "listening on lo" once its capture is open.
        FILE* in = fdopen(err[0], "r");
        char line[512];
        while (fgets(line, sizeof(line), in))
            if (std::strstr(line, "listening on")) {
                ready_ = true;
                break;
            }
        err_ = in;
        EXPECT_TRUE(ready_) << "tcpdump did not start (is it installed? scripts/bootstrap)";
    }
    ~Tcpdump() {
        if (pid_ > 0) stop();
        std::remove(path_.c_str());
    }
    std::vector<Packet> stop() {
        if (pid_ > 0) {
            kill(pid_, SIGINT);
            waitpid(pid_, nullptr, 0);
            pid_ = 0;
            if (err_) fclose(err_);
            err_ = nullptr;
        }
        std::vector<Packet> out;
        std::string cmd = "tcpdump -r " + path_ + " -n -tt -S --time-stamp-precision=nano 2>/dev/null";
        FILE* p = popen(cmd.c_str(), "r");
        char line[1024];
        while (p && fgets(line, sizeof(line), p)) {
            // 1764600000.123456789 IP 127.0.0.1.40000 > 127.0.0.1.7401: Flags [F.], seq 5:9, ack 7, ...
            std::istringstream ls(line);
            std::string ts, ip, src, gt, dst;
            ls >> ts >> ip >> src >> gt >> dst;
            Packet pk;
            pk.ts = std::stod(ts);
            pk.sport = static_cast<uint16_t>(std::stoul(src.substr(src.rfind('.') + 1)));
            pk.dport = static_cast<uint16_t>(std::stoul(dst.substr(dst.rfind('.') + 1)));
            std::string rest(line);
            auto f = rest.find("Flags [");
            if (f != std::string::npos) pk.flags = rest.substr(f + 7, rest.find(']', f) - f - 7);
            auto s = rest.find(", seq ");
            if (s != std::string::npos) {
                std::string seq = rest.substr(s + 6, rest.find(',', s + 6) - s - 6);
                auto colon = seq.find(':');
                pk.seq_end =
                    static_cast<uint32_t>(std::stoul(colon == std::string::npos ? seq : seq.substr(colon + 1)));
            }
            auto a = rest.find(", ack ");
            if (a != std::string::npos) {
                pk.has_ack = true;
                pk.ack = static_cast<uint32_t>(std::stoul(rest.substr(a + 6)));
            }
            out.push_back(pk);
        }
        if (p) pclose(p);
        return out;
    }

private:
    std::string path_;
    pid_t pid_ = 0;
    FILE* err_ = nullptr;
    bool ready_ = false;
};

// The FIN from `from` to `to`, and the packet that acknowledges it.
const Packet* fin_of(const std::vector<Packet>& ps, uint16_t from, uint16_t to) {
    for (const auto& p : ps)
        if (p.sport == from && p.dport == to && p.fin()) return &p;
    return nullptr;
}
const Packet* ack_of(const std::vector<Packet>& ps, const Packet& fin) {
    for (const auto& p : ps)
        if (p.sport == fin.dport && p.dport == fin.sport && p.has_ack && p.ack == fin.seq_end + 1 && p.ts >= fin.ts)
            return &p;
    return nullptr;
}

// ---- section 1: one stay per connection ----

// close() after shutdown(SHUT_WR): FIN-WAIT-2 -> FIN-WAIT-2 (tcp.c:
// tcp_close_state). With tcp_fin_timeout above TCP_TIMEWAIT_LEN the orphan
// stays a full socket (tcp.c: __tcp_close arms the keepalive timer), so the
// whole FIN-WAIT-2 stay is seen by the tracepoint and tcpdump bounds it: from
// the ACK of our FIN to the peer's FIN.
TEST(CorrectClose, CloseAfterShutdownIsOneFinWait2Stay) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_fin_timeout", "120");
    const uint16_t port = 7401;
    const int kConns = 3;
    struct Ports {
        uint16_t p[kConns];
    };
    Ports* ports = shared<Ports>();
    Tcpdump dump(ns, "tcp port " + std::to_string(port));
    Session s(ns);
    pid_t child = spawn_in(ns, [&] {
        realtime_priority();
        int l = tcp_listen(AF_INET, port);
        for (int i = 0; i < kConns; ++i) {
            int c = tcp_connect(AF_INET, port);
            int a = tcp_accept(l);
            ports->p[i] = local_port(c);
            shutdown(c, SHUT_WR);
            wait_state(c, TCP_FIN_WAIT2);
            sleep_ms(100);
            close(c);  // FIN-WAIT-2 -> FIN-WAIT-2, in this task: it names the closer
            sleep_ms(200);
            read_until_eof(a);
            close(a);  // the server's FIN: client FIN-WAIT-2 -> TIME-WAIT
        }
        return 0;
    });
    ASSERT_EQ(s.wait(child), 0);
    s.pump(0.3);
    Captured cap = s.finish();
    auto packets = dump.stop();
    for (const auto& t : cap.transitions) EXPECT_NE(t.old_state, t.new_state) << "a same-state event is no transition";
    // The mode really in effect: lean ships no connection set-up.
    size_t setup = 0;
    for (const auto& ev : cap.events) setup += ev.kind == EventKind::State && ev.new_state == kSynSent;
    EXPECT_EQ(setup, lean_session() ? 0u : static_cast<size_t>(kConns));
    for (int i = 0; i < kConns; ++i) {
        uint16_t p = ports->p[i];
        SCOPED_TRACE("client port " + std::to_string(p));
        std::vector<const Residency*> fw2;
        for (const auto& r : cap.residencies)
            if (r.state == kFinWait2 && r.local.port == p) fw2.push_back(&r);
        ASSERT_EQ(fw2.size(), 1u) << "one FIN-WAIT-2 stay per connection";
        const Packet* our_fin = fin_of(packets, p, port);
        ASSERT_TRUE(our_fin);
        const Packet* acked = ack_of(packets, *our_fin);
        const Packet* peer_fin = fin_of(packets, port, p);
        ASSERT_TRUE(acked && peer_fin) << packets.size() << " packets captured";
        double wire_ms = (peer_fin->ts - acked->ts) * 1e3;
        EXPECT_NEAR(static_cast<double>(fw2[0]->duration_ns()) / kMs, wire_ms, 0.1);
        EXPECT_GT(wire_ms, 250.0);
        EXPECT_EQ(fw2[0]->owner.pid, static_cast<uint32_t>(child)) << "charged to the closer";
        bool tw = false;
        for (const auto& [cookie, c] : s.engine().connections())
            if (c.local.port == p && c.state == kTimeWait) {
                tw = true;
                EXPECT_EQ(c.closer.pid, static_cast<uint32_t>(child));
            }
        EXPECT_TRUE(tw);
    }
    expect_complete(cap);
}

// Fills fd's send queue while the peer reads nothing: with both buffers
// small the peer's window closes and data stays unsent, so a FIN queued now
// waits behind it (tcp_output.c: tcp_send_fin) until the peer reads.
void fill_until_blocked(int fd) {
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    char chunk[4096] = {};
    // Blocked for good once the queue is still full after a pause: a
    // momentary EAGAIN only means data in flight, not a closed window.
    do {
        while (write(fd, chunk, sizeof(chunk)) > 0) {
        }
        sleep_ms(20);
    } while (write(fd, chunk, sizeof(chunk)) > 0);
    fcntl(fd, F_SETFL, flags);
}

void small_buffer(int fd, int opt) {
    int size = 4096;
    setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

// A client socket whose receive window is small from its SYN on (set later,
// the kernel would not shrink a window it already offered).
int connect_small_rcvbuf(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    small_buffer(fd, SO_RCVBUF);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) _exit(97);
    return fd;
}

// close() after shutdown() in FIN-WAIT-1 and in LAST-ACK: FIN-WAIT-1 ->
// FIN-WAIT-1 and LAST-ACK -> LAST-ACK. Each stay runs from the shutdown()
// (the workload's CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns) to the
// ACK of its FIN (tcpdump), and CLOSE-WAIT from the peer's FIN (tcpdump) to
// the shutdown().
TEST(CorrectClose, CloseAfterShutdownIsOneFinWait1AndOneLastAckStay) {
    Netns ns;
    const uint16_t port = 7402;
    struct Shared {
        uint16_t fw1_port, la_peer_port;
        uint64_t fw1_shutdown_ns, la_shutdown_ns;
    };
    Shared* sh = shared<Shared>();
    Tcpdump dump(ns, "tcp port " + std::to_string(port));
    Session s(ns);
    pid_t child = spawn_in(ns, [&] {
        realtime_priority();
        int l = tcp_listen(AF_INET, port);
        small_buffer(l, SO_RCVBUF);  // inherited by the accepted sockets, window and all
        // FIN-WAIT-1: the client's FIN waits behind data the server does not read.
        int c = tcp_connect(AF_INET, port);
        int a = tcp_accept(l);
        small_buffer(c, SO_SNDBUF);
        sh->fw1_port = local_port(c);
        fill_until_blocked(c);
        sh->fw1_shutdown_ns = now_ns();
        shutdown(c, SHUT_WR);
        sleep_ms(100);
        if (tcp_state(c) != TCP_FIN_WAIT1) return 20;
        close(c);  // FIN-WAIT-1 -> FIN-WAIT-1
        sleep_ms(200);
        read_until_eof(a);
        close(a);
        // LAST-ACK: the server's FIN waits behind data the client does not read.
        int c2 = connect_small_rcvbuf(port);
        int a2 = tcp_accept(l);
        small_buffer(a2, SO_SNDBUF);
        sh->la_peer_port = local_port(c2);
        shutdown(c2, SHUT_WR);
        wait_state(a2, TCP_CLOSE_WAIT);
        fill_until_blocked(a2);
        sh->la_shutdown_ns = now_ns();
        shutdown(a2, SHUT_WR);
        sleep_ms(100);
        if (tcp_state(a2) != TCP_LAST_ACK) return 30 + tcp_state(a2);
        close(a2);  // LAST-ACK -> LAST-ACK
        sleep_ms(200);
        read_until_eof(c2);
        sleep_ms(20);
        close(c2);
        return 0;
    });
    ASSERT_EQ(s.wait(child), 0);
    s.pump(0.3);
    Captured cap = s.finish();
    auto packets = dump.stop();
    const double offset_s = static_cast<double>(realtime_minus_monotonic_ns()) / 1e9;
    auto mono_ms = [&](const Packet& p) { return (p.ts - offset_s) * 1e3; };
    auto stays = [&](uint8_t state, uint16_t lport, uint16_t rport) {
        std::vector<const Residency*> out;
        for (const auto& r : cap.residencies)
            if (r.state == state && r.local.port == lport && r.remote.port == rport) out.push_back(&r);
        return out;
    };
    auto ms = [](uint64_t ns) { return static_cast<double>(ns) / kMs; };

    // Lean mode (stats) ships no way into or out of FIN-WAIT-1 of an orphan
    // that becomes a timewait socket: stats has no FIN-WAIT-1 figure.
    auto fw1 = stays(kFinWait1, sh->fw1_port, port);
    ASSERT_EQ(fw1.size(), lean_session() ? 0u : 1u) << "one FIN-WAIT-1 stay";
    const Packet* fin1 = fin_of(packets, sh->fw1_port, port);
    ASSERT_TRUE(fin1);
    const Packet* ack1 = ack_of(packets, *fin1);
    ASSERT_TRUE(ack1);
    if (!fw1.empty()) {
        EXPECT_NEAR(ms(fw1[0]->duration_ns()), mono_ms(*ack1) - ms(sh->fw1_shutdown_ns), 0.1);
        EXPECT_GT(ms(fw1[0]->duration_ns()), 250.0);
    }

    auto la = stays(kLastAck, port, sh->la_peer_port);
    ASSERT_EQ(la.size(), 1u) << "one LAST-ACK stay";
    const Packet* fin2 = fin_of(packets, port, sh->la_peer_port);
    ASSERT_TRUE(fin2);
    const Packet* ack2 = ack_of(packets, *fin2);
    ASSERT_TRUE(ack2);
    EXPECT_NEAR(ms(la[0]->duration_ns()), mono_ms(*ack2) - ms(sh->la_shutdown_ns), 0.1);
    EXPECT_GT(ms(la[0]->duration_ns()), 250.0);

    auto cw = stays(kCloseWait, port, sh->la_peer_port);
    ASSERT_EQ(cw.size(), 1u);
    const Packet* peer_fin = fin_of(packets, sh->la_peer_port, port);
    ASSERT_TRUE(peer_fin);
    EXPECT_NEAR(ms(cw[0]->duration_ns()), ms(sh->la_shutdown_ns) - mono_ms(*peer_fin), 0.1);
    for (const auto& t : cap.transitions) EXPECT_NE(t.old_state, t.new_state);
    expect_complete(cap);
}

// The shutdown() happened before tracing began: the close() that follows,
// a FIN-WAIT-2 -> FIN-WAIT-2, is the only event that names the closer. The
// socket is handed to another process first, so owner (the holder seen at
// start, from /proc) and closer differ, and the TIME-WAIT is the closer's.
TEST(CorrectClose, CloseAfterShutdownNamesTheCloserWhenNothingElseDid) {
    Netns ns;
    const uint16_t port = 7403;
    struct Shared {
        uint16_t cport;
        pid_t closer;
    };
    Shared* sh = shared<Shared>();
    int pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    Gate made, traced, dropped, closed;
    pid_t holder = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, port);
        int c = tcp_connect(AF_INET, port);
        int a = tcp_accept(l);
        sh->cport = local_port(c);
        shutdown(c, SHUT_WR);
        wait_state(c, TCP_FIN_WAIT2);
        pid_t closer = fork();
        if (closer == 0) {
            int mine = recv_fd(pair[1]);
            if (mine < 0) _exit(95);
            dropped.wait();  // the holder's copy is gone: this close() is the last
            close(mine);     // FIN-WAIT-2 -> FIN-WAIT-2: this process is the closer
            closed.open();
            _exit(0);
        }
        sh->closer = closer;
        made.open();
        traced.wait();
        if (!send_fd(pair[0], c)) _exit(96);
        close(c);  // not the last reference (in flight, then the closer's): no kernel event
        dropped.open();
        closed.wait();
        sleep_ms(50);
        close(a);  // the peer's FIN: TIME-WAIT, hidden in the timewait socket
        return reap(closer);
    });
    made.wait();
    Session s(ns, /*snapshot=*/true);
    traced.open();
    ASSERT_EQ(s.wait(holder), 0);
    s.pump(0.6);  // at least two probe rounds: the hidden move to TIME-WAIT
    const Connection* conn = nullptr;
    for (const auto& [cookie, c] : s.engine().connections())
        if (c.local.port == sh->cport && c.remote.port == port) conn = &c;
    ASSERT_TRUE(conn);
    EXPECT_EQ(conn->state, kTimeWait);
    EXPECT_EQ(conn->owner.pid, static_cast<uint32_t>(holder)) << "the holder seen at start";
    EXPECT_EQ(conn->closer.pid, static_cast<uint32_t>(sh->closer)) << "named by the same-state close()";
    Filter all;
    Aggregator agg(GroupBy::Process, all);
    uint64_t closer_tw = 0, holder_tw = 0;
    for (const auto& g : agg.report(s.engine(), now_ns())) {
        auto it = g.states.find(kTimeWait);
        if (it == g.states.end()) continue;
        if (g.key.pid == static_cast<uint32_t>(sh->closer)) closer_tw += it->second.current;
        if (g.key.pid == static_cast<uint32_t>(holder)) holder_tw += it->second.current;
    }
    EXPECT_EQ(closer_tw, 1u);
    EXPECT_EQ(holder_tw, 0u);
    expect_complete(s.finish());
}

// ---- section 2: no_timewait is TCPTimeWaitOverflow, aborts apart ----

struct CloseFigures {
    uint64_t overflow_delta = 0;  // TcpExt TCPTimeWaitOverflow, read inside the namespace
    uint64_t no_timewait = 0, aborted = 0, tw_entered = 0;
    std::map<uint32_t, uint64_t> aborted_by_pid;  // per group (process)
    pid_t workload = 0;
};

uint64_t overflow_counter(const Netns& ns) {
    auto ext = tcplinger::sys::read_tcpext(ns.path());
    return ext.count("TCPTimeWaitOverflow") ? ext["TCPTimeWaitOverflow"] : 0;
}

CloseFigures run_closes(const Netns& ns, const std::function<int()>& workload) {
    CloseFigures f;
    uint64_t before = overflow_counter(ns);
    Session s(ns);
    pid_t child = spawn_in(ns, workload);
    f.workload = child;
    EXPECT_EQ(s.wait(child), 0);
    s.pump(0.3);
    Captured cap = s.finish();
    f.overflow_delta = overflow_counter(ns) - before;
    Filter all;
    Aggregator agg(GroupBy::Process, all);
    for (const auto& t : cap.transitions) agg.add(t);
    for (const auto& r : cap.residencies) agg.add(r);
    for (const auto& g : agg.report(s.engine(), 0)) {
        f.no_timewait += g.no_timewait;
        f.aborted += g.aborted;
        f.aborted_by_pid[g.key.pid] += g.aborted;
        auto it = g.states.find(kTimeWait);
        if (it != g.states.end()) f.tw_entered += it->second.entered;
    }
    expect_complete(cap);
    return f;
}

// tcp_max_tw_buckets = 3: the first three closes get a TIME-WAIT, the other
// seven none (tcp_minisocks.c: tcp_time_wait, inet_twsk_alloc returns NULL).
TEST(CorrectClose, NoTimeWaitEqualsTimeWaitOverflow) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_max_tw_buckets", "3");
    const uint16_t port = 7411;
    CloseFigures f = run_closes(ns, [&] {
        int l = tcp_listen(AF_INET, port);
        connect_close_client_first(l, AF_INET, port, 10);
        return 0;
    });
    EXPECT_EQ(f.overflow_delta, 7u);
    EXPECT_EQ(f.no_timewait, f.overflow_delta);
    EXPECT_EQ(f.tw_entered, 3u);
    EXPECT_EQ(f.aborted, 0u);
}

// The aborts below run with tcp_max_tw_buckets = 0, so the buckets are full
// the whole time: only the kernel path can tell them from an overflow. Each
// of kAborts connections (c connected to a) must end as two aborts, one per
// side, and no overflow.
constexpr int kAborts = 5;

void expect_two_aborts_per_connection(uint16_t port, const std::function<int(int c, int a)>& abort_one) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_max_tw_buckets", "0");
    CloseFigures f = run_closes(ns, [&] {
        int l = tcp_listen(AF_INET, port);
        for (int i = 0; i < kAborts; ++i) {
            int c = tcp_connect(AF_INET, port);
            int a = tcp_accept(l);
            if (int rc = abort_one(c, a)) return rc;
        }
        return 0;
    });
    EXPECT_EQ(f.overflow_delta, 0u);
    EXPECT_EQ(f.no_timewait, 0u);
    EXPECT_EQ(f.aborted, 2u * kAborts);
    EXPECT_EQ(f.aborted_by_pid[f.workload], 2u * kAborts) << "charged to the process of both ends";
    EXPECT_EQ(f.tw_entered, 0u);
}

// SO_LINGER {1,0} close() in FIN-WAIT-2: tcp_disconnect() moves to CLOSE
// before it sets sk_err and sends an RST; the peer's CLOSE-WAIT ends by it.
TEST(CorrectClose, AbortiveCloseInFinWait2IsAnAbortNotAnOverflow) {
    expect_two_aborts_per_connection(7412, [](int c, int a) {
        shutdown(c, SHUT_WR);
        wait_state(c, TCP_FIN_WAIT2);
        linger_zero(c);
        close(c);  // RST
        wait_state(a, TCP_CLOSE);
        close(a);
        return 0;
    });
}

// TCP_LINGER2 = -1: the orphan's FIN-WAIT-2 ends at once, with no TIME-WAIT
// (tcp.c: __tcp_close; tcp_input.c: tcp_rcv_state_process); the peer ends
// by the RST it gets (in CLOSE-WAIT, or in LAST-ACK for its own FIN).
TEST(CorrectClose, NegativeLinger2IsAnAbortNotAnOverflow) {
    expect_two_aborts_per_connection(7413, [](int c, int a) {
        int minus_one = -1;
        if (setsockopt(c, IPPROTO_TCP, TCP_LINGER2, &minus_one, sizeof(minus_one)) != 0) return 11;
        close(c);
        read_until_eof(a);
        sleep_ms(20);
        close(a);
        sleep_ms(20);
        return 0;
    });
}

// An RST while the peer is in CLOSE-WAIT: the FIN-WAIT-2 side ends by
// tcp_reset() (sk_err set first), the CLOSE-WAIT side by tcp_disconnect().
TEST(CorrectClose, ResetOfCloseWaitPeerIsAnAbortNotAnOverflow) {
    expect_two_aborts_per_connection(7414, [](int c, int a) {
        shutdown(c, SHUT_WR);
        wait_state(c, TCP_FIN_WAIT2);
        linger_zero(a);
        close(a);  // RST from CLOSE-WAIT
        wait_state(c, TCP_CLOSE);
        close(c);
        return 0;
    });
}

// ---- section 7: a BPF filter follows a connection to its end ----

struct Figures {
    std::map<uint8_t, std::array<uint64_t, 3>> states;  // entered, completed, current
    uint64_t aborted = 0, no_timewait = 0;
    bool operator==(const Figures&) const = default;
};

std::string describe(const Figures& f) {
    std::string out;
    for (const auto& [st, v] : f.states)
        out += std::string(state_name(st)) + " entered " + std::to_string(v[0]) + " completed " + std::to_string(v[1]) +
               " current " + std::to_string(v[2]) + "; ";
    return out + "aborted " + std::to_string(f.aborted) + " no_timewait " + std::to_string(f.no_timewait);
}

Figures figures(const Captured& cap, const Engine& engine, const Filter& filter) {
    Aggregator agg(GroupBy::Process, filter);
    for (const auto& t : cap.transitions) agg.add(t);
    for (const auto& r : cap.residencies) agg.add(r);
    auto groups = agg.report(engine, 0);
    Figures f;
    for (const auto& [st, sf] : totals(groups))
        if (sf.entered || sf.current || sf.residency.count())
            f.states[st] = {sf.entered + sf.present_at_start, sf.residency.count(), sf.current};
    for (const auto& g : groups) {
        f.aborted += g.aborted;
        f.no_timewait += g.no_timewait;
    }
    return f;
}

TEST(CorrectClose, PortAndFamilyFiltersFollowConnectionsToTheirEnd) {
    Netns ns;
    const uint16_t v4 = 7421, v6 = 7422;
    const int kConns = 4;
    struct Case {
        std::string name;
        KernelFilter kernel;
    };
    // --netns is every Session's own filter: the first case is it alone.
    std::vector<Case> cases = {{"--netns", {}},
                               {"--lport v4", {.lport = v4}},
                               {"--lport v6", {.lport = v6}},
                               {"--rport v4", {.rport = v4}},
                               {"--rport v6", {.rport = v6}},
                               {"--port v4", {.port = v4}},
                               {"-4", {.family = 4}},
                               {"-6", {.family = 6}}};
    std::vector<std::unique_ptr<Session>> sessions;
    for (const auto& c : cases) sessions.push_back(std::make_unique<Session>(ns, false, false, c.kernel));
    pid_t child = spawn_in(ns, [&] {
        int l4 = tcp_listen(AF_INET, v4), l6 = tcp_listen(AF_INET6, v6);
        // v4: client closes first (server CLOSE-WAIT, LAST-ACK; client
        // FIN-WAIT-2, TIME-WAIT). v6: server closes first, the other way round.
        connect_close_client_first(l4, AF_INET, v4, kConns);
        for (int i = 0; i < kConns; ++i) {
            int c = tcp_connect(AF_INET6, v6);
            int a = tcp_accept(l6);
            close(a);
            read_until_eof(c);
            close(c);
        }
        close(l4);
        close(l6);
        return 0;
    });
    ASSERT_EQ(sessions[0]->wait(child), 0);
    for (auto& s : sessions) s->pump(0.3);
    std::vector<Captured> caps;
    for (auto& s : sessions) caps.push_back(s->finish());

    auto n = static_cast<uint64_t>(kConns);
    Figures base = figures(caps[0], sessions[0]->engine(), Filter{});
    // Exact: every closing side made one FIN-WAIT-2 stay that became a
    // TIME-WAIT (still there), every passive side a CLOSE-WAIT and a LAST-ACK.
    Figures want;
    want.states[kFinWait2] = {2 * n, 2 * n, 0};
    want.states[kTimeWait] = {2 * n, 0, 2 * n};
    want.states[kCloseWait] = {2 * n, 2 * n, 0};
    want.states[kLastAck] = {2 * n, 2 * n, 0};
    EXPECT_EQ(base, want) << describe(base);
    for (size_t i = 1; i < cases.size(); ++i) {
        SCOPED_TRACE(cases[i].name);
        // What the unfiltered run shows for the same sockets, filtered afterwards.
        FilterOptions fo;
        fo.lport = cases[i].kernel.lport;
        fo.rport = cases[i].kernel.rport;
        fo.port = cases[i].kernel.port;
        fo.ipv4 = cases[i].kernel.family == 4;
        fo.ipv6 = cases[i].kernel.family == 6;
        Figures expected = figures(caps[0], sessions[0]->engine(), Filter(fo));
        Figures got = figures(caps[i], sessions[i]->engine(), Filter{});
        EXPECT_EQ(got, expected) << "filtered in BPF: " << describe(got) << "\nunfiltered: " << describe(expected);
        EXPECT_FALSE(got.states.empty());
        expect_complete(caps[i]);
    }
    // One exact case by hand: the v4 server sockets end in LAST-ACK -> CLOSE,
    // the transition whose local port the kernel has already released.
    Figures lport4 = figures(caps[1], sessions[1]->engine(), Filter{});
    Figures want4;
    want4.states[kCloseWait] = {n, n, 0};
    want4.states[kLastAck] = {n, n, 0};
    EXPECT_EQ(lport4, want4) << describe(lport4);
}

}  // namespace
}  // namespace tltest
