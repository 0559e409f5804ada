// A recorded run (tests/data/replay/run.tlr) replayed through every output,
// compared byte for byte with what tcplinger printed for it before trace's
// outputs moved to one field list (render/fields_trace.hpp): text, -T, JSON
// Lines, CSV, and report's text and JSON. The recording holds a hostile comm
// (quote, comma, line break, ESC, a byte that is not UTF-8), so each output's
// escaping is covered too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "record_util.hpp"

using namespace rectest;

namespace {
const std::string kDir = std::string(TL_TEST_DATA) + "/replay/";

std::string golden(const std::string& name) {
    std::string text = slurp(kDir + name);
    EXPECT_FALSE(text.empty()) << "missing " << kDir + name;
    return text;
}

// Local time is the text table's: the golden files are in UTC.
CliResult run_utc(std::vector<std::string> args) {
    setenv("TZ", "UTC", 1);
    tzset();
    return run_cli(std::move(args));
}

struct Case {
    std::vector<std::string> args;
    std::string out, err;
};

// Each command exits 0 and prints its golden stdout and stderr.
void expect_goldens(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
        std::string cmd;
        for (const auto& a : c.args) cmd += a + " ";
        CliResult r = run_utc(c.args);
        EXPECT_EQ(r.code, 0) << cmd << r.err;
        EXPECT_EQ(r.out, golden(c.out)) << cmd;
        EXPECT_EQ(r.err, golden(c.err)) << cmd;
    }
}
}  // namespace

TEST(GoldenReplay, EveryOutputByteForByte) {
    const std::string rec = kDir + "run.tlr";
    const std::vector<Case> cases = {
        {{"trace", "-i", rec}, "trace.txt", "replay.err"},
        {{"trace", "-i", rec, "-T"}, "trace_T.txt", "replay.err"},
        {{"trace", "-i", rec, "-j"}, "trace.jsonl", "replay.err"},
        {{"export", "-i", rec, "--format", "jsonl"}, "trace.jsonl", "export.err"},
        {{"export", "-i", rec, "--format", "csv"}, "export.csv", "export.err"},
        {{"report", "-i", rec}, "report.txt", "replay.err"},
        {{"report", "-i", rec, "-j"}, "report.json", "replay.err"},
        {{"report", "-i", rec, "-j", "--by", "endpoint"}, "report_ep.json", "replay.err"},
    };
    expect_goldens(cases);
}

// report's other groupings and the sort/--top variants, as be9e4aa printed
// them, before stats' rows moved to one field list each
// (render/fields_stats.hpp): tests/data/replay/report_by/.
TEST(GoldenReplay, ReportEveryGroupingByteForByte) {
    const std::string rec = kDir + "run.tlr";
    std::vector<Case> cases;
    for (const char* by : {"endpoint", "lport", "cgroup", "comm", "raddr"}) {
        cases.push_back({{"report", "-i", rec, "--by", by}, std::string("report_by/") + by + ".txt", "replay.err"});
        if (std::string(by) != "endpoint")  // report_ep.json is EveryOutputByteForByte's
            cases.push_back(
                {{"report", "-i", rec, "-j", "--by", by}, std::string("report_by/") + by + ".json", "replay.err"});
    }
    cases.push_back(
        {{"report", "-i", rec, "--state", "CLOSE-WAIT", "--top", "1"}, "report_by/cw_top1.txt", "replay.err"});
    cases.push_back(
        {{"report", "-i", rec, "-j", "--state", "CLOSE-WAIT", "--top", "1"}, "report_by/cw_top1.json", "replay.err"});
    expect_goldens(cases);
}
