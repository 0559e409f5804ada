// The ephemeral-port headroom model (user/headroom): ports, reserved and
// bound ports, 4-tuples held in each state, TIME-WAIT reuse rules.
#include <gtest/gtest.h>

#include "stats/headroom.hpp"

namespace tcplinger::headroom {
namespace {

Endpoint ep(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    Endpoint e;
    e.family = 4;
    e.addr[0] = a, e.addr[1] = b, e.addr[2] = c, e.addr[3] = d;
    e.port = port;
    return e;
}

SocketSample sock(Endpoint l, Endpoint r, uint8_t state, std::optional<uint64_t> tw_age_ms = std::nullopt,
                  uint8_t substate = kTimeWait) {
    SocketSample s;
    s.netns = 7;
    s.local = l;
    s.remote = r;
    s.state = state;
    if (state == kTimeWait) s.tw_substate = substate;
    s.tw_age_ms = tw_age_ms;
    return s;
}

NetnsPorts hundred_ports(int tw_reuse = 0) {
    NetnsPorts p;
    p.range = {40000, 40099};
    p.reuse.tw_reuse = tw_reuse;
    return p;
}

const Endpoint kDb = ep(10, 0, 0, 5, 5432);
const Endpoint kWeb = ep(10, 0, 0, 6, 80);

TEST(Headroom, ParsesRangeAndReservedList) {
    auto r = parse_port_range("32768\t60999");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size(), 28232u);
    EXPECT_FALSE(parse_port_range("60999 32768"));
    EXPECT_FALSE(parse_port_range("x"));
    auto l = parse_port_list("1000-1002, 2000");
    ASSERT_TRUE(l);
    EXPECT_EQ(*l, (std::vector<uint16_t>{1000, 1001, 1002, 2000}));
    EXPECT_EQ(parse_port_list("")->size(), 0u);
    EXPECT_FALSE(parse_port_list("5-3"));
    EXPECT_FALSE(parse_port_list("70000"));
}

TEST(Headroom, EverySocketStateHoldsItsFourTuple) {
    std::vector<SocketSample> s = {
        sock(ep(10, 0, 0, 1, 40000), kDb, kEstablished), sock(ep(10, 0, 0, 1, 40001), kDb, kTimeWait, 5000),
        sock(ep(10, 0, 0, 1, 40002), kDb, kCloseWait), sock(ep(10, 0, 0, 1, 40003), kDb, kSynSent),
        // another destination on the same local port does not count for kDb
        sock(ep(10, 0, 0, 1, 40000), kWeb, kEstablished)};
    auto all = compute(hundred_ports(), s, 7);
    ASSERT_EQ(all.size(), 2u);
    const Headroom& db = all[0];
    EXPECT_EQ(format_destination(db.dest), "10.0.0.1 -> 10.0.0.5:5432");
    EXPECT_EQ(db.usable, 100u);
    EXPECT_EQ(db.taken, 4u);
    EXPECT_EQ(db.time_wait, 1u);
    EXPECT_EQ(db.reusable_tw, 0u);
    EXPECT_EQ(db.headroom, 96u);
    EXPECT_EQ(all[1].headroom, 99u);
    // Other namespaces are not looked at.
    EXPECT_TRUE(compute(hundred_ports(), s, 8).empty());
}

TEST(Headroom, ReservedAndListeningPortsAreGoneForEveryDestination) {
    NetnsPorts p = hundred_ports();
    p.reserved = {40010, 40011, 1000};  // 1000 is outside the range
    std::vector<SocketSample> s = {sock(ep(0, 0, 0, 0, 40050), {}, kListen),
                                   sock(ep(0, 0, 0, 0, 40011), {}, kListen),  // reserved and listening: once
                                   sock(ep(0, 0, 0, 0, 22), {}, kListen),     // outside the range
                                   // accepted by the listener on 40050: not an outgoing socket
                                   sock(ep(10, 0, 0, 1, 40050), ep(10, 0, 0, 9, 51000), kEstablished),
                                   sock(ep(10, 0, 0, 1, 40001), kDb, kEstablished)};
    auto all = compute(p, s, 7);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].reserved, 2u);
    EXPECT_EQ(all[0].bound, 1u);
    EXPECT_EQ(all[0].usable, 97u);
    EXPECT_EQ(all[0].headroom, 96u);
    Headroom web = compute_one(p, s, Destination{7, 4, ep(10, 0, 0, 1, 0).addr, kWeb.addr, 80});
    EXPECT_EQ(web.headroom, 97u);
}

TEST(Headroom, TimeWaitReuseNeedsSettingTimestampsAgeAndSubstate) {
    Endpoint lo_srv = ep(127, 0, 0, 1, 8080);
    std::vector<SocketSample> s = {
        sock(ep(127, 0, 0, 1, 40000), lo_srv, kTimeWait, 1500),              // old enough
        sock(ep(127, 0, 0, 1, 40001), lo_srv, kTimeWait, 500),               // younger than 1 s
        sock(ep(127, 0, 0, 1, 40002), lo_srv, kTimeWait, 30000, kFinWait2),  // orphaned FIN-WAIT-2
        sock(ep(127, 0, 0, 1, 40003), lo_srv, kTimeWait),                    // age unknown
    };
    Destination d{7, 4, ep(127, 0, 0, 1, 0).addr, lo_srv.addr, 8080};
    EXPECT_EQ(compute_one(hundred_ports(0), s, d).headroom, 96u);
    EXPECT_EQ(compute_one(hundred_ports(0), s, d).reuse, ReuseVerdict::Off);
    Headroom loop = compute_one(hundred_ports(2), s, d);
    EXPECT_EQ(loop.reuse, ReuseVerdict::Applies);
    EXPECT_EQ(loop.reusable_tw, 1u);
    EXPECT_EQ(loop.headroom, 97u);
    NetnsPorts fast = hundred_ports(1);
    fast.reuse.reuse_delay_ms = 100;
    EXPECT_EQ(compute_one(fast, s, d).headroom, 98u);
    NetnsPorts no_ts = hundred_ports(1);
    no_ts.reuse.timestamps = false;
    EXPECT_EQ(compute_one(no_ts, s, d).reuse, ReuseVerdict::NoTimestamps);
    EXPECT_EQ(compute_one(no_ts, s, d).headroom, 96u);
}

TEST(Headroom, LoopbackOnlyReuseDoesNotHelpARemoteDestination) {
    std::vector<SocketSample> s = {sock(ep(10, 0, 0, 1, 40000), kDb, kTimeWait, 5000)};
    Destination d{7, 4, ep(10, 0, 0, 1, 0).addr, kDb.addr, 5432};
    Headroom h = compute_one(hundred_ports(2), s, d);
    EXPECT_EQ(h.reuse, ReuseVerdict::NotLoopback);
    EXPECT_EQ(h.headroom, 99u);
    EXPECT_EQ(compute_one(hundred_ports(1), s, d).headroom, 100u);
    // A port held by a reusable TIME-WAIT and a live socket stays taken.
    s.push_back(sock(ep(10, 0, 0, 1, 40000), kDb, kEstablished));
    EXPECT_EQ(compute_one(hundred_ports(1), s, d).headroom, 99u);
}

TEST(Headroom, LoopbackAddresses) {
    std::array<uint8_t, 16> a{};
    a[0] = 127, a[3] = 9;
    EXPECT_TRUE(is_loopback(4, a));
    a[0] = 10;
    EXPECT_FALSE(is_loopback(4, a));
    std::array<uint8_t, 16> one{};
    one[15] = 1;
    EXPECT_TRUE(is_loopback(6, one));
    std::array<uint8_t, 16> mapped{};
    mapped[10] = mapped[11] = 0xff;
    mapped[12] = 127, mapped[15] = 1;
    EXPECT_TRUE(is_loopback(6, mapped));
    mapped[12] = 10;
    EXPECT_FALSE(is_loopback(6, mapped));
}

TEST(Headroom, TimeToExhaustion) {
    EXPECT_DOUBLE_EQ(seconds_to_exhaustion(28232, 470.0), 28232 / 470.0);
    EXPECT_EQ(seconds_to_exhaustion(100, 0), kNever);
    EXPECT_EQ(seconds_to_exhaustion(100, -3), kNever);
    EXPECT_DOUBLE_EQ(seconds_to_exhaustion(0, 5), 0);
}

TEST(Headroom, TimeWaitLevelsOffAfterSixtySeconds) {
    Headroom h;
    h.usable = 28232;
    h.time_wait = 1563;
    h.taken = 1563 + 10;  // 10 live connections
    h.headroom = h.usable - h.taken;
    EXPECT_DOUBLE_EQ(steady_time_wait(309), 18540);
    // 309/s levels off at 18,540 + 10 live < 28,232: never exhausted.
    EXPECT_EQ(seconds_to_exhaustion(h, 309, 304), kNever);
    // 470/s x 60 s = 28,200, + 10 live + ... = over: exhausted at the current growth.
    EXPECT_DOUBLE_EQ(seconds_to_exhaustion(h, 471, 471), h.headroom / 471.0);
}

// tcp_twsk_unique takes a TIME-WAIT over only once it is strictly older
// than tcp_tw_reuse_delay (time_after32(now, entry + delay)).
TEST(Headroom, ReuseNeedsStrictlyOlderThanTheDelay) {
    NetnsPorts p = hundred_ports(1);
    p.reuse.reuse_delay_ms = 2000;
    std::vector<SocketSample> s = {sock(ep(10, 0, 0, 1, 40000), kDb, kTimeWait, 2000),
                                   sock(ep(10, 0, 0, 1, 40001), kDb, kTimeWait, 2001)};
    Headroom h = compute_one(p, s, destination_of(7, ep(10, 0, 0, 1, 0), kDb));
    EXPECT_EQ(h.reusable_tw, 1u);
    EXPECT_EQ(h.taken, 1u);
    EXPECT_EQ(h.headroom, 99u);
    EXPECT_EQ(h.reuse_delay_ms, 2000u);
}

// Under reuse the TIME-WAITs hold ports only for tcp_tw_reuse_delay, not 60
// s: 470/s with reuse after 1 s holds about 470 ports, and never exhausts.
TEST(Headroom, ReuseBoundsTheHeldTimeWaitLevel) {
    Headroom h;
    h.usable = 28232;
    h.time_wait = 1000;
    h.reusable_tw = 530;
    h.taken = 470;
    h.headroom = h.usable - h.taken;
    h.reuse = ReuseVerdict::Applies;
    h.reuse_delay_ms = 1000;
    EXPECT_DOUBLE_EQ(held_time_wait_level(h, 470), 470);
    EXPECT_EQ(seconds_to_exhaustion(h, 470, 470), kNever);
    h.reuse = ReuseVerdict::Off;
    EXPECT_DOUBLE_EQ(held_time_wait_level(h, 470), 28200);
    EXPECT_DOUBLE_EQ(seconds_to_exhaustion(h, 480, 480), h.headroom / 480.0);
}

// A dual-stack socket talking IPv4 shares the IPv4 sockets' 4-tuples
// (tcp_v6_connect -> tcp_v4_connect): one destination, not two.
TEST(Headroom, V4MappedSocketsShareTheIpv4Destination) {
    auto mapped = [](Endpoint e) {
        Endpoint m;
        m.family = 6;
        m.addr[10] = m.addr[11] = 0xff;
        std::copy(e.addr.begin(), e.addr.begin() + 4, m.addr.begin() + 12);
        m.port = e.port;
        return m;
    };
    std::vector<SocketSample> s = {sock(ep(10, 0, 0, 1, 40000), kDb, kEstablished),
                                   sock(mapped(ep(10, 0, 0, 1, 40001)), mapped(kDb), kEstablished)};
    auto all = compute(hundred_ports(), s, 7);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].dest.family, 4);
    EXPECT_EQ(all[0].taken, 2u);
    EXPECT_EQ(format_destination(all[0].dest), "10.0.0.1 -> 10.0.0.5:5432");
}

}  // namespace
}  // namespace tcplinger::headroom
