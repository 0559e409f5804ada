// Kernel integration test harness: a private network namespace per test,
// workloads forked into it, and a tracing Session that loads the real BPF
// programs filtered to that namespace and runs the lifecycle engine.
// Pattern: start the session, trigger real connections, stop, assert.
#pragma once
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "capture/live_session.hpp"
#include "lifecycle/engine.hpp"

namespace tltest {

using namespace tcplinger;

class Netns {
public:
    Netns();  // ip netns add tlt-<pid>-<n>; lo up
    ~Netns();
    Netns(const Netns&) = delete;
    Netns& operator=(const Netns&) = delete;
    const std::string& name() const { return name_; }
    std::string path() const { return "/run/netns/" + name_; }
    uint32_t inode() const { return inode_; }
    // sysctl inside this namespace only (e.g. "net.ipv4.tcp_fin_timeout", "2").
    void sysctl(const std::string& key, const std::string& value) const;
    // Joins this namespace (call in a forked child only).
    void enter() const;

private:
    std::string name_;
    uint32_t inode_ = 0;
};

// Forks; the child joins ns and returns fn()'s value as its exit status.
pid_t spawn_in(const Netns& ns, const std::function<int()>& fn);
// Exit status of a child (-1 if it did not exit normally).
int reap(pid_t pid);

// ---- sockets, for workloads (all abort the child on failure) ----
int tcp_listen(int family, uint16_t port, int backlog = 128);
int tcp_connect(int family, uint16_t port, uint16_t local_port = 0);  // to loopback
int tcp_accept(int listener);
uint16_t local_port(int fd);
void linger_zero(int fd);  // close() sends RST
int tcp_state(int fd);     // TCP_INFO tcpi_state
void read_until_eof(int fd);
// n connections to `listener` (on port), the client closing first and the
// server right after EOF: each leaves one client-side TIME-WAIT.
void connect_close_client_first(int listener, int family, uint16_t port, int n);
// Forks a child into ns that listens on IPv4 `port` and makes n such
// connections to itself (exit status 0): n client-side TIME-WAITs.
pid_t spawn_client_first_closes(const Netns& ns, uint16_t port, int n);
void sleep_ms(int ms);
uint64_t now_ns();  // CLOCK_MONOTONIC
// CLOCK_REALTIME - CLOCK_MONOTONIC now: turns a monotonic ts_ns into the
// wall clock, as the tool's timestamps and tcpdump's are.
int64_t realtime_minus_monotonic_ns();
void sleep_until_ns(uint64_t t);  // absolute CLOCK_MONOTONIC deadline
// Real-time priority for a workload whose timing a test asserts: wake-ups
// then do not wait for the other tests sharing the CPUs.
void realtime_priority();
// ---- the tcplinger binary's readiness line (capture/live_session.hpp: kTracingLine) ----
// Reads the child's stderr (a pipe) until its "tcplinger: tracing (attached
// N programs)" line, at most timeout_s; appends all it read to *seen (the
// rest of stderr stays in the pipe). False on EOF (the child exited) or
// timeout.
bool wait_for_tracing(int stderr_fd, std::string* seen, double timeout_s = 30);
// The same when the child's stderr goes to a file.
bool wait_for_tracing_file(const std::string& path, double timeout_s = 30);
// N of the readiness line in text, or -1 when there is none.
int attached_programs_in(const std::string& text);

// Small pipe to order steps between processes.
struct Gate {
    int fds[2] = {-1, -1};
    Gate();
    void open();  // let the waiter pass
    void wait();  // block until open() was called
};

// Workload processes still blocked when a test ends early (a failed
// ASSERT leaves their gates shut): killed, so nothing outlives the test.
// Grandchildren first; a direct child only while waitpid says it is ours.
struct Leftovers {
    std::vector<pid_t> children, grandchildren;
    Leftovers() = default;
    Leftovers(const Leftovers&) = delete;
    Leftovers& operator=(const Leftovers&) = delete;
    ~Leftovers();
};

// An accept-then-fork server (postgres, sshd, inetd): the parent accepts,
// forks, closes its copy; the child leaks the CLOSE-WAIT, then closes.
struct ForkedServer {
    pid_t parent = 0, child = 0;
    int child_fd = -1;
    uint16_t cport = 0;
    Gate release;  // the child closes its socket
    Gate exit;     // the parent exits (it stays alive meanwhile)
    Leftovers leftovers;
};

// Forks the server into ns listening on port, and a client that connects and
// closes at once; returns once the child holds the CLOSE-WAIT (its fd in
// child_fd) and the client has exited (checked with EXPECT).
void start_forked_server(const Netns& ns, ForkedServer& srv, uint16_t port);

struct Captured {
    std::vector<Transition> transitions;
    std::vector<Residency> residencies;
    std::vector<Event> events;
    DropCounters drops;
    EngineCounters engine;
};

// Whether Sessions run the BPF side in lean mode (TL_TEST_LEAN=1), as stats does.
bool lean_session();

// The tool's own live session (capture/live_session.hpp: LiveSession, as
// run_live drives it for trace, stats and record), with the engine behind
// it: the same load, clock sample, snapshot, probe cadence and stop order.
// Readiness is the constructor's return: start a workload after it.
class Session {
public:
    // `kernel`: BPF filters (ports, family) on top of the namespace's.
    explicit Session(const Netns& ns, bool snapshot = false, bool raw = false, const KernelFilter& kernel = {});
    ~Session();
    // Polls the tracer (and the timewait probe) for about `seconds`.
    void pump(double seconds);
    // Polls until pred() or max_seconds passed; returns pred().
    bool pump_until(const std::function<bool()>& pred, double max_seconds);
    // Pumps until the child exits; returns its exit status.
    int wait(pid_t child, double max_seconds = 60);
    // Stop tracing, drain, settle the engine. The Session is done after this.
    Captured finish();
    Engine& engine() { return engine_; }
    const Captured& so_far() const { return cap_; }
    // Who holds each CLOSE-WAIT socket of the namespace now (as stats asks).
    std::vector<SocketHolder> holders() { return live_->tracer().socket_holders(); }
    // What the LiveSession did, in order, with when (CLOCK_MONOTONIC).
    const std::vector<std::pair<LiveStep, uint64_t>>& steps() const { return steps_; }

private:
    void feed(const Event& ev);
    Engine engine_;
    Captured cap_;
    std::vector<std::pair<LiveStep, uint64_t>> steps_;
    std::unique_ptr<LiveSession> live_;
};

// Transitions of one socket, by its local and remote port.
std::vector<Transition> of_socket(const std::vector<Transition>& all, uint16_t lport, uint16_t rport);
// "CLOSE>SYN-SENT SYN-SENT>ESTABLISHED ..."
std::string sequence(const std::vector<Transition>& ts);
std::vector<Residency> residencies_in(const std::vector<Residency>& all, uint8_t state);
std::string own_comm();
// The cgroup v2 hierarchy's mount point, or "" (none mounted).
std::string cgroup2_mount();

}  // namespace tltest
