// One tl_churn worker: an epoll loop that is client, server, or both.
#pragma once
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <vector>

namespace churn {

enum class Closer { Client, Server };

struct Options {
    int threads = 2;
    int64_t connections = 0;  // total; 0 = until --duration
    double duration_s = 0;
    int ports = 8;
    int base_port = 20000;
    int sources = 1;    // IPv4 client sources 127.0.0.1 .. 127.0.0.<sources>
    int inflight = 64;  // concurrent connects per worker
    Closer closer = Closer::Client;
    bool rst = false;  // the closer aborts: SO_LINGER {1, 0}
    int family = 4;
    int64_t hold = 0;   // --hold N: keep N connections established, never accepted
    double hold_s = 0;  // how long to hold them; 0 = until SIGINT/SIGTERM
    int processes = 0;  // --hold: generator processes; 0 = as RLIMIT_NOFILE needs
};

// Shared by the workers of one process.
struct Run {
    Options opt;
    std::atomic<int64_t> budget{0};  // connections still to start
    std::atomic<int64_t> done{0};    // completed (or held) by the client side
    std::atomic<int64_t> errors{0};
    std::atomic<int64_t> established{0};  // seen established by the client side
    std::atomic<int64_t> accepted{0};
    std::atomic<int> clients_running{0};
    std::atomic<bool> listeners_may_close{false};
    double deadline = 0;  // steady-clock seconds; 0 = none
};

extern std::atomic<bool> g_signalled;
double now_s();
socklen_t loopback_addr(int family, int port, sockaddr_storage* ss);
// A listener on every port of the run, backlog capped by net.core.somaxconn.
bool open_listeners(const Options& o, std::vector<int>* fds);

class Worker {
public:
    Worker(Run& run, int index) : run_(run), index_(index) {}
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker();

    // Client and server: accepts on its own SO_REUSEPORT listeners.
    bool open_server();
    bool open_client_only();
    void churn_loop();
    // --hold: connects until the budget is spent, keeps every socket open.
    void hold_loop();

private:
    enum Role : uint8_t { kNone, kListener, kClientConnecting, kClientWaitEof, kServerWaitEof };

    bool fail(const char* what);
    void watch(int fd, Role role, uint32_t events);
    void finish(int fd, bool counted);
    bool claim();
    bool start_client();
    bool backoff();
    void handle(int fd, uint32_t events);
    void on_connected(int fd, uint32_t events);
    bool servers_drained() const;
    void start_clients();

    Run& run_;
    int index_;
    int ep_ = -1;
    std::vector<int> listeners_;
    std::vector<int> held_;
    std::vector<uint8_t> roles_ = std::vector<uint8_t>(4096, kNone);
    int inflight_ = 0;
    int server_open_ = 0;
    uint64_t next_ = 0;
    int consecutive_errors_ = 0;
    bool stopped_starting_ = false;
};

}  // namespace churn
