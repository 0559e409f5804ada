// tcplinger exporter's command line (the run is app/exporter/run_exporter.cpp).
#include "app/exporter/exporter_options.hpp"
#include "app/exporter/server.hpp"
#include "cli/options.hpp"

namespace tcplinger {

CLI::App* setup_exporter(CLI::App& app, ExporterOptions& o) {
    auto* cmd =
        app.add_subcommand("exporter", "serve Prometheus metrics of TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT residency");
    cmd->add_option("--listen", o.listen, "ADDR:PORT to serve on (IPv6: [::1]:9747); 0.0.0.0 for every address")
        ->check(CLI::Validator(
            [](std::string& v) {
                return exporter::parse_listen(v)
                           ? std::string()
                           : "bad --listen '" + v + "': give a numeric ADDR:PORT, e.g. 127.0.0.1:9747 or [::1]:9747";
            },
            "ADDR:PORT"))
        ->capture_default_str();
    cmd->add_option("--web-config", o.web_config,
                    "Prometheus web config file (tls_server_config cert_file/key_file, basic_auth_users); "
                    "SIGHUP reloads it")
        ->check(CLI::ExistingFile);
    cmd->add_option("--max-series", o.max_series,
                    "label sets exported at most; the rest are folded into comm=\"~other\"")
        ->check(CLI::Range(size_t{2}, size_t{1000000}))
        ->capture_default_str();
    cmd->add_option("--series-ttl", o.series_ttl,
                    "a label set with no socket now and nothing entered or ended for this long expires")
        ->check(CLI::Range(1.0, 1e7))
        ->capture_default_str();
    cmd->add_option("--headroom-top", o.headroom_top, "destinations exported in tcplinger_port_headroom (0: none)")
        ->check(CLI::Range(size_t{0}, size_t{10000}))
        ->capture_default_str();
    cmd->add_option("--pods-log-root", o.pods_log_root,
                    "the kubelet's pod log tree, for the namespace/pod/container labels")
        ->capture_default_str();
    setup_socket_filters(*cmd, o.common);
    setup_tracer_tuning(*cmd, o.common);
    cmd->footer(
        "EXAMPLES:\n"
        "  tcplinger exporter                                  # http://127.0.0.1:9747/metrics\n"
        "  tcplinger exporter --listen 0.0.0.0:9747 --web-config /etc/tcplinger/web.yml\n"
        "  tcplinger exporter --listen [::1]:9747 --max-series 200 --series-ttl 600\n"
        "  curl -s localhost:9747/metrics | grep tcplinger_sockets\n"
        "\nEvery metric and label is listed in tcplinger-exporter(8) and the README. Labels per group: comm,\n"
        "unit, container_id, namespace, pod, container (no pid, no port). Figures accumulate from the\n"
        "start; scrapes read a snapshot made every second.\n"
        "\nThe web config is the Prometheus exporter-toolkit format:\n"
        "  tls_server_config: {cert_file: server.crt, key_file: server.key}   # relative to the file\n"
        "  basic_auth_users: {prometheus: $2y$10$...}                       # htpasswd -nbBC 10 USER PW\n"
        "\nReadiness: once serving and tracing it prints 'tcplinger: exporter listening on URL' and\n"
        "'tcplinger: tracing (attached N programs)' on stderr, and under systemd (Type=notify) sends\n"
        "READY=1. SIGTERM or SIGINT detach and exit 0; SIGHUP reloads --web-config (a bad one is\n"
        "reported in one line and the old one kept).");
    return cmd;
}

}  // namespace tcplinger
