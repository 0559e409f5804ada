// The lean pass (ctest lean.*, TL_TEST_LEAN=1, see tests/CMakeLists.txt) must
// really run the BPF side lean, as `stats` does. This test runs only in that
// pass and fails when it does not: once, the environment never reached the
// tests and all 13 lean.Lifecycle.* entries ran in full mode.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "harness.hpp"

namespace tltest {
namespace {

TEST(LeanMode, SetUpIsNotShippedAndEachTimeWaitIsOneBirthRecord) {
    ASSERT_TRUE(lean_session()) << "TL_TEST_LEAN=1 did not reach the test: see the lean pass in tests/CMakeLists.txt";
    Netns ns;
    const uint16_t port = 7301;
    const int kConns = 10;
    Session s(ns);
    pid_t child = spawn_in(ns, [&] {
        int l = tcp_listen(AF_INET, port);
        connect_close_client_first(l, AF_INET, port, kConns);
        return 0;
    });
    ASSERT_EQ(s.wait(child), 0);
    s.pump(0.3);
    Captured cap = s.finish();
    // Records the kernel shipped, by what lean mode does with them
    // (bpf/lean.bpf.h: ships_transition, TL_EV_TW_BIRTH).
    int setup = 0, births = 0, tw_starts = 0;
    for (const Event& ev : cap.events) {
        if (ev.kind == EventKind::State &&
            (ev.new_state == kSynSent || ev.new_state == kSynRecv || ev.new_state == kEstablished ||
             ev.new_state == kListen || ev.new_state == kFinWait1))
            ++setup;
        if (ev.kind == EventKind::TwBirth) ++births;
        if (ev.kind == EventKind::TwStart) ++tw_starts;
    }
    // Full mode ships each connection's set-up and ESTABLISHED -> FIN-WAIT-1
    // (5 records), a TwStart per timewait socket, and never a TwBirth.
    EXPECT_EQ(setup, 0);
    EXPECT_EQ(births, kConns);
    EXPECT_EQ(tw_starts, 0);
    EXPECT_EQ(cap.drops.lost(), 0u);
}

}  // namespace
}  // namespace tltest
