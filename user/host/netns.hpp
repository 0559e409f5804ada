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

}  // namespace tcplinger::sys
