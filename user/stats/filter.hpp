// Selection of sockets shared by every subcommand: cheap parts go to BPF
// (KernelFilter), the rest is matched here on decoded values.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/counters.hpp"
#include "lifecycle/engine.hpp"

namespace tcplinger {

struct FilterOptions {
    std::vector<uint32_t> pids;
    std::vector<std::string> comms;
    uint16_t lport = 0, rport = 0, port = 0;
    std::vector<std::string> addrs;  // CIDRs, matched against either end
    uint32_t netns = 0;
    std::string netns_path;  // alternative to netns: /run/netns/NAME or /proc/PID/ns/net
    std::string cgroup;      // cgroup v2 path
    std::string state;       // transitions into or out of this state
    bool ipv4 = false, ipv6 = false;
};

struct Cidr {
    uint8_t family = 4;
    std::array<uint8_t, 16> addr{};
    unsigned prefix = 32;
    bool contains(const Endpoint& ep) const;
};
// Parses "10.0.0.0/8", "::1", "fe80::/10". Nothing on error.
std::optional<Cidr> parse_cidr(const std::string& text);

class Filter {
public:
    Filter() = default;
    explicit Filter(const FilterOptions& opts);  // throws FatalError on bad values
    KernelFilter kernel() const { return kernel_; }
    bool match(const Transition& t) const;
    bool match(const Residency& r) const;
    bool match(const Connection& c) const;
    // The same, with the process the connection is charged to given (a
    // CLOSE-WAIT socket's holder).
    bool match(const Connection& c, const Process& charged) const;
    std::optional<uint8_t> state() const { return state_; }
    // The same selection for every state (stats: --state only sorts).
    Filter without_state() const {
        Filter f = *this;
        f.state_.reset();
        return f;
    }

private:
    bool match_socket(uint32_t netns, const Endpoint& l, const Endpoint& r) const;
    bool match_process(const Process& p) const;

    KernelFilter kernel_;
    std::vector<uint32_t> pids_;
    std::vector<std::string> comms_;
    std::vector<Cidr> cidrs_;
    uint64_t cgroup_id_ = 0;
    std::optional<uint8_t> state_;
};

}  // namespace tcplinger
