#include "host/privileges.hpp"

#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/error.hpp"

namespace tcplinger::sys {

namespace {
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

uint64_t effective_caps() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
    return 0;
}
}  // namespace

void check_can_trace() {
    uint64_t caps = effective_caps();
    bool has_bpf = caps & (1ULL << kCapBpf) || caps & (1ULL << kCapSysAdmin);
    bool has_perfmon = caps & (1ULL << kCapPerfmon) || caps & (1ULL << kCapSysAdmin);
    if (!has_bpf || !has_perfmon) {
        std::string missing;
        if (!has_bpf) missing += "CAP_BPF";
        if (!has_perfmon) missing += std::string(missing.empty() ? "" : " and ") + "CAP_PERFMON";
        throw FatalError("missing " + missing + ": run as root (sudo) or grant CAP_BPF and CAP_PERFMON");
    }
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        throw FatalError(
            "kernel has no BTF (/sys/kernel/btf/vmlinux missing): use a kernel built with "
            "CONFIG_DEBUG_INFO_BTF=y (5.8 or newer)");
    struct utsname u {};
    uname(&u);
    int major = 0, minor = 0;
    std::sscanf(u.release, "%d.%d", &major, &minor);
    if (major < 5 || (major == 5 && minor < 8))
        throw FatalError(std::string("kernel ") + u.release +
                         " is too old: tcplinger needs 5.8 or newer (BTF tracepoints, ring buffer)");
}

bool ensure_tracefs() {
    if (access("/sys/kernel/tracing/events", F_OK) == 0) return true;
    if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0) return true;
    return access("/sys/kernel/debug/tracing/events", F_OK) == 0;
}

}  // namespace tcplinger::sys
