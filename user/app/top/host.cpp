#include "app/top/host.hpp"

#include <algorithm>
#include <fstream>

namespace tcplinger::top {

HostRead host_read(const HostPoll& poll) {
    HostRead out;
    HostSample& s = out.sample;
    for (const auto& ns : poll.namespaces) {
        out.ranges[ns.inode] = ns.ports.range;
        out.headroom.insert(out.headroom.end(), ns.destinations.begin(), ns.destinations.end());
        for (uint16_t port : ns.listeners) out.listeners.emplace_back(ns.inode, port);
        if (!ns.sockstat.known) continue;
        s.known = true;
        s.time_wait += ns.sockstat.tw;
        s.orphans += ns.sockstat.orphan;
        s.max_tw_buckets += doctor::int_setting(ns.sysctls, "net.ipv4.tcp_max_tw_buckets").value_or(0);
        // tcp_max_orphans is one host-wide limit (not per namespace).
        s.max_orphans =
            std::max<uint64_t>(s.max_orphans, doctor::int_setting(ns.sysctls, "net.ipv4.tcp_max_orphans").value_or(0));
        auto mib = [&](const char* key) {
            auto it = ns.tcp_mib.find(key);
            return it == ns.tcp_mib.end() ? uint64_t{0} : it->second;
        };
        s.active_opens += mib("ActiveOpens");
        s.passive_opens += mib("PassiveOpens");
        if (auto it = ns.tcpext.find("TCPTimeWaitOverflow"); it != ns.tcpext.end()) s.tw_overflow += it->second;
    }
    if (s.known && !s.max_orphans) {
        // Not in a namespace's own sysctls (net/ipv4/sysctl_net_ipv4.c: a
        // global knob of ipv4_table): the host's, as this process sees it.
        std::ifstream in("/proc/sys/net/ipv4/tcp_max_orphans");
        in >> s.max_orphans;
    }
    return out;
}

}  // namespace tcplinger::top
