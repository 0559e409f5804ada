// Workload labels from cgroup v2 paths of every layout the runtimes write,
// with a kubelet log tree written into a temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "host/workload.hpp"

namespace fs = std::filesystem;

namespace tcplinger {
namespace {

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kId2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const std::string kUid = "5f1e6a2c-9b7d-4c3e-8a1f-2d4b6c8e0a13";
const std::string kUidEscaped = "5f1e6a2c_9b7d_4c3e_8a1f_2d4b6c8e0a13";

// <root>/pods/<ns>_<pod>_<uid>/<container>/0.log and, optionally, the
// kubelet's <root>/containers/<pod>_<ns>_<container>-<id>.log symlinks.
class LogTree : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("tl_workload_" + std::to_string(getpid()) + "_" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(pods());
    }
    void TearDown() override { fs::remove_all(root_); }
    fs::path pods() const { return root_ / "pods"; }
    fs::path container_dir(const std::string& ns, const std::string& pod, const std::string& uid,
                           const std::string& container) {
        fs::path dir = pods() / (ns + "_" + pod + "_" + uid) / container;
        fs::create_directories(dir);
        std::ofstream(dir / "0.log") << "2026-12-01T18:00:00Z stdout F hello\n";
        return dir;
    }
    void link_container(const std::string& ns, const std::string& pod, const std::string& uid,
                        const std::string& container, const std::string& id) {
        fs::path dir = container_dir(ns, pod, uid, container);
        fs::create_directories(root_ / "containers");
        fs::create_symlink(dir / "0.log",
                           root_ / "containers" / (pod + "_" + ns + "_" + container + "-" + id + ".log"));
    }
    fs::path root_;
};

TEST(CgroupPath, SystemdServiceIsTheUnit) {
    auto p = parse_cgroup_path("/system.slice/nginx.service");
    EXPECT_EQ(p.unit, "nginx.service");
    EXPECT_EQ(p.container_id, "");
    EXPECT_EQ(p.pod_uid, "");
}

TEST(CgroupPath, InnermostUnitWins) {
    EXPECT_EQ(parse_cgroup_path("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service").unit,
              "foo.service");
    EXPECT_EQ(parse_cgroup_path("/user.slice/user-1000.slice/session-3.scope").unit, "session-3.scope");
    EXPECT_EQ(parse_cgroup_path("/init.scope").unit, "init.scope");
    // Slices are not units a process runs in.
    EXPECT_EQ(parse_cgroup_path("/system.slice").unit, "");
    EXPECT_EQ(parse_cgroup_path("/").unit, "");
    EXPECT_EQ(parse_cgroup_path("").unit, "");
}

TEST(CgroupPath, DockerScopeIsAContainerNotAUnit) {
    auto p = parse_cgroup_path("/system.slice/docker-" + kId + ".scope");
    EXPECT_EQ(p.container_id, kId);
    EXPECT_EQ(p.unit, "");
    // systemd inside the container: the inner service is the unit.
    auto inner = parse_cgroup_path("/system.slice/docker-" + kId + ".scope/system.slice/nginx.service");
    EXPECT_EQ(inner.container_id, kId);
    EXPECT_EQ(inner.unit, "nginx.service");
}

TEST(CgroupPath, PodmanScope) {
    auto p = parse_cgroup_path("/machine.slice/libpod-" + kId + ".scope/container");
    EXPECT_EQ(p.container_id, kId);
    EXPECT_EQ(p.unit, "");
}

TEST(CgroupPath, DockerCgroupfs) {
    auto p = parse_cgroup_path("/docker/" + kId);
    EXPECT_EQ(p.container_id, kId);
    EXPECT_EQ(p.unit, "");
    // A 64-hex directory elsewhere is nobody's container.
    EXPECT_EQ(parse_cgroup_path("/other/" + kId).container_id, "");
    // Nor is a short hex name under /docker.
    EXPECT_EQ(parse_cgroup_path("/docker/abc").container_id, "");
}

TEST(CgroupPath, KubepodsSystemdContainerd) {
    auto p = parse_cgroup_path("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidEscaped +
                               ".slice/cri-containerd-" + kId + ".scope");
    EXPECT_EQ(p.pod_uid, kUid);
    EXPECT_EQ(p.container_id, kId);
    EXPECT_EQ(p.unit, "");
}

TEST(CgroupPath, KubepodsGuaranteedCrio) {
    auto p = parse_cgroup_path("/kubepods.slice/kubepods-pod" + kUidEscaped + ".slice/crio-" + kId + ".scope");
    EXPECT_EQ(p.pod_uid, kUid);
    EXPECT_EQ(p.container_id, kId);
}

TEST(CgroupPath, CrioConmonIsNeitherContainerNorUnit) {
    auto p = parse_cgroup_path("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidEscaped +
                               ".slice/crio-conmon-" + kId + ".scope");
    EXPECT_EQ(p.pod_uid, kUid);
    EXPECT_EQ(p.container_id, "");
    EXPECT_EQ(p.unit, "");
}

TEST(CgroupPath, KubepodsCgroupfs) {
    auto p = parse_cgroup_path("/kubepods/burstable/pod" + kUid + "/" + kId);
    EXPECT_EQ(p.pod_uid, kUid);
    EXPECT_EQ(p.container_id, kId);
    auto g = parse_cgroup_path("/kubepods/pod" + kUid + "/" + kId2);
    EXPECT_EQ(g.pod_uid, kUid);
    EXPECT_EQ(g.container_id, kId2);
    // "pod..." outside kubepods is not a pod.
    EXPECT_EQ(parse_cgroup_path("/system.slice/podman.service").pod_uid, "");
    EXPECT_EQ(parse_cgroup_path("/pods/pod" + kUid).pod_uid, "");
}

TEST(CgroupPath, CgroupNamespaceRelativePath) {
    // Seen from inside a cgroup namespace, /proc/<pid>/cgroup starts with "/..".
    auto p =
        parse_cgroup_path("/../../kubepods-besteffort-pod" + kUidEscaped + ".slice/cri-containerd-" + kId + ".scope");
    EXPECT_EQ(p.pod_uid, kUid);
    EXPECT_EQ(p.container_id, kId);
}

TEST_F(LogTree, SystemdDriverWithContainersSymlink) {
    link_container("shop", "web-7d9f-abcde", kUid, "nginx", kId);
    link_container("shop", "web-7d9f-abcde", kUid, "log-shipper", kId2);
    std::string base = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidEscaped + ".slice/";
    auto a = workload_labels(base + "cri-containerd-" + kId + ".scope", pods());
    EXPECT_EQ(a, (WorkloadLabels{"", kId, "shop", "web-7d9f-abcde", "nginx"}));
    auto b = workload_labels(base + "cri-containerd-" + kId2 + ".scope", pods());
    EXPECT_EQ(b, (WorkloadLabels{"", kId2, "shop", "web-7d9f-abcde", "log-shipper"}));
}

TEST_F(LogTree, CgroupfsDriverWithContainersSymlink) {
    link_container("kube-system", "coredns-5d78c9869d-x2x8q", kUid, "coredns", kId);
    auto l = workload_labels("/kubepods/burstable/pod" + kUid + "/" + kId, pods());
    EXPECT_EQ(l, (WorkloadLabels{"", kId, "kube-system", "coredns-5d78c9869d-x2x8q", "coredns"}));
}

TEST_F(LogTree, OneContainerDirWithoutSymlinks) {
    container_dir("default", "redis-0", kUid, "redis");
    auto l = workload_labels("/kubepods.slice/kubepods-pod" + kUidEscaped + ".slice/crio-" + kId + ".scope", pods());
    EXPECT_EQ(l, (WorkloadLabels{"", kId, "default", "redis-0", "redis"}));
}

TEST_F(LogTree, SeveralContainerDirsWithoutSymlinksLeaveContainerEmpty) {
    container_dir("default", "app-1", kUid, "app");
    container_dir("default", "app-1", kUid, "sidecar");
    auto l = workload_labels("/kubepods/besteffort/pod" + kUid + "/" + kId, pods());
    EXPECT_EQ(l, (WorkloadLabels{"", kId, "default", "app-1", ""}));
}

TEST_F(LogTree, SymlinkOfAnotherPodIsNotUsed) {
    // Same container name prefix, other pod: the file name must match pod and namespace.
    link_container("default", "app-10", kUid, "app", kId2);
    container_dir("default", "app-1", "11111111-2222-3333-4444-555555555555", "app");
    container_dir("default", "app-1", "11111111-2222-3333-4444-555555555555", "sidecar");
    auto l = workload_labels("/kubepods/pod11111111-2222-3333-4444-555555555555/" + kId2, pods());
    EXPECT_EQ(l.pod, "app-1");
    EXPECT_EQ(l.container, "");
}

TEST_F(LogTree, UnknownPodLeavesKubernetesNamesEmpty) {
    container_dir("default", "other", "99999999-2222-3333-4444-555555555555", "c");
    auto l = workload_labels("/kubepods/burstable/pod" + kUid + "/" + kId, pods());
    EXPECT_EQ(l, (WorkloadLabels{"", kId, "", "", ""}));
}

TEST_F(LogTree, MissingLogRootLeavesKubernetesNamesEmpty) {
    auto l = workload_labels("/kubepods/burstable/pod" + kUid + "/" + kId, root_ / "nonexistent");
    EXPECT_EQ(l, (WorkloadLabels{"", kId, "", "", ""}));
}

TEST_F(LogTree, StaticPodHashUid) {
    // Static pods' UID is the manifest hash: 32 hex digits, no dashes.
    const std::string hash = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    link_container("kube-system", "kube-apiserver-node1", hash, "kube-apiserver", kId);
    auto l = workload_labels("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + hash +
                                 ".slice/cri-containerd-" + kId + ".scope",
                             pods());
    EXPECT_EQ(l, (WorkloadLabels{"", kId, "kube-system", "kube-apiserver-node1", "kube-apiserver"}));
}

TEST_F(LogTree, SystemdUnitHasNoKubernetesNames) {
    container_dir("default", "x", kUid, "c");
    EXPECT_EQ(workload_labels("/system.slice/nginx.service", pods()),
              (WorkloadLabels{"nginx.service", "", "", "", ""}));
}

TEST_F(LogTree, CachedAnswerIsServedAfterTheTreeIsGone) {
    link_container("shop", "cart-0", kUid, "cart", kId);
    std::string path = "/kubepods/pod" + kUid + "/" + kId;
    auto first = workload_labels(path, pods());
    ASSERT_EQ(first.container, "cart");
    fs::remove_all(root_ / "containers");
    fs::remove_all(pods());
    EXPECT_EQ(workload_labels(path, pods()), first);
}

}  // namespace
}  // namespace tcplinger
