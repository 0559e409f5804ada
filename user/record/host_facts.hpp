// Facts about the recording host that a later reader, maybe on another
// machine, needs to interpret the events: identity, clocks, CONFIG_HZ and,
// per traced network namespace, the TCP sysctls and TcpExt counters.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "record/metadata.hpp"

namespace tcplinger::rec {

struct HostFacts {
    std::string hostname;
    std::string kernel_release;
    std::string boot_id;  // /proc/sys/kernel/random/boot_id
    uint32_t hz = 0;      // CONFIG_HZ from /boot/config-<release>, 0 if not found
};
HostFacts host_facts();

// CLOCK_REALTIME - CLOCK_MONOTONIC now, read between two monotonic reads.
int64_t clock_offset_ns();

// The per-netns settings that explain how long sockets linger and how many
// may (a recording copies these and nothing else: no keys, no secrets).
inline constexpr const char* kLingeringSysctls[] = {
    "net.ipv4.tcp_fin_timeout",       "net.ipv4.tcp_tw_reuse",
    "net.ipv4.tcp_tw_reuse_delay",    "net.ipv4.tcp_timestamps",
    "net.ipv4.tcp_max_tw_buckets",    "net.ipv4.tcp_rfc1337",
    "net.ipv4.ip_local_port_range",   "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_max_orphans",       "net.ipv4.tcp_orphan_retries",
    "net.ipv4.tcp_max_syn_backlog",   "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_retries2",          "net.ipv4.tcp_synack_retries",
    "net.ipv4.tcp_syn_retries",       "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_keepalive_intvl",   "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_ehash_entries",     "net.ipv4.tcp_child_ehash_entries",
    "net.ipv4.tcp_abort_on_overflow", "net.core.somaxconn",
};

// Every network namespace traced (only `only_netns` if not 0): TcpExt
// counters, and kLingeringSysctls as seen from inside it.
std::vector<NetnsFacts> netns_facts(uint32_t only_netns, bool with_sysctls);
// The TcpExt counters of the same namespaces again (for the trailer).
std::vector<NetnsFacts> netns_counters(const std::vector<NetnsFacts>& namespaces);

}  // namespace tcplinger::rec
