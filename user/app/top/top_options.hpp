// tcplinger top: options and entry point (the command line is
// cli/setup_top.cpp).
#pragma once
#include <cstdint>

#include "app/options.hpp"

namespace tcplinger {

struct TopOptions {
    CommonOptions common;
    double delay = 1;         // seconds between refreshes
    uint64_t iterations = 0;  // -n: refreshes before exiting; 0: until q or a signal
    bool batch = false;       // -b (also when stdout is not a terminal)
    bool json = false;        // -j
    bool by_comm = false;     // processes grouped by command name at start
};

int run_top(const TopOptions& o);

}  // namespace tcplinger
