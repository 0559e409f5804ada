#include "churn_worker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace churn {

std::atomic<bool> g_signalled{false};

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

socklen_t loopback_addr(int family, int port, sockaddr_storage* ss) {
    std::memset(ss, 0, sizeof(*ss));
    if (family == 6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(uint16_t(port));
        a->sin6_addr = in6addr_loopback;
        return sizeof(*a);
    }
    auto* a = reinterpret_cast<sockaddr_in*>(ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(uint16_t(port));
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof(*a);
}

bool open_listeners(const Options& o, std::vector<int>* fds) {
    for (int p = 0; p < o.ports; ++p) {
        int fd = socket(o.family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        fds->push_back(fd);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        sockaddr_storage ss;
        socklen_t len = loopback_addr(o.family, o.base_port + p, &ss);
        if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0 || listen(fd, 1 << 30) < 0) return false;
    }
    return true;
}

Worker::~Worker() {
    for (int fd : listeners_) close(fd);
    for (int fd : held_) close(fd);
    if (ep_ >= 0) close(ep_);
}

bool Worker::open_client_only() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    return ep_ >= 0 || fail("epoll_create1");
}

bool Worker::open_server() {
    if (!open_client_only()) return false;
    if (!open_listeners(run_.opt, &listeners_)) return fail("listen");
    for (int fd : listeners_) watch(fd, kListener, EPOLLIN);
    return true;
}

void Worker::start_clients() {
    while (inflight_ < run_.opt.inflight && start_client()) {
    }
}

void Worker::churn_loop() {
    bool clients_done = false;
    epoll_event evs[256];
    while (true) {
        if (!clients_done) {
            start_clients();
            if (inflight_ == 0 && stopped_starting_) {
                clients_done = true;
                run_.clients_running.fetch_sub(1);
            }
        }
        if (clients_done && servers_drained()) break;
        int n = epoll_wait(ep_, evs, 256, 10);
        if (n < 0 && errno != EINTR) {
            fail("epoll_wait");
            break;
        }
        for (int i = 0; i < n; ++i) handle(evs[i].data.fd, evs[i].events);
    }
    // A listener closed while another worker still connects would reset the
    // connections the kernel queued on it: wait for everyone.
    while (!run_.listeners_may_close.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void Worker::hold_loop() {
    epoll_event evs[256];
    while (true) {
        start_clients();
        if (inflight_ == 0 && stopped_starting_) break;
        int n = epoll_wait(ep_, evs, 256, 10);
        for (int i = 0; i < n; ++i) handle(evs[i].data.fd, evs[i].events);
    }
    run_.clients_running.fetch_sub(1);
}

bool Worker::fail(const char* what) {
    std::fprintf(stderr, "tl_churn: worker %d: %s: %s\n", index_, what, std::strerror(errno));
    return false;
}

void Worker::watch(int fd, Role role, uint32_t events) {
    if (static_cast<size_t>(fd) >= roles_.size()) roles_.resize(fd + 4096, kNone);
    roles_[fd] = role;
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) < 0) {
        fail("epoll_ctl");
        roles_[fd] = kNone;
        close(fd);
    }
}

void Worker::finish(int fd, bool counted) {
    roles_[fd] = kNone;
    close(fd);
    if (counted) run_.done.fetch_add(1, std::memory_order_relaxed);
}

bool Worker::claim() {
    if (stopped_starting_) return false;
    if (g_signalled.load(std::memory_order_relaxed) || (run_.deadline && now_s() >= run_.deadline) ||
        run_.budget.fetch_sub(1, std::memory_order_relaxed) <= 0) {
        stopped_starting_ = true;
        return false;
    }
    return true;
}

bool Worker::start_client() {
    if (!claim()) return false;
    const Options& o = run_.opt;
    int fd = socket(o.family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return backoff();
    if (o.family == 4 && o.sources > 1) {
        // Choose the source address now and the port at connect() time: the
        // port then needs only a unique 4-tuple (inet_hashtables.c:
        // __inet_hash_connect), not a free bind slot.
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + uint32_t(next_ % o.sources));
        bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src));
    }
    sockaddr_storage ss;
    int port = o.base_port + int((next_ / uint64_t(std::max(o.sources, 1))) % uint64_t(o.ports));
    socklen_t len = loopback_addr(o.family, port, &ss);
    ++next_;
    if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0 && errno != EINPROGRESS) {
        // EADDRNOTAVAIL: every 4-tuple is taken (TIME-WAIT holds them).
        int saved = errno;
        close(fd);
        errno = saved;
        return backoff();
    }
    ++inflight_;
    if (o.closer == Closer::Server && !o.hold)
        watch(fd, kClientWaitEof, EPOLLIN | EPOLLRDHUP);
    else
        watch(fd, kClientConnecting, EPOLLOUT);
    return true;
}

bool Worker::backoff() {
    run_.errors.fetch_add(1, std::memory_order_relaxed);
    run_.budget.fetch_add(1, std::memory_order_relaxed);  // try that one again later
    if (++consecutive_errors_ > 1000) {
        std::fprintf(stderr, "tl_churn: worker %d: giving up after 1000 failed connects in a row: %s\n", index_,
                     std::strerror(errno));
        stopped_starting_ = true;
    }
    return false;
}

void Worker::on_connected(int fd, uint32_t events) {
    const Options& o = run_.opt;
    --inflight_;
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if ((events & (EPOLLERR | EPOLLHUP)) || err) {
        run_.errors.fetch_add(1, std::memory_order_relaxed);
        finish(fd, false);
        return;
    }
    consecutive_errors_ = 0;
    run_.established.fetch_add(1, std::memory_order_relaxed);
    if (o.hold) {
        epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
        roles_[fd] = kNone;
        held_.push_back(fd);
        run_.done.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (o.rst) {
        linger l{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    finish(fd, true);
}

void Worker::handle(int fd, uint32_t events) {
    const Options& o = run_.opt;
    switch (roles_[fd]) {
        case kListener:
            for (int i = 0; i < 64; ++i) {
                int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (c < 0) break;
                run_.accepted.fetch_add(1, std::memory_order_relaxed);
                if (o.closer == Closer::Server) {
                    if (o.rst) {
                        linger l{1, 0};
                        setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
                    }
                    close(c);
                } else {
                    ++server_open_;
                    watch(c, kServerWaitEof, EPOLLIN | EPOLLRDHUP);
                }
            }
            break;
        case kClientConnecting:
            on_connected(fd, events);
            break;
        case kClientWaitEof: {  // the server's FIN (or RST) arrived
            --inflight_;
            char b;
            ssize_t r = read(fd, &b, 1);
            bool ok = r == 0 || (r < 0 && errno == ECONNRESET);
            if (ok) {
                consecutive_errors_ = 0;
                run_.established.fetch_add(1, std::memory_order_relaxed);
            } else {
                run_.errors.fetch_add(1, std::memory_order_relaxed);
            }
            finish(fd, ok);
            break;
        }
        case kServerWaitEof:  // the client's FIN (or RST) arrived
            --server_open_;
            finish(fd, false);
            break;
        case kNone:
            break;
    }
}

bool Worker::servers_drained() const {
    if (run_.listeners_may_close.load()) return true;  // main stopped waiting
    if (server_open_ > 0 || run_.clients_running.load() > 0) return false;
    // Every established connection has been accepted by some worker.
    return run_.accepted.load() >= run_.established.load();
}

}  // namespace churn
