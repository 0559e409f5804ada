#include "host/netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

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

}  // namespace tcplinger::sys
