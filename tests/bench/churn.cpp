// tl_churn: loopback TCP connection churn, as fast as the machine allows.
//
// Every worker thread runs one epoll loop that is both server and client: it
// owns a SO_REUSEPORT listener on each of --ports consecutive ports and keeps
// --inflight non-blocking connects of its own going. Spreading connections
// over several server ports (and, for IPv4, over --sources 127.0.0.x source
// addresses) multiplies the 4-tuple space, so ephemeral ports do not run out
// while TIME-WAIT sockets hold theirs.
//
// It stops by itself (--connections or --duration) and prints one
// machine-readable line on stdout:
//   connections=50000 seconds=1.012 rate=49407 errors=0 accepted=50000
//
// --hold N is the memory benchmark's mode: N connections are opened and kept
// ESTABLISHED on both ends. The server side never accepts, so its sockets sit
// in the listeners' accept queues and need no descriptor; the client side's
// descriptors are spread over as many forked processes as RLIMIT_NOFILE
// requires. After --hold-seconds (or SIGINT/SIGTERM) the listeners close
// first, which resets every queued connection (inet_connection_sock.c:
// inet_csk_listen_stop), then the client processes exit.
//
// Independent of tcplinger's libraries on purpose: it measures the machine.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "churn_worker.hpp"

using namespace churn;

namespace {

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "USAGE: tl_churn [--threads N] [--connections N | --duration S] [--ports P] [--base-port B]\n"
                 "                [--sources S] [--inflight K] [--closer client|server] [--rst] [--family 4|6]\n"
                 "       tl_churn --hold N [--hold-seconds S] [--processes P] [--ports P] [--sources S]\n"
                 "Loopback TCP connection churn in the current network namespace.\n"
                 "  --threads N        worker threads, each both client and server (default 2)\n"
                 "  --connections N    stop after N connections (default 50000 without --duration)\n"
                 "  --duration S       stop after S seconds\n"
                 "  --ports P          server ports B .. B+P-1 (default 8, base 20000)\n"
                 "  --sources S        IPv4 client sources 127.0.0.1 .. 127.0.0.S (default 1)\n"
                 "  --inflight K       concurrent connects per thread (default 64)\n"
                 "  --closer WHO       who closes first: client (default) or server\n"
                 "  --rst              the closer aborts (SO_LINGER 0: RST instead of FIN)\n"
                 "  --family 4|6       127.0.0.1 or ::1 (default 4)\n"
                 "  --hold N           open N connections and keep them established, never accepted,\n"
                 "                     for --hold-seconds S (default: until SIGINT/SIGTERM)\n"
                 "Prints: connections=N seconds=S rate=R errors=E accepted=A\n"
                 "EXAMPLES:\n"
                 "  tl_churn --connections 50000\n"
                 "  tl_churn --duration 30 --closer server --rst\n"
                 "  tl_churn --hold 500000 --ports 32 --sources 16 --hold-seconds 10\n");
    std::exit(code);
}

Options parse(int argc, char** argv) {
    Options o;
    auto value = [&](int& i, double lo, double hi) {
        if (i + 1 >= argc) {
            std::fprintf(stderr, "tl_churn: %s needs a value\n", argv[i]);
            usage(2);
        }
        const char* flag = argv[i];
        std::string s = argv[++i];
        char* end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (s.empty() || *end || d < lo || d > hi) {
            std::fprintf(stderr, "tl_churn: bad %s '%s' (%g .. %g)\n", flag, s.c_str(), lo, hi);
            usage(2);
        }
        return d;
    };
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help")
            usage(0);
        else if (a == "--threads")
            o.threads = int(value(i, 1, 256));
        else if (a == "--connections")
            o.connections = int64_t(value(i, 1, 1e12));
        else if (a == "--duration")
            o.duration_s = value(i, 0.001, 1e6);
        else if (a == "--ports")
            o.ports = int(value(i, 1, 1000));
        else if (a == "--base-port")
            o.base_port = int(value(i, 1, 65535));
        else if (a == "--sources")
            o.sources = int(value(i, 1, 254));
        else if (a == "--inflight")
            o.inflight = int(value(i, 1, 4096));
        else if (a == "--family")
            o.family = int(value(i, 4, 6));
        else if (a == "--rst")
            o.rst = true;
        else if (a == "--hold")
            o.hold = int64_t(value(i, 1, 1e9));
        else if (a == "--hold-seconds")
            o.hold_s = value(i, 0.001, 1e6);
        else if (a == "--processes")
            o.processes = int(value(i, 1, 4096));
        else if (a == "--closer" && i + 1 < argc) {
            std::string_view v = argv[++i];
            if (v != "client" && v != "server") usage(2);
            o.closer = v == "client" ? Closer::Client : Closer::Server;
        } else {
            std::fprintf(stderr, "tl_churn: unknown option %s\n", argv[i]);
            usage(2);
        }
    }
    if (o.family != 4 && o.family != 6) usage(2);
    if (o.base_port + o.ports - 1 > 65535) {
        std::fprintf(stderr, "tl_churn: --base-port + --ports goes past 65535\n");
        usage(2);
    }
    if (o.connections == 0 && o.duration_s == 0) o.connections = 50000;
    return o;
}

void print_result(int64_t done, double seconds, int64_t errors, int64_t accepted) {
    std::printf("connections=%lld seconds=%.3f rate=%.0f errors=%lld accepted=%lld\n", static_cast<long long>(done),
                seconds, seconds > 0 ? double(done) / seconds : 0.0, static_cast<long long>(errors),
                static_cast<long long>(accepted));
    std::fflush(stdout);
}

uint64_t fd_limit() {
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    return r.rlim_cur;
}

int run_churn(const Options& o) {
    // A connection holds at most two descriptors (client and accepted side).
    if (uint64_t(o.threads) * uint64_t(o.inflight * 2 + o.ports + 16) > fd_limit()) {
        std::fprintf(stderr, "tl_churn: --threads x --inflight needs more descriptors than RLIMIT_NOFILE\n");
        return 2;
    }
    Run run;
    run.opt = o;
    run.budget = o.connections ? o.connections : INT64_MAX / 2;
    std::vector<std::unique_ptr<Worker>> workers;
    // Every listener exists before the first connect, so none is refused.
    for (int i = 0; i < o.threads; ++i) {
        workers.push_back(std::make_unique<Worker>(run, i));
        if (!workers.back()->open_server()) return 1;
    }
    run.clients_running = o.threads;
    double start = now_s();
    if (o.duration_s > 0) run.deadline = start + o.duration_s;
    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&w] { w->churn_loop(); });
    while (run.clients_running.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    double seconds = now_s() - start;
    // Let the server side see the last FINs, but never wait forever.
    double limit = now_s() + 5;
    while (run.accepted.load() < run.established.load() && now_s() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    run.listeners_may_close = true;
    for (auto& t : threads) t.join();
    print_result(run.done.load(), seconds, run.errors.load(), run.accepted.load());
    return run.done.load() > 0 ? 0 : 1;
}

// One --hold client process: connects its share, reports, holds until told.
[[noreturn]] void hold_child(const Options& o, int64_t share, int index, int report_fd) {
    Run run;
    run.opt = o;
    run.budget = share;
    run.clients_running = 1;
    Worker w(run, index);
    int64_t counts[2] = {0, 0};
    if (w.open_client_only()) {
        w.hold_loop();
        counts[0] = run.done.load();
        counts[1] = run.errors.load();
    }
    if (write(report_fd, counts, sizeof(counts)) != sizeof(counts)) _exit(1);
    close(report_fd);
    while (!g_signalled.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    _exit(0);  // the kernel closes the held sockets
}

int run_hold(const Options& o) {
    std::vector<int> listeners;
    if (!open_listeners(o, &listeners)) {
        std::perror("tl_churn: listen");
        return 1;
    }
    uint64_t per_process = fd_limit() - uint64_t(o.inflight) - 64;
    int processes = o.processes ? o.processes : int((uint64_t(o.hold) + per_process - 1) / per_process);
    int64_t share = (o.hold + processes - 1) / processes;
    double start = now_s();
    std::vector<pid_t> children;
    // One client process at a time: the connections open at the rate one
    // CPU manages, which leaves the other CPUs to the tracer being measured.
    int64_t done = 0, errors = 0, counts[2];
    for (int i = 0; i < processes && !g_signalled.load(); ++i) {
        int64_t mine = std::min<int64_t>(share, o.hold - share * i);
        if (mine <= 0) break;
        int report[2];  // one pipe per child: EOF if it dies before reporting
        if (pipe(report) < 0) break;
        pid_t pid = fork();
        if (pid == 0) {
            close(report[0]);
            for (int fd : listeners) close(fd);  // only the parent may close them
            hold_child(o, mine, i, report[1]);
        }
        close(report[1]);
        if (pid > 0) {
            children.push_back(pid);
            if (read(report[0], counts, sizeof(counts)) == sizeof(counts)) {
                done += counts[0];
                errors += counts[1];
            }
        }
        close(report[0]);
        if (pid < 0) break;
    }
    print_result(done, now_s() - start, errors, 0);
    std::fprintf(stderr, "tl_churn: holding %lld established connections in %zu processes\n",
                 static_cast<long long>(done), children.size());
    double until = o.hold_s > 0 ? now_s() + o.hold_s : 0;
    while (!g_signalled.load() && (until == 0 || now_s() < until))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (int fd : listeners) close(fd);
    for (pid_t pid : children) kill(pid, SIGTERM);
    for (pid_t pid : children) waitpid(pid, nullptr, 0);
    return done > 0 ? 0 : 1;
}

void on_signal(int) { g_signalled.store(true); }

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return o.hold ? run_hold(o) : run_churn(o);
}
