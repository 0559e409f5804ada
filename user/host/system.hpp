// Host facts the tracer needs, none of them libbpf: privileges, BTF,
// tracefs, network namespaces and /proc socket ownership.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/event.hpp"

namespace tcplinger::sys {

// Throws FatalError naming what is missing and what to do.
void check_can_trace();
// Mounts tracefs at /sys/kernel/tracing if needed. False if unavailable.
bool ensure_tracefs();
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
// socket inode -> owning process, from /proc/<pid>/fd.
std::map<uint64_t, Process> socket_owners();
std::string comm_of_pid(uint32_t pid);
// Mount point of cgroup v2 (the hierarchy whose ids BPF reports).
const std::string& cgroup2_root();
// cgroup v2 id -> path relative to the cgroup root (empty when unknown).
std::string cgroup_path(uint64_t cgroup_id);
uint64_t cgroup_id_of_path(const std::string& path);
// "docker-<id>.scope" / "<unit>.service" labels from a cgroup path.
std::string cgroup_label(const std::string& path);
uint64_t monotonic_ns();
uint64_t realtime_ns();

}  // namespace tcplinger::sys

#include <functional>

namespace tcplinger::sys {
// Runs fn on a thread that joined the network namespace at netns_path (empty:
// this process's namespace, on the calling thread). /proc/sys/net and
// /proc/thread-self/net follow the calling thread's namespace
// (net/sysctl_net.c: net_ctl_header_lookup). False if it could not join.
bool run_in_netns(const std::string& netns_path, const std::function<void()>& fn);
// TcpExt counters (/proc/net/netstat) as seen from inside a namespace
// (path from list_netns()); empty path: this process's namespace.
std::map<std::string, uint64_t> read_tcpext(const std::string& netns_path);
// The Tcp MIB (/proc/net/snmp: ActiveOpens, PassiveOpens, ...) likewise.
std::map<std::string, uint64_t> read_tcp_mib(const std::string& netns_path);
}  // namespace tcplinger::sys
