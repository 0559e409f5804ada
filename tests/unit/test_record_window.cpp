// --from/--to parsing, and CSV made from JSON lines.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <sstream>

#include "core/error.hpp"
#include "core/time_window.hpp"
#include "render/csv_format.hpp"

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

TEST(Csv, FromFlatJsonLines) {
    std::ostringstream out;
    CsvWriter csv(out);
    EXPECT_TRUE(csv.json_line(R"({"ts":"2026-11-22T09:44:53.000001Z","pid":12,"comm":"a,b","owner":null,"x":true})"));
    EXPECT_TRUE(csv.json_line(R"({"ts":"t","pid":null,"comm":"say \"hi\"\n","owner":"\u00e9","x":false})"));
    EXPECT_FALSE(csv.json_line(R"({"nested":{"a":1}})"));
    EXPECT_FALSE(csv.json_line("not json"));
    EXPECT_EQ(out.str(),
              "ts,pid,comm,owner,x\n"
              "2026-11-22T09:44:53.000001Z,12,\"a,b\",,true\n"
              "t,,\"say \"\"hi\"\"\n\",\xc3\xa9,false\n");  // \u00e9 is U+00E9, written as UTF-8
}
