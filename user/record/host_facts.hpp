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

// Every network namespace traced (only `only_netns` if not 0): TcpExt
// counters, and the net.ipv4.tcp_* sysctls as seen from inside it.
std::vector<NetnsFacts> netns_facts(uint32_t only_netns, bool with_sysctls);
// The TcpExt counters of the same namespaces again (for the trailer).
std::vector<NetnsFacts> netns_counters(const std::vector<NetnsFacts>& namespaces);

}  // namespace tcplinger::rec
