#include "host/cgroup.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

namespace fs = std::filesystem;

namespace tcplinger::sys {

namespace {
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
}  // namespace

const std::string& cgroup2_root() {
    static const std::string root = find_cgroup2_mount();
    return root;
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

}  // namespace tcplinger::sys
