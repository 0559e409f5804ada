// Workload labels for a cgroup v2 path: the systemd unit, the container id
// and, for Kubernetes, namespace / pod / container, all derived on the node
// without the API server (the exporter's group labels, METRICS.md).
//
// What the path gives:
// - unit: the innermost "*.service" / "*.scope" component that is not a
//   container runtime's scope ("/system.slice/nginx.service" -> "nginx.service";
//   a unit inside a container that runs systemd is the inner one).
// - container_id: "cri-containerd-<ID>.scope", "docker-<ID>.scope",
//   "crio-<ID>.scope", "libpod-<ID>.scope" (systemd cgroup driver), or a bare
//   64-hex directory under "pod<UID>" or "/docker" (cgroupfs driver).
//   "crio-conmon-<ID>.scope" is CRI-O's monitor process, not the container:
//   it gives neither a container id nor a unit.
// - pod UID: "kubepods*-pod<UID>.slice" (systemd escapes '-' in a slice name,
//   so the kubelet writes the UID's dashes as '_': they are turned back) or a
//   "pod<UID>" directory (cgroupfs driver).
//
// What the kubelet's log tree gives (pods_log_root, normally /var/log/pods):
// - "<namespace>_<pod>_<uid>/": namespace and pod name for the UID. Neither
//   may contain '_' (both are DNS names), so the split is exact.
// - container name: the kubelet names the per-container files by restart
//   count ("<container>/<restart>.log"), never by container id. The id is only
//   in the kubelet's symlinks "<pods_log_root>/../containers/
//   <pod>_<namespace>_<container>-<ID>.log" (/var/log/containers), which are
//   used when present. Without them, a pod with exactly one container
//   directory gives that name (a pod's sandbox "pause" container, which has no
//   log directory, would then be named after it too; it opens no sockets).
//   Otherwise the container stays empty: a guess would put one container's
//   sockets under another's name.
// A label that cannot be derived is empty (Prometheus treats that as absent).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace tcplinger {

struct WorkloadLabels {
    std::string unit, container_id, k8s_namespace, pod, container;
    bool operator==(const WorkloadLabels&) const = default;
};

// cgroup v2 path relative to the cgroup root, e.g.
// "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<UID>.slice/cri-containerd-<ID>.scope"
// pods_log_root: the kubelet's /var/log/pods (or a test tree); missing dir: k8s names empty.
// Results are cached per (path, root); an answer that still lacks a pod's names
// (the kubelet writes the log tree after the cgroup exists) is looked up
// again after a few seconds. Thread-safe.
WorkloadLabels workload_labels(std::string_view cgroup_path, const std::filesystem::path& pods_log_root);

// The path alone, no cache, no file system: unit, container_id and the pod UID.
struct CgroupPathParts {
    std::string unit, container_id, pod_uid;
};
CgroupPathParts parse_cgroup_path(std::string_view cgroup_path);

// A process's cgroup v2 path relative to the cgroup root, from the "0::"
// line of /proc/<pid>/cgroup (empty when the process is gone). For a cgroup
// id (what BPF reports), sys::cgroup_path() in host/system.hpp.
std::string cgroup_path_of_pid(pid_t pid);

}  // namespace tcplinger
