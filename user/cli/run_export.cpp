#include <cstdio>
#include <iostream>

#include "cli/live.hpp"
#include "cli/options.hpp"
#include "cli/pipeline.hpp"
#include "tracer/system.hpp"

namespace tcplinger {

int run_export(const ExportOptions& o) {
    Filter filter(o.common.filter);
    std::ios::sync_with_stdio(false);
    TimeWindow window = parse_window(o.from, o.to, sys::realtime_ns());
    TracePipeline pipeline(std::cout, o.format == "csv" ? TracePipeline::Format::Csv : TracePipeline::Format::Json,
                           false, o.raw, filter, window);
    pipeline.set_max_connections(o.common.max_sockets);
    ReplayResult r = replay_recordings(o.inputs, window, pipeline);
    std::cout.flush();
    if (!r.useful) return 1;
    std::fprintf(stderr, "tcplinger: exported %llu transitions; recorded: %s\n",
                 static_cast<unsigned long long>(pipeline.lines()), drops_line(r.drops, pipeline.evicted()).c_str());
    return 0;
}

}  // namespace tcplinger
