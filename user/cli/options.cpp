#include "cli/options.hpp"

#include <algorithm>
#include <iostream>

#include "core/error.hpp"
#include "stats/aggregator.hpp"

namespace tcplinger {

namespace {
const CLI::Validator kStateName(
    [](std::string& v) { return parse_state(v) ? std::string() : "unknown TCP state '" + v + "' (e.g. TIME-WAIT)"; },
    "STATE");
const CLI::Validator kCidr(
    [](std::string& v) { return parse_cidr(v) ? std::string() : "bad address or CIDR '" + v + "'"; }, "CIDR");
}  // namespace

void setup_filters(CLI::App& app, CommonOptions& o) {
    FilterOptions& f = o.filter;
    app.add_option("-p,--pid", f.pids, "only sockets of these processes (owner or acting task)")->group("Filters");
    app.add_option("-c,--comm", f.comms, "only sockets of processes with this command name")->group("Filters");
    app.add_option("--lport", f.lport, "local port")->check(CLI::Range(1, 65535))->group("Filters");
    app.add_option("--rport", f.rport, "remote port")->check(CLI::Range(1, 65535))->group("Filters");
    app.add_option("--port", f.port, "local or remote port")->check(CLI::Range(1, 65535))->group("Filters");
    app.add_option("--addr", f.addrs, "local or remote address in this CIDR (repeatable)")->check(kCidr)->group("Filters");
    app.add_option_function<std::string>(
           "--netns",
           [&f](const std::string& v) {
               if (!v.empty() && std::all_of(v.begin(), v.end(), ::isdigit))
                   f.netns = static_cast<uint32_t>(std::stoul(v));
               else
                   f.netns_path = v;
           },
           "network namespace: inode number, /run/netns/NAME or /proc/PID/ns/net")
        ->group("Filters");
    app.add_option("--cgroup", f.cgroup, "cgroup v2 path, e.g. /system.slice/nginx.service")->group("Filters");
    app.add_option("--state", f.state, "transitions into or out of this state (ss names: TIME-WAIT, CLOSE-WAIT, ...)")
        ->check(kStateName)
        ->group("Filters");
    auto* v4 = app.add_flag("-4,--ipv4", f.ipv4, "IPv4 only")->group("Filters");
    app.add_flag("-6,--ipv6", f.ipv6, "IPv6 only (v4-mapped included)")->excludes(v4)->group("Filters");
    app.add_flag("-v,--verbose", o.verbose, "show libbpf's own log");
    app.add_option("--ringbuf-mb", o.ringbuf_mb, "ring buffer size in MiB (power of two)")
        ->check(CLI::IsMember({1, 2, 4, 8, 16, 32, 64, 128, 256}))
        ->group("Tuning");
    app.add_option("--max-sockets", o.max_sockets, "sockets tracked at once in BPF (LRU; evictions are reported)")
        ->check(CLI::Range(1024u, 1u << 26))
        ->group("Tuning");
}

CLI::App* setup_trace(CLI::App& app, TraceOptions& o) {
    auto* cmd = app.add_subcommand("trace", "print every TCP state transition, one line each");
    cmd->add_flag("-j,--json", o.json, "JSON Lines (fields documented in README)");
    cmd->add_flag("-T,--time", o.hms, "time as HH:MM:SS.mmm instead of the full date");
    cmd->add_flag("--raw", o.raw, "also show the kernel's X -> CLOSE of the full socket at the TIME-WAIT handoff");
    cmd->add_option("-d,--duration", o.duration, "stop after this many seconds (default: until Ctrl-C)")
        ->check(CLI::PositiveNumber);
    setup_filters(*cmd, o.common);
    cmd->footer(
        "EXAMPLES:\n"
        "  tcplinger trace                        # every transition, all namespaces\n"
        "  tcplinger trace -T --state TIME-WAIT   # who enters and leaves TIME-WAIT\n"
        "  tcplinger trace -j --duration 10 > t.jsonl\n"
        "  tcplinger trace --netns /run/netns/blue --rport 5432\n"
        "\nColumns: PID/COMM is the task that made the transition when it ran in process context,\n"
        "otherwise the socket's owner (connect/listen/accept caller), '-' if unknown. MS is the\n"
        "time spent in the old state ('-' unknown, '>=' began before tracing).");
    return cmd;
}

CLI::App* setup_stats(CLI::App& app, StatsOptions& o) {
    auto* cmd = app.add_subcommand("stats", "how long sockets linger in TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT, per group");
    cmd->add_option("-d,--duration", o.duration, "stop after this many seconds (default: until Ctrl-C)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--interval", o.interval,
                    "print a report every S seconds; figures accumulate from the start (they do not reset)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--by", o.by, "group by process, endpoint (remote addr:port), lport or cgroup")
        ->check(CLI::IsMember({"process", "endpoint", "lport", "cgroup"}));
    cmd->add_option("--top", o.top, "groups shown in the table")->check(CLI::Range(1, 1000000));
    cmd->add_flag("-j,--json", o.json, "one JSON object with every figure");
    setup_filters(*cmd, o.common);
    cmd->footer(
        "EXAMPLES:\n"
        "  tcplinger stats --duration 60                 # who makes TIME-WAIT, and for how long\n"
        "  tcplinger stats --by endpoint --state TIME-WAIT\n"
        "  tcplinger stats --state CLOSE-WAIT --interval 10   # find a CLOSE-WAIT leak while it leaks\n"
        "  tcplinger stats -j --duration 30 --netns /run/netns/blue\n"
        "\nThe table is sorted by the --state column (default TIME-WAIT): IN = entered during the\n"
        "run plus present at start, NOW = in the state now, P50/P99/MAX = residency of completed\n"
        "stays, OLD = age of the oldest socket still in the state.");
    return cmd;
}

int run_cli(int argc, char** argv) {
    CLI::App app{"tcplinger: who makes TIME-WAIT, FIN-WAIT-2 and CLOSE-WAIT sockets, and how long they linger"};
    app.require_subcommand(1);
    app.set_version_flag("--version", TL_VERSION);
    app.footer("Run 'tcplinger COMMAND --help' for a command's options and examples.");
    TraceOptions trace;
    StatsOptions stats;
    auto* trace_cmd = setup_trace(app, trace);
    auto* stats_cmd = setup_stats(app, stats);
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
    } catch (const FatalError& e) {
        std::cerr << "tcplinger: " << e.what() << "\n";
        return 1;
    }
    return 2;
}

}  // namespace tcplinger
