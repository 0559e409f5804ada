#include "host/proc.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace tcplinger::sys {

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

}  // namespace tcplinger::sys
