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
// It prints one machine-readable line on stdout:
//   round_trips=200000 seconds=1.9 cpu_ns=3712000000 ns_per_rt=18560
// cpu_ns is the process's user+sys time (both threads; BPF programs run in the
// context of the task that arms the timer, so their cost lands here).
//
// Independent of tcplinger's libraries on purpose: it measures the machine.
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
                 "USAGE: tl_timers [--round-trips N]\n"
                 "One-byte ping-pong over a UNIX socketpair whose recv() waits with SO_RCVTIMEO:\n"
                 "each round trip arms and deletes two kernel timers (none of them TCP's).\n"
                 "  --round-trips N    round trips to make (default 200000)\n"
                 "Prints: round_trips=N seconds=S cpu_ns=C ns_per_rt=R\n");
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

}  // namespace

int main(int argc, char** argv) {
    long long round_trips = 200000;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") usage(0);
        if (a == "--round-trips" && i + 1 < argc) {
            char* end = nullptr;
            round_trips = std::strtoll(argv[++i], &end, 10);
            if (*end || round_trips < 1) {
                std::fprintf(stderr, "tl_timers: bad --round-trips '%s' (a number >= 1)\n", argv[i]);
                usage(2);
            }
            continue;
        }
        std::fprintf(stderr, "tl_timers: unknown option %s\n", a.c_str());
        usage(2);
    }

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
    const uint64_t cpu0 = cpu_ns();
    const auto t0 = std::chrono::steady_clock::now();
    for (long long i = 0; i < round_trips; ++i) {
        send_byte(sv[0]);
        recv_byte(sv[0]);
    }
    echo.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const uint64_t cpu = cpu_ns() - cpu0;
    std::printf("round_trips=%lld seconds=%.3f cpu_ns=%llu ns_per_rt=%.0f\n", round_trips, secs,
                static_cast<unsigned long long>(cpu), double(cpu) / double(round_trips));
    close(sv[0]);
    close(sv[1]);
    return 0;
}
