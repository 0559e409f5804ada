// doctor's findings: what a check saw, what the kernel does, what to do.
// Pure: a namespace's settings and counters (live or from a recording)
// and, with --observe or a recording's events, what was measured.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/doctor/host.hpp"
#include "core/event.hpp"
#include "stats/headroom.hpp"

namespace tcplinger::doctor {

enum class Severity { Ok = 0, Info = 1, Warn = 2, Problem = 3 };
std::string_view severity_name(Severity s);

struct Evidence {
    std::string name, value;
};

struct Finding {
    Severity severity = Severity::Ok;
    std::string check;  // stable id: "tcp_tw_reuse", "tw_overflow", "headroom", ...
    uint32_t netns = 0;
    std::string netns_name;
    std::string summary;  // what was seen, one sentence with the numbers
    std::vector<Evidence> evidence;
    std::string kernel;  // what the kernel does, with the function
    std::string advice;  // what to do; empty: nothing
};

// What a capture (or a recording) measured in one namespace.
struct DestinationLoad {
    headroom::Headroom headroom;            // at the end
    uint64_t time_wait_entered = 0;         // client-side TIME-WAITs toward it
    uint64_t closes_without_time_wait = 0;  // tcp_max_tw_buckets was full
    double growth_per_s = 0;                // ports held at end minus at start, per second
    std::vector<std::string> processes;     // "comm (pid)" making them, busiest first
};
struct ProcessLoad {
    Process process;
    uint64_t time_wait_entered = 0;
};
struct CloseWaitGroup {
    Process owner;
    uint64_t sockets = 0;
    uint64_t oldest_ms = 0;
    bool oldest_at_least = false;  // present when the capture began
    std::string example;           // "10.0.0.5:5432"
};
struct Observation {
    double seconds = 0;
    std::map<std::string, int64_t> tcpext_delta;  // end - start
    bool tcpext_known = false;
    std::vector<DestinationLoad> destinations;  // busiest first
    std::vector<ProcessLoad> processes;         // busiest first
    std::vector<CloseWaitGroup> close_wait;
    uint64_t tw_expired = 0;                // TIME-WAITs that ran their full length
    uint64_t tw_p50_ns = 0, tw_max_ns = 0;  // their residency
    uint64_t no_timewait = 0;               // closes that got no TIME-WAIT (tcp_max_tw_buckets)
    uint64_t lost_events = 0;
};

// Every finding for one namespace. `obs` adds the measured ones.
std::vector<Finding> check_namespace(const NetnsState& ns, const Observation* obs);

// "1,203"
std::string thousands(uint64_t n);
// "60.2 s", "3.1 min", "2.5 h"
std::string duration_text(double seconds);

}  // namespace tcplinger::doctor
