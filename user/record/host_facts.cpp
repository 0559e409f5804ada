#include "record/host_facts.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "host/clock.hpp"
#include "host/netns.hpp"

namespace tcplinger::rec {

namespace {
std::string first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

uint32_t config_hz(const std::string& release) {
    std::ifstream in("/boot/config-" + release);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("CONFIG_HZ=", 0) == 0)
            return static_cast<uint32_t>(std::strtoul(line.c_str() + 10, nullptr, 10));
    return 0;
}

// /proc/sys/net follows the netns of the thread that opens it
// (net/sysctl_net.c: net_ctl_header_lookup uses current->nsproxy->net_ns):
// read it from a thread that joined the namespace. Only kLingeringSysctls:
// never a directory listing, which would copy secrets such as
// tcp_fastopen_key (0600 in the kernel) into a recording anyone may be given.
std::vector<std::pair<std::string, std::string>> tcp_sysctls(const std::string& netns_path) {
    std::vector<std::pair<std::string, std::string>> out;
    sys::run_in_netns(netns_path, [&] {
        for (const char* name : kLingeringSysctls) {
            std::string path = "/proc/sys/" + std::string(name);
            std::replace(path.begin(), path.end(), '.', '/');
            std::ifstream in(path);
            std::string value;
            if (!in || !std::getline(in, value)) continue;  // absent on this kernel
            std::replace(value.begin(), value.end(), '\t', ' ');
            out.emplace_back(name, value);
        }
    });
    std::sort(out.begin(), out.end());
    return out;
}

std::map<std::string, uint64_t> kept_tcpext(const std::string& netns_path) {
    std::map<std::string, uint64_t> all = sys::read_tcpext(netns_path), out;
    for (const char* name : kTcpExtKept)
        if (auto it = all.find(name); it != all.end()) out[name] = it->second;
    return out;
}
}  // namespace

HostFacts host_facts() {
    HostFacts f;
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) == 0) f.hostname = host;
    struct utsname u {};
    if (uname(&u) == 0) f.kernel_release = u.release;
    f.boot_id = first_line("/proc/sys/kernel/random/boot_id");
    f.hz = config_hz(f.kernel_release);
    return f;
}

int64_t clock_offset_ns() {
    uint64_t before = sys::monotonic_ns();
    uint64_t real = sys::realtime_ns();
    uint64_t after = sys::monotonic_ns();
    return static_cast<int64_t>(real) - static_cast<int64_t>(before + (after - before) / 2);
}

std::vector<NetnsFacts> netns_facts(uint32_t only_netns, bool with_sysctls) {
    std::vector<NetnsFacts> out;
    for (const auto& [inode, path] : sys::list_netns()) {
        if (only_netns && inode != only_netns) continue;
        NetnsFacts n;
        n.inode = inode;
        n.path = path;
        if (with_sysctls) n.sysctls = tcp_sysctls(path);
        n.tcpext = kept_tcpext(path);
        out.push_back(std::move(n));
    }
    return out;
}

std::vector<NetnsFacts> netns_counters(const std::vector<NetnsFacts>& namespaces) {
    std::vector<NetnsFacts> out;
    for (const auto& ns : namespaces) {
        NetnsFacts n;
        n.inode = ns.inode;
        n.path = ns.path;
        // The namespace may be gone, or its path now open another one.
        if (sys::netns_inode_of(ns.path) == ns.inode) n.tcpext = kept_tcpext(ns.path);
        out.push_back(std::move(n));
    }
    return out;
}

}  // namespace tcplinger::rec
