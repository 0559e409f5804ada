// What a tracer process leaves in the kernel: its programs and links, for
// tests that check that nothing stays attached after it exits.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <set>

namespace tltest {

// Programs held by a process's fds (/proc/PID/fdinfo prog_id).
std::set<uint32_t> bpf_prog_ids_of(pid_t pid);
// The programs of ids still loaded, after a bounded wait (about 2 s).
std::set<uint32_t> still_loaded(const std::set<uint32_t>& ids);
// Links (bpftool link) attaching any of these programs.
std::set<uint32_t> links_to(const std::set<uint32_t>& progs);

}  // namespace tltest
