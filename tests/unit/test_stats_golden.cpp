// stats' and report's every output, byte for byte, over a report that sets
// every figure they print: each --by, --state, --top cutting groups and
// holders, an --interval heading, held CLOSE-WAITs (at-least ages, a hostile
// comm), tw_overflow, no-TIME-WAIT and abort notes, end reasons, every loss
// figure non-zero and different, and the stderr summary line. The golden
// (tests/data/stats/every_figure.txt) is what tcplinger be9e4aa printed,
// before the rows moved to one field list each (render/fields_stats.hpp).
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>

#include "capture/live.hpp"
#include "record_util.hpp"
#include "render/stats_format.hpp"

using namespace tcplinger;

namespace {
const std::string kGolden = std::string(TL_TEST_DATA) + "/stats/every_figure.txt";

Endpoint endpoint(uint8_t family, uint8_t last, uint16_t port) {
    Endpoint e;
    e.family = family;
    if (family == 4)
        e.addr = {10, 0, 0, last};
    else
        e.addr[15] = last;
    e.port = port;
    return e;
}

StateFigures state(uint64_t entered, uint64_t present, uint64_t current, uint64_t oldest_ns, bool at_least,
                   std::initializer_list<uint64_t> stays) {
    StateFigures f;
    f.entered = entered;
    f.present_at_start = present;
    f.current = current;
    f.oldest_ns = oldest_ns;
    f.oldest_at_least = at_least;
    for (uint64_t ns : stays) f.residency.add(ns);
    return f;
}

GroupFigures group(uint32_t pid, std::string comm, uint64_t cgroup, Endpoint remote, uint16_t lport, uint32_t workers) {
    GroupFigures g;
    g.key = GroupKey{pid, std::move(comm), cgroup, remote, lport};
    g.workers = workers;
    return g;
}

std::vector<GroupFigures> groups() {
    std::vector<GroupFigures> out;
    GroupFigures a = group(4242, "a,b\"c\n\x1b[31m\xff", 77, endpoint(4, 2, 80), 7201, 3);
    a.states[kTimeWait] = state(12, 2, 5, 61'234'567'890ULL, false, {60'000'000'000ULL, 60'100'000'000ULL});
    a.states[kTimeWait].end_reasons = {{EndReason::Expired, 6}, {EndReason::Reused, 2}, {EndReason::Reset, 1}};
    a.states[kFinWait2] = state(4, 0, 1, 3'000'000, true, {1'000, 2'500'000, 145'800'000});
    a.states[kCloseWait] = state(3, 1, 2, 1'700'000'000, true, {6'000, 149'900'000});
    a.states[kLastAck] = state(3, 0, 0, 0, false, {24'000});
    a.no_timewait = 7;
    a.aborted = 2;
    HeldSocket h1{Process{4242, "a,b\"c\n\x1b[31m\xff", 77},
                  5,
                  901,
                  endpoint(4, 1, 7201),
                  endpoint(4, 2, 40000),
                  1'700'000'000,
                  true};
    HeldSocket h2{Process{4243, "worker", 77}, 9, 902, endpoint(6, 1, 7201), endpoint(6, 2, 40001), 9'876'543, false};
    a.holders = {h1, h2};
    out.push_back(a);

    GroupFigures b = group(99, "nginx", 0, endpoint(6, 9, 443), 80, 1);
    b.states[kTimeWait] = state(20, 0, 0, 0, false, {30'000'000'000ULL});
    b.states[kTimeWait].end_reasons = {{EndReason::Purged, 1}, {EndReason::Unknown, 3}};
    b.states[kCloseWait] = state(1, 0, 1, 12'000'000, false, {});
    b.states[kClosing] = state(1, 0, 0, 0, false, {5'000'000});
    HeldSocket h3{Process{99, "nginx", 0}, 12, 903, endpoint(4, 3, 80), endpoint(4, 4, 50000), 12'000'000, false};
    b.holders = {h3};
    out.push_back(b);

    GroupFigures c;  // unknown owner
    c.key.remote = endpoint(4, 5, 25);
    c.states[kTimeWait] = state(1, 0, 1, 900'000, false, {});
    out.push_back(c);
    return out;
}

StatsReport report(GroupBy by) {
    StatsReport r;
    r.by = by;
    r.groups = groups();
    r.duration_ns = 12'345'678'901ULL;
    r.drops = DropCounters{1000, 3, 1, 2, 5, 4, 7, 9};
    r.engine.duplicates = 2;
    r.engine.unknown_sockets = 11;
    r.engine.evicted = 13;
    r.tw_overflow = {{4026531840u, 4}, {4026532000u, 0}};
    r.cgroup_name = [](uint64_t id) { return id == 77 ? std::string("/system.slice/evil\n.service") : std::string(); };
    return r;
}

struct Variant {
    std::string name;
    StatsReport r;
};

std::string every_output() {
    setenv("TZ", "UTC", 1);
    tzset();
    std::vector<Variant> variants;
    for (GroupBy by :
         {GroupBy::Process, GroupBy::Endpoint, GroupBy::LocalPort, GroupBy::Cgroup, GroupBy::Comm, GroupBy::RemoteAddr})
        variants.push_back({std::string("--by ").append(group_by_name(by)), report(by)});
    Variant sorted{"--state CLOSE-WAIT --top 1, --interval", report(GroupBy::Process)};
    sorted.r.sort_state = kCloseWait;
    sorted.r.top = 1;
    sorted.r.wall_ns = 1'764'000'000'123'456'789ULL;
    variants.push_back(std::move(sorted));
    Variant empty{"nothing seen", StatsReport{}};
    variants.push_back(std::move(empty));

    std::ostringstream out;
    for (const Variant& v : variants) {
        out << "#### " << v.name << " (text)\n";
        render_stats_text(out, v.r);
        out << "#### " << v.name << " (-j)\n";
        render_stats_json(out, v.r);
        out << "#### " << v.name << " (summary)\n" << drops_line(v.r.drops, v.r.engine) << "\n";
    }
    return out.str();
}
}  // namespace

TEST(StatsGolden, EveryFigureOfEveryOutputByteForByte) {
    std::string golden = rectest::slurp(kGolden);
    ASSERT_FALSE(golden.empty()) << "missing " << kGolden;
    EXPECT_EQ(every_output(), golden);
}
