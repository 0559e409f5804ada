#include "bpf_objects.hpp"

#include <bpf/bpf.h>
#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "harness.hpp"

namespace tltest {

namespace {
bool prog_exists(uint32_t id) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd >= 0) close(fd);
    return fd >= 0;
}
}  // namespace

std::set<uint32_t> bpf_prog_ids_of(pid_t pid) {
    std::set<uint32_t> ids;
    std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
    DIR* d = opendir(dir.c_str());
    if (!d) return ids;
    while (dirent* f = readdir(d)) {
        std::ifstream in(dir + "/" + f->d_name);
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("prog_id:", 0) == 0) ids.insert(std::stoul(line.substr(8)));
    }
    closedir(d);
    return ids;
}

// A raw tracepoint link drops its program only after an RCU grace period
// (kernel/bpf/syscall.c: bpf_link_free, dealloc_deferred), so a program can
// outlive the process by a few milliseconds. Bounded wait, then the verdict.
std::set<uint32_t> still_loaded(const std::set<uint32_t>& ids) {
    std::set<uint32_t> left = ids;
    for (int i = 0; i < 100 && !left.empty(); ++i) {
        std::set<uint32_t> now;
        for (uint32_t id : left)
            if (prog_exists(id)) now.insert(id);
        left = now;
        if (!left.empty()) sleep_ms(20);
    }
    return left;
}

std::set<uint32_t> links_to(const std::set<uint32_t>& progs) {
    std::set<uint32_t> out;
    uint32_t id = 0;
    while (bpf_link_get_next_id(id, &id) == 0) {
        int fd = bpf_link_get_fd_by_id(id);
        if (fd < 0) continue;
        bpf_link_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && progs.count(info.prog_id)) out.insert(id);
        close(fd);
    }
    return out;
}

}  // namespace tltest
