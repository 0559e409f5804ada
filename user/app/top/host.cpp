#include "app/top/host.hpp"

#include <algorithm>

#include "app/doctor/host.hpp"
#include "core/error.hpp"
#include "host/netns.hpp"

namespace tcplinger::top {

// The sockets come from /proc/net/tcp{,6}, read in each namespace: exact
// at the moment of reading and with no effect on the tracer. (An iter/tcp
// pass would create socket storage for every socket it meets.) The live
// socket table of the headroom work replaces this when it lands.
HostRead read_host(const std::string& selector) {
    HostRead out;
    std::vector<doctor::NetnsState> spaces;
    try {
        spaces = doctor::read_namespaces(selector, true);
    } catch (const FatalError&) {
        return out;
    }
    HostSample& s = out.sample;
    for (const auto& ns : spaces) {
        if (!ns.sockstat.known) continue;
        s.known = true;
        s.time_wait += ns.sockstat.tw;
        s.orphans += ns.sockstat.orphan;
        s.max_tw_buckets += doctor::int_setting(ns.settings, "net.ipv4.tcp_max_tw_buckets").value_or(0);
        // tcp_max_orphans is one host-wide limit (not per namespace).
        s.max_orphans =
            std::max<uint64_t>(s.max_orphans, doctor::int_setting(ns.settings, "net.ipv4.tcp_max_orphans").value_or(0));
        auto mib = sys::read_tcp_mib(ns.in_place ? "" : ns.path);
        s.active_opens += mib["ActiveOpens"];
        s.passive_opens += mib["PassiveOpens"];
        if (auto it = ns.tcpext.find("TCPTimeWaitOverflow"); it != ns.tcpext.end()) s.tw_overflow += it->second;
        headroom::NetnsPorts ports = doctor::ports_of(ns);
        out.ranges[ns.inode] = ports.range;
        auto h = headroom::compute(ports, ns.sockets, ns.inode);
        out.headroom.insert(out.headroom.end(), h.begin(), h.end());
        for (const auto& sock : ns.sockets)
            if (sock.state == kListen) out.listeners.emplace_back(ns.inode, sock.local.port);
    }
    return out;
}

}  // namespace tcplinger::top
