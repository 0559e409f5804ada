#include "host/system.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/error.hpp"

namespace fs = std::filesystem;

namespace tcplinger::sys {

namespace {
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

// Where cgroup v2 (the hierarchy bpf_get_current_cgroup_id() reports) is
// mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
std::string find_cgroup2_mount() {
    static const std::string root = [] {
        std::ifstream in("/proc/mounts");
        std::string dev, dir, type;
        std::string rest;
        while (in >> dev >> dir >> type && std::getline(in, rest))
            if (type == "cgroup2") return dir;
        return std::string("/sys/fs/cgroup");
    }();
    return root;
}

// The BPF side finds timewait sockets by their timer's function
// (tw_timer_handler __ksym), whose address libbpf takes from /proc/kallsyms.
// Without CAP_SYSLOG (and with perf_event_paranoid > 1, or kptr_restrict 2)
// that file shows every address as 0 (kernel/kallsyms.c: kallsyms_show_value),
// the comparison never matches and no TIME-WAIT is seen: refuse to start.
// Absolute ('A') symbols are 0 by nature; look at the first text symbol.
bool kernel_addresses_hidden() {
    std::ifstream in("/proc/kallsyms");
    std::string addr, type, name;
    while (in >> addr >> type && std::getline(in, name))
        if (type == "T" || type == "t") return addr.find_first_not_of('0') == std::string::npos;
    return false;  // no kallsyms at all: libbpf reports the symbol missing itself
}

uint64_t effective_caps() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
    return 0;
}
}  // namespace

const std::string& cgroup2_root() {
    static const std::string root = find_cgroup2_mount();
    return root;
}

void check_can_trace() {
    uint64_t caps = effective_caps();
    bool has_bpf = caps & (1ULL << kCapBpf) || caps & (1ULL << kCapSysAdmin);
    bool has_perfmon = caps & (1ULL << kCapPerfmon) || caps & (1ULL << kCapSysAdmin);
    if (!has_bpf || !has_perfmon) {
        std::string missing;
        if (!has_bpf) missing += "CAP_BPF";
        if (!has_perfmon) missing += std::string(missing.empty() ? "" : " and ") + "CAP_PERFMON";
        throw FatalError("missing " + missing + ": run as root (sudo) or grant CAP_BPF and CAP_PERFMON");
    }
    if (kernel_addresses_hidden())
        throw FatalError(
            "kernel symbol addresses are hidden (/proc/kallsyms reads 0), so timewait sockets cannot be "
            "recognized: run as root with CAP_SYSLOG (and kernel.kptr_restrict below 2)");
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        throw FatalError(
            "kernel has no BTF (/sys/kernel/btf/vmlinux missing): use a kernel built with "
            "CONFIG_DEBUG_INFO_BTF=y (5.8 or newer)");
    struct utsname u {};
    uname(&u);
    int major = 0, minor = 0;
    std::sscanf(u.release, "%d.%d", &major, &minor);
    if (major < 5 || (major == 5 && minor < 8))
        throw FatalError(std::string("kernel ") + u.release +
                         " is too old: tcplinger needs 5.8 or newer (BTF tracepoints, ring buffer)");
}

bool ensure_tracefs() {
    if (access("/sys/kernel/tracing/events", F_OK) == 0) return true;
    if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0) return true;
    return access("/sys/kernel/debug/tracing/events", F_OK) == 0;
}

uint32_t netns_inode_of(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return 0;
    return static_cast<uint32_t>(st.st_ino);
}

std::map<uint32_t, std::string> list_netns() {
    std::map<uint32_t, std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
        uint32_t ino = netns_inode_of(entry.path());
        if (ino) out.emplace(ino, entry.path());
    }
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename();
        if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
        std::string path = entry.path().string() + "/ns/net";
        uint32_t ino = netns_inode_of(path);
        if (ino) out.emplace(ino, path);
    }
    return out;
}

std::map<uint32_t, SocketNetns> socket_netns(const std::map<uint32_t, std::string>& known) {
    std::map<uint32_t, SocketNetns> out;
    DIR* proc = opendir("/proc");
    if (!proc) return out;
    while (dirent* d = readdir(proc)) {
        if (!std::isdigit(static_cast<unsigned char>(d->d_name[0]))) continue;
        const uint32_t pid = static_cast<uint32_t>(std::strtoul(d->d_name, nullptr, 10));
        if (pid == static_cast<uint32_t>(getpid())) continue;
        const std::string fd_dir = std::string("/proc/") + d->d_name + "/fd";
        DIR* fds = opendir(fd_dir.c_str());
        if (!fds) continue;
        int pidfd = -1;
        while (dirent* f = readdir(fds)) {
            if (!std::isdigit(static_cast<unsigned char>(f->d_name[0]))) continue;
            char target[64];
            ssize_t n = readlink((fd_dir + "/" + f->d_name).c_str(), target, sizeof(target) - 1);
            if (n <= 0 || std::strncmp(target, "socket:[", 8) != 0) continue;
            if (pidfd < 0) pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
            if (pidfd < 0) break;
            const int their_fd = std::atoi(f->d_name);
            int sock = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, their_fd, 0));
            if (sock < 0) continue;
            int ns = ioctl(sock, SIOCGSKNS);
            close(sock);
            if (ns < 0) continue;
            struct stat st {};
            const uint32_t ino = fstat(ns, &st) == 0 ? static_cast<uint32_t>(st.st_ino) : 0;
            if (!ino || known.count(ino) || out.count(ino)) {
                close(ns);
                continue;
            }
            out[ino] = SocketNetns{"/proc/self/fd/" + std::to_string(ns), pid, their_fd};  // ns stays open
        }
        if (pidfd >= 0) close(pidfd);
        closedir(fds);
    }
    closedir(proc);
    return out;
}

std::string comm_of_pid(uint32_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    std::getline(in, comm);
    return comm;
}

std::map<uint64_t, Process> socket_owners() {
    std::map<uint64_t, Process> out;
    DIR* proc = opendir("/proc");
    if (!proc) return out;
    while (dirent* d = readdir(proc)) {
        if (!std::isdigit(static_cast<unsigned char>(d->d_name[0]))) continue;
        uint32_t pid = std::strtoul(d->d_name, nullptr, 10);
        std::string fd_dir = std::string("/proc/") + d->d_name + "/fd";
        DIR* fds = opendir(fd_dir.c_str());
        if (!fds) continue;
        std::string comm;
        while (dirent* f = readdir(fds)) {
            char link[64] = {};
            std::string path = fd_dir + "/" + f->d_name;
            ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
            if (n <= 8 || std::strncmp(link, "socket:[", 8) != 0) continue;
            uint64_t ino = std::strtoull(link + 8, nullptr, 10);
            if (out.count(ino)) continue;
            if (comm.empty()) comm = comm_of_pid(pid);
            out.emplace(ino, Process{pid, comm, 0});
        }
        closedir(fds);
    }
    closedir(proc);
    return out;
}

std::string cgroup_path(uint64_t cgroup_id) {
    if (!cgroup_id) return "";
    std::error_code ec;
    // cgroup v2 ids are the inode numbers of the cgroup directories.
    const std::string& root = cgroup2_root();
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (!it->is_directory(ec)) {
            it.disable_recursion_pending();
            continue;
        }
        struct stat st {};
        if (stat(it->path().c_str(), &st) == 0 && st.st_ino == cgroup_id) {
            std::string rel = it->path().string().substr(root.size());
            return rel.empty() ? "/" : rel;
        }
    }
    return cgroup_id == 1 ? "/" : "";
}

uint64_t cgroup_id_of_path(const std::string& path) {
    const std::string& root = cgroup2_root();
    std::string full = path.rfind(root, 0) == 0 ? path : root + "/" + path;
    struct stat st {};
    if (stat(full.c_str(), &st) != 0) return 0;
    return st.st_ino;
}

std::string cgroup_label(const std::string& path) {
    static const std::regex container(R"((?:docker|cri-containerd|crio|libpod)-([0-9a-f]{12})[0-9a-f]*\.scope)");
    static const std::regex unit(R"(([^/]+\.(service|scope)))");
    std::smatch m;
    if (std::regex_search(path, m, container)) return "container:" + m[1].str();
    std::string last;
    auto begin = std::sregex_iterator(path.begin(), path.end(), unit);
    for (auto it = begin; it != std::sregex_iterator(); ++it) last = (*it)[1].str();
    return last;
}

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + ts.tv_nsec;
}

uint64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + ts.tv_nsec;
}

}  // namespace tcplinger::sys

#include <sched.h>

#include <thread>

namespace tcplinger::sys {

namespace {
// Name and value lines in pairs, as /proc/net/netstat and /proc/net/snmp
// print them; the pair whose lines start with `prefix` ("TcpExt:", "Tcp:").
std::map<std::string, uint64_t> parse_counters(std::istream& in, const std::string& prefix) {
    std::map<std::string, uint64_t> out;
    std::string names, values;
    while (std::getline(in, names) && std::getline(in, values)) {
        if (names.rfind(prefix, 0) != 0) continue;
        std::istringstream n(names.substr(prefix.size())), v(values.substr(prefix.size()));
        std::string key;
        uint64_t val = 0;
        while (n >> key && v >> val) out[key] = val;
    }
    return out;
}
}  // namespace

bool run_in_netns(const std::string& netns_path, const std::function<void()>& fn) {
    if (netns_path.empty()) {
        fn();
        return true;
    }
    bool joined = false;
    std::thread worker([&] {
        int fd = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        if (setns(fd, CLONE_NEWNET) == 0) {
            joined = true;
            fn();
        }
        close(fd);
    });
    worker.join();
    return joined;
}

std::map<std::string, uint64_t> read_tcpext(const std::string& netns_path) {
    std::map<std::string, uint64_t> out;
    run_in_netns(netns_path, [&] {
        std::ifstream in("/proc/thread-self/net/netstat");
        out = parse_counters(in, "TcpExt:");
    });
    return out;
}

std::map<std::string, uint64_t> read_tcp_mib(const std::string& netns_path) {
    std::map<std::string, uint64_t> out;
    run_in_netns(netns_path, [&] {
        std::ifstream in("/proc/thread-self/net/snmp");
        out = parse_counters(in, "Tcp:");
    });
    return out;
}

}  // namespace tcplinger::sys
