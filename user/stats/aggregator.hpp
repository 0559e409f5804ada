// Lifetimes per group (process, remote endpoint, local port or cgroup) for
// the lingering states. Fed by the engine's transitions and residencies, so
// live tracing and recordings give the same figures.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/filter.hpp"
#include "lifecycle/engine.hpp"
#include "stats/histogram.hpp"

namespace tcplinger {

enum class GroupBy { Process, Endpoint, LocalPort, Cgroup };
std::optional<GroupBy> parse_group_by(const std::string& text);
std::string_view group_by_name(GroupBy by);

// TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT, LAST-ACK, CLOSING.
inline constexpr std::array<uint8_t, 5> kLingeringStates = {kTimeWait, kFinWait2, kCloseWait, kLastAck, kClosing};
bool is_lingering(uint8_t state);

struct GroupKey {
    uint32_t pid = 0;
    std::string comm;
    uint64_t cgroup = 0;
    Endpoint remote;
    uint16_t lport = 0;
    auto operator<=>(const GroupKey&) const = default;
};

struct StateFigures {
    uint64_t entered = 0;           // entered during the run
    uint64_t present_at_start = 0;  // in the state when tracing started
    uint64_t current = 0;           // in the state now
    uint64_t oldest_ns = 0;         // age of the oldest current one
    bool oldest_at_least = false;   // oldest_ns is a lower bound: it began before tracing, start unknown
    Histogram residency;            // completed stays that began during the run
    std::map<EndReason, uint64_t> end_reasons;
    void merge(const StateFigures& o);
    void take_oldest(uint64_t age_ns, bool at_least);
};

struct GroupFigures {
    GroupKey key;
    std::map<uint8_t, StateFigures> states;
    uint64_t no_timewait = 0;  // closes that got no TIME-WAIT (tcp_max_tw_buckets overflow)
};

class Aggregator {
public:
    Aggregator(GroupBy by, const Filter& filter) : by_(by), filter_(filter) {}
    void add(const Transition& t);
    void add(const Residency& r);
    // Groups with figures for the connections alive now (age measured at
    // now_ns). Those that entered their state before since_ns (the start of
    // the run or of a --from window) count as present at start, not entered.
    std::vector<GroupFigures> report(const Engine& engine, uint64_t now_ns, uint64_t since_ns = 0) const;
    GroupBy by() const { return by_; }

private:
    GroupKey key_of(const Process& p, const Endpoint& remote, const Endpoint& local) const;
    GroupBy by_;
    const Filter& filter_;
    std::map<GroupKey, std::map<uint8_t, StateFigures>> groups_;
    std::map<GroupKey, uint64_t> no_timewait_;
};

// Sum of every group, per state.
std::map<uint8_t, StateFigures> totals(const std::vector<GroupFigures>& groups);

}  // namespace tcplinger
