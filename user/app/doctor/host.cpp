#include "app/doctor/host.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "app/doctor/knobs.hpp"
#include "core/error.hpp"
#include "host/netns.hpp"
#include "host/proc.hpp"

namespace tcplinger::doctor {

namespace {
std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// /proc/net/tcp prints each __be32 of the address with %08X: the bytes of
// the 32-bit word in host order.
bool parse_addr(const std::string& hex, uint8_t family, Endpoint& ep) {
    size_t colon = hex.find(':');
    size_t words = family == 6 ? 4 : 1;
    if (colon != words * 8) return false;
    ep.family = family;
    for (size_t w = 0; w < words; ++w) {
        uint32_t v = static_cast<uint32_t>(std::stoul(hex.substr(w * 8, 8), nullptr, 16));
        std::memcpy(&ep.addr[w * 4], &v, 4);
    }
    ep.port = static_cast<uint16_t>(std::stoul(hex.substr(colon + 1), nullptr, 16));
    return true;
}

std::string name_of(const std::string& path, uint32_t inode, bool host) {
    if (host) return "host";
    if (path.rfind("/run/netns/", 0) == 0) return path.substr(11);
    if (path.rfind("/proc/", 0) == 0) {
        std::string pid = path.substr(6, path.find('/', 6) - 6);
        return "pid " + pid + " (" + sys::comm_of_pid(static_cast<uint32_t>(std::stoul(pid))) + ")";
    }
    return "netns " + std::to_string(inode);
}
}  // namespace

Sockstat parse_sockstat(const std::string& text) {
    Sockstat s;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("TCP:", 0) != 0) continue;
        std::istringstream f(line.substr(4));
        std::string key;
        uint64_t v = 0;
        while (f >> key >> v) {
            if (key == "inuse")
                s.inuse = v;
            else if (key == "orphan")
                s.orphan = v;
            else if (key == "tw")
                s.tw = v;
            else if (key == "alloc")
                s.alloc = v;
        }
        s.known = true;
    }
    return s;
}

std::vector<headroom::SocketSample> parse_proc_net_tcp(const std::string& text, uint8_t family, uint32_t netns) {
    std::vector<headroom::SocketSample> out;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);            // header
    constexpr uint64_t kUserHz = 100;  // jiffies_delta_to_clock_t
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string sl, local, remote, st, queues, timer;
        if (!(f >> sl >> local >> remote >> st >> queues >> timer)) continue;
        headroom::SocketSample s;
        s.netns = netns;
        try {
            if (!parse_addr(local, family, s.local) || !parse_addr(remote, family, s.remote)) continue;
            uint8_t state = static_cast<uint8_t>(std::stoul(st, nullptr, 16));
            size_t colon = timer.find(':');
            int tr = std::stoi(timer.substr(0, colon));
            uint64_t when = std::stoull(timer.substr(colon + 1), nullptr, 16);
            if (tr == 3) {
                s.state = kTimeWait;
                s.tw_substate = state;
                uint64_t left_ms = when * 1000 / kUserHz;
                constexpr uint64_t kLenMs = 60'000;  // TCP_TIMEWAIT_LEN
                if (state == kTimeWait) s.tw_age_ms = left_ms < kLenMs ? kLenMs - left_ms : 0;
            } else {
                s.state = state;
            }
        } catch (const std::exception&) {
            continue;
        }
        out.push_back(s);
    }
    return out;
}

std::optional<long long> int_setting(const std::map<std::string, std::string>& settings, const std::string& key) {
    auto it = settings.find(key);
    if (it == settings.end()) return std::nullopt;
    try {
        size_t used = 0;
        long long v = std::stoll(it->second, &used);
        if (used != it->second.size()) return std::nullopt;
        return v;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

headroom::NetnsPorts ports_of(const NetnsState& ns) {
    headroom::NetnsPorts p;
    if (auto it = ns.settings.find("net.ipv4.ip_local_port_range"); it != ns.settings.end())
        if (auto r = headroom::parse_port_range(it->second)) p.range = *r;
    if (auto it = ns.settings.find("net.ipv4.ip_local_reserved_ports"); it != ns.settings.end())
        if (auto l = headroom::parse_port_list(it->second)) p.reserved = *l;
    p.reuse.tw_reuse = static_cast<int>(int_setting(ns.settings, "net.ipv4.tcp_tw_reuse").value_or(2));
    p.reuse.timestamps = int_setting(ns.settings, "net.ipv4.tcp_timestamps").value_or(1) != 0;
    p.reuse.reuse_delay_ms =
        static_cast<uint32_t>(int_setting(ns.settings, "net.ipv4.tcp_tw_reuse_delay").value_or(1000));
    return p;
}

std::vector<NetnsState> read_namespaces(const std::string& selector, bool with_sockets) {
    std::map<uint32_t, std::string> all = sys::list_netns();
    // Namespaces only sockets live in (issue 14: "the namespaces sockets
    // live in"): no name, no process inside. iter/tcp cannot find them (it
    // walks only the namespace of the task that reads it, tcp_ipv4.c:
    // bpf_iter_tcp_seq_start/seq_sk_match), a held socket fd can.
    // Only when every namespace or one by inode is asked for: a name or a
    // path opens by itself (the walk takes every socket fd on the host).
    const bool by_inode = std::all_of(selector.begin(), selector.end(), ::isdigit);
    std::map<uint32_t, sys::SocketNetns> via_socket;
    if (by_inode) via_socket = sys::socket_netns(all);
    for (const auto& [ino, s] : via_socket) all.emplace(ino, s.path);
    // The initial namespace: pid 1's, or kthreadd's (pid 2 lives in init_net
    // always) where pid 1 cannot be read (inside a sandbox).
    uint32_t host_inode = sys::netns_inode_of("/proc/1/ns/net");
    if (!host_inode) host_inode = sys::netns_inode_of("/proc/2/ns/net");
    std::map<uint32_t, std::string> chosen;
    if (selector.empty()) {
        chosen = all;
    } else if (std::all_of(selector.begin(), selector.end(), ::isdigit)) {
        // The option's check (netns_validator) keeps it in range; a value
        // past 32 bits names no namespace rather than wrapping or throwing.
        uint64_t ino = 0;
        bool parsed = std::from_chars(selector.data(), selector.data() + selector.size(), ino).ec == std::errc();
        if (parsed && ino <= UINT32_MAX)
            if (auto it = all.find(static_cast<uint32_t>(ino)); it != all.end()) chosen.insert(*it);
    } else {
        std::string path = selector.find('/') == std::string::npos ? "/run/netns/" + selector : selector;
        if (uint32_t ino = sys::netns_inode_of(path)) chosen.emplace(ino, path);
    }
    if (chosen.empty())
        throw FatalError("failed to find network namespace '" + selector +
                         "': give an inode number (ls -L -i /proc/PID/ns/net), a name in /run/netns or a path");

    const uint32_t own_inode = sys::netns_inode_of("/proc/self/ns/net");
    std::vector<NetnsState> out;
    std::map<std::string, std::string> host_settings;
    auto read_one = [&](uint32_t inode, const std::string& path) {
        NetnsState ns;
        ns.inode = inode;
        ns.path = path;
        ns.host = inode == host_inode;
        if (auto v = via_socket.find(inode); v != via_socket.end())
            ns.name = "socket of pid " + std::to_string(v->second.pid) + " (" + sys::comm_of_pid(v->second.pid) +
                      ") fd " + std::to_string(v->second.fd);
        else
            ns.name = name_of(path, inode, ns.host);
        auto read_here = [&] {
            for (const auto& k : knobs()) {
                std::ifstream in(proc_path(k.key));
                std::string value;
                if (in && std::getline(in, value)) ns.settings[std::string(k.key)] = normalize_value(value);
            }
            ns.sockstat = parse_sockstat(slurp("/proc/thread-self/net/sockstat"));
            if (with_sockets) {
                ns.sockets = parse_proc_net_tcp(slurp("/proc/thread-self/net/tcp"), 4, inode);
                auto v6 = parse_proc_net_tcp(slurp("/proc/thread-self/net/tcp6"), 6, inode);
                ns.sockets.insert(ns.sockets.end(), v6.begin(), v6.end());
                ns.sockets_known = true;
            }
        };
        bool joined = sys::run_in_netns(path, read_here);
        // Without CAP_SYS_ADMIN setns() fails: our own namespace can still be
        // read in place.
        if (!joined && inode == own_inode) joined = ns.in_place = sys::run_in_netns("", [&] { read_here(); });
        if (!joined) return;
        ns.tcpext = sys::read_tcpext(inode == own_inode ? "" : path);
        out.push_back(std::move(ns));
    };
    // The host first: global knobs exist only there (sysctl_net_ipv4.c:
    // ipv4_table is registered for init_net alone).
    if (!chosen.count(host_inode) && all.count(host_inode)) {
        bool sockets = with_sockets;
        with_sockets = false;  // only its settings are wanted
        read_one(host_inode, all[host_inode]);
        with_sockets = sockets;
        if (!out.empty()) host_settings = out.back().settings;
        out.clear();
    }
    if (chosen.count(host_inode)) {
        read_one(host_inode, chosen[host_inode]);
        if (!out.empty()) host_settings = out.back().settings;
    }
    for (const auto& [inode, path] : chosen)
        if (inode != host_inode) read_one(inode, path);
    if (out.empty())
        throw FatalError("failed to enter network namespace " + (selector.empty() ? std::string("any") : selector) +
                         ": run as root (setns needs CAP_SYS_ADMIN)");
    for (auto& ns : out) {
        if (ns.host) continue;
        for (const auto& k : knobs()) {
            std::string key(k.key);
            if (k.per_netns || ns.settings.count(key) || !host_settings.count(key)) continue;
            ns.settings[key] = host_settings[key];
            ns.global_from_host.push_back(key);
        }
    }
    return out;
}

}  // namespace tcplinger::doctor
