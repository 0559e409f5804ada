// gtest-side helpers shared by the lifecycle test files: a pipe that orders
// steps between workload processes, the no-loss check, a stay by 4-tuple.
#pragma once
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "harness.hpp"

namespace tltest {

struct Pipe {
    int fds[2];
    Pipe() { EXPECT_EQ(pipe(fds), 0); }
    template <typename T>
    void send(T v) {
        EXPECT_EQ(write(fds[1], &v, sizeof(v)), static_cast<ssize_t>(sizeof(v)));
    }
    template <typename T>
    T receive() {
        T v{};
        EXPECT_EQ(read(fds[0], &v, sizeof(v)), static_cast<ssize_t>(sizeof(v)));
        return v;
    }
};

inline void expect_no_loss(const Captured& cap) {
    EXPECT_EQ(cap.drops.lost(), 0u) << "ringbuf " << cap.drops.ringbuf_drops << " recursion "
                                    << cap.drops.recursion_lost << " nested caught " << cap.drops.nested_caught
                                    << " events " << cap.drops.events;
    EXPECT_EQ(cap.drops.sock_untracked + cap.drops.sock_map_full, 0u);
    EXPECT_EQ(cap.engine.evicted, 0u);
}

inline const Residency* find_residency(const Captured& cap, uint8_t state, uint16_t lport, uint16_t rport) {
    for (const auto& r : cap.residencies)
        if (r.state == state && r.local.port == lport && r.remote.port == rport) return &r;
    return nullptr;
}

// A client that connects to loopback `port`, sends its local port on
// `cport` and closes at once (the peer's socket goes to CLOSE-WAIT).
inline pid_t spawn_client_closing_at_once(const Netns& ns, uint16_t port, Pipe& cport) {
    return spawn_in(ns, [&] {
        int c = tcp_connect(AF_INET, port);
        cport.send(local_port(c));
        close(c);
        return 0;
    });
}

// SCM_RIGHTS over a unix socket (unix(7)): one byte carrying one fd.
struct FdMessage {
    char byte = 'F';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    FdMessage() {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctl;
        msg.msg_controllen = sizeof(ctl);
    }
    FdMessage(const FdMessage&) = delete;
};

inline bool send_fd(int unix_sock, int fd) {
    FdMessage m;
    cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(unix_sock, &m.msg, 0) == 1;
}

inline int recv_fd(int unix_sock) {
    FdMessage m;
    if (recvmsg(unix_sock, &m.msg, 0) != 1) return -1;
    cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

}  // namespace tltest
