// Lifetimes per group (process, remote endpoint, local port or cgroup) for
// the lingering states. Fed by the engine's transitions and residencies, so
// live tracing and recordings give the same figures.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/counters.hpp"
#include "lifecycle/engine.hpp"
#include "stats/filter.hpp"
#include "stats/histogram.hpp"

namespace tcplinger {

// Comm: every process with that command name summed (pre-forked workers);
// RemoteAddr: a destination without its port.
enum class GroupBy { Process, Endpoint, LocalPort, Cgroup, Comm, RemoteAddr };
std::optional<GroupBy> parse_group_by(const std::string& text);
std::string_view group_by_name(GroupBy by);

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

// A socket still in CLOSE-WAIT and one process holding it, at fd.
struct HeldSocket {
    Process holder;
    int32_t fd = -1;
    uint64_t cookie = 0;
    Endpoint local, remote;
    uint64_t age_ns = 0;        // in CLOSE-WAIT for this long
    bool age_at_least = false;  // it began before tracing: age_ns is a lower bound
};

struct GroupFigures {
    GroupKey key;
    std::map<uint8_t, StateFigures> states;
    uint64_t no_timewait = 0;  // closes that got no TIME-WAIT (tcp_max_tw_buckets overflow)
    uint64_t aborted = 0;      // connections ended by RST or abort instead of an orderly close
    // The group's CLOSE-WAIT sockets open now, one row per holder and fd
    // (when holders were given to report()), oldest first.
    std::vector<HeldSocket> holders;
    // --by comm: how many processes (pids) the group sums.
    uint32_t workers = 0;
};

class Aggregator {
public:
    // Every lingering state is counted whatever --state says: there it
    // only chooses the sort (StatsReport::sort_state).
    Aggregator(GroupBy by, const Filter& filter) : by_(by), filter_(filter.without_state()) {}
    void add(const Transition& t);
    void add(const Residency& r);
    // Groups with figures for the connections alive now (age measured at
    // now_ns). Those that entered their state before since_ns (the start of
    // the run or of a --from window) count as present at start, not entered.
    // A CLOSE-WAIT socket that `holders` lists is charged to the process
    // holding it (several: the lowest pid the filter accepts, every holder
    // listed) rather than to its owner: the accept() caller may have handed
    // it over (fork, SCM_RIGHTS).
    std::vector<GroupFigures> report(const Engine& engine, uint64_t now_ns, uint64_t since_ns = 0,
                                     const std::vector<SocketHolder>& holders = {}) const;
    GroupBy by() const { return by_; }

private:
    GroupKey key_of(const Process& p, const Endpoint& remote, const Endpoint& local) const;
    GroupBy by_;
    Filter filter_;
    std::map<GroupKey, std::map<uint8_t, StateFigures>> groups_;
    struct CloseCounts {
        uint64_t no_timewait = 0, aborted = 0;
    };
    std::map<GroupKey, CloseCounts> closes_;
    // --by comm: the pids seen per group (GroupFigures::workers).
    void note_pid(const GroupKey& k, uint32_t pid);
    std::map<GroupKey, std::set<uint32_t>> pids_;
};

// A close that got no TIME-WAIT or was aborted, and passes the filter
// (as the stay it cut short or never began would); false for other transitions.
bool close_matches(const Filter& filter, const Transition& t);

// Sum of every group, per state.
std::map<uint8_t, StateFigures> totals(const std::vector<GroupFigures>& groups);

}  // namespace tcplinger
