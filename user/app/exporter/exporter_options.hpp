// `tcplinger exporter`: the options and the run (the command line is
// cli/setup_exporter.cpp).
#pragma once
#include <string>

#include "app/options.hpp"

namespace tcplinger {

inline constexpr uint16_t kExporterPort = 9747;

struct ExporterOptions {
    CommonOptions common;  // socket filters and tuning
    std::string listen = "127.0.0.1:9747";
    std::string web_config;
    size_t max_series = 1000;
    double series_ttl = 300;
    size_t headroom_top = 10;
    std::string pods_log_root = "/var/log/pods";
};

int run_exporter(const ExporterOptions& o);

}  // namespace tcplinger
