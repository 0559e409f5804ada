#include "app/doctor/knobs.hpp"

#include <algorithm>
#include <cctype>

namespace tcplinger::doctor {

const std::vector<Knob>& knobs() {
    static const std::vector<Knob> k = {
        {"net.ipv4.tcp_fin_timeout", true, "60", "",
         "bounds how long an orphaned socket (closed by the application) waits in FIN-WAIT-2 for the peer's FIN "
         "(tcp.c: tcp_close, tcp_input.c: tcp_rcv_state_process via tcp_fin_time); TIME-WAIT is TCP_TIMEWAIT_LEN, "
         "60 s, a compile-time constant (tcp_minisocks.c: tcp_time_wait)",
         "it does not shorten TIME-WAIT"},
        {"net.ipv4.tcp_tw_reuse", true, "2", "",
         "lets connect() take over a TIME-WAIT 4-tuple older than tcp_tw_reuse_delay when the connection had "
         "timestamps: 0 off, 1 on, 2 loopback only (tcp_ipv4.c: tcp_twsk_unique); outgoing connections only",
         "it does nothing for servers: accepted connections never reuse a TIME-WAIT this way"},
        {"net.ipv4.tcp_tw_reuse_delay", true, "1000", "6.14",
         "milliseconds a TIME-WAIT must have lasted before connect() may reuse its 4-tuple "
         "(tcp_ipv4.c: tcp_twsk_unique)",
         ""},
        {"net.ipv4.tcp_timestamps", true, "1", "",
         "negotiates RFC 7323 timestamps (tcp_output.c: tcp_syn_options); PAWS and TIME-WAIT reuse depend on them: "
         "without them tcp_twsk_unique never reuses a TIME-WAIT",
         "turning them off does not save anything worth losing PAWS and tw_reuse"},
        {"net.ipv4.tcp_max_tw_buckets", true, "", "",
         "upper bound of timewait sockets; beyond it tcp_time_wait (tcp_minisocks.c) creates none, counts "
         "TCPTimeWaitOverflow and the connection closes with no TIME-WAIT protection",
         "lowering it does not make TIME-WAIT cheaper: connections beyond it lose TIME-WAIT's protection against "
         "old duplicate segments"},
        {"net.ipv4.tcp_rfc1337", true, "0", "",
         "0: an RST received in TIME-WAIT kills the timewait socket at once (tcp_minisocks.c: "
         "tcp_timewait_state_process); 1: RSTs are ignored in TIME-WAIT (RFC 1337)",
         ""},
        {"net.ipv4.ip_local_port_range", true, "32768 60999", "",
         "the local ports connect() and bind(0) pick from (inet_hashtables.c: __inet_hash_connect); one "
         "destination can have at most this many connections, with TIME-WAIT counted",
         "widening it below 32768 without ip_local_reserved_ports lets outgoing connections take ports "
         "services listen on"},
        {"net.ipv4.ip_local_reserved_ports", true, "", "",
         "ports inside the range that automatic port selection skips (inet_hashtables.c: __inet_hash_connect, "
         "inet_is_local_reserved_port); explicit bind() still works",
         ""},
        {"net.ipv4.tcp_max_orphans", false, "", "",
         "upper bound of sockets no process holds (orphans: FIN-WAIT-1/2, CLOSING, LAST-ACK after close()); beyond "
         "it new orphans are reset (tcp.c: tcp_check_oom, 'too many orphaned sockets')",
         ""},
        {"net.ipv4.tcp_orphan_retries", true, "0", "",
         "retransmissions of an orphaned socket before it is killed; 0 means 8 (tcp_timer.c: tcp_orphan_retries)",
         "0 does not mean 'no retries'"},
        {"net.core.somaxconn", true, "4096", "",
         "upper bound of every listen() backlog (socket.c: __sys_listen_socket); a full accept queue drops the "
         "handshake's last ACK (tcp_ipv4.c: tcp_v4_syn_recv_sock, ListenOverflows)",
         ""},
        {"net.ipv4.tcp_max_syn_backlog", true, "", "",
         "half-open connections kept per listener before SYN cookies or drops (tcp_input.c: tcp_conn_request)", ""},
        {"net.ipv4.tcp_syncookies", true, "1", "",
         "1: SYN cookies when the SYN queue overflows (tcp_input.c: tcp_syn_flood_action); 0: SYNs are dropped", ""},
    };
    return k;
}

const Knob* find_knob(std::string_view key) {
    for (const auto& k : knobs())
        if (k.key == key) return &k;
    return nullptr;
}

const RemovedKey* find_removed(std::string_view key) {
    static const RemovedKey removed[] = {
        {"net.ipv4.tcp_tw_recycle", "4.12",
         "it broke clients behind NAT (per-host timestamps); `sysctl -p` now fails on this line"},
    };
    for (const auto& r : removed)
        if (r.key == key) return &r;
    return nullptr;
}

const ForeignKey* find_foreign(std::string_view key) {
    static const ForeignKey foreign[] = {
        {"net.inet.tcp.msl", "FreeBSD/macOS",
         "none: Linux's TIME-WAIT is TCP_TIMEWAIT_LEN (60 s), fixed at compile time"},
        {"net.inet.tcp.", "FreeBSD/macOS", "the net.ipv4.tcp_* keys"},
        {"net.inet.ip.portrange.", "FreeBSD/macOS", "net.ipv4.ip_local_port_range"},
        {"kern.ipc.somaxconn", "FreeBSD/macOS", "net.core.somaxconn"},
        {"kern.ipc.", "FreeBSD/macOS", ""},
    };
    for (const auto& f : foreign)
        if (key.rfind(f.prefix, 0) == 0) return &f;
    return nullptr;
}

std::string normalize_key(std::string_view key) {
    std::string out(key);
    size_t slash = out.find('/'), dot = out.find('.');
    if (slash != std::string::npos && (dot == std::string::npos || slash < dot)) {
        // "net/ipv4/conf/eth0.1/rp_filter": '/' separates, '.' is literal.
        for (char& c : out) c = c == '/' ? '.' : c;
    }
    return out;
}

std::string proc_path(std::string_view raw_key) {
    std::string out(raw_key);
    size_t slash = out.find('/'), dot = out.find('.');
    bool slashes = slash != std::string::npos && (dot == std::string::npos || slash < dot);
    if (!slashes)
        for (char& c : out) c = c == '.' ? '/' : c;
    return "/proc/sys/" + out;
}

std::string normalize_value(std::string_view value) {
    std::string out;
    bool space = false;
    for (char c : value) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

}  // namespace tcplinger::doctor
