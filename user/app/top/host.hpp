// tcplinger top: the traced namespaces' counters, settings and sockets at
// one refresh, read as doctor reads them (doctor/host.hpp: /proc/net/sockstat,
// the sysctls, TcpExt, and /proc/net/tcp{,6} for the headroom model).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "app/top/model.hpp"

namespace tcplinger::top {

struct HostRead {
    HostSample sample;
    // Headroom of every destination an outgoing socket talks to, per
    // namespace (headroom::compute over the sockets that exist now).
    std::vector<headroom::Headroom> headroom;
    std::vector<std::pair<uint32_t, uint16_t>> listeners;  // (netns, port)
    std::map<uint32_t, headroom::PortRange> ranges;        // ip_local_port_range per netns
};

// `selector`: a netns inode, path or /run/netns name; empty: every namespace.
// Never throws: what cannot be read is left out (sample.known false).
HostRead read_host(const std::string& selector);

}  // namespace tcplinger::top
