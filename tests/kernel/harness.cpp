#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "core/abi_check.hpp"
#include "host/clock.hpp"
#include "host/netns.hpp"
#include "lifecycle_util.hpp"

namespace tltest {

namespace {
std::atomic<int> g_counter{0};

void must(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "workload: %s: %s\n", what, std::strerror(errno));
        _exit(99);
    }
}

void run(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

sockaddr_storage loopback(int family, uint16_t port, socklen_t* len) {
    sockaddr_storage ss{};
    if (family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        a->sin6_port = htons(port);
        *len = sizeof(*a);
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a->sin_port = htons(port);
        *len = sizeof(*a);
    }
    return ss;
}
}  // namespace

Netns::Netns() {
    name_ = "tlt-" + std::to_string(getpid()) + "-" + std::to_string(g_counter++);
    std::system(("ip netns del " + name_ + " 2>/dev/null").c_str());
    run("ip netns add " + name_);
    run("ip -n " + name_ + " link set lo up");
    inode_ = sys::netns_inode_of(path());
    if (!inode_) throw std::runtime_error("no inode for " + path());
}

Netns::~Netns() { std::system(("ip netns del " + name_ + " 2>/dev/null").c_str()); }

void Netns::sysctl(const std::string& key, const std::string& value) const {
    run("ip netns exec " + name_ + " sysctl -qw " + key + "=" + value);
}

void Netns::enter() const {
    int fd = ::open(path().c_str(), O_RDONLY | O_CLOEXEC);
    must(fd >= 0, "open netns");
    must(setns(fd, CLONE_NEWNET) == 0, "setns");
    close(fd);
}

pid_t spawn_in(const Netns& ns, const std::function<int()>& fn) {
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        ns.enter();
        int rc = fn();
        std::fflush(nullptr);
        _exit(rc);
    }
    return pid;
}

int reap(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int tcp_listen(int family, uint16_t port, int backlog) {
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    must(fd >= 0, "socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len = 0;
    sockaddr_storage ss = loopback(family, port, &len);
    must(bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0, "bind");
    must(listen(fd, backlog) == 0, "listen");
    return fd;
}

int tcp_connect(int family, uint16_t port, uint16_t local) {
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    must(fd >= 0, "socket");
    socklen_t len = 0;
    // SO_REUSEADDR on every client socket: its TIME-WAIT then allows a later
    // bind() to the same port (for tests that reuse a 4-tuple).
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (local) {
        sockaddr_storage me = loopback(family, local, &len);
        must(bind(fd, reinterpret_cast<sockaddr*>(&me), len) == 0, "bind local");
    }
    sockaddr_storage ss = loopback(family, port, &len);
    if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int tcp_accept(int listener) {
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    must(fd >= 0, "accept");
    return fd;
}

uint16_t local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

void linger_zero(int fd) {
    linger l{1, 0};
    must(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) == 0, "SO_LINGER");
}

int tcp_state(int fd) {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
    return info.tcpi_state;
}

void read_until_eof(int fd) {
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

void connect_close_client_first(int listener, int family, uint16_t port, int n) {
    for (int i = 0; i < n; ++i) {
        int c = tcp_connect(family, port);
        must(c >= 0, "connect");
        int a = tcp_accept(listener);
        close(c);
        read_until_eof(a);
        close(a);
    }
}

pid_t spawn_client_first_closes(const Netns& ns, uint16_t port, int n) {
    return spawn_in(ns, [=] {
        int l = tcp_listen(AF_INET, port);
        connect_close_client_first(l, AF_INET, port, n);
        close(l);
        return 0;
    });
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

int attached_programs_in(const std::string& text) {
    size_t at = text.find(kTracingLine);
    if (at == std::string::npos) return -1;
    size_t eol = text.find('\n', at);
    if (eol == std::string::npos) return -1;  // the line is not complete yet
    return std::atoi(text.c_str() + at + std::strlen(kTracingLine));
}

bool wait_for_tracing(int stderr_fd, std::string* seen, double timeout_s) {
    const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
    for (;;) {
        if (attached_programs_in(*seen) >= 0) return true;
        uint64_t now = now_ns();
        if (now >= deadline) return false;
        pollfd p{stderr_fd, POLLIN, 0};
        int n = poll(&p, 1, static_cast<int>((deadline - now) / 1'000'000 + 1));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        char buf[4096];
        ssize_t got = read(stderr_fd, buf, sizeof(buf));
        if (got <= 0) return false;
        seen->append(buf, static_cast<size_t>(got));
    }
}

bool wait_for_tracing_file(const std::string& path, double timeout_s) {
    const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
    do {
        std::ifstream in(path);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (attached_programs_in(text) >= 0) return true;
        sleep_ms(10);  // a file has no readiness to poll() for
    } while (now_ns() < deadline);
    return false;
}

uint64_t now_ns() { return sys::monotonic_ns(); }

int64_t realtime_minus_monotonic_ns() {
    timespec rt{}, mono{};
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    return (static_cast<int64_t>(rt.tv_sec) - mono.tv_sec) * 1'000'000'000 + (rt.tv_nsec - mono.tv_nsec);
}

void sleep_until_ns(uint64_t t) {
    timespec ts{static_cast<time_t>(t / 1'000'000'000ULL), static_cast<long>(t % 1'000'000'000ULL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

void realtime_priority() {
    sched_param p{};
    p.sched_priority = 50;
    sched_setscheduler(0, SCHED_FIFO, &p);
}

Gate::Gate() { must(pipe2(fds, O_CLOEXEC) == 0, "pipe"); }
void Gate::open() {
    char c = 1;
    must(write(fds[1], &c, 1) == 1, "gate write");
}
void Gate::wait() {
    char c = 0;
    must(read(fds[0], &c, 1) == 1, "gate read");
}

Leftovers::~Leftovers() {
    std::vector<pid_t> alive;
    for (pid_t p : children)
        if (p > 0 && waitpid(p, nullptr, WNOHANG) == 0) alive.push_back(p);
    if (alive.empty()) return;  // grandchildren were reaped by their parents
    for (pid_t p : grandchildren)
        if (p > 0) kill(p, SIGKILL);
    for (pid_t p : alive) {
        kill(p, SIGKILL);
        waitpid(p, nullptr, 0);
    }
}

void start_forked_server(const Netns& ns, ForkedServer& srv, uint16_t port) {
    Pipe ready, child_pid, held, cport;
    srv.parent = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, port);
        ready.send<char>(1);
        int a = tcp_accept(l);
        pid_t c = fork();
        if (c == 0) {
            close(l);
            read_until_eof(a);  // the client's FIN: CLOSE-WAIT
            held.send<int>(a);
            srv.release.wait();
            close(a);  // CLOSE-WAIT -> LAST-ACK, in this process
            _exit(0);
        }
        close(a);  // the parent's copy: no transition, the child still holds it
        child_pid.send<pid_t>(c);
        srv.exit.wait();
        return reap(c);
    });
    ready.receive<char>();
    pid_t client = spawn_client_closing_at_once(ns, port, cport);
    srv.cport = cport.receive<uint16_t>();
    srv.child = child_pid.receive<pid_t>();
    srv.leftovers.children = {srv.parent};
    srv.leftovers.grandchildren = {srv.child};
    srv.child_fd = held.receive<int>();
    EXPECT_EQ(reap(client), 0);
}

bool lean_session() {
    const char* lean = std::getenv("TL_TEST_LEAN");
    return lean && *lean == '1';
}

Session::Session(const Netns& ns, bool snapshot, bool raw, const KernelFilter& kernel) {
    LiveOptions opts;
    opts.tracer.filter = kernel;
    opts.tracer.filter.netns = ns.inode();
    // TL_TEST_LEAN=1: the BPF side as `stats` runs it (tests/CMakeLists.txt
    // runs the lifecycle tests both ways).
    opts.tracer.lean = lean_session();
    opts.snapshot = snapshot;
    opts.stop_on_signals = false;  // one test process, many sessions: Ctrl-C ends the tests
    opts.announce = false;
    engine_.set_raw(raw);
    engine_.on_transition([this](const Transition& t) { cap_.transitions.push_back(t); });
    engine_.on_residency([this](const Residency& r) { cap_.residencies.push_back(r); });
    LiveHooks hooks;
    hooks.on_event = [this](const Event& ev) { feed(ev); };
    hooks.on_poll = [this](uint64_t now) { engine_.advance(now); };
    hooks.timewait_probes = [this] { return engine_.timewait_probes(kMaxProbedPerRound); };
    hooks.on_step = [this](LiveStep s) { steps_.emplace_back(s, sys::monotonic_ns()); };
    live_ = std::make_unique<LiveSession>(std::move(opts), std::move(hooks));
    live_->start();
}

Session::~Session() = default;

void Session::feed(const Event& ev) {
    // The jiffies-to-clock sample (no socket, no namespace) goes to the
    // engine only: it is not one of the captured events.
    if (!(ev.kind == EventKind::TwProbe && ev.cookie == 0)) cap_.events.push_back(ev);
    engine_.process(ev);
}

void Session::pump(double seconds) {
    pump_until([] { return false; }, seconds);
}

bool Session::pump_until(const std::function<bool()>& pred, double max_seconds) {
    const uint64_t end = sys::monotonic_ns() + static_cast<uint64_t>(max_seconds * 1e9);
    // pred() once per poll, as before: Session::wait's reaps the child.
    bool met = false;
    live_->run_until([&] {
        met = pred();
        return met || sys::monotonic_ns() >= end;
    });
    return met;
}

int Session::wait(pid_t child, double max_seconds) {
    int status = -1;
    bool done = pump_until(
        [&] {
            int st = 0;
            pid_t r = waitpid(child, &st, WNOHANG);
            if (r == child) {
                status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
                return true;
            }
            return false;
        },
        max_seconds);
    if (!done) {
        kill(child, SIGKILL);
        reap(child);
    }
    return status;
}

Captured Session::finish() {
    cap_.drops = live_->stop();
    engine_.flush();
    cap_.engine = engine_.counters();
    return cap_;
}

std::vector<Transition> of_socket(const std::vector<Transition>& all, uint16_t lport, uint16_t rport) {
    // By cookie: a connecting socket's first transition (SYN-SENT) has no
    // local port yet.
    std::vector<uint64_t> cookies;
    for (const auto& t : all)
        if (t.local.port == lport && t.remote.port == rport &&
            std::find(cookies.begin(), cookies.end(), t.cookie) == cookies.end())
            cookies.push_back(t.cookie);
    std::vector<Transition> out;
    for (const auto& t : all)
        if (std::find(cookies.begin(), cookies.end(), t.cookie) != cookies.end()) out.push_back(t);
    return out;
}

std::string sequence(const std::vector<Transition>& ts) {
    std::string out;
    for (const auto& t : ts) {
        if (!out.empty()) out += " ";
        out += std::string(state_name(t.old_state)) + ">" + std::string(state_name(t.new_state));
    }
    return out;
}

std::vector<Residency> residencies_in(const std::vector<Residency>& all, uint8_t state) {
    std::vector<Residency> out;
    for (const auto& r : all)
        if (r.state == state) out.push_back(r);
    return out;
}

std::string own_comm() {
    std::ifstream in("/proc/self/comm");
    std::string c;
    std::getline(in, c);
    return c;
}

// The cgroup v2 hierarchy's mount point, or "" (none mounted).
std::string cgroup2_mount() {
    std::ifstream in("/proc/self/mounts");
    std::string dev, dir, type, rest;
    while (in >> dev >> dir >> type && std::getline(in, rest))
        if (type == "cgroup2") return dir;
    return "";
}

}  // namespace tltest
