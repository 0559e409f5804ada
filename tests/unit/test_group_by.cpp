// stats --by comm (processes of one name summed, e.g. pre-forked workers)
// and --by raddr (a destination without its port).
#include <gtest/gtest.h>

#include <sstream>

#include "render/stats_format.hpp"
#include "stats/aggregator.hpp"

using namespace tcplinger;

namespace {
constexpr uint64_t kMs = 1'000'000;

Residency stay(uint32_t pid, const std::string& comm, uint8_t last_octet, uint16_t rport) {
    Residency r;
    r.state = kTimeWait;
    r.start_ns = 10 * kMs;
    r.end_ns = 60'010 * kMs;
    r.owner = Process{pid, comm, 0};
    r.local.addr = {127, 0, 0, 1};
    r.local.port = 40000;
    r.remote.addr = {10, 0, 0, last_octet};
    r.remote.port = rport;
    r.reason = EndReason::Expired;
    return r;
}

std::vector<GroupFigures> report(GroupBy by, const std::vector<Residency>& stays) {
    Filter all;
    Aggregator agg(by, all);
    for (const auto& r : stays) agg.add(r);
    Engine engine;
    return agg.report(engine, 70'000 * kMs);
}

// Three pre-forked workers named nginx (pids 10, 11, 12) and one curl.
std::vector<Residency> workload() {
    return {stay(10, "nginx", 1, 80), stay(11, "nginx", 1, 80),  stay(11, "nginx", 1, 443),
            stay(12, "nginx", 2, 80), stay(20, "curl", 1, 8080), stay(0, "", 3, 80)};
}
}  // namespace

TEST(GroupBy, CommSumsWorkersAndCountsThem) {
    auto groups = report(GroupBy::Comm, workload());
    ASSERT_EQ(groups.size(), 3u);  // "", curl, nginx
    std::map<std::string, const GroupFigures*> by;
    for (const auto& g : groups) by[g.key.comm] = &g;
    ASSERT_TRUE(by.count("nginx"));
    EXPECT_EQ(by["nginx"]->states.at(kTimeWait).entered, 4u);
    EXPECT_EQ(by["nginx"]->workers, 3u);
    EXPECT_EQ(by["curl"]->workers, 1u);
    EXPECT_EQ(by[""]->workers, 0u) << "an unknown owner is no worker";

    StatsReport r;
    r.by = GroupBy::Comm;
    r.groups = groups;
    std::ostringstream text;
    render_stats_text(text, r);
    EXPECT_NE(text.str().find("COMM xPIDS"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("\nnginx x3 "), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("\ncurl x1 "), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("\n- (unknown) "), std::string::npos) << text.str();
    std::ostringstream json;
    render_stats_json(json, r);
    EXPECT_NE(json.str().find("{\"comm\":\"nginx\",\"workers\":3,"), std::string::npos) << json.str();
    EXPECT_NE(json.str().find("{\"comm\":null,\"workers\":0,"), std::string::npos) << json.str();
}

TEST(GroupBy, RaddrFoldsThePorts) {
    auto groups = report(GroupBy::RemoteAddr, workload());
    ASSERT_EQ(groups.size(), 3u);  // 10.0.0.1, .2, .3
    std::map<std::string, uint64_t> entered;
    for (const auto& g : groups) entered[format_addr(4, g.key.remote.addr)] = g.states.at(kTimeWait).entered;
    EXPECT_EQ(entered["10.0.0.1"], 4u) << "ports 80, 443 and 8080 in one group";
    EXPECT_EQ(entered["10.0.0.2"], 1u);
    EXPECT_EQ(entered["10.0.0.3"], 1u);

    StatsReport r;
    r.by = GroupBy::RemoteAddr;
    r.groups = groups;
    std::ostringstream text;
    render_stats_text(text, r);
    EXPECT_EQ(text.str().rfind("RADDR ", 0), 0u) << text.str();
    EXPECT_NE(text.str().find("\n10.0.0.1 "), std::string::npos) << text.str();
    std::ostringstream json;
    render_stats_json(json, r);
    EXPECT_NE(json.str().find("{\"raddr\":\"10.0.0.1\",\"no_timewait\""), std::string::npos) << json.str();
}

TEST(GroupBy, NamesParseAndPrint) {
    for (const char* name : {"process", "comm", "endpoint", "raddr", "lport", "cgroup"})
        EXPECT_EQ(group_by_name(*parse_group_by(name)), name);
}
