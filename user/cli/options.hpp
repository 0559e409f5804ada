// Command line: a plain options struct and a setup_<cmd>() per subcommand;
// run_<cmd>() lives in its own file. Tests parse vectors of strings.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/filter.hpp"

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

// Filters on the socket (also applied in BPF), on the process, and the
// options of a live tracer; setup_filters adds all three.
void setup_socket_filters(CLI::App& app, CommonOptions& o);
void setup_process_filters(CLI::App& app, CommonOptions& o);
void setup_tracer_tuning(CLI::App& app, CommonOptions& o);
void setup_filters(CLI::App& app, CommonOptions& o);
// --help without CLI11's "Excludes:" noise; set before adding subcommands
// (they copy their parent's formatter).
void use_help_formatter(CLI::App& app);
CLI::App* setup_trace(CLI::App& app, TraceOptions& o);
CLI::App* setup_stats(CLI::App& app, StatsOptions& o);
CLI::App* setup_record(CLI::App& app, RecordOptions& o);
CLI::App* setup_report(CLI::App& app, ReportOptions& o);
CLI::App* setup_export(CLI::App& app, ExportOptions& o);

int run_trace(const TraceOptions& o);
int run_stats(const StatsOptions& o);
int run_record(const RecordOptions& o);
int run_report(const ReportOptions& o);
int run_export(const ExportOptions& o);

// Parses argv for the whole tool; returns the exit code of the run (0 after
// --help, 2 for bad arguments, 1 for fatal errors).
int run_cli(int argc, char** argv);

}  // namespace tcplinger
