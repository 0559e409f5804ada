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

// The BPF side finds timewait sockets by their timer's function
// (tw_timer_handler __ksym), whose address libbpf takes from /proc/kallsyms.
// Without CAP_SYSLOG (and with perf_event_paranoid > 1, or kptr_restrict 2)
// that file shows every address as 0 (kernel/kallsyms.c: kallsyms_show_value),
// the comparison never matches and no TIME-WAIT is seen: refuse to start.
// Absolute ('A') symbols are 0 by nature; look at the first text symbol.
bool kernel_addresses_hidden() {
    std::ifstream in("/proc/kallsyms");
    std::string addr, type, name;
    while (in >> addr >> type && std::getline(in, name))
        if (type == "T" || type == "t") return addr.find_first_not_of('0') == std::string::npos;
    return false;  // no kallsyms at all: libbpf reports the symbol missing itself
}

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
    if (kernel_addresses_hidden())
        throw FatalError(
            "kernel symbol addresses are hidden (/proc/kallsyms reads 0), so timewait sockets cannot be "
            "recognized: run as root with CAP_SYSLOG (and kernel.kptr_restrict below 2)");
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
