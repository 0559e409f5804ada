// Network namespaces: which exist, and running code inside one. The one
// place that joins a namespace (run_in_netns): everything that must see a
// namespace's own view (iter/tcp, /proc/sys/net, /proc/net/netstat) goes
// through it.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace tcplinger::sys {

// Network namespaces visible on the host: inode -> a path that opens it.
std::map<uint32_t, std::string> list_netns();
uint32_t netns_inode_of(const std::string& path);
// A namespace only sockets keep alive (no /run/netns name, no process in
// it): entered through one socket a process holds.
struct SocketNetns {
    std::string path;  // /proc/self/fd/N: our fd on the namespace (kept open)
    uint32_t pid = 0;  // the process holding the socket
    int fd = -1;       // its fd number there
};
// Namespaces of the sockets processes hold that `known` (list_netns())
// lacks: each socket fd taken with pidfd_getfd(), its namespace with
// ioctl(SIOCGSKNS) (needs CAP_SYS_PTRACE over the holder and CAP_NET_ADMIN).
std::map<uint32_t, SocketNetns> socket_netns(const std::map<uint32_t, std::string>& known);
// Runs fn on a thread that joined the network namespace at netns_path (empty:
// this process's namespace, on the calling thread). /proc/sys/net and
// /proc/thread-self/net follow the calling thread's namespace
// (net/sysctl_net.c: net_ctl_header_lookup), and bpf_iter_tcp walks the
// namespace of the task that creates the iterator fd. A thread of its own,
// because setns() would move the caller for good. False if it could not join.
bool run_in_netns(const std::string& netns_path, const std::function<void()>& fn);
// TcpExt counters (/proc/net/netstat) as seen from inside a namespace
// (path from list_netns()); empty path: this process's namespace.
std::map<std::string, uint64_t> read_tcpext(const std::string& netns_path);
// The Tcp MIB (/proc/net/snmp: ActiveOpens, PassiveOpens, ...) likewise.
std::map<std::string, uint64_t> read_tcp_mib(const std::string& netns_path);

}  // namespace tcplinger::sys
