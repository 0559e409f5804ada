// Workload labels from REAL cgroups: the test creates a kubelet-style cgroup
// v2 tree (systemd driver, containerd), moves a child process into the leaf,
// then goes the way the exporter goes: the process's cgroup id (what
// bpf_get_current_cgroup_id() reports: the kernfs node id, which is also the
// cgroup directory's file handle, kernel/cgroup/cgroup.c: cgroup_id) -> path
// (sys::cgroup_path walks the hierarchy) -> labels, with a kubelet log tree it
// wrote. Everything it creates is removed again, also when an assertion fails.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "host/cgroup.hpp"
#include "host/workload.hpp"

namespace fs = std::filesystem;

namespace tltest {
namespace {

// cgroup id of a directory: the 8-byte kernfs file handle (fs/kernfs/mount.c:
// kernfs_encode_fh), the same value bpf_get_current_cgroup_id() returns.
uint64_t cgroup_id_by_handle(const fs::path& dir) {
    struct {
        file_handle fh;
        uint64_t id;
    } h{};
    h.fh.handle_bytes = sizeof(uint64_t);
    int mount_id = 0;
    if (name_to_handle_at(AT_FDCWD, dir.c_str(), &h.fh, &mount_id, 0) != 0) return 0;
    uint64_t id = 0;
    std::memcpy(&id, h.fh.f_handle, sizeof(id));
    return id;
}

// Creates the cgroup directories top-down; the destructor kills the child
// (if any) and removes them bottom-up.
class CgroupTree {
public:
    CgroupTree(fs::path root, std::vector<std::string> chain) : root_(std::move(root)) {
        fs::path at = root_;
        for (const auto& name : chain) {
            at /= name;
            if (mkdir(at.c_str(), 0755) != 0) {
                error_ = "failed to create cgroup " + at.string() + ": " + std::strerror(errno);
                return;
            }
            made_.push_back(at);
        }
    }
    ~CgroupTree() {
        if (child_ > 0) {
            kill(child_, SIGKILL);
            waitpid(child_, nullptr, 0);
        }
        for (auto it = made_.rbegin(); it != made_.rend(); ++it)
            if (rmdir(it->c_str()) != 0)
                ADD_FAILURE() << "failed to remove cgroup " << *it << ": " << std::strerror(errno);
    }
    const std::string& error() const { return error_; }
    fs::path leaf() const { return made_.empty() ? root_ : made_.back(); }
    // A child that waits until killed, moved into the leaf.
    std::string start_child_in_leaf() {
        child_ = fork();
        if (child_ == 0) {
            for (;;) pause();
        }
        if (child_ < 0) return std::string("failed to fork: ") + std::strerror(errno);
        std::ofstream procs(leaf() / "cgroup.procs");
        procs << child_ << std::flush;
        if (!procs) return "failed to move pid " + std::to_string(child_) + " into " + leaf().string();
        return "";
    }
    pid_t child() const { return child_; }

private:
    fs::path root_;
    std::vector<fs::path> made_;
    std::string error_;
    pid_t child_ = -1;
};

TEST(WorkloadCgroup, RealKubepodsCgroupToPodNames) {
    const std::string uid = "7c1d2e3f-4a5b-4c6d-8e7f-" + std::string("0a1b2c3d4e5f");
    std::string uid_escaped = uid;
    std::replace(uid_escaped.begin(), uid_escaped.end(), '-', '_');
    const std::string id = "3b8f1c0d9e2a4f5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9";
    // cgroup2_root() finds the cgroup2 mount in /proc/mounts (/sys/fs/cgroup/unified
    // on this hybrid machine). The tree sits under a per-test parent so it
    // cannot meet a real kubelet's kubepods.slice.
    const fs::path root = tcplinger::sys::cgroup2_root();
    const std::string parent = "tl-test-workload-" + std::to_string(getpid());
    const std::string qos = "kubepods-burstable-pod" + uid_escaped + ".slice";
    const std::string scope = "cri-containerd-" + id + ".scope";

    // The kubelet's log tree: /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log and
    // /var/log/containers/<pod>_<ns>_<container>-<id>.log, here under a temp dir.
    fs::path logs = fs::temp_directory_path() / ("tl-workload-logs-" + std::to_string(getpid()));
    struct RemoveLogs {
        fs::path p;
        ~RemoveLogs() { fs::remove_all(p); }
    } remove_logs{logs};
    fs::path app = logs / "pods" / ("payments_api-6f7c9d-x7k2p_" + uid) / "api";
    fs::create_directories(app);
    fs::create_directories(logs / "pods" / ("payments_api-6f7c9d-x7k2p_" + uid) / "envoy");
    std::ofstream(app / "0.log") << "2026-12-01T18:00:00Z stdout F up\n";
    fs::create_directories(logs / "containers");
    fs::create_symlink(app / "0.log", logs / "containers" / ("api-6f7c9d-x7k2p_payments_api-" + id + ".log"));

    CgroupTree tree(root, {parent, "kubepods.slice", "kubepods-burstable.slice", qos, scope});
    if (!tree.error().empty()) GTEST_SKIP() << "cannot create cgroups here: " << tree.error();
    std::string moved = tree.start_child_in_leaf();
    ASSERT_EQ(moved, "");

    const std::string want_path = "/" + parent + "/kubepods.slice/kubepods-burstable.slice/" + qos + "/" + scope;
    // The kernel's own view of where the child is.
    EXPECT_EQ(tcplinger::cgroup_path_of_pid(tree.child()), want_path);
    // The exporter's way: id -> path -> labels.
    uint64_t cgid = cgroup_id_by_handle(tree.leaf());
    ASSERT_NE(cgid, 0u) << "name_to_handle_at on " << tree.leaf() << ": " << std::strerror(errno);
    EXPECT_EQ(cgid, tcplinger::sys::cgroup_id_of_path(tree.leaf()));
    std::string path = tcplinger::sys::cgroup_path(cgid);
    ASSERT_EQ(path, want_path);
    auto labels = tcplinger::workload_labels(path, logs / "pods");
    EXPECT_EQ(labels.container_id, id);
    EXPECT_EQ(labels.k8s_namespace, "payments");
    EXPECT_EQ(labels.pod, "api-6f7c9d-x7k2p");
    EXPECT_EQ(labels.container, "api");
    EXPECT_EQ(labels.unit, "");
}

}  // namespace
}  // namespace tltest
