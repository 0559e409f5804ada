#include "app/tracer_options.hpp"

namespace tcplinger {

TracerOptions tracer_options(const CommonOptions& c, const Filter& filter) {
    TracerOptions t;
    t.filter = filter.kernel();
    t.verbose = c.verbose;
    t.ringbuf_mb = c.ringbuf_mb;
    return t;
}

}  // namespace tcplinger
