// The host facts `top` and the exporter show next to the events, read off
// the capture loop: a thread that every interval reads each traced
// namespace's counters and settings (rec::netns_facts), the tracer's
// sockets (Tracer::sockets_now, one iter/tcp pass) and the CLOSE-WAIT
// holders (Tracer::socket_holders), feeds a SocketTable and publishes one
// immutable HostPoll. The loop only hands over the few events the table's
// rates need (event()) and picks up the latest result (latest()).
//
// Why iter/tcp and not /proc/net/tcp{,6}: both are exact at their instant,
// but the text walk cost top 1,651 tracer-CPU ms per million events in
// scripts/bench against 576 for stats (README, "top").
#pragma once
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/doctor/host.hpp"
#include "capture/tracer.hpp"
#include "stats/socket_table.hpp"

namespace tcplinger {

// One traced namespace at one pass.
struct NetnsPoll {
    uint32_t inode = 0;
    std::map<std::string, std::string> sysctls;  // rec::kLingeringSysctls
    std::map<std::string, uint64_t> tcpext;      // rec::kTcpExtKept
    std::map<std::string, uint64_t> tcp_mib;     // HostPollerOptions::counters only
    doctor::Sockstat sockstat;                   // likewise
    headroom::NetnsPorts ports;
    uint32_t usable = 0;  // ports a destination no socket talks to could get
    // SocketTable::busiest: every destination with sockets or load, the
    // busiest first.
    std::vector<DestinationHeadroom> destinations;
    std::vector<uint16_t> listeners;  // ports in LISTEN at the pass
};

struct HostPoll {
    uint64_t taken_ns = 0;    // CLOCK_MONOTONIC at the socket pass
    uint64_t generation = 0;  // 1 for the first pass, +1 per pass
    bool sockets_known = false;
    std::vector<NetnsPoll> namespaces;
    // Every (process, fd) holding a CLOSE-WAIT socket (iter/task_file).
    std::vector<SocketHolder> holders;
};

struct HostPollerOptions {
    uint32_t netns = 0;  // only this namespace (0: every one)
    double interval_s = 5;
    bool sockets = true;    // the iter/tcp pass and the headroom
    bool counters = false;  // the Tcp MIB and /proc/net/sockstat (top's header)
    bool verbose = false;   // how long each pass took, on stderr
};

class HostPoller {
public:
    HostPoller(Tracer& tracer, const HostPollerOptions& o);
    ~HostPoller();
    HostPoller(const HostPoller&) = delete;
    HostPoller& operator=(const HostPoller&) = delete;

    // One pass now on the caller's thread (the facts a first frame needs),
    // then the thread's passes every interval.
    void start();
    // Joins the thread: before the tracer detaches (its iterators).
    void stop();
    void set_interval(double seconds);
    // Capture loop: every event; those the table's rates use (listens,
    // connects, timewait births) are kept for the next pass.
    void event(const Event& ev);
    // The last pass (null before the first).
    std::shared_ptr<const HostPoll> latest() const;

private:
    void pass();
    Tracer& tracer_;
    HostPollerOptions o_;
    SocketTable table_;  // the thread's only
    uint64_t generation_ = 0;
    mutable std::mutex mu_;  // guards what follows
    std::vector<SocketTable::Seen> events_;
    std::shared_ptr<const HostPoll> latest_;
    bool stop_ = false, rewait_ = false;
    std::condition_variable cv_;
    std::thread thread_;
};

}  // namespace tcplinger
