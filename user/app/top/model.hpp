// tcplinger top: what one refresh shows, made from the engine's stays and
// connections. Pure: decoded stays and closes in (as the stats Aggregator
// gets them), the engine's connections and the host's counters at each
// refresh; rows with per-interval rates out. The screen, batch and JSON
// renderers only format a Frame, so the three cannot disagree.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lifecycle/engine.hpp"
#include "stats/filter.hpp"
#include "stats/headroom.hpp"
#include "stats/holders.hpp"
#include "stats/socket_table.hpp"

namespace tcplinger::top {

// The traced namespaces' counters at one moment (host.cpp reads them),
// summed over the namespaces.
struct HostSample {
    bool known = false;
    uint64_t time_wait = 0, orphans = 0;           // /proc/net/sockstat
    uint64_t max_tw_buckets = 0, max_orphans = 0;  // sysctls
    uint64_t active_opens = 0, passive_opens = 0;  // Tcp MIB (/proc/net/snmp), cumulative
    uint64_t tw_overflow = 0;                      // TcpExt TCPTimeWaitOverflow, cumulative
};

struct Header {
    uint64_t wall_ns = 0;
    double interval_s = 0;  // since the previous refresh (the rates' time base)
    double delay_s = 0;     // the interval asked for (-d, + -), as the header shows it
    double uptime_s = 0;    // since tracing started
    HostSample host;
    double active_opens_per_s = 0, passive_opens_per_s = 0;
    double tw_entered_per_s = 0;  // traced sockets that entered TIME-WAIT, per second
    uint64_t overflows = 0;       // TCPTimeWaitOverflow since start
    uint64_t aborts = 0;          // aborted closes seen since start
    uint64_t lost = 0, evicted = 0;
};

struct ProcessRow {
    uint32_t pid = 0;      // 0: unknown, or grouped by comm
    uint32_t workers = 1;  // grouped by comm: processes summed
    std::string comm;
    uint64_t cgroup = 0;
    uint64_t tw_now = 0, cw_now = 0, fw2_now = 0;
    uint64_t cw_oldest_ns = 0;
    bool cw_oldest_at_least = false;  // the oldest began before tracing
    double tw_per_s = 0, aborts_per_s = 0;
    uint64_t tw_entered = 0, aborts = 0;  // since start
};

struct DestinationRow {
    uint32_t netns = 0;
    Endpoint remote;
    double conn_per_s = 0;  // connections toward it that ended, per second
    uint64_t tw_now = 0;
    uint32_t ports_in_use = 0;  // 4-tuples to it held now (any state)
    std::optional<uint32_t> headroom;
    double exhaustion_s = headroom::kNever;       // 0: no port left now
    std::optional<headroom::ReuseVerdict> reuse;  // whether tcp_tw_reuse helps
    uint64_t conns = 0;
};

struct LocalPortRow {
    uint32_t netns = 0;
    uint16_t port = 0;
    uint64_t tw_now = 0, cw_now = 0;
    double conn_per_s = 0;
    uint64_t conns = 0;
};

struct Frame {
    Header header;
    bool by_comm = false;
    std::vector<ProcessRow> processes;
    std::vector<DestinationRow> destinations;
    std::vector<LocalPortRow> local_ports;
};

class Model {
public:
    explicit Model(const Filter& filter) : filter_(filter.without_state()) {}
    Model(const Model&) = delete;  // last_close_ points into the maps
    Model& operator=(const Model&) = delete;
    // Stays that ended and closes, as the engine makes them (Engine::on_residency,
    // on_transition).
    void add(const Residency& r);
    void add(const Transition& t);
    // A listening socket: connections on its port are a server's (local
    // ports view), the others go to a destination.
    void note_listener(uint32_t netns, uint16_t port) { listeners_.insert({netns, port}); }
    // The namespace's ip_local_port_range: a connection on a port outside
    // it to a port inside it is an accepted one (a listener that came and
    // went between two refreshes is known by that).
    void set_port_range(uint32_t netns, headroom::PortRange r) { ranges_[netns] = r; }
    void set_start(uint64_t mono_ns) { start_ns_ = mono_ns; }

    // One refresh at now_ns: rates are over the time since the previous one.
    // headroom: SocketTable::busiest of the namespaces (HostPoll); open
    // sockets are charged as stats charges them (HolderIndex).
    Frame refresh(const Engine& engine, uint64_t now_ns, uint64_t wall_ns, const HostSample& host,
                  const std::vector<DestinationHeadroom>& headroom, const HolderIndex& holders, bool by_comm);

private:
    struct Tally {
        uint64_t tw = 0, conns = 0, aborts = 0;
    };
    using ProcessKey = std::pair<uint32_t, std::string>;
    using DestKey = std::pair<uint32_t, Endpoint>;
    using PortKey = std::pair<uint32_t, uint16_t>;
    bool server_side(uint32_t netns, const Endpoint& local, const Endpoint& remote) const;
    void count_close(const Process& p, uint32_t netns, const Endpoint& local, const Endpoint& remote, bool tw,
                     bool abort);

    Filter filter_;
    uint64_t start_ns_ = 0;
    std::set<PortKey> listeners_;
    std::map<uint32_t, headroom::PortRange> ranges_;
    std::map<ProcessKey, Tally> processes_;
    std::map<ProcessKey, uint64_t> cgroups_;
    std::map<DestKey, Tally> destinations_;
    std::map<PortKey, Tally> ports_;
    // count_close's last process: a storm is one process closing thousands
    // of connections, and the (pid, comm) map lookups with string compares
    // were most of top's per-event cost (perf). std::map references stay
    // valid: nothing is erased from processes_ or cgroups_.
    struct LastClose {
        uint32_t pid = 0;
        std::string comm;
        Tally* tally = nullptr;
        uint64_t* cgroup = nullptr;  // made on the first close with a known cgroup
    } last_close_;
    // The previous refresh, for rates.
    bool first_ = true;
    uint64_t prev_ns_ = 0;
    HostSample prev_host_, start_host_;
    uint64_t prev_tw_total_ = 0;
    std::map<ProcessKey, Tally> prev_processes_;
    std::map<DestKey, Tally> prev_destinations_;
    std::map<PortKey, Tally> prev_ports_;
    uint64_t aborts_ = 0;
};

}  // namespace tcplinger::top
