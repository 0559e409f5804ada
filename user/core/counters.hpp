// What the tracer counts about itself and what the BPF side filters on:
// plain values every layer may carry (recordings store them, renders print
// them), kept apart from capture/ so that nothing needs libbpf to read them.
#pragma once
#include <cstdint>

#include "core/event.hpp"

namespace tcplinger {

// Socket filters evaluated in BPF (the rest is matched in stats/filter).
struct KernelFilter {
    uint32_t netns = 0;  // 0: every namespace
    uint8_t family = 0;  // 0, 4 or 6
    uint16_t lport = 0, rport = 0, port = 0;
};

// Everything that can be lost, always reported.
struct DropCounters {
    uint64_t events = 0;          // records the kernel produced
    uint64_t ringbuf_drops = 0;   // ring buffer full
    uint64_t sock_untracked = 0;  // socket missing from the BPF map (LRU eviction)
    uint64_t sock_map_full = 0;
    uint64_t nested_caught = 0;   // nested tracepoint hits recovered by backup programs
    uint64_t recursion_lost = 0;  // nested hits nobody handled
    uint64_t no_cookie = 0;
    uint64_t lost() const { return ringbuf_drops + recursion_lost; }
};

// A process holding a TCP socket in CLOSE-WAIT now, at fd (the answer to
// "who leaks"): read from the kernel's fd tables, not from past events.
struct SocketHolder {
    uint64_t cookie = 0;
    Process process;  // tgid, comm, cgroup v2 id
    int32_t fd = -1;
    bool operator==(const SocketHolder&) const = default;
};

}  // namespace tcplinger
