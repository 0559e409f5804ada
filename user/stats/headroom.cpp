#include "stats/headroom.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace tcplinger::headroom {

std::optional<PortRange> parse_port_range(const std::string& text) {
    std::istringstream in(text);
    long low = -1, high = -1;
    if (!(in >> low >> high) || low < 1 || high > 65535 || low > high) return std::nullopt;
    return PortRange{static_cast<uint16_t>(low), static_cast<uint16_t>(high)};
}

std::optional<std::vector<uint16_t>> parse_port_list(const std::string& text) {
    std::vector<uint16_t> out;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, ',')) {
        item.erase(std::remove_if(item.begin(), item.end(), ::isspace), item.end());
        if (item.empty()) continue;
        long a = 0, b = 0;
        char* end = nullptr;
        a = std::strtol(item.c_str(), &end, 10);
        if (*end == '-')
            b = std::strtol(end + 1, &end, 10);
        else
            b = a;
        if (*end || a < 0 || b > 65535 || a > b) return std::nullopt;
        for (long p = a; p <= b; ++p) out.push_back(static_cast<uint16_t>(p));
    }
    return out;
}

std::string format_destination(const Destination& d) {
    Endpoint r{d.family, d.daddr, d.dport};
    return format_addr(d.family, d.saddr) + " -> " + format_endpoint(r);
}

namespace {
// ::ffff:0.0.0.0/96
bool v4_mapped(const std::array<uint8_t, 16>& a) {
    for (int i = 0; i < 10; ++i)
        if (a[i]) return false;
    return a[10] == 0xff && a[11] == 0xff;
}
}  // namespace

bool is_loopback(uint8_t family, const std::array<uint8_t, 16>& a) {
    if (family != 6) return a[0] == 127;
    static const std::array<uint8_t, 16> one = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (a == one) return true;
    return v4_mapped(a) && a[12] == 127;  // ::ffff:127.0.0.0/104
}

bool is_loopback(const Destination& d) { return is_loopback(d.family, d.saddr) || is_loopback(d.family, d.daddr); }

ReuseVerdict reuse_verdict(const ReuseSettings& s, const Destination& d) {
    // tcp_ipv4.c: tcp_twsk_unique: reuse = tcp_tw_reuse, and 2 counts only
    // for loopback; the takeover also needs tw_ts_recent_stamp, which only a
    // connection that negotiated timestamps has.
    if (s.tw_reuse == 0) return ReuseVerdict::Off;
    if (s.tw_reuse == 2 && !is_loopback(d)) return ReuseVerdict::NotLoopback;
    if (!s.timestamps) return ReuseVerdict::NoTimestamps;
    return ReuseVerdict::Applies;
}

std::string reuse_verdict_text(ReuseVerdict v) {
    switch (v) {
        case ReuseVerdict::Applies:
            return "TIME-WAIT reuse applies";
        case ReuseVerdict::Off:
            return "tcp_tw_reuse=0: no TIME-WAIT reuse";
        case ReuseVerdict::NotLoopback:
            return "tcp_tw_reuse=2 reuses loopback only: not here";
        case ReuseVerdict::NoTimestamps:
            return "tcp_timestamps=0: TIME-WAIT reuse needs timestamps";
    }
    return "";
}

namespace {
std::array<uint8_t, 16> unmapped(const std::array<uint8_t, 16>& a) {
    std::array<uint8_t, 16> v4{};
    std::copy(a.begin() + 12, a.end(), v4.begin());
    return v4;
}
}  // namespace

Destination destination_of(uint32_t netns, const Endpoint& local, const Endpoint& remote) {
    Destination d;
    d.netns = netns;
    d.family = local.family;
    d.saddr = local.addr;
    d.daddr = remote.addr;
    d.dport = remote.port;
    // A dual-stack socket talking IPv4 (::ffff:a.b.c.d at both ends) is
    // hashed and checked as IPv4 (tcp_v6_connect hands it to
    // tcp_v4_connect; __inet_check_established matches the IPv4 address
    // pair): it shares the 4-tuples of the IPv4 sockets to that destination.
    if (d.family == 6 && v4_mapped(d.daddr) && v4_mapped(d.saddr)) {
        d.family = 4;
        d.saddr = unmapped(d.saddr);
        d.daddr = unmapped(d.daddr);
    }
    return d;
}

namespace {
Destination destination_of(const SocketSample& s) { return headroom::destination_of(s.netns, s.local, s.remote); }

bool reusable_now(const SocketSample& s, const ReuseSettings& r, ReuseVerdict v) {
    if (v != ReuseVerdict::Applies || s.state != kTimeWait) return false;
    // tcp_twsk_unique: an orphaned FIN-WAIT-2 in the timewait socket is never reused.
    if (s.tw_substate != kTimeWait) return false;
    return s.tw_age_ms && *s.tw_age_ms > r.reuse_delay_ms;
}
}  // namespace

std::vector<uint16_t> bound_ports(const std::vector<SocketSample>& sockets, uint32_t netns) {
    std::set<uint16_t> out;
    for (const auto& s : sockets)
        if (s.netns == netns && s.state == kListen) out.insert(s.local.port);
    return {out.begin(), out.end()};
}

namespace {
struct Excluded {
    std::set<uint16_t> reserved, bound;  // within the range
};

Excluded excluded_ports(const NetnsPorts& ports, const std::vector<SocketSample>& sockets, uint32_t netns) {
    Excluded x;
    for (uint16_t p : ports.reserved)
        if (ports.range.contains(p)) x.reserved.insert(p);
    for (uint16_t p : bound_ports(sockets, netns))
        if (ports.range.contains(p) && !x.reserved.count(p)) x.bound.insert(p);
    return x;
}

bool outgoing(const SocketSample& s, const NetnsPorts& ports, const Excluded& x) {
    return s.state != kListen && ports.range.contains(s.local.port) && !x.reserved.count(s.local.port) &&
           !x.bound.count(s.local.port);
}

Headroom compute_group(const NetnsPorts& ports, const Excluded& x, const Destination& dest,
                       const std::vector<const SocketSample*>& group) {
    Headroom h;
    h.dest = dest;
    h.reuse = reuse_verdict(ports.reuse, dest);
    h.reuse_delay_ms = ports.reuse.reuse_delay_ms;
    h.range = ports.range.size();
    h.reserved = static_cast<uint32_t>(x.reserved.size());
    h.bound = static_cast<uint32_t>(x.bound.size());
    h.usable = h.range - h.reserved - h.bound;
    // Local ports whose 4-tuple to dest is held; a port is free again only
    // when every socket on it is a reusable TIME-WAIT.
    // One flag byte per port, not a std::map: under churn a destination
    // holds thousands of ports, and the tree was most of a `top` refresh's
    // CPU (perf, scripts/bench's top mode).
    constexpr uint8_t kHeld = 1, kBlocked = 2, kTw = 4;  // blocked: not reusable
    std::vector<uint8_t> flags(65536, 0);
    for (const SocketSample* s : group) {
        uint8_t& f = flags[s->local.port];
        f |= kHeld;
        if (!reusable_now(*s, ports.reuse, h.reuse)) f |= kBlocked;
        if (s->state == kTimeWait) f |= kTw;
    }
    for (uint8_t f : flags) {
        if (f & kHeld) ++(f & kBlocked ? h.taken : h.reusable_tw);
        if (f & kTw) ++h.time_wait;
    }
    h.headroom = h.usable > h.taken ? h.usable - h.taken : 0;
    return h;
}
}  // namespace

Headroom compute_one(const NetnsPorts& ports, const std::vector<SocketSample>& sockets, const Destination& dest) {
    Excluded x = excluded_ports(ports, sockets, dest.netns);
    std::vector<const SocketSample*> group;
    for (const auto& s : sockets)
        if (outgoing(s, ports, x) && destination_of(s) == dest) group.push_back(&s);
    return compute_group(ports, x, dest, group);
}

std::vector<Headroom> compute(const NetnsPorts& ports, const std::vector<SocketSample>& sockets, uint32_t netns) {
    Excluded x = excluded_ports(ports, sockets, netns);
    std::map<Destination, std::vector<const SocketSample*>> groups;
    for (const auto& s : sockets)
        if (s.netns == netns && outgoing(s, ports, x)) groups[destination_of(s)].push_back(&s);
    std::vector<Headroom> out;
    for (const auto& [d, group] : groups) out.push_back(compute_group(ports, x, d, group));
    std::sort(out.begin(), out.end(), [](const Headroom& a, const Headroom& b) {
        return a.headroom != b.headroom ? a.headroom < b.headroom : a.dest < b.dest;
    });
    return out;
}

double seconds_to_exhaustion(uint32_t headroom, double net_growth_per_s) {
    if (net_growth_per_s <= 0) return kNever;
    return headroom / net_growth_per_s;
}

double steady_time_wait(double tw_per_s) { return tw_per_s * 60.0; }

double held_time_wait_level(const Headroom& h, double tw_per_s) {
    if (h.reuse == ReuseVerdict::Applies) return tw_per_s * h.reuse_delay_ms / 1000.0;
    return steady_time_wait(tw_per_s);
}

double seconds_to_exhaustion(const Headroom& h, double tw_per_s, double net_growth_per_s) {
    uint32_t held_tw = h.time_wait > h.reusable_tw ? h.time_wait - h.reusable_tw : 0;
    uint32_t live = h.taken > held_tw ? h.taken - held_tw : 0;
    if (held_time_wait_level(h, tw_per_s) + live < h.usable) return kNever;
    return seconds_to_exhaustion(h.headroom, net_growth_per_s);
}

}  // namespace tcplinger::headroom
