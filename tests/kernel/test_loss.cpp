// Ring buffer loss, for real: a 1 MiB ring that nobody reads while
// connections run overflows, and what the tracer reports lost must be
// exactly what the kernel could not deliver. The truth is the workload: an
// aborted connection (SO_LINGER {1,0}, no timewait socket, so no timer-wheel
// luck in the record count) makes the same records every time, so the
// records produced are base + n * per_connection, learned from two small
// runs that lose nothing. Every produced record is either received or counted
// as a ring buffer drop, never both, never neither.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include "harness.hpp"

namespace tltest {
namespace {

struct Outcome {
    uint64_t received = 0;
    DropCounters drops;
};

// n aborted connections in a fresh namespace under a tracer that is not
// read (the reader is paused) until the workload has exited.
Outcome aborted_connections(int n, uint32_t ringbuf_mb) {
    Netns ns;
    TracerOptions opts;
    opts.filter.netns = ns.inode();
    opts.ringbuf_mb = ringbuf_mb;
    Tracer tracer(opts);
    const uint16_t port = 7401;
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, port, 1024);
        for (int i = 0; i < n; ++i) {
            int c = tcp_connect(AF_INET, port);
            int a = tcp_accept(l);
            linger_zero(c);
            close(c);           // RST: both sides go straight to CLOSE
            read_until_eof(a);  // ECONNRESET: the server saw the RST
            close(a);
        }
        close(l);
        return 0;
    });
    EXPECT_EQ(reap(child), 0);
    Outcome out;
    Tracer::Callback count = [&](const Event&) { ++out.received; };
    tracer.stop(count);  // detach, then drain: nothing is produced after this
    out.drops = tracer.counters();
    return out;
}

TEST(LossKernel, RingBufferOverrunIsCountedRecordForRecord) {
    // Two runs that fit in 16 MiB: records per connection and the fixed rest
    // (the listener's).
    Outcome a = aborted_connections(20, 16), b = aborted_connections(40, 16);
    ASSERT_EQ(a.drops.lost(), 0u);
    ASSERT_EQ(b.drops.lost(), 0u);
    ASSERT_GT(b.received, a.received);
    const uint64_t per_conn = (b.received - a.received) / 20;
    const uint64_t base = a.received - 20 * per_conn;
    ASSERT_EQ(b.received, base + 40 * per_conn) << "the record count per connection is not fixed";

    // A record is about 160 bytes: 3000 connections make several MiB,
    // far more than a 1 MiB ring holds.
    const int kConns = 3000;
    const uint64_t produced = base + kConns * per_conn;
    Outcome big = aborted_connections(kConns, 16);
    EXPECT_EQ(big.received, produced) << "16 MiB holds them all: the per-connection count did not scale";
    EXPECT_EQ(big.drops.ringbuf_drops, 0u);

    Outcome tiny = aborted_connections(kConns, 1);
    EXPECT_GT(tiny.drops.ringbuf_drops, produced / 2) << "received " << tiny.received << " of " << produced;
    EXPECT_EQ(tiny.received + tiny.drops.ringbuf_drops, produced);
    EXPECT_EQ(tiny.drops.events, tiny.received);  // the BPF count of records submitted
    EXPECT_EQ(tiny.drops.recursion_lost, 0u);
    EXPECT_EQ(tiny.drops.lost(), tiny.drops.ringbuf_drops);  // what every output prints as lost
}

}  // namespace
}  // namespace tltest
