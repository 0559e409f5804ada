// What tcplinger knows about the TCP sysctls doctor checks: where each
// lives, whether it is per network namespace, its default, what it really
// does (with the kernel function) and what common advice gets wrong. Also
// keys that no longer exist and keys of other systems, for --conf.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcplinger::doctor {

struct Knob {
    std::string_view key;            // sysctl name, "net.ipv4.tcp_tw_reuse"
    bool per_netns = true;           // false: one value for the host (init netns only)
    std::string_view default_value;  // as /proc/sys prints it; empty when it depends on the host
    std::string_view since;          // kernel that added it, when it is recent ("6.14")
    std::string_view does;           // what the kernel does with it, with the function
    std::string_view myth;           // what common advice claims instead (empty: none)
};

// The knobs doctor reads per namespace, in the order it reports them.
const std::vector<Knob>& knobs();
const Knob* find_knob(std::string_view key);

// A key that existed once and is gone.
struct RemovedKey {
    std::string_view key;
    std::string_view removed_in;  // "4.12"
    std::string_view why;
};
const RemovedKey* find_removed(std::string_view key);

// A key from another OS that Linux never had.
struct ForeignKey {
    std::string_view prefix;  // "net.inet.tcp." matches the key or its start
    std::string_view os;      // "FreeBSD"
    std::string_view linux_equivalent;
};
const ForeignKey* find_foreign(std::string_view key);

// "net/ipv4/tcp_fin_timeout" or "net.ipv4.tcp_fin_timeout" -> dotted.
// sysctl.d(5): with '/' as the first separator, '.' is a literal (VLAN names).
std::string normalize_key(std::string_view key);
// /proc/sys path of a dotted key ("net.ipv4.conf.eth0.1.rp_filter" cannot be
// told apart from dots; the key's own separators are kept when given as '/').
std::string proc_path(std::string_view raw_key);
// Same value as sysctl prints it: whitespace runs become one space.
std::string normalize_value(std::string_view value);

}  // namespace tcplinger::doctor
