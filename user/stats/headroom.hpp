// Ephemeral-port headroom per destination: how many more connect() calls
// to one (netns, saddr, daddr, dport) can get a local port, from the
// namespace's port settings and the sockets that exist. Pure: the caller
// brings the settings and the sockets (iter/tcp snapshot or /proc/net/tcp).
//
// The model follows net/ipv4/inet_hashtables.c: __inet_hash_connect and
// tcp_ipv4.c: tcp_twsk_unique (Linux 6.x):
// - candidates: ip_local_port_range minus ip_local_reserved_ports;
// - a port whose bind bucket was made by bind()/listen() (fastreuse >= 0)
//   is skipped for every destination;
// - otherwise a port is usable unless a socket holds the same 4-tuple
//   (__inet_check_established), in any state;
// - a TIME-WAIT on the 4-tuple is taken over when tcp_tw_reuse is 1 (or 2
//   and the connection is loopback), the TIME-WAIT saw timestamps, it is in
//   substate TIME-WAIT (not an orphaned FIN-WAIT-2) and it is older than
//   tcp_tw_reuse_delay.
// The even/odd preference of connect() only orders the scan; both parities
// are tried, so it does not change the count. The scan visits
// remaining = size & ~1 slots (__inet_hash_connect rounds an odd range size
// down), so with an odd-sized range one port is skipped per connect() (which
// one moves with the scan's offset): the last free port can then be missed.
// The reuse age is counted from tw_entry_stamp (tcp_minisocks.c: set by
// tcp_time_wait and again when the FIN moves an orphaned FIN-WAIT-2 into
// TIME-WAIT), which is when the timer was last armed for TCP_TIMEWAIT_LEN;
// the kernel's test is time_after32(now, entry + delay): strictly older.
// Before tcp_tw_reuse_delay (6.14) the test was "a later second than the
// last timestamp seen" (0 to 1 s): a 1 s delay is the safe reading there.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/event.hpp"

namespace tcplinger::headroom {

struct PortRange {
    uint16_t low = 32768, high = 60999;  // inclusive (the kernel default)
    uint32_t size() const { return high >= low ? uint32_t(high) - low + 1 : 0; }
    bool contains(uint16_t p) const { return p >= low && p <= high; }
};
// "32768\t60999" (as /proc/sys prints it) or "32768 60999".
std::optional<PortRange> parse_port_range(const std::string& text);
// "1000-1010,2000" (ip_local_reserved_ports); nothing on a malformed list.
std::optional<std::vector<uint16_t>> parse_port_list(const std::string& text);

struct ReuseSettings {
    int tw_reuse = 2;                // 0 off, 1 on, 2 loopback only
    bool timestamps = true;          // tcp_timestamps != 0
    uint32_t reuse_delay_ms = 1000;  // tcp_tw_reuse_delay (1 s before 6.14)
};

// What one namespace allows connect() to pick from.
struct NetnsPorts {
    PortRange range;
    std::vector<uint16_t> reserved;  // ip_local_reserved_ports
    ReuseSettings reuse;
};

// One socket as an enumeration shows it.
struct SocketSample {
    uint32_t netns = 0;
    uint64_t cookie = 0;  // socket cookie (0: unknown); tells new sockets between two passes
    Endpoint local, remote;
    uint8_t state = 0;        // TcpState; kTimeWait for a timewait socket
    uint8_t tw_substate = 0;  // timewait sockets: kFinWait2 or kTimeWait
    // Time spent in TIME-WAIT so far (timewait sockets in substate
    // TIME-WAIT); nullopt when unknown (counted as not yet reusable).
    std::optional<uint64_t> tw_age_ms;
};

// The destination connect() picks a port for.
struct Destination {
    uint32_t netns = 0;
    uint8_t family = 4;
    std::array<uint8_t, 16> saddr{}, daddr{};
    uint16_t dport = 0;
    auto operator<=>(const Destination&) const = default;
};
std::string format_destination(const Destination& d);
Destination destination_of(uint32_t netns, const Endpoint& local,
                           const Endpoint& remote);  // "127.0.0.1 -> 127.0.0.1:8080"

// Loopback as tcp_twsk_unique tests it for tcp_tw_reuse=2: 127.0.0.0/8,
// ::1 and ::ffff:127.0.0.0/104 on either end.
bool is_loopback(uint8_t family, const std::array<uint8_t, 16>& addr);
bool is_loopback(const Destination& d);

enum class ReuseVerdict { Applies, Off, NotLoopback, NoTimestamps };
ReuseVerdict reuse_verdict(const ReuseSettings& s, const Destination& d);
std::string reuse_verdict_text(ReuseVerdict v);

struct Headroom {
    Destination dest;
    uint32_t range = 0;        // ports in ip_local_port_range
    uint32_t reserved = 0;     // of them in ip_local_reserved_ports
    uint32_t bound = 0;        // of them held by bind()/listen() (not reserved)
    uint32_t usable = 0;       // range - reserved - bound
    uint32_t taken = 0;        // usable ports whose 4-tuple to dest is held, not reusable
    uint32_t time_wait = 0;    // of the held 4-tuples, TIME-WAIT (reusable or not)
    uint32_t reusable_tw = 0;  // TIME-WAITs connect() would take over now
    uint32_t headroom = 0;     // usable - taken: connect() calls that can succeed now
    ReuseVerdict reuse = ReuseVerdict::Off;
    uint32_t reuse_delay_ms = 1000;  // tcp_tw_reuse_delay (when reuse applies)
};

// Ports made unusable for every destination: the local ports of listening
// sockets (a bind() without listen() is not visible in an enumeration of
// TCP sockets; see README, limits).
std::vector<uint16_t> bound_ports(const std::vector<SocketSample>& sockets, uint32_t netns);

// Headroom of every destination some outgoing socket in `netns` talks to.
// A socket is outgoing when its local port is in the range and is not a
// bound port (a server's accepted sockets sit on the listener's port).
std::vector<Headroom> compute(const NetnsPorts& ports, const std::vector<SocketSample>& sockets, uint32_t netns);
// One destination (also one no socket talks to yet).
Headroom compute_one(const NetnsPorts& ports, const std::vector<SocketSample>& sockets, const Destination& dest);

// Seconds until headroom is 0 at a net growth of ports held per second
// (new connections/s minus ports freed/s); infinity when not growing.
double seconds_to_exhaustion(uint32_t headroom, double net_growth_per_s);
inline constexpr double kNever = std::numeric_limits<double>::infinity();

// TIME-WAITs made at a steady tw_per_s toward one destination hold
// tw_per_s x 60 s ports once the first ones expire (TCP_TIMEWAIT_LEN):
// the count levels off instead of growing for ever.
double steady_time_wait(double tw_per_s);
// The ports TIME-WAITs made at tw_per_s toward h.dest keep out of reach:
// tw_per_s x 60 s, but only tw_per_s x tcp_tw_reuse_delay when reuse
// applies (an older TIME-WAIT is taken over by connect(), tcp_twsk_unique).
double held_time_wait_level(const Headroom& h, double tw_per_s);
// Seconds until h.headroom is 0, growing at net_growth_per_s now, and
// never when the level held TIME-WAIT settles at (held_time_wait_level)
// fits in what is left besides the live sockets
// (h.usable - (h.taken - non-reusable TIME-WAITs)).
double seconds_to_exhaustion(const Headroom& h, double tw_per_s, double net_growth_per_s);

}  // namespace tcplinger::headroom
