// Processes as /proc shows them: who holds which socket, and their names.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "core/event.hpp"

namespace tcplinger::sys {

// socket inode -> owning process, from /proc/<pid>/fd.
std::map<uint64_t, Process> socket_owners();
std::string comm_of_pid(uint32_t pid);

}  // namespace tcplinger::sys
