#include "host/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace tcplinger::sys {

namespace {
std::map<std::string, uint64_t> parse_tcpext(std::istream& in) {
    std::map<std::string, uint64_t> out;
    std::string names, values;
    while (std::getline(in, names) && std::getline(in, values)) {
        if (names.rfind("TcpExt:", 0) != 0) continue;
        std::istringstream n(names.substr(7)), v(values.substr(7));
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
        out = parse_tcpext(in);
    });
    return out;
}

}  // namespace tcplinger::sys
