// The live socket table (user/stats/socket_table): passes replace the
// table, rates come from the events between two passes and from the
// cookies new in the last pass, a server's own TIME-WAIT is no load.
#include <gtest/gtest.h>

#include "stats/socket_table.hpp"

namespace tcplinger {
namespace {

constexpr uint32_t kNs = 7;
constexpr uint64_t kSec = 1'000'000'000;

Endpoint ep(uint8_t last, uint16_t port) {
    Endpoint e;
    e.addr = {10, 0, 0, last};
    e.port = port;
    return e;
}

const Endpoint kClient = ep(1, 0), kDb = ep(5, 5432), kWeb = ep(6, 80);

Event existing(uint64_t cookie, uint16_t lport, const Endpoint& remote, uint8_t state) {
    Event ev;
    ev.kind = EventKind::Existing;
    ev.netns = kNs;
    ev.cookie = cookie;
    ev.local = kClient;
    ev.local.port = lport;
    ev.remote = remote;
    ev.new_state = state;
    if (state == kTimeWait) {
        ev.old_state = kTimeWait;  // substate
        ev.hz = 250;
        ev.aux1 = 1'000'000;           // jiffies now
        ev.aux0 = ev.aux1 + 58 * 250;  // expires: 2 s into TIME-WAIT
    }
    return ev;
}

Event tw_birth(uint64_t cookie, uint16_t lport, const Endpoint& remote) {
    Event ev = existing(cookie, lport, remote, kTimeWait);
    ev.kind = EventKind::TwBirth;
    return ev;
}

headroom::NetnsPorts ports(int tw_reuse = 0) {
    headroom::NetnsPorts p;
    p.range = {40000, 40099};
    p.reuse.tw_reuse = tw_reuse;
    return p;
}

TEST(SocketTable, TimewaitAgeFromTheTimer) {
    SocketTable t;
    t.refresh({existing(1, 40000, kDb, kTimeWait)}, 1 * kSec);
    ASSERT_EQ(t.sockets(kNs).size(), 1u);
    auto s = t.sockets(kNs)[0];
    ASSERT_TRUE(s.tw_age_ms);
    EXPECT_EQ(*s.tw_age_ms, 2000u);
    EXPECT_EQ(s.cookie, 1u);
}

TEST(SocketTable, APassReplacesTheTable) {
    SocketTable t;
    EXPECT_TRUE(t.empty());
    t.refresh({existing(1, 40000, kDb, kEstablished), existing(2, 40001, kDb, kTimeWait)}, 1 * kSec);
    EXPECT_EQ(t.sockets(kNs).size(), 2u);
    EXPECT_TRUE(t.sockets(kNs + 1).empty());
    t.refresh({existing(2, 40001, kDb, kTimeWait)}, 2 * kSec);
    EXPECT_EQ(t.sockets(kNs).size(), 1u);
    EXPECT_EQ(t.previous(kNs).size(), 2u);
    EXPECT_EQ(t.namespaces(), std::vector<uint32_t>{kNs});
    EXPECT_EQ(t.taken_ns(), 2 * kSec);
}

TEST(SocketTable, RatesBetweenTwoPasses) {
    SocketTable t;
    t.refresh({existing(1, 40000, kDb, kEstablished)}, 10 * kSec);
    // 2 s later: 4 TIME-WAITs born toward kDb (one timer started twice),
    // all four still there; the live one is gone.
    for (uint64_t c : {11, 12, 13, 14}) t.event(tw_birth(c, static_cast<uint16_t>(40000 + c), kDb));
    t.event(tw_birth(12, 40012, kDb));
    std::vector<Event> pass;
    for (uint64_t c : {11, 12, 13, 14}) pass.push_back(existing(c, static_cast<uint16_t>(40000 + c), kDb, kTimeWait));
    pass.push_back(existing(20, 40020, kWeb, kEstablished));
    t.refresh(pass, 12 * kSec);
    auto all = t.busiest(ports(), kNs);
    ASSERT_EQ(all.size(), 2u);
    // Lean capture: new connections are the new cookies (4 to kDb, 1 to kWeb).
    EXPECT_EQ(format_endpoint({4, all[0].headroom.dest.daddr, all[0].headroom.dest.dport}), "10.0.0.5:5432");
    EXPECT_DOUBLE_EQ(all[0].connects_per_s, 2.0);
    EXPECT_DOUBLE_EQ(all[0].time_wait_per_s, 2.0);
    EXPECT_DOUBLE_EQ(all[0].growth_per_s, 1.5);  // 1 held, then 4
    EXPECT_EQ(all[0].headroom.headroom, 96u);
    EXPECT_DOUBLE_EQ(all[1].connects_per_s, 0.5);
    EXPECT_EQ(t.busiest(ports(), kNs, 1).size(), 1u);
}

TEST(SocketTable, SynSentRecordsCountConnects) {
    SocketTable t;
    t.refresh({}, 0);
    for (int i = 0; i < 6; ++i) {
        Event ev;
        ev.netns = kNs;
        ev.local = kClient;  // lport 0 on CLOSE -> SYN-SENT
        ev.remote = kDb;
        ev.old_state = kClose;
        ev.new_state = kSynSent;
        t.event(ev);
    }
    t.refresh({existing(1, 40000, kDb, kEstablished)}, 3 * kSec);
    auto all = t.busiest(ports(), kNs);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_DOUBLE_EQ(all[0].connects_per_s, 2.0);
}

// A server that closes first holds TIME-WAIT on its listening port: no
// destination's load, and the port is bound for every destination.
TEST(SocketTable, ServerTimeWaitIsNoDestinationLoad) {
    SocketTable t;
    t.refresh({existing(1, 40050, Endpoint{}, kListen)}, 0);
    t.event(tw_birth(5, 40050, ep(9, 41000)));
    t.refresh({existing(1, 40050, Endpoint{}, kListen), existing(5, 40050, ep(9, 41000), kTimeWait)}, kSec);
    auto all = t.busiest(ports(), kNs);
    EXPECT_TRUE(all.empty());
    auto h = headroom::compute_one(ports(), t.sockets(kNs), headroom::destination_of(kNs, kClient, kDb));
    EXPECT_EQ(h.bound, 1u);
    EXPECT_EQ(h.headroom, 99u);
}

TEST(SocketTable, ExhaustionFromTheRates) {
    SocketTable t;
    std::vector<Event> pass;
    t.refresh(pass, 0);
    for (uint16_t p = 0; p < 50; ++p) {
        t.event(tw_birth(100 + p, static_cast<uint16_t>(40000 + p), kDb));
        pass.push_back(existing(100 + p, static_cast<uint16_t>(40000 + p), kDb, kTimeWait));
    }
    t.refresh(pass, 10 * kSec);
    auto all = t.busiest(ports(), kNs);
    ASSERT_EQ(all.size(), 1u);
    // 5 TIME-WAIT/s x 60 s = 300 > 100 ports: exhausted in 50 / 5 s.
    EXPECT_DOUBLE_EQ(all[0].seconds_left, 10.0);
    // With reuse after 1 s, 5 ports are held at most: never.
    auto reuse = t.busiest(ports(1), kNs);
    EXPECT_EQ(reuse[0].seconds_left, headroom::kNever);
}

}  // namespace
}  // namespace tcplinger
