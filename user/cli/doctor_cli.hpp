// tcplinger doctor: options and entry points (kept apart from options.hpp
// so the command is one include and three lines there).
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/options.hpp"

namespace tcplinger {

struct DoctorOptions {
    CommonOptions common;             // tracer tuning for --observe
    std::string netns;                // inode, /run/netns name or path; empty: every namespace
    double observe = 0;               // seconds of capture; 0: none
    std::vector<std::string> conf;    // sysctl.conf / sysctl.d files to check
    std::vector<std::string> inputs;  // recordings
    bool json = false;
    bool all = false;  // details for ok findings too
};

// The --netns check trace and stats use (options.cpp), so doctor rejects
// the same values the same way.
const CLI::Validator& netns_validator();
CLI::App* setup_doctor(CLI::App& app, DoctorOptions& o);
int run_doctor(const DoctorOptions& o);

}  // namespace tcplinger
