// Who an open lingering socket is charged to now, one rule for stats, top
// and the exporter: a CLOSE-WAIT socket that some process holds (an fd in
// its table, Tracer::socket_holders) is charged to that process, the lowest
// pid the filter accepts, rather than to the accept() caller or closer the
// events name: the socket may have been handed over (fork, SCM_RIGHTS), and
// the leak is the holder's. Every other socket: responsible().
#pragma once
#include <unordered_map>
#include <vector>

#include "core/counters.hpp"
#include "lifecycle/engine.hpp"
#include "stats/filter.hpp"

namespace tcplinger {

class HolderIndex {
public:
    HolderIndex() = default;
    explicit HolderIndex(const std::vector<SocketHolder>& holders);
    // The process to charge c (cookie) to, or nullptr when the filter
    // accepts none. *held: the socket's holders by (pid, fd) when the
    // holder rule applied, else nullptr.
    const Process* charged(uint64_t cookie, const Connection& c, const Filter& filter,
                           const std::vector<const SocketHolder*>** held = nullptr) const;

private:
    std::unordered_map<uint64_t, std::vector<const SocketHolder*>> by_cookie_;
};

}  // namespace tcplinger
