// Command line: a setup_<cmd>() per subcommand fills the plain options
// struct of app/options.hpp. Tests parse vectors of strings.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "app/options.hpp"

namespace tcplinger {

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

// The --netns check trace and stats use, so doctor rejects the same values
// the same way.
const CLI::Validator& netns_validator();
CLI::App* setup_doctor(CLI::App& app, DoctorOptions& o);
struct ExporterOptions;
CLI::App* setup_exporter(CLI::App& app, ExporterOptions& o);
struct TopOptions;
CLI::App* setup_top(CLI::App& app, TopOptions& o);

// Parses argv for the whole tool; returns the exit code of the run (0 after
// --help, 2 for bad arguments, 1 for fatal errors).
int run_cli(int argc, char** argv);

}  // namespace tcplinger
