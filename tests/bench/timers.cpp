// tl_timers: what tcplinger's timer programs cost every other timer in the kernel.
//
// tcplinger attaches to timer:timer_start, timer_cancel and timer_expire_entry,
// which fire for every timer_list on the machine, not only for timewait
// sockets. This is a workload made of such other timers and nothing else: two
// threads ping-pong one byte over a UNIX stream socketpair, each side's socket
// with SO_RCVTIMEO set. A recv() that has to wait sleeps in
// schedule_timeout() with a finite timeout (net/unix/af_unix.c:
// unix_stream_data_wait), which arms an on-stack timer_list and deletes it on
// wakeup (kernel/time/timer.c: schedule_timeout, __mod_timer, del_timer_sync):
// a round trip arms and deletes two timers, no TCP involved.
//
// --workload keepalive is the same question without the context switches that
// make a ping-pong round trip cost about 10 us: one thread turns SO_KEEPALIVE on
// and off on a connected loopback TCP socket, which arms and deletes the
// socket's keepalive timer, tcp_keepalive_timer, in the syscall itself
// (net/ipv4/tcp.c: tcp_set_keepalive; inet_connection_sock.c:
// inet_csk_reset_keepalive_timer, inet_csk_delete_keepalive_timer): one timer
// armed and deleted per trip, and not a timewait one.
//
// It prints one machine-readable line on stdout:
//   workload=pingpong trips=200000 seconds=1.9 cpu_ns=3712000000 ns_per_trip=18560
// cpu_ns is the process's user+sys time (all threads; BPF programs run in the
// context of the task that arms the timer, so their cost lands here).
//
// Independent of tcplinger's libraries on purpose: it measures the machine.
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "USAGE: tl_timers [--workload pingpong|keepalive] [--trips N]\n"
                 "Kernel timers that are not timewait timers, armed and deleted in a loop.\n"
                 "  --workload pingpong   one-byte ping-pong over a UNIX socketpair whose recv() waits\n"
                 "                        with SO_RCVTIMEO: two timers per round trip (default)\n"
                 "  --workload keepalive  SO_KEEPALIVE on and off on a loopback TCP socket: its\n"
                 "                        keepalive timer armed and deleted per trip, no sleeping\n"
                 "  --trips N             round trips / on-off pairs (default 200000)\n"
                 "Prints: workload=W trips=N seconds=S cpu_ns=C ns_per_trip=R\n");
    std::exit(code);
}

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "tl_timers: failed to %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

uint64_t cpu_ns() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto ns = [](const timeval& tv) { return uint64_t(tv.tv_sec) * 1'000'000'000 + uint64_t(tv.tv_usec) * 1000; };
    return ns(ru.ru_utime) + ns(ru.ru_stime);
}

// recv() one byte, retrying only on EINTR; the 10 s timeout never expires
// unless the other side is gone.
void recv_byte(int fd) {
    char c;
    for (;;) {
        ssize_t n = recv(fd, &c, 1, 0);
        if (n == 1) return;
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) errno = ECONNRESET;
        die("receive the ping-pong byte (peer gone or 10 s timeout)");
    }
}

void send_byte(int fd) {
    char c = 'x';
    while (send(fd, &c, 1, 0) != 1)
        if (errno != EINTR) die("send the ping-pong byte");
}

// Ping-pong: each side's recv() waits, arming a timer (see the top).
void pingpong(long long round_trips) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("create a UNIX socketpair");
    // Finite, so every waiting recv() arms a timer; MAX_SCHEDULE_TIMEOUT
    // (no SO_RCVTIMEO) would sleep without one.
    timeval tv{10, 0};
    for (int fd : sv)
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) die("set SO_RCVTIMEO");

    std::thread echo([&] {
        for (long long i = 0; i < round_trips; ++i) {
            recv_byte(sv[1]);
            send_byte(sv[1]);
        }
    });
    for (long long i = 0; i < round_trips; ++i) {
        send_byte(sv[0]);
        recv_byte(sv[0]);
    }
    echo.join();
    close(sv[0]);
    close(sv[1]);
}

// Keepalive: the socket must be connected (tcp_set_keepalive ignores CLOSE
// and LISTEN sockets); the accepted end just stays open.
void keepalive(long long trips) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0) die("create a TCP socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(l, 1) != 0 ||
        getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        die("listen on 127.0.0.1 (is lo up in this network namespace?)");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) die("connect to 127.0.0.1");
    int s = accept(l, nullptr, nullptr);
    if (s < 0) die("accept the loopback connection");
    const int on = 1, off = 0;
    for (long long i = 0; i < trips; ++i)
        if (setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0 ||
            setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &off, sizeof(off)) != 0)
            die("set SO_KEEPALIVE");
    close(s);
    close(c);
    close(l);
}

}  // namespace

int main(int argc, char** argv) {
    long long trips = 200000;
    std::string workload = "pingpong";
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") usage(0);
        if (a == "--trips" && i + 1 < argc) {
            char* end = nullptr;
            trips = std::strtoll(argv[++i], &end, 10);
            if (*end || trips < 1) {
                std::fprintf(stderr, "tl_timers: bad --trips '%s' (a number >= 1)\n", argv[i]);
                usage(2);
            }
            continue;
        }
        if (a == "--workload" && i + 1 < argc) {
            workload = argv[++i];
            if (workload != "pingpong" && workload != "keepalive") {
                std::fprintf(stderr, "tl_timers: bad --workload '%s' (pingpong or keepalive)\n", workload.c_str());
                usage(2);
            }
            continue;
        }
        std::fprintf(stderr, "tl_timers: unknown option %s\n", a.c_str());
        usage(2);
    }
    const uint64_t cpu0 = cpu_ns();
    const auto t0 = std::chrono::steady_clock::now();
    if (workload == "pingpong")
        pingpong(trips);
    else
        keepalive(trips);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const uint64_t cpu = cpu_ns() - cpu0;
    std::printf("workload=%s trips=%lld seconds=%.3f cpu_ns=%llu ns_per_trip=%.0f\n", workload.c_str(), trips, secs,
                static_cast<unsigned long long>(cpu), double(cpu) / double(trips));
    return 0;
}
