// cgroup v2: the hierarchy whose ids bpf_get_current_cgroup_id() reports,
// ids to paths and back, and the labels shown for a path.
#pragma once
#include <cstdint>
#include <string>

namespace tcplinger::sys {

// Mount point of cgroup v2 (the hierarchy whose ids BPF reports).
const std::string& cgroup2_root();
// cgroup v2 id -> path relative to the cgroup root (empty when unknown).
std::string cgroup_path(uint64_t cgroup_id);
uint64_t cgroup_id_of_path(const std::string& path);
// "docker-<id>.scope" / "<unit>.service" labels from a cgroup path.
std::string cgroup_label(const std::string& path);

}  // namespace tcplinger::sys
