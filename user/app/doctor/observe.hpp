// What doctor measures from events (a short live capture or a recording):
// TIME-WAIT entered per destination and per process, port headroom at the
// start and end, CLOSE-WAIT leak candidates, TIME-WAIT residency. Pure:
// decoded events in; the Engine and the stats Aggregator do the following.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <unordered_set>
#include <vector>

#include "app/doctor/findings.hpp"
#include "app/doctor/host.hpp"
#include "capture/tracer.hpp"
#include "lifecycle/engine.hpp"
#include "stats/socket_table.hpp"

namespace tcplinger::doctor {

// A CLOSE-WAIT this old at the end is a leak candidate: a healthy
// application closes within milliseconds of read() returning 0.
inline constexpr uint64_t kCloseWaitSuspectNs = 1'000'000'000;

class Observer {
public:
    explicit Observer(size_t max_connections = Engine::kDefaultMaxConnections);
    // A new run (a live session, a recording segment): a fresh engine.
    void begin_run();
    void event(const Event& rec);
    void advance(uint64_t now_ns) { engine_->advance(now_ns); }
    void end_run() { engine_->flush(); }
    Engine& engine() { return *engine_; }

    // The sockets at the end: a fresh snapshot (live), or else the engine's
    // connections (a full recording sees every transition).
    void set_end_sockets(const std::vector<Event>& existing);
    // Who holds each CLOSE-WAIT socket now (live: Tracer::socket_holders
    // once stopped), so that a leak is charged as stats charges it.
    void set_holders(std::vector<SocketHolder> holders) { holders_ = std::move(holders); }

    // The figures for one namespace, over `seconds` ending at now_ns.
    Observation build(const NetnsState& ns, uint64_t now_ns, double seconds) const;
    uint64_t first_ns() const { return first_ns_; }

private:
    void event(const Event& rec, const TypedEvent& t);
    // The start and end passes: the table as given (live), or with the
    // engine's connections as the end pass (a recording).
    SocketTable end_table(uint64_t now_ns) const;

    std::unique_ptr<Engine> engine_;
    std::map<std::pair<uint32_t, std::pair<uint32_t, std::string>>, uint64_t> by_process_;
    SocketTable sockets_;  // the start snapshot's pass, then the end's
    std::vector<SocketHolder> holders_;
    bool end_given_ = false;
    bool snapshot_open_ = true;                          // Existing events before any other belong to the start
    std::set<std::pair<uint32_t, uint16_t>> listening_;  // (netns, port) seen listening
    std::unordered_set<uint64_t> tw_cookies_;            // timewait sockets counted
    std::map<headroom::Destination, uint64_t> tw_born_;
    std::map<headroom::Destination, uint64_t> no_tw_by_dest_;  // closes that got no TIME-WAIT
    std::map<headroom::Destination, std::map<std::pair<uint32_t, std::string>, uint64_t>> dest_processes_;
    std::vector<uint64_t> tw_expired_ns_;
    uint64_t no_timewait_ = 0;
    uint64_t first_ns_ = 0;
    size_t max_connections_;
};

}  // namespace tcplinger::doctor
