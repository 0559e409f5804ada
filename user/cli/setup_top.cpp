// tcplinger top's command line (the run is app/top/run_top.cpp).
#include "app/top/top_options.hpp"
#include "cli/options.hpp"

namespace tcplinger {

CLI::App* setup_top(CLI::App& app, TopOptions& o) {
    auto* cmd = app.add_subcommand("top", "live view: who makes TIME-WAIT now, toward where, and port headroom");
    cmd->add_option("-d,--delay", o.delay, "seconds between refreshes (default 1)")
        ->check(CLI::Range(0.1, kMaxSeconds));
    cmd->add_option("-n,--iterations", o.iterations, "exit after this many refreshes (default: until q or Ctrl-C)")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
    cmd->add_flag("-b,--batch", o.batch,
                  "batch mode: plain text per refresh, as top -b (the default when stdout is not a terminal)");
    cmd->add_flag("-j,--json", o.json, "one JSON document per refresh, on one line, with its time (\"ts\")");
    cmd->add_flag("--by-comm", o.by_comm, "processes: one row per command name, workers summed (key c)");
    setup_filters(*cmd, o.common);
    cmd->footer(
        "EXAMPLES:\n"
        "  tcplinger top                          # every namespace, refresh every second\n"
        "  tcplinger top --netns /run/netns/blue -d 2\n"
        "  tcplinger top -b -n 5 > top.txt        # five refreshes as text\n"
        "  tcplinger top -j -n 60 | jq '.processes[0]'\n"
        "\nKeys: p d l (or Tab) processes, destinations, local ports; < > move the sort column\n"
        "(marked *), r reverses it; / filter; space pause; + - s interval; c group by comm;\n"
        "? help; q quit.\n"
        "\nProcesses: TW, CW, FW2 = sockets in TIME-WAIT, CLOSE-WAIT, FIN-WAIT-2 now (charged to the\n"
        "closer, as stats does); TW/s entered TIME-WAIT per second; CW-AGE the oldest CLOSE-WAIT;\n"
        "ABRT/s aborted closes per second. Destinations (connections whose local port is no\n"
        "listener): CONN/s connections that ended per second, INUSE local ports held toward it,\n"
        "HEADROOM connect() calls that can still get a port, EXHAUST the time until none can,\n"
        "REUSE whether tcp_tw_reuse lets connect() take over a TIME-WAIT. Local ports: a server's\n"
        "listening ports, with the TIME-WAIT and CLOSE-WAIT held on them.\n"
        "\nReadiness: once attached it prints 'tcplinger: tracing (attached N programs)' on stderr.");
    return cmd;
}

}  // namespace tcplinger
