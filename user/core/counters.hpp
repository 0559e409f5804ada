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

// Everything that can be lost, always reported. The recursion figures are
// gross: skipped (the kernel's count), caught by the backup programs, and
// missed = skipped - (caught - duplicates), where a duplicate is a hit a
// backup handled again after its primary did, dropped by the engine
// (EngineCounters::duplicates, so it is an argument here).
struct DropCounters {
    uint64_t events = 0;          // records the kernel produced
    uint64_t ringbuf_drops = 0;   // ring buffer full
    uint64_t sock_untracked = 0;  // socket missing from the BPF map (LRU eviction)
    uint64_t sock_map_full = 0;
    uint64_t nested_caught = 0;      // nested tracepoint hits the backup programs handled (duplicates included)
    uint64_t recursion_lost = 0;     // max(0, skipped - caught): the net figure recordings always kept
    uint64_t no_cookie = 0;          // timewait records whose socket had no cookie
    uint64_t recursion_skipped = 0;  // hits the kernel skipped in a primary (bpf_prog_info.recursion_misses)
    // Hits neither program handled.
    uint64_t recursion_missed(uint64_t duplicates = 0) const {
        return recursion_skipped + duplicates > nested_caught ? recursion_skipped + duplicates - nested_caught : 0;
    }
    uint64_t lost(uint64_t duplicates = 0) const { return ringbuf_drops + recursion_missed(duplicates); }
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
