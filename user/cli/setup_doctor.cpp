// tcplinger doctor's command line (the run is app/run_doctor.cpp).
#include "cli/options.hpp"

namespace tcplinger {

CLI::App* setup_doctor(CLI::App& app, DoctorOptions& o) {
    auto* cmd = app.add_subcommand(
        "doctor", "check the TCP knobs and counters of every network namespace against what the kernel does");
    cmd->add_option("--netns", o.netns, "only this namespace: inode number, name in /run/netns, or a path")
        ->check(netns_validator());
    auto* observe = cmd->add_option("--observe", o.observe,
                                    "also trace for SECONDS: TIME-WAIT rates per destination and process, port "
                                    "headroom, CLOSE-WAIT leaks, counter deltas")
                        ->check(CLI::Range(0.1, 3600.0));
    auto* conf = cmd->add_option("--conf", o.conf, "check sysctl.conf/sysctl.d FILEs line by line instead")
                     ->check(CLI::ExistingFile)
                     ->excludes(observe);
    cmd->add_option("-i,--input", o.inputs, "review a recording (tcplinger record) instead of this host")
        ->excludes(observe)
        ->excludes(conf);
    cmd->add_flag("-j,--json", o.json, "one JSON document with every finding (or every --conf line)");
    cmd->add_flag("-a,--all", o.all, "show evidence and the kernel's side for ok findings too");
    setup_tracer_tuning(*cmd, o.common);
    cmd->footer(
        "EXAMPLES:\n"
        "  sudo tcplinger doctor                      # every namespace: knobs, counters, sockets now\n"
        "  sudo tcplinger doctor --observe 10         # plus 10 s of tracing: who makes TIME-WAIT, headroom\n"
        "  sudo tcplinger doctor --netns blue -j      # one namespace, as JSON\n"
        "  tcplinger doctor --conf /etc/sysctl.d/99-tuning.conf   # exit 1 if a line is a problem\n"
        "  tcplinger doctor -i /var/lib/tcplinger     # the host as a recording saw it\n"
        "\nEach finding has a severity (ok, info, warn, problem), the evidence (settings, TcpExt and\n"
        "sockstat counters, measured rates), what the kernel does (with the function) and what to do.\n"
        "Settings are read inside each namespace; tcp_max_orphans is host-wide. Headroom is the number of\n"
        "connect() calls to one destination (saddr, daddr, dport) that can still get a local port:\n"
        "ip_local_port_range - ip_local_reserved_ports - listening ports - 4-tuples held (TIME-WAIT\n"
        "included unless tcp_tw_reuse applies). --conf answers per line: ok, default (changes nothing),\n"
        "myth (does not do what advice claims), risky (given this host's sockets), missing, removed\n"
        "(e.g. tcp_tw_recycle, 4.12), foreign (e.g. FreeBSD's net.inet.tcp.msl), syntax.\n"
        "Exit status: 0; with --conf 1 when any line is a problem; 1 on errors.");
    return cmd;
}

}  // namespace tcplinger
