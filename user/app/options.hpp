// What each subcommand is asked to do (plain option structs, filled by
// cli/options.cpp from the command line or by tests) and its entry point;
// each run_<cmd>() lives in its own file here.
#pragma once
#include <string>
#include <vector>

#include "stats/filter.hpp"

namespace tcplinger {

// Largest --duration/--interval: about 31 years, so that the deadline in
// nanoseconds stays far inside 64 bits.
inline constexpr double kMaxSeconds = 1e9;

struct CommonOptions {
    FilterOptions filter;
    bool verbose = false;
    uint32_t ringbuf_mb = 16;
    uint32_t max_sockets = 1u << 20;  // connections followed at once (userspace table)
};

struct TraceOptions {
    CommonOptions common;
    bool json = false;
    bool hms = false;
    bool raw = false;
    double duration = 0;
    std::vector<std::string> inputs;  // replay recordings instead of tracing
    std::string from, to;             // with inputs: wall-clock window
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

struct RecordOptions {
    CommonOptions common;          // only the socket filters and tuning apply
    std::string output;            // a directory (rotating files) or a file ending in .tlr
    std::string max_size = "64M";  // per file
    uint32_t max_files = 8;
    bool max_given = false;  // --max-size or --max-files given
    double duration = 0;
    int zstd_level = 3;
    std::string command_line;  // stored in the recording's header
};

struct ReportOptions {
    StatsOptions stats;  // inputs, from, to, by, top, json, filters
    bool info = false;   // print the recordings' headers instead
};

struct ExportOptions {
    CommonOptions common;
    std::vector<std::string> inputs;
    std::string format = "jsonl";
    std::string from, to;
    bool raw = false;
};

struct DoctorOptions {
    CommonOptions common;             // tracer tuning for --observe
    std::string netns;                // inode, /run/netns name or path; empty: every namespace
    double observe = 0;               // seconds of capture; 0: none
    std::vector<std::string> conf;    // sysctl.conf / sysctl.d files to check
    std::vector<std::string> inputs;  // recordings
    bool json = false;
    bool all = false;  // details for ok findings too
};

int run_trace(const TraceOptions& o);
int run_stats(const StatsOptions& o);
int run_record(const RecordOptions& o);
int run_report(const ReportOptions& o);
int run_export(const ExportOptions& o);

int run_doctor(const DoctorOptions& o);

}  // namespace tcplinger
