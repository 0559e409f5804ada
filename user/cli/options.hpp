// Command line: a plain options struct and a setup_<cmd>() per subcommand;
// run_<cmd>() lives in its own file. Tests parse vectors of strings.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/filter.hpp"

namespace tcplinger {

struct CommonOptions {
    FilterOptions filter;
    bool verbose = false;
    uint32_t ringbuf_mb = 16;
    uint32_t max_sockets = 262144;
};

struct TraceOptions {
    CommonOptions common;
    bool json = false;
    bool hms = false;
    bool raw = false;
    double duration = 0;
    std::vector<std::string> inputs;  // replay recordings instead of tracing
};

struct StatsOptions {
    CommonOptions common;
    double duration = 0;
    double interval = 0;
    std::string by = "process";
    size_t top = 20;
    bool json = false;
    std::vector<std::string> inputs;  // report: recordings
    std::string from, to;             // report: wall-clock window
};

void setup_filters(CLI::App& app, CommonOptions& o);
CLI::App* setup_trace(CLI::App& app, TraceOptions& o);
CLI::App* setup_stats(CLI::App& app, StatsOptions& o);

int run_trace(const TraceOptions& o);
int run_stats(const StatsOptions& o);

// Parses argv for the whole tool; returns the exit code of the run (0 after
// --help, 2 for bad arguments, 1 for fatal errors).
int run_cli(int argc, char** argv);

}  // namespace tcplinger
