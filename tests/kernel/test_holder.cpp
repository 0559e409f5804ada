// Issue 9, section 3: a stay is charged to the process that holds the
// socket and closes it, not to the accept() caller. accept-then-fork servers
// and SCM_RIGHTS hand-offs move a socket to another process; the CLOSE-WAIT
// it leaks there, its TIME-WAIT and LAST-ACK belong to that process, and a
// CLOSE-WAIT still open is shown with the holder's pid and fd, whether
// tracing saw the leak begin or started after it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "../common/json.hpp"
#include "harness.hpp"
#include "host/clock.hpp"
#include "lifecycle_util.hpp"
#include "stats/aggregator.hpp"
#include "stats/filter.hpp"

namespace tltest {
namespace {

constexpr uint64_t kMs = 1'000'000;

// The socket followed by the engine with this 4-tuple (server side:
// local = the listening port).
const Connection* connection(Session& s, uint16_t lport, uint16_t rport) {
    for (const auto& [cookie, c] : s.engine().connections())
        if (c.local.port == lport && c.remote.port == rport) return &c;
    return nullptr;
}

// What stats would report now: CLOSE-WAIT sockets still open per process,
// and the holder rows, with the holders the tracer reads at report time.
struct Charged {
    std::map<uint32_t, uint64_t> current;               // pid -> CLOSE-WAIT current
    std::map<uint32_t, uint64_t> at_start;              // pid -> of which present at start
    std::vector<std::pair<uint32_t, HeldSocket>> rows;  // group pid, row
};

Charged close_wait_now(Session& s, uint8_t state = kCloseWait) {
    Filter all;
    Aggregator agg(GroupBy::Process, all);
    Charged out;
    for (const auto& g : agg.report(s.engine(), tcplinger::sys::monotonic_ns(), 0, s.holders())) {
        auto it = g.states.find(state);
        if (it != g.states.end() && it->second.current) {
            out.current[g.key.pid] += it->second.current;
            out.at_start[g.key.pid] += it->second.present_at_start;
        }
        for (const auto& h : g.holders) out.rows.emplace_back(g.key.pid, h);
    }
    return out;
}

TEST(Lifecycle, HolderForkedChildLeakingCloseWaitIsChargedWithItsFd) {
    Netns ns;
    const uint16_t port = 7201;
    Session live(ns);
    ForkedServer srv;
    start_forked_server(ns, srv, port);
    live.pump(0.3);

    const Connection* c = connection(live, port, srv.cport);
    ASSERT_TRUE(c);
    ASSERT_EQ(c->state, kCloseWait);
    EXPECT_EQ(c->owner.pid, static_cast<uint32_t>(srv.parent)) << "accept() ran in the parent";

    Charged now = close_wait_now(live);
    EXPECT_EQ(now.current[srv.child], 1u);
    EXPECT_EQ(now.current.count(srv.parent), 0u) << "the parent closed its copy: it does not leak";
    ASSERT_EQ(now.rows.size(), 1u);
    EXPECT_EQ(now.rows[0].first, static_cast<uint32_t>(srv.child));
    EXPECT_EQ(now.rows[0].second.holder.pid, static_cast<uint32_t>(srv.child));
    EXPECT_EQ(now.rows[0].second.fd, srv.child_fd);
    EXPECT_EQ(now.rows[0].second.holder.comm, own_comm());
    EXPECT_EQ(now.rows[0].second.local.port, port);
    EXPECT_FALSE(now.rows[0].second.age_at_least);

    // Started after the leak began: the same process, fd and socket.
    Session late(ns, /*snapshot=*/true);
    late.pump(0.3);
    Charged then = close_wait_now(late);
    EXPECT_EQ(then.current, now.current);
    EXPECT_EQ(then.at_start[srv.child], 1u);
    ASSERT_EQ(then.rows.size(), 1u);
    EXPECT_EQ(then.rows[0].first, now.rows[0].first);
    EXPECT_EQ(then.rows[0].second.holder, now.rows[0].second.holder);
    EXPECT_EQ(then.rows[0].second.fd, now.rows[0].second.fd);
    EXPECT_EQ(then.rows[0].second.cookie, now.rows[0].second.cookie);
    EXPECT_TRUE(then.rows[0].second.age_at_least);

    // The child closes: the completed CLOSE-WAIT and the LAST-ACK are its,
    // in both runs.
    srv.release.open();
    for (Session* s : {&live, &late})
        ASSERT_TRUE(s->pump_until([&] { return find_residency(s->so_far(), kLastAck, port, srv.cport); }, 3));
    srv.exit.open();
    ASSERT_EQ(live.wait(srv.parent), 0);
    Captured cap = live.finish();
    Captured late_cap = late.finish();
    for (const Captured* k : {&cap, &late_cap}) {
        const Residency* cw = find_residency(*k, kCloseWait, port, srv.cport);
        ASSERT_TRUE(cw);
        EXPECT_EQ(cw->owner.pid, static_cast<uint32_t>(srv.child)) << "charged to the close() caller";
        const Residency* la = find_residency(*k, kLastAck, port, srv.cport);
        ASSERT_TRUE(la);
        EXPECT_EQ(la->owner.pid, static_cast<uint32_t>(srv.child));
    }
    EXPECT_FALSE(find_residency(cap, kCloseWait, port, srv.cport)->lower_bound);
    EXPECT_TRUE(find_residency(late_cap, kCloseWait, port, srv.cport)->lower_bound);
    expect_no_loss(cap);
    expect_no_loss(late_cap);
}

// The accepting process hands the socket to another one over a unix socket
// and closes its own fd; the receiver leaks the CLOSE-WAIT.
TEST(Lifecycle, HolderScmRightsReceiverIsChargedWithItsFd) {
    Netns ns;
    const uint16_t port = 7202;
    int sp[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    Session s(ns);
    Pipe ready, held, cport;
    Gate release, sender_exit;
    pid_t receiver = spawn_in(ns, [&] {
        close(sp[0]);
        int fd = recv_fd(sp[1]);
        if (fd < 0) return 2;
        read_until_eof(fd);
        held.send<int>(fd);
        release.wait();
        close(fd);
        return 0;
    });
    pid_t sender = spawn_in(ns, [&] {
        close(sp[1]);
        int l = tcp_listen(AF_INET, port);
        ready.send<char>(1);
        int a = tcp_accept(l);
        if (!send_fd(sp[0], a)) return 3;
        close(a);            // no transition: the fd in flight, then the receiver, hold it
        sender_exit.wait();  // alive, so being charged would be possible
        return 0;
    });
    Leftovers leftovers;
    leftovers.children = {receiver, sender};
    close(sp[0]);
    close(sp[1]);
    ready.receive<char>();
    pid_t client = spawn_client_closing_at_once(ns, port, cport);
    uint16_t cp = cport.receive<uint16_t>();
    int fd = held.receive<int>();
    ASSERT_EQ(s.wait(client), 0);
    s.pump(0.3);

    const Connection* c = connection(s, port, cp);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->owner.pid, static_cast<uint32_t>(sender));
    Charged now = close_wait_now(s);
    EXPECT_EQ(now.current[receiver], 1u);
    EXPECT_EQ(now.current.count(sender), 0u);
    ASSERT_EQ(now.rows.size(), 1u);
    EXPECT_EQ(now.rows[0].second.holder.pid, static_cast<uint32_t>(receiver));
    EXPECT_EQ(now.rows[0].second.fd, fd);

    release.open();
    ASSERT_EQ(s.wait(receiver), 0);
    sender_exit.open();
    ASSERT_EQ(s.wait(sender), 0);
    Captured cap = s.finish();
    const Residency* cw = find_residency(cap, kCloseWait, port, cp);
    ASSERT_TRUE(cw);
    EXPECT_EQ(cw->owner.pid, static_cast<uint32_t>(receiver)) << "charged to the receiver, who closed it";
    expect_no_loss(cap);
}

// A forked child shuts the connection down first: its FIN-WAIT-2 and
// TIME-WAIT are the child's, though its parent accepted the socket and
// owns it.
TEST(Lifecycle, HolderForkedChildThatClosesFirstGetsTheTimeWait) {
    Netns ns;
    const uint16_t port = 7203;
    Session s(ns);
    Pipe ready, child_pid, cport;
    Gate exit;
    pid_t parent = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, port);
        ready.send<char>(1);
        int a = tcp_accept(l);
        pid_t c = fork();
        if (c == 0) {
            shutdown(a, SHUT_WR);  // ESTABLISHED -> FIN-WAIT-1 in the child
            read_until_eof(a);     // the peer's FIN: FIN-WAIT-2 -> TIME-WAIT
            close(a);
            _exit(0);
        }
        close(a);
        child_pid.send<pid_t>(c);
        exit.wait();
        return reap(c);
    });
    ready.receive<char>();
    pid_t client = spawn_in(ns, [&] {
        int c = tcp_connect(AF_INET, port);
        cport.send(local_port(c));
        read_until_eof(c);
        sleep_ms(100);  // FIN-WAIT-2 lasts 100 ms on the server side
        close(c);
        return 0;
    });
    uint16_t cp = cport.receive<uint16_t>();
    pid_t child = child_pid.receive<pid_t>();
    Leftovers leftovers;
    leftovers.children = {parent, client};
    leftovers.grandchildren = {child};
    ASSERT_EQ(s.wait(client), 0);
    ASSERT_TRUE(s.pump_until([&] { return find_residency(s.so_far(), kFinWait2, port, cp) != nullptr; }, 3));
    s.pump(0.2);

    const Connection* c = connection(s, port, cp);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, kTimeWait);
    EXPECT_EQ(c->owner.pid, static_cast<uint32_t>(parent)) << "owner and closer differ";
    EXPECT_EQ(c->closer.pid, static_cast<uint32_t>(child));
    Charged tw = close_wait_now(s, kTimeWait);
    EXPECT_EQ(tw.current[child], 1u);
    EXPECT_EQ(tw.current.count(parent), 0u);
    exit.open();
    ASSERT_EQ(s.wait(parent), 0);
    Captured cap = s.finish();
    const Residency* fw2 = find_residency(cap, kFinWait2, port, cp);
    ASSERT_TRUE(fw2);
    EXPECT_EQ(fw2->owner.pid, static_cast<uint32_t>(child));
    EXPECT_NEAR(static_cast<double>(fw2->duration_ns()) / kMs, 100.0, 50.0);
    // The transitions into the closing states name the child as charged.
    for (const auto& t : of_socket(cap.transitions, port, cp)) {
        if (t.new_state == kTimeWait || t.new_state == kFinWait2) {
            EXPECT_EQ(t.charged.pid, static_cast<uint32_t>(child)) << state_name(t.new_state);
        }
    }
    expect_no_loss(cap);
}

// stats -j from the binary, started after the leak began: the holder's pid,
// comm and fd, in every interval report and the last one.
TEST(Lifecycle, HolderStatsJsonListsPidCommAndFd) {
    Netns ns;
    const uint16_t port = 7204;
    ForkedServer srv;
    start_forked_server(ns, srv, port);
    char tmpl[] = "/tmp/tl-holder-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    const std::string out_path = std::string(tmpl) + "/out.json";
    std::fflush(nullptr);
    pid_t stats = fork();
    if (stats == 0) {
        int o = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        execl(TL_BINARY, TL_BINARY, "stats", "-j", "--interval", "0.5", "--duration", "1.2", "--netns",
              ns.path().c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    EXPECT_EQ(reap(stats), 0);
    srv.release.open();
    srv.exit.open();
    EXPECT_EQ(reap(srv.parent), 0);
    std::ifstream in(out_path);
    std::string line;
    int reports = 0;
    while (std::getline(in, line)) {
        auto doc = parse_json(line);
        ASSERT_TRUE(doc) << line;
        ++reports;
        const nlohmann::json* mine = nullptr;
        for (const auto& g : (*doc).at("groups")) {
            if (g.at("pid").is_number() && g.at("pid").get<double>() == srv.parent) {
                EXPECT_EQ(g.at("states").at("CLOSE-WAIT").at("current").get<double>(), 0) << line;
            }
            if (g.at("pid").is_number() && g.at("pid").get<double>() == srv.child) mine = &g;
        }
        ASSERT_TRUE(mine) << "CLOSE-WAIT charged to the child: " << line;
        EXPECT_EQ((*mine).at("states").at("CLOSE-WAIT").at("current").get<double>(), 1);
        EXPECT_EQ((*mine).at("states").at("CLOSE-WAIT").at("present_at_start").get<double>(), 1);
        const auto& holders = (*mine).at("holders");
        ASSERT_EQ(holders.size(), 1u) << line;
        EXPECT_EQ(holders[0].at("pid").get<double>(), srv.child);
        EXPECT_EQ(holders[0].at("comm").get<std::string>(), own_comm());
        EXPECT_EQ(holders[0].at("fd").get<double>(), srv.child_fd);
        EXPECT_EQ(holders[0].at("lport").get<double>(), port);
        EXPECT_EQ(holders[0].at("rport").get<double>(), srv.cport);
        EXPECT_TRUE(holders[0].at("age_at_least").get<bool>());
    }
    // Interval reports at 0.5 and 1.0 s (a loaded machine may miss the
    // second) and the last one, made after the tracer stopped.
    EXPECT_GE(reports, 2) << "an interval report and the last one";
    EXPECT_LE(reports, 3);
    std::remove(out_path.c_str());
    rmdir(tmpl);
}

}  // namespace
}  // namespace tltest
