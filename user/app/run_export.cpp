#include <cstdio>

#include "app/options.hpp"
#include "app/pipeline.hpp"
#include "capture/live.hpp"
#include "host/clock.hpp"
#include "render/output.hpp"

namespace tcplinger {

int run_export(const ExportOptions& o) {
    Filter filter(o.common.filter);
    TimeWindow window = parse_window(o.from, o.to, sys::realtime_ns());
    Output out;
    TracePipeline pipeline(out.stream(), o.format == "csv" ? TracePipeline::Format::Csv : TracePipeline::Format::Json,
                           false, o.raw, filter, window);
    pipeline.set_max_connections(o.common.max_sockets);
    ReplayResult r = replay_recordings(o.inputs, window, pipeline, [&] { return out.failed(); });
    out.finish();  // before "exported": nothing is announced that was not written
    if (!r.useful) return 1;
    std::fprintf(stderr, "tcplinger: exported %llu transitions; recorded: %s\n",
                 static_cast<unsigned long long>(pipeline.lines()),
                 drops_line(r.drops, pipeline.engine_counters()).c_str());
    return 0;
}

}  // namespace tcplinger
