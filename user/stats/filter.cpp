#include "stats/filter.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "core/error.hpp"
#include "host/cgroup.hpp"
#include "host/netns.hpp"

namespace tcplinger {

namespace {
const std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool prefix_equal(const uint8_t* a, const uint8_t* b, unsigned bits) {
    unsigned bytes = bits / 8, rest = bits % 8;
    if (!std::equal(a, a + bytes, b)) return false;
    if (!rest) return true;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}
}  // namespace

bool Cidr::contains(const Endpoint& ep) const {
    if (family == ep.family) return prefix_equal(addr.data(), ep.addr.data(), prefix);
    // An IPv4 range also covers v4-mapped IPv6 addresses (dual-stack sockets).
    if (family == 4 && ep.family == 6 && std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), ep.addr.begin()))
        return prefix_equal(addr.data(), ep.addr.data() + 12, prefix);
    return false;
}

std::optional<Cidr> parse_cidr(const std::string& text) {
    Cidr c;
    std::string host = text;
    std::optional<unsigned> prefix;
    if (auto slash = text.find('/'); slash != std::string::npos) {
        host = text.substr(0, slash);
        std::string p = text.substr(slash + 1);
        if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit)) return std::nullopt;
        prefix = std::stoul(p);
    }
    if (inet_pton(AF_INET, host.c_str(), c.addr.data()) == 1) {
        c.family = 4;
        c.prefix = prefix.value_or(32);
        if (c.prefix > 32) return std::nullopt;
    } else if (inet_pton(AF_INET6, host.c_str(), c.addr.data()) == 1) {
        c.family = 6;
        c.prefix = prefix.value_or(128);
        if (c.prefix > 128) return std::nullopt;
    } else {
        return std::nullopt;
    }
    return c;
}

Filter::Filter(const FilterOptions& o) : pids_(o.pids), comms_(o.comms) {
    if (o.ipv4 && o.ipv6) throw FatalError("-4 and -6 exclude each other: give at most one");
    kernel_.family = o.ipv4 ? 4 : o.ipv6 ? 6 : 0;
    kernel_.lport = o.lport;
    kernel_.rport = o.rport;
    kernel_.port = o.port;
    kernel_.netns = o.netns;
    if (!o.netns_path.empty()) {
        kernel_.netns = sys::netns_inode_of(o.netns_path);
        if (!kernel_.netns)
            throw FatalError("cannot open network namespace " + o.netns_path +
                             ": give /run/netns/NAME, /proc/PID/ns/net or --netns INODE");
    }
    for (const auto& a : o.addrs) {
        auto c = parse_cidr(a);
        if (!c) throw FatalError("bad --addr '" + a + "': give an address or CIDR, e.g. 10.0.0.0/8 or ::1");
        cidrs_.push_back(*c);
    }
    if (!o.cgroup.empty()) {
        cgroup_id_ = sys::cgroup_id_of_path(o.cgroup);
        if (!cgroup_id_)
            throw FatalError("cgroup '" + o.cgroup + "' not found under /sys/fs/cgroup: give a cgroup v2 path");
    }
    if (!o.state.empty()) {
        state_ = parse_state(o.state);
        if (!state_) throw FatalError("unknown state '" + o.state + "': use a name as ss prints it, e.g. TIME-WAIT");
    }
}

bool Filter::match_socket(uint32_t netns, const Endpoint& l, const Endpoint& r) const {
    if (kernel_.netns && netns != kernel_.netns) return false;
    if (kernel_.family && l.family != kernel_.family) return false;
    if (kernel_.lport && l.port != kernel_.lport) return false;
    if (kernel_.rport && r.port != kernel_.rport) return false;
    if (kernel_.port && l.port != kernel_.port && r.port != kernel_.port) return false;
    if (!cidrs_.empty() &&
        std::none_of(cidrs_.begin(), cidrs_.end(), [&](const Cidr& c) { return c.contains(l) || c.contains(r); }))
        return false;
    return true;
}

bool Filter::match_process(const Process& p) const {
    if (!pids_.empty() && std::find(pids_.begin(), pids_.end(), p.pid) == pids_.end()) return false;
    if (!comms_.empty() && std::find(comms_.begin(), comms_.end(), p.comm) == comms_.end()) return false;
    if (cgroup_id_ && p.cgroup != cgroup_id_) return false;
    return true;
}

bool Filter::match(const Transition& t) const {
    if (!match_socket(t.netns, t.local, t.remote)) return false;
    if (state_ && t.old_state != *state_ && t.new_state != *state_) return false;
    if (pids_.empty() && comms_.empty() && !cgroup_id_) return true;
    return match_process(t.actor) || match_process(t.owner);
}

bool Filter::match(const Residency& r) const {
    if (!match_socket(r.netns, r.local, r.remote)) return false;
    if (state_ && r.state != *state_) return false;
    return match_process(r.owner);
}

bool Filter::match(const Connection& c) const { return match(c, responsible(c, c.state)); }

bool Filter::match(const Connection& c, const Process& charged) const {
    if (!match_socket(c.netns, c.local, c.remote)) return false;
    if (state_ && c.state != *state_) return false;
    return match_process(charged);
}

}  // namespace tcplinger
