#include "cli/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>

#include "app/exporter/exporter_options.hpp"
#include "app/top/top_options.hpp"
#include "core/error.hpp"
#include "core/time_window.hpp"
#include "host/clock.hpp"
#include "record/writer.hpp"
#include "stats/aggregator.hpp"

namespace tcplinger {

namespace {
const CLI::Validator kStateName(
    [](std::string& v) { return parse_state(v) ? std::string() : "unknown TCP state '" + v + "' (e.g. TIME-WAIT)"; },
    "STATE");
const CLI::Validator kCidr(
    [](std::string& v) { return parse_cidr(v) ? std::string() : "bad address or CIDR '" + v + "'"; }, "CIDR");
const CLI::Validator kWallTime(
    [](std::string& v) {
        return parse_wall_time(v, sys::realtime_ns())
                   ? std::string()
                   : "bad time '" + v +
                         "': give 2026-11-22T03:12:00Z, \"2026-11-22 03:12:00\" (local), 03:12:00 "
                         "(today) or @EPOCH";
    },
    "TIME");
const CLI::Validator kSize(
    [](std::string& v) {
        auto n = rec::parse_size(v);
        if (!n) return "bad size '" + v + "': give bytes or K, M, G (e.g. 64M)";
        if (*n < (256u << 10)) return std::string("--max-size must be at least 256K");
        return std::string();
    },
    "SIZE");

// stats and report: the states whose residency they track (the table's
// columns); --state picks the one the table is sorted by.
const CLI::Validator kLingeringStateName(
    [](std::string& v) {
        auto s = parse_state(v);
        if (s && is_lingering(*s)) return std::string();
        return "stats tracks TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT, LAST-ACK and CLOSING: give one of them, not '" + v +
               "'";
    },
    "");  // kStateName already names the type
// Seconds for --duration and --interval: finite, and small enough that
// now + S in nanoseconds fits in 64 bits (live.cpp: run_live).
const CLI::Validator kSeconds(
    [](std::string& v) {
        double d = 0;
        try {
            size_t used = 0;
            d = std::stod(v, &used);
            if (used != v.size()) d = NAN;
        } catch (const std::exception&) {
            d = NAN;
        }
        if (!std::isfinite(d) || d <= 0 || d > kMaxSeconds)
            return "give seconds, a number above 0 and at most " + std::to_string(static_cast<long>(kMaxSeconds)) +
                   " (about 31 years), not '" + v + "'";
        return std::string();
    },
    "SECONDS");
// --netns: digits are an inode number (a 32-bit value, st_ino of nsfs),
// anything else a path; the numeric range is checked here, before it can
// wrap or throw.
const CLI::Validator kNetns(
    [](std::string& v) {
        if (v.empty() || !std::all_of(v.begin(), v.end(), ::isdigit)) return std::string();
        uint64_t n = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || n == 0 || n > UINT32_MAX)
            return "inode " + v +
                   " out of range: a network namespace inode is 1 to 4294967295 (ls -iL /proc/PID/ns/net)";
        return std::string();
    },
    "INODE|PATH");
// Options record does not take, with the reason instead of CLI11's
// "arguments were not expected".
const char* kNotWhileRecording =
    "record filters sockets only (--netns, --port, --lport, --rport, -4, -6); process, address and state "
    "filters apply when reading: give them to report, trace -i or export";

const char* kReadyHelp =
    "\nReadiness: once attached and tracing it prints 'tcplinger: tracing (attached N programs)' on\n"
    "stderr, and under systemd (Type=notify, NOTIFY_SOCKET set) sends READY=1, then STOPPING=1 at the\n"
    "end. Everything after that line is traced.";

const char* kWindowHelp =
    "--from/--to take 2026-11-22T03:12:00Z (ISO 8601; no zone = local time), \"2026-11-22 03:12:00\"\n"
    "(local), 03:12:00 (today, local) or @EPOCH seconds; the window is [FROM, TO).\n";

// stats and report: --by and --top, with their defaults shown.
void add_grouping(CLI::App& cmd, StatsOptions& o) {
    cmd.add_option("--by", o.by,
                   "group by process, comm (processes of one name summed, e.g. pre-forked workers), endpoint "
                   "(remote addr:port), raddr (remote address), lport or cgroup")
        ->check(CLI::IsMember({"process", "comm", "endpoint", "raddr", "lport", "cgroup"}))
        ->capture_default_str();
    cmd.add_option("--top", o.top, "groups shown in the table and in -j")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
}

// stats and report: --state (added by setup_process_filters) chooses the
// sort and is one of the tracked states.
void sort_by_state(CLI::App& cmd) {
    CLI::Option* state = cmd.get_option("--state");
    state->description(
        "sort the table by this state (default TIME-WAIT): TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT, "
        "LAST-ACK or CLOSING");
    state->check(kLingeringStateName);
}

// CLI11's help without "Excludes: ..." after each option: the error
// message says it when it matters.
class HelpFormatter : public CLI::Formatter {
public:
    std::string make_option_opts(const CLI::Option* opt) const override {
        std::string out = CLI::Formatter::make_option_opts(opt);
        if (auto at = out.find(" " + get_label("Excludes") + ":"); at != std::string::npos) out.erase(at);
        return out;
    }
};

void add_window(CLI::App& cmd, std::string& from, std::string& to) {
    cmd.add_option("--from", from, "wall-clock start of the window (inclusive)")->check(kWallTime)->group("Window");
    cmd.add_option("--to", to, "wall-clock end of the window (exclusive)")->check(kWallTime)->group("Window");
}
}  // namespace

const CLI::Validator& netns_validator() { return kNetns; }

void use_help_formatter(CLI::App& app) { app.formatter(std::make_shared<HelpFormatter>()); }

void setup_socket_filters(CLI::App& app, CommonOptions& o) {
    FilterOptions& f = o.filter;
    app.add_option("--lport", f.lport, "local port")->check(CLI::Range(1, 65535))->group("Filters");
    app.add_option("--rport", f.rport, "remote port")->check(CLI::Range(1, 65535))->group("Filters");
    app.add_option("--port", f.port, "local or remote port")->check(CLI::Range(1, 65535))->group("Filters");
    app.add_option_function<std::string>(
           "--netns",
           [&f](const std::string& v) {
               uint64_t n = 0;
               if (!v.empty() && std::all_of(v.begin(), v.end(), ::isdigit) &&
                   std::from_chars(v.data(), v.data() + v.size(), n).ec == std::errc())
                   f.netns = static_cast<uint32_t>(n);  // kNetns checked the range
               else
                   f.netns_path = v;
           },
           "network namespace: inode number, /run/netns/NAME or /proc/PID/ns/net")
        ->check(kNetns)
        ->group("Filters");
    auto* v4 = app.add_flag("-4,--ipv4", f.ipv4, "IPv4 only")->group("Filters");
    app.add_flag("-6,--ipv6", f.ipv6, "IPv6 only (v4-mapped included)")->excludes(v4)->group("Filters");
}

void setup_process_filters(CLI::App& app, CommonOptions& o) {
    FilterOptions& f = o.filter;
    app.add_option("-p,--pid", f.pids, "only sockets of these processes (owner or acting task)")->group("Filters");
    app.add_option("-c,--comm", f.comms, "only sockets of processes with this command name")->group("Filters");
    app.add_option("--addr", f.addrs, "local or remote address in this CIDR (repeatable)")
        ->check(kCidr)
        ->group("Filters");
    app.add_option("--cgroup", f.cgroup, "cgroup v2 path, e.g. /system.slice/nginx.service")->group("Filters");
    app.add_option("--state", f.state, "transitions into or out of this state (ss names: TIME-WAIT, CLOSE-WAIT, ...)")
        ->check(kStateName)
        ->group("Filters");
}

void setup_tracer_tuning(CLI::App& app, CommonOptions& o) {
    app.add_flag("-v,--verbose", o.verbose, "show libbpf's own log");
    app.add_option("--ringbuf-mb", o.ringbuf_mb, "ring buffer size in MiB (power of two)")
        ->check(CLI::IsMember({1, 2, 4, 8, 16, 32, 64, 128, 256}))
        ->capture_default_str()
        ->group("Tuning");
    app.add_option("--max-sockets", o.max_sockets,
                   "connections followed at once (beyond it new ones are not followed, and are counted as evicted)")
        ->check(CLI::Range(1024u, 1u << 26))
        ->capture_default_str()
        ->group("Tuning");
}

void setup_filters(CLI::App& app, CommonOptions& o) {
    setup_process_filters(app, o);
    setup_socket_filters(app, o);
    setup_tracer_tuning(app, o);
}

CLI::App* setup_trace(CLI::App& app, TraceOptions& o) {
    auto* cmd = app.add_subcommand("trace", "print every TCP state transition, one line each");
    cmd->add_flag("-j,--json", o.json, "JSON Lines (fields documented in README)");
    cmd->add_flag("-T,--time", o.hms, "time as HH:MM:SS.mmm instead of the full date");
    cmd->add_flag("--raw", o.raw, "also show the kernel's X -> CLOSE of the full socket at the TIME-WAIT handoff");
    auto* duration =
        cmd->add_option("-d,--duration", o.duration, "stop after this many seconds (default: until Ctrl-C)")
            ->check(kSeconds);
    auto* input = cmd->add_option("-i,--input", o.inputs,
                                  "replay recordings (files or directories from 'tcplinger record') instead of tracing")
                      ->excludes(duration);
    add_window(*cmd, o.from, o.to);
    cmd->get_option("--from")->needs(input);
    cmd->get_option("--to")->needs(input);
    setup_filters(*cmd, o.common);
    cmd->footer(
        std::string("EXAMPLES:\n"
                    "  tcplinger trace                        # every transition, all namespaces\n"
                    "  tcplinger trace -T --state TIME-WAIT   # who enters and leaves TIME-WAIT\n"
                    "  tcplinger trace -j --duration 10 > t.jsonl\n"
                    "  tcplinger trace --netns /run/netns/blue --rport 5432\n"
                    "  tcplinger trace -i /var/lib/tcplinger --from \"2026-11-22 03:10\" --to \"2026-11-22 03:15\" "
                    "--rport 5432\n"
                    "\nWith -i, the transitions are rebuilt from the recording from its start, and --from/--to\n"
                    "print exactly those whose time t has FROM <= t < TO.\n") +
        kWindowHelp +
        "\nColumns: PID/COMM is the task that made the transition when it ran in process context,\n"
        "otherwise the socket's owner (connect/listen/accept caller), '-' if unknown. MS is the\n"
        "time spent in the old state ('-' unknown, '>=' began before tracing).\n"
        "\nLines come in time order: each is held until the probe round that could still recover an\n"
        "earlier hidden FIN-WAIT-2 -> TIME-WAIT move has run (live: 0.2 s to about 1 s; with -i:\n"
        "1 s of the recording). That moment is known to a\n"
        "jiffy only (4 ms at HZ=250): -j gives the bound of MS as prev_ms_err.\n" +
        kReadyHelp);
    return cmd;
}

CLI::App* setup_stats(CLI::App& app, StatsOptions& o) {
    auto* cmd = app.add_subcommand("stats", "how long sockets linger in TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT, per group");
    cmd->add_option("-d,--duration", o.duration, "stop after this many seconds (default: until Ctrl-C)")
        ->check(kSeconds);
    cmd->add_option("--interval", o.interval,
                    "print a report every S seconds, each headed by its time; figures accumulate from the start "
                    "(they do not reset)")
        ->check(kSeconds);
    add_grouping(*cmd, o);
    cmd->add_flag("-j,--json", o.json, "one JSON object with every figure (one per line with --interval)");
    setup_filters(*cmd, o.common);
    sort_by_state(*cmd);
    cmd->footer(
        "EXAMPLES:\n"
        "  tcplinger stats --duration 60                 # who makes TIME-WAIT, and for how long\n"
        "  tcplinger stats --by endpoint --state TIME-WAIT\n"
        "  tcplinger stats --state CLOSE-WAIT --interval 10   # find a CLOSE-WAIT leak while it leaks\n"
        "  tcplinger stats -j --duration 30 --netns /run/netns/blue\n"
        "\nThe table is sorted by the --state column (default TIME-WAIT): IN = entered during the\n"
        "run plus present at start, NOW = in the state now, P50/P99/MAX = residency of completed\n"
        "stays, OLD = age of the oldest socket still in the state. Each --interval report is headed\n"
        "by its time (-j: one object per line, with \"ts\").\n"
        "Each stay is charged to the process that closed the socket (close()/shutdown()); a\n"
        "CLOSE-WAIT still open to the process holding it now, listed with its fd ('held by').\n" +
        std::string(kReadyHelp));
    return cmd;
}

CLI::App* setup_record(CLI::App& app, RecordOptions& o) {
    auto* cmd = app.add_subcommand("record", "flight recorder: record every event for report, trace -i and export");
    cmd->add_option("-o,--output", o.output,
                    "a directory (files tcplinger-NNNNNN.tlr, rotated) or a single file ending in .tlr")
        ->required();
    auto* size = cmd->add_option("--max-size", o.max_size, "rotate files at this size (default 64M)")
                     ->check(kSize)
                     ->group("Rotation");
    auto* files = cmd->add_option("--max-files", o.max_files, "keep this many files, deleting the oldest (default 8)")
                      ->check(CLI::Range(1u, 1000000u))
                      ->group("Rotation");
    cmd->add_option("-d,--duration", o.duration, "stop after this many seconds (default: until Ctrl-C or SIGTERM)")
        ->check(kSeconds);
    cmd->add_option("--compress-level", o.zstd_level, "zstd level, 0 for none (default 3)")
        ->check(CLI::Range(0, 19))
        ->group("Tuning");
    setup_socket_filters(*cmd, o.common);
    setup_tracer_tuning(*cmd, o.common);
    // Accepted only to say why not (kNotWhileRecording). Hidden (group ""),
    // so CLI11 leaves the name out of its messages: the error names it.
    for (const char* name : {"-p,--pid", "-c,--comm", "--addr", "--cgroup", "--state"})
        cmd->add_option_function<std::string>(name,
                                              [name](const std::string&) {
                                                  std::string shown = name;
                                                  throw CLI::ValidationError(shown.substr(shown.find("--")),
                                                                             kNotWhileRecording);
                                              })
            ->group("");
    cmd->callback([&o, size, files] { o.max_given = size->count() > 0 || files->count() > 0; });
    cmd->footer(
        "EXAMPLES:\n"
        "  tcplinger record -o /var/lib/tcplinger                       # 8 x 64M, newest history kept\n"
        "  tcplinger record -o /var/lib/tcplinger --max-size 16M --max-files 60\n"
        "  tcplinger record -o incident.tlr --duration 600 --netns /run/netns/blue\n"
        "\nRecords every event trace and stats use (transitions, the timewait sockets' life, owners,\n"
        "the sockets present at start) with a header (host, kernel, boot id, clocks, CONFIG_HZ, and\n"
        "per network namespace the tcp sysctls and TcpExt TW counters at start and end). Frames are\n"
        "checksummed and written at least every second: after kill -9, a power cut or a full disk,\n"
        "everything up to the last flushed frame reads back. Files are created 0600. Filter and\n"
        "group later with report, trace -i and export; only socket filters apply here.\n" +
        std::string(kReadyHelp));
    return cmd;
}

CLI::App* setup_report(CLI::App& app, ReportOptions& o) {
    StatsOptions& s = o.stats;
    auto* cmd = app.add_subcommand("report", "the stats figures for recorded events (tcplinger record)");
    cmd->add_option("-i,--input", s.inputs, "recordings: files or directories")->required();
    add_grouping(*cmd, s);
    cmd->add_flag("-j,--json", s.json, "one JSON object with every figure (as stats -j)");
    cmd->add_flag("--info", o.info, "print what the recordings hold (host, kernel, time span, sysctls, counters)");
    add_window(*cmd, s.from, s.to);
    setup_process_filters(*cmd, s.common);
    setup_socket_filters(*cmd, s.common);
    sort_by_state(*cmd);
    cmd->footer(
        std::string("EXAMPLES:\n"
                    "  tcplinger report -i /var/lib/tcplinger                 # the whole recording\n"
                    "  tcplinger report -i /var/lib/tcplinger --from 03:10 --to 03:15 --by endpoint\n"
                    "  tcplinger report -i incident.tlr -j --state CLOSE-WAIT\n"
                    "  tcplinger report -i /var/lib/tcplinger --info\n"
                    "\nThe output is stats' output for the recorded run; over the same run the figures are equal.\n"
                    "--from/--to give what stats would have printed had it run from FROM to TO: IN counts the\n"
                    "entries into the state at FROM <= t < TO; P50/P99/MAX are the stays that began and ended in\n"
                    "the window (one that began before FROM counts as present at start, as for a live run);\n"
                    "NOW/OLD are the sockets in the state at TO. Sockets are rebuilt from the start of the\n"
                    "recording, so owners and ages are right across FROM. Lost events are counted per flush\n"
                    "(1 s); TCPTimeWaitOverflow only for runs wholly inside the window.\n") +
        kWindowHelp);
    return cmd;
}

CLI::App* setup_export(CLI::App& app, ExportOptions& o) {
    auto* cmd = app.add_subcommand("export", "recorded transitions as JSON Lines or CSV, for jq, spreadsheets, pandas");
    cmd->add_option("-i,--input", o.inputs, "recordings: files or directories")->required();
    cmd->add_option("--format", o.format, "jsonl (as trace -j) or csv (same fields, a header row)")
        ->check(CLI::IsMember({"jsonl", "csv"}));
    cmd->add_flag("--raw", o.raw, "also export the kernel's X -> CLOSE of the full socket at the TIME-WAIT handoff");
    add_window(*cmd, o.from, o.to);
    setup_process_filters(*cmd, o.common);
    setup_socket_filters(*cmd, o.common);
    cmd->footer(
        std::string(
            "EXAMPLES:\n"
            "  tcplinger export -i /var/lib/tcplinger > all.jsonl\n"
            "  tcplinger export -i rec/ --format csv --state TIME-WAIT > tw.csv\n"
            "  tcplinger export -i rec/ --from 03:10 --to 03:15 | jq -r 'select(.new==\"CLOSE-WAIT\") | .comm'\n"
            "  python3 -c 'import pandas; print(pandas.read_csv(\"tw.csv\").groupby(\"comm\").size())'\n"
            "\nOne row per transition, in time order, with the field names of trace -j; CSV leaves null\n"
            "fields empty.\n") +
        kWindowHelp);
    return cmd;
}

int run_cli(int argc, char** argv) {
    CLI::App app{"tcplinger: who makes TIME-WAIT, FIN-WAIT-2 and CLOSE-WAIT sockets, and how long they linger"};
    app.require_subcommand(1);
    use_help_formatter(app);
    app.set_version_flag("--version", TL_VERSION);
    app.footer("Run 'tcplinger COMMAND --help' for a command's options and examples.");
    TraceOptions trace;
    StatsOptions stats;
    RecordOptions record;
    ReportOptions report;
    ExportOptions export_;
    auto* trace_cmd = setup_trace(app, trace);
    auto* stats_cmd = setup_stats(app, stats);
    auto* record_cmd = setup_record(app, record);
    auto* report_cmd = setup_report(app, report);
    auto* export_cmd = setup_export(app, export_);
    DoctorOptions doctor;
    auto* doctor_cmd = setup_doctor(app, doctor);
    ExporterOptions exporter;
    auto* exporter_cmd = setup_exporter(app, exporter);
    TopOptions top;
    auto* top_cmd = setup_top(app, top);
    for (int i = 0; i < argc; ++i) record.command_line += std::string(i ? " " : "") + argv[i];
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    }
    try {
        if (trace_cmd->parsed()) return run_trace(trace);
        if (stats_cmd->parsed()) return run_stats(stats);
        if (record_cmd->parsed()) return run_record(record);
        if (report_cmd->parsed()) return run_report(report);
        if (export_cmd->parsed()) return run_export(export_);
        if (doctor_cmd->parsed()) return run_doctor(doctor);
        if (exporter_cmd->parsed()) return run_exporter(exporter);
        if (top_cmd->parsed()) return run_top(top);
    } catch (const FatalError& e) {
        std::cerr << "tcplinger: " << e.what() << "\n";
        return 1;
    }
    return 2;
}

}  // namespace tcplinger
