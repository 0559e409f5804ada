#include "host/workload.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace tcplinger {

namespace {

bool is_hex(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Full container ids are 64 hex digits; a bare directory is taken as one only
// at that length (cgroupfs driver), a runtime's scope at any hex length.
constexpr size_t kContainerIdLength = 64;

// "<prefix><ID>.scope" of a container runtime -> ID (empty if not one).
std::string container_scope_id(std::string_view name) {
    static constexpr std::string_view kPrefixes[] = {"cri-containerd-", "docker-", "crio-", "libpod-"};
    if (!ends_with(name, ".scope")) return "";
    std::string_view stem = name.substr(0, name.size() - 6);
    for (auto prefix : kPrefixes)
        if (starts_with(stem, prefix) && is_hex(stem.substr(prefix.size())))
            return std::string(stem.substr(prefix.size()));
    return "";
}

// "kubepods-burstable-pod1234_abcd.slice" -> "1234-abcd"; "pod1234-abcd" -> same.
std::string pod_uid_of(std::string_view name, bool under_kubepods) {
    if (starts_with(name, "kubepods") && ends_with(name, ".slice")) {
        auto at = name.rfind("-pod");
        if (at == std::string_view::npos) return "";
        std::string uid(name.substr(at + 4, name.size() - 6 - (at + 4)));
        std::replace(uid.begin(), uid.end(), '_', '-');
        return uid;
    }
    if (under_kubepods && starts_with(name, "pod") && name.size() > 3) return std::string(name.substr(3));
    return "";
}

std::vector<std::string_view> components(std::string_view path) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (j > i) out.push_back(path.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// Namespace, pod and container from the kubelet's log tree (see the header).
void k8s_names(const std::string& pod_uid, const std::string& container_id, const fs::path& pods_log_root,
               WorkloadLabels& out) {
    std::error_code ec;
    fs::path pod_dir;
    const std::string suffix = "_" + pod_uid;
    for (fs::directory_iterator it(pods_log_root, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!ends_with(name, suffix)) continue;
        std::string_view head(name.data(), name.size() - suffix.size());  // "<namespace>_<pod>"
        auto sep = head.find('_');
        if (sep == std::string_view::npos) continue;
        out.k8s_namespace = std::string(head.substr(0, sep));
        out.pod = std::string(head.substr(sep + 1));
        pod_dir = it->path();
        break;
    }
    if (pod_dir.empty() || container_id.empty()) return;

    // /var/log/containers/<pod>_<namespace>_<container>-<ID>.log
    const std::string prefix = out.pod + "_" + out.k8s_namespace + "_";
    const std::string tail = "-" + container_id + ".log";
    fs::path containers_dir = pods_log_root.parent_path() / "containers";
    for (fs::directory_iterator it(containers_dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.size() > prefix.size() + tail.size() && starts_with(name, prefix) && ends_with(name, tail)) {
            out.container = name.substr(prefix.size(), name.size() - prefix.size() - tail.size());
            return;
        }
    }
    std::vector<std::string> dirs;
    for (fs::directory_iterator it(pod_dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec)) dirs.push_back(it->path().filename().string());
    if (dirs.size() == 1) out.container = dirs.front();
}

bool complete(const CgroupPathParts& parts, const WorkloadLabels& l) {
    if (parts.pod_uid.empty()) return true;
    return !l.pod.empty() && (parts.container_id.empty() || !l.container.empty());
}

}  // namespace

CgroupPathParts parse_cgroup_path(std::string_view cgroup_path) {
    CgroupPathParts out;
    bool under_kubepods = false, under_docker = false, after_pod = false;
    for (auto name : components(cgroup_path)) {
        if (starts_with(name, "crio-conmon-")) continue;
        if (std::string id = container_scope_id(name); !id.empty()) {
            out.container_id = std::move(id);
            continue;
        }
        if (std::string uid = pod_uid_of(name, under_kubepods); !uid.empty()) {
            out.pod_uid = std::move(uid);
            after_pod = true;
            continue;
        }
        if ((after_pod || under_docker) && name.size() == kContainerIdLength && is_hex(name)) {
            out.container_id = std::string(name);
            continue;
        }
        if (starts_with(name, "kubepods")) under_kubepods = true;
        if (name == "docker") under_docker = true;
        if (ends_with(name, ".service") || ends_with(name, ".scope")) out.unit = std::string(name);
    }
    return out;
}

WorkloadLabels workload_labels(std::string_view cgroup_path, const fs::path& pods_log_root) {
    using Clock = std::chrono::steady_clock;
    // The kubelet creates a pod's log directory after its cgroup; an
    // incomplete answer is looked up again after this long.
    constexpr auto kRetryIncomplete = std::chrono::seconds(5);
    // Paths of containers come and go for weeks: beyond this many the cache
    // starts over instead of growing.
    constexpr size_t kMaxCached = 4096;
    struct Cached {
        WorkloadLabels labels;
        bool complete = true;
        Clock::time_point at;
    };
    static std::mutex mu;
    static std::map<std::pair<std::string, std::string>, Cached> cache;

    auto key = std::make_pair(std::string(cgroup_path), pods_log_root.string());
    auto now = Clock::now();
    {
        std::lock_guard lock(mu);
        auto it = cache.find(key);
        if (it != cache.end() && (it->second.complete || now - it->second.at < kRetryIncomplete))
            return it->second.labels;
    }
    CgroupPathParts parts = parse_cgroup_path(cgroup_path);
    WorkloadLabels labels{parts.unit, parts.container_id, "", "", ""};
    if (!parts.pod_uid.empty()) k8s_names(parts.pod_uid, parts.container_id, pods_log_root, labels);

    std::lock_guard lock(mu);
    if (cache.size() >= kMaxCached) cache.clear();
    cache[key] = Cached{labels, complete(parts, labels), now};
    return labels;
}

std::string cgroup_path_of_pid(pid_t pid) {
    // cgroup v2 is the "0::<path>" line (kernel/cgroup/cgroup.c: proc_cgroup_show).
    std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("0::", 0) == 0) return line.substr(3);
    return "";
}

}  // namespace tcplinger
