#include <gtest/gtest.h>

#include <cstring>

#include "core/abi_check.hpp"
#include "core/event.hpp"

using namespace tcplinger;

TEST(StateNames, MatchSsSpelling) {
    EXPECT_EQ(state_name(kTimeWait), "TIME-WAIT");
    EXPECT_EQ(state_name(kFinWait2), "FIN-WAIT-2");
    EXPECT_EQ(state_name(kCloseWait), "CLOSE-WAIT");
    EXPECT_EQ(state_name(kSynSent), "SYN-SENT");
    EXPECT_EQ(state_name(200), "UNKNOWN");
}

TEST(StateNames, ParseAcceptsSsKernelAndNumbers) {
    EXPECT_EQ(parse_state("TIME-WAIT"), kTimeWait);
    EXPECT_EQ(parse_state("time_wait"), kTimeWait);
    EXPECT_EQ(parse_state("TCP_FIN_WAIT2"), kFinWait2);
    EXPECT_EQ(parse_state("FIN-WAIT-2"), kFinWait2);
    EXPECT_EQ(parse_state("ESTAB"), kEstablished);
    EXPECT_EQ(parse_state("8"), kCloseWait);
    EXPECT_FALSE(parse_state("13"));
    EXPECT_FALSE(parse_state("WAITING"));
    EXPECT_FALSE(parse_state(""));
}

TEST(Decode, RoundTripsEveryField) {
    tl_event raw{};
    raw.kind = TL_EV_STATE;
    raw.abi = TL_ABI_VERSION;
    raw.ts_ns = 123456789;
    raw.cookie = 42;
    raw.netns = 4026531840u;
    raw.family = 6;
    raw.laddr[15] = 1;
    raw.raddr[15] = 1;
    raw.lport = 40000;
    raw.rport = 80;
    raw.old_state = kEstablished;
    raw.new_state = kFinWait1;
    raw.flags = TL_F_TASK_CTX | TL_F_OWNER_KNOWN;
    raw.pid = 10;
    raw.tid = 11;
    raw.cgroup_id = 7;
    std::strcpy(raw.comm, "curl");
    raw.owner_pid = 10;
    raw.owner_cgroup = 7;
    std::strcpy(raw.owner_comm, "curl");
    raw.aux0 = 5;
    raw.hz = 250;
    auto ev = decode(raw);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->kind, EventKind::State);
    EXPECT_EQ(ev->task.comm, "curl");
    EXPECT_EQ(ev->owner.pid, 10u);
    EXPECT_TRUE(ev->in_task());
    EXPECT_EQ(format_endpoint(ev->local), "[::1]:40000");
    tl_event back = encode(*ev);
    EXPECT_EQ(std::memcmp(&back, &raw, sizeof(raw)), 0);
}

TEST(Decode, RejectsOtherAbiAndGarbage) {
    tl_event raw{};
    raw.kind = TL_EV_STATE;
    raw.family = 4;
    raw.abi = TL_ABI_VERSION + 1;
    EXPECT_FALSE(decode(raw));
    raw.abi = TL_ABI_VERSION;
    raw.kind = 99;
    EXPECT_FALSE(decode(raw));
    raw.kind = TL_EV_STATE;
    raw.family = 2;
    EXPECT_FALSE(decode(raw));
}

TEST(Decode, CommWithoutTerminatorIsBounded) {
    tl_event raw{};
    raw.kind = TL_EV_STATE;
    raw.abi = TL_ABI_VERSION;
    raw.family = 4;
    std::memset(raw.comm, 'x', sizeof(raw.comm));
    auto ev = decode(raw);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->task.comm.size(), 16u);
}

TEST(Format, Ipv4AndMappedAddresses) {
    Endpoint ep;
    ep.family = 4;
    ep.addr = {127, 0, 0, 1};
    ep.port = 80;
    EXPECT_EQ(format_endpoint(ep), "127.0.0.1:80");
    Endpoint m;
    m.family = 6;
    m.addr = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
    m.port = 443;
    EXPECT_EQ(format_endpoint(m), "[::ffff:10.1.2.3]:443");
}
