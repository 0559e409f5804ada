// --from/--to parsing, and CSV made from JSON lines.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <sstream>

#include "core/error.hpp"
#include "core/time_window.hpp"
#include "lifecycle/engine.hpp"
#include "render/fields_trace.hpp"
#include "render/trace_format.hpp"

using namespace tcplinger;

namespace {
constexpr uint64_t kSec = 1'000'000'000;
// 2026-11-22T09:44:53Z
constexpr uint64_t kNow = 1795340693ULL * kSec;

struct Tz {
    explicit Tz(const char* tz) {
        setenv("TZ", tz, 1);
        tzset();
    }
    ~Tz() {
        unsetenv("TZ");
        tzset();
    }
};
}  // namespace

TEST(TimeWindow, ParsesTheDocumentedForms) {
    Tz utc("UTC");
    EXPECT_EQ(parse_wall_time("2026-11-22T09:44:53Z", kNow), kNow);
    EXPECT_EQ(parse_wall_time("2026-11-22T09:44:53.25Z", kNow), kNow + kSec / 4);
    EXPECT_EQ(parse_wall_time("2026-11-22T10:44:53+01:00", kNow), kNow);
    EXPECT_EQ(parse_wall_time("2026-11-22T08:44:53-0100", kNow), kNow);
    EXPECT_EQ(parse_wall_time("2026-11-22 09:44:53", kNow), kNow);
    EXPECT_EQ(parse_wall_time("2026-11-22 09:44", kNow), kNow - 53 * kSec);
    EXPECT_EQ(parse_wall_time("2026-11-22", kNow), kNow - (9 * 3600 + 44 * 60 + 53) * kSec);
    EXPECT_EQ(parse_wall_time("09:44:53", kNow), kNow) << "today";
    EXPECT_EQ(parse_wall_time("03:12", kNow), kNow - (9 * 3600 + 44 * 60 + 53) * kSec + (3 * 3600 + 12 * 60) * kSec);
    EXPECT_EQ(parse_wall_time("@1795340693", kNow), kNow);
    EXPECT_EQ(parse_wall_time("@1795340693.000000001", kNow), kNow + 1);
    for (const char* bad : {"", "yesterday", "25:00", "09:61", "2026-13-01", "2026-11-22T09:44:53Q", "@", "@x",
                            "2026-11-22 09:44:53 junk", "9:44"})
        EXPECT_FALSE(parse_wall_time(bad, kNow)) << bad;
}

TEST(TimeWindow, LocalTimeFollowsTheZone) {
    Tz berlin("Europe/Berlin");
    EXPECT_EQ(parse_wall_time("2026-11-22 10:44:53", kNow), kNow);  // CET, UTC+1 in November
    EXPECT_EQ(parse_wall_time("2026-11-22T10:44:53", kNow), kNow);
    EXPECT_EQ(parse_wall_time("2026-11-22T09:44:53Z", kNow), kNow);
}

TEST(TimeWindow, BothEnds) {
    TimeWindow w = parse_window("@10", "@20", kNow);
    EXPECT_EQ(w.from, 10 * kSec);
    EXPECT_EQ(w.to, 20 * kSec);
    EXPECT_TRUE(w.contains(10 * kSec));
    EXPECT_FALSE(w.contains(20 * kSec));
    TimeWindow open = parse_window("", "", kNow);
    EXPECT_FALSE(open.has_from() || open.has_to());
    EXPECT_THROW(parse_window("@20", "@10", kNow), FatalError);
    try {
        parse_window("tomorrow", "", kNow);
        FAIL();
    } catch (const FatalError& e) {
        EXPECT_NE(std::string(e.what()).find("bad --from 'tomorrow'"), std::string::npos);
    }
}

// export --format csv: trace -j's fields from the same field list, a header
// before the first row only, null empty, RFC 4180 quoting, UTF-8 strings.
TEST(Csv, RowsFromTraceFields) {
    std::ostringstream out;
    {
        TraceRenderer csv(out, TraceStyle{false, false, true}, WallClock{1'795'000'000'000'000'000LL});
        Transition t;
        t.ts_ns = 1'000;
        t.cookie = 9;
        t.local.addr = {127, 0, 0, 1};
        t.local.port = 80;
        t.old_state = kFinWait2;
        t.new_state = kTimeWait;
        t.actor = Process{12, "a,b", 0};
        t.owner = Process{12, "say \"hi\"\n\xe9", 0};  // 0xe9 is not UTF-8: U+00E9
        t.prev_ns = 1'500'000;
        csv.line(t);
        t.actor = Process{};
        t.tid = 13;
        t.prev_ns.reset();
        t.reason = EndReason::Expired;
        csv.line(t);
    }
    std::string header;
    for (const auto& f : trace_fields()) header.append(header.empty() ? "" : ",").append(f.name);
    EXPECT_EQ(out.str(), header +
                             "\n"
                             "2026-11-18T11:06:40.000001Z,1000,12,,\"a,b\",12,\"say \"\"hi\"\"\n\xc3\xa9\",false,9,0,4,"
                             "127.0.0.1,80,0.0.0.0,0,FIN-WAIT-2,TIME-WAIT,1.500,false,0.000,false,\n"
                             "2026-11-18T11:06:40.000001Z,1000,,13,,12,\"say \"\"hi\"\"\n\xc3\xa9\",false,9,0,4,"
                             "127.0.0.1,80,0.0.0.0,0,FIN-WAIT-2,TIME-WAIT,,false,,false,expired\n");
}

// The field list is the README's "JSON output" table, in trace -j's order.
TEST(Csv, TraceFieldNames) {
    std::string names;
    for (const auto& f : trace_fields()) names += std::string(f.name) + " ";
    EXPECT_EQ(names,
              "ts ts_ns pid tid comm owner_pid owner_comm in_task cookie netns family laddr lport raddr rport old new "
              "prev_ms prev_at_least prev_ms_err timewait reason ");
}
