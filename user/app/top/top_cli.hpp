// tcplinger top: options and entry point (kept apart from options.hpp so
// that the command is one include and three lines there).
#pragma once
#include <CLI/CLI.hpp>

#include "cli/options.hpp"

namespace tcplinger {

struct TopOptions {
    CommonOptions common;
    double delay = 1;         // seconds between refreshes
    uint64_t iterations = 0;  // -n: refreshes before exiting; 0: until q or a signal
    bool batch = false;       // -b (also when stdout is not a terminal)
    bool json = false;        // -j
    bool by_comm = false;     // processes grouped by command name at start
};

CLI::App* setup_top(CLI::App& app, TopOptions& o);
int run_top(const TopOptions& o);

}  // namespace tcplinger
