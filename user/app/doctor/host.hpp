// What doctor reads from the host, per network namespace: the knobs, the
// TcpExt and sockstat counters and the TCP sockets (/proc/net/tcp{,6}),
// each read from a thread that joined the namespace.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stats/headroom.hpp"

namespace tcplinger::doctor {

struct Sockstat {
    bool known = false;
    uint64_t inuse = 0, orphan = 0, tw = 0, alloc = 0;
};
// "TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 304" line of /proc/net/sockstat.
Sockstat parse_sockstat(const std::string& text);

struct NetnsState {
    uint32_t inode = 0;
    std::string path;   // how it was opened (/run/netns/NAME, /proc/PID/ns/net)
    std::string name;   // NAME, "host", or "pid 123 (comm)"
    bool host = false;  // the initial namespace (that of pid 1)
    bool in_place = false;
    bool recorded = false;  // from a recording's header: a missing knob was not stored  // read without setns(): our
                            // own namespace, no CAP_SYS_ADMIN
    // knob key -> value as /proc/sys prints it (whitespace folded); a knob
    // missing here does not exist on this kernel (or, for a global knob in
    // another namespace, is the host's: see global_from_host).
    std::map<std::string, std::string> settings;
    std::vector<std::string> global_from_host;  // global knobs whose value is the host's
    std::map<std::string, uint64_t> tcpext;
    Sockstat sockstat;
    bool sockets_known = false;
    std::vector<headroom::SocketSample> sockets;
};

// /proc/net/tcp or /proc/net/tcp6 text -> sockets. Timewait sockets (timer
// 3) carry their substate in `st`, and their remaining time in USER_HZ
// ticks, from which TIME-WAIT's age is TCP_TIMEWAIT_LEN minus the rest
// (tcp_ipv4.c: get_timewait4_sock).
std::vector<headroom::SocketSample> parse_proc_net_tcp(const std::string& text, uint8_t family, uint32_t netns);

// Every namespace (selector empty), or the one named by an inode number, a
// /run/netns name or a path. Throws FatalError when the selector matches none.
std::vector<NetnsState> read_namespaces(const std::string& selector, bool with_sockets);

// The port settings of a namespace, for the headroom model.
headroom::NetnsPorts ports_of(const NetnsState& ns);

// An integer knob's value, nullopt when absent or not a number.
std::optional<long long> int_setting(const std::map<std::string, std::string>& settings, const std::string& key);

}  // namespace tcplinger::doctor
