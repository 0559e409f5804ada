// tcplinger top: the traced namespaces' counters, settings and sockets at
// one refresh, as the HostPoller read them (app/host_poller.hpp: the
// sockstat, sysctls, Tcp MIB and TcpExt counters, and the tracer's own
// iter/tcp pass through a SocketTable for the headroom).
#pragma once
#include <map>
#include <utility>
#include <vector>

#include "app/host_poller.hpp"
#include "app/top/model.hpp"

namespace tcplinger::top {

struct HostRead {
    HostSample sample;
    // Every destination's headroom and rates, per namespace (SocketTable::busiest).
    std::vector<DestinationHeadroom> headroom;
    std::vector<std::pair<uint32_t, uint16_t>> listeners;  // (netns, port)
    std::map<uint32_t, headroom::PortRange> ranges;        // ip_local_port_range per netns
};

HostRead host_read(const HostPoll& poll);

}  // namespace tcplinger::top
