// Renderers against golden text.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <vector>

#include "../common/json.hpp"
#include "record/codec.hpp"
#include "record/format.hpp"
#include "render/escape.hpp"
#include "render/fields_trace.hpp"
#include "render/json.hpp"
#include "render/stats_format.hpp"
#include "render/trace_format.hpp"

using namespace tcplinger;

namespace {
Transition sample() {
    Transition t;
    t.ts_ns = 5'000'000'000ULL;
    t.cookie = 77;
    t.netns = 4026531840u;
    t.local.family = t.remote.family = 4;
    t.local.addr = {127, 0, 0, 1};
    t.remote.addr = {10, 0, 0, 2};
    t.local.port = 40000;
    t.remote.port = 80;
    t.old_state = kTimeWait;
    t.new_state = kClose;
    t.prev_ns = 60'020'000'000ULL;
    t.actor = Process{1234, "curl", 0};
    t.owner = Process{1234, "curl", 0};
    t.reason = EndReason::Expired;
    t.timewait = true;
    return t;
}

WallClock fixed_clock() {
    WallClock c;
    c.offset_ns = 1'795'000'000'000'000'000LL - 5'000'000'000LL;  // ts 5 s -> 2026-11-18T...
    return c;
}

struct Utc {
    Utc() {
        setenv("TZ", "UTC", 1);
        tzset();
    }
};
}  // namespace

TEST(TraceFormat, TextLineGolden) {
    Utc utc;
    std::ostringstream out;
    TraceRenderer r(out, TraceStyle{false, true}, fixed_clock());
    r.line(sample());
    EXPECT_EQ(out.str(),
              "11:06:40.000 1234    curl            127.0.0.1:40000           10.0.0.2:80               "
              "TIME-WAIT -> CLOSE          60020.000 expired\n");
}

TEST(TraceFormat, UnknownPrevAndOwnerAreDashesNotZero) {
    Utc utc;
    Transition t = sample();
    t.prev_ns.reset();
    t.actor = Process{};
    t.reason = EndReason::None;
    t.local.family = t.remote.family = 6;
    t.local.addr = {};
    t.local.addr[15] = 1;
    t.remote.addr = t.local.addr;
    std::ostringstream out;
    TraceRenderer r(out, TraceStyle{false, false}, fixed_clock());
    r.line(t);
    EXPECT_EQ(out.str(),
              "2026-11-18 11:06:40.000000 -       -               [::1]:40000               [::1]:80                  "
              "TIME-WAIT -> CLOSE          -\n");
}

TEST(TraceFormat, JsonGolden) {
    std::ostringstream out;
    TraceRenderer r(out, TraceStyle{true, false}, fixed_clock());
    r.line(sample());
    EXPECT_EQ(out.str(),
              "{\"ts\":\"2026-11-18T11:06:40.000000Z\",\"ts_ns\":5000000000,\"pid\":1234,\"tid\":null,"
              "\"comm\":\"curl\",\"owner_pid\":1234,\"owner_comm\":\"curl\",\"in_task\":false,\"cookie\":77,"
              "\"netns\":4026531840,\"family\":4,\"laddr\":\"127.0.0.1\",\"lport\":40000,\"raddr\":\"10.0.0.2\","
              "\"rport\":80,\"old\":\"TIME-WAIT\",\"new\":\"CLOSE\",\"prev_ms\":60020.000,\"prev_at_least\":false,"
              "\"prev_ms_err\":0.000,\"timewait\":true,\"reason\":\"expired\"}\n");
    EXPECT_TRUE(parse_json(out.str()));
}

TEST(TraceFormat, JsonEscapesComm) {
    Transition t = sample();
    t.actor.comm = "we\"ird\\\x01";
    std::ostringstream out;
    TraceRenderer r(out, TraceStyle{true, false}, fixed_clock());
    r.line(t);
    auto v = parse_json(out.str());
    ASSERT_TRUE(v);
    EXPECT_EQ((*v).at("comm").get<std::string>(), "we\"ird\\\x01");
}

namespace {
StatsReport sample_report() {
    Filter all;
    Aggregator agg(GroupBy::Process, all);
    Process curl{1234, "curl", 0}, nginx{99, "nginx", 0};
    for (int i = 0; i < 3; ++i) {
        Residency r;
        r.state = kTimeWait;
        r.owner = curl;
        r.start_ns = 0;
        r.end_ns = 60'000'000'000ULL + i * 1'000'000'000ULL;
        r.reason = i == 2 ? EndReason::Reused : EndReason::Expired;
        agg.add(r);
    }
    Residency cw;
    cw.state = kCloseWait;
    cw.owner = nginx;
    cw.end_ns = 2'000'000;
    agg.add(cw);
    Engine empty;
    StatsReport rep;
    rep.groups = agg.report(empty, 0);
    rep.duration_ns = 90'000'000'000ULL;
    return rep;
}
}  // namespace

TEST(StatsFormat, JsonHasEveryDocumentedFigure) {
    std::ostringstream out;
    render_stats_json(out, sample_report());
    auto v = parse_json(out.str());
    ASSERT_TRUE(v) << out.str();
    const auto& groups = (*v).at("groups");
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].at("pid").get<double>(), 1234);  // sorted by TIME-WAIT count
    EXPECT_EQ(groups[0].at("comm").get<std::string>(), "curl");
    const auto& tw = groups[0].at("states").at("TIME-WAIT");
    EXPECT_EQ(tw.at("entered").get<double>(), 3);
    EXPECT_EQ(tw.at("current").get<double>(), 0);
    EXPECT_NEAR(tw.at("p50_ms").get<double>(), 61000, 61000 * 0.02);
    EXPECT_EQ(tw.at("max_ms").get<double>(), 62000);
    EXPECT_TRUE(tw.at("oldest_ms").is_null());
    EXPECT_EQ(groups[1].at("states").at("CLOSE-WAIT").at("entered").get<double>(), 1);
    EXPECT_EQ((*v).at("time_wait_end_reasons").at("expired").get<double>(), 2);
    EXPECT_EQ((*v).at("time_wait_end_reasons").at("reused").get<double>(), 1);
    EXPECT_EQ((*v).at("dropped").at("total").get<double>(), 0);
    EXPECT_TRUE(v->contains("evicted"));
    for (const char* s : {"TIME-WAIT", "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK", "CLOSING"})
        EXPECT_TRUE((*v).at("states").contains(s)) << s;
}

TEST(StatsFormat, TextTableAndHistogramGolden) {
    std::ostringstream out;
    render_stats_text(out, sample_report());
    const std::string text = out.str();
    EXPECT_NE(text.find("1234 curl                           3        0    60934.8    62000.0    62000.0          -"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("TIME-WAIT: entered 3, present at start 0, now 0, ended: expired 2 reused 1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("     32768 -> 65535    : 3        |****************************************|"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("lost 0 (ring buffer 0, recursion 0), evicted 0"), std::string::npos) << text;
}

// --top N bounds -j as it bounds the table (it was ignored with -j);
// groups_total says how many there were.
TEST(StatsFormat, TopLimitsJsonGroups) {
    StatsReport rep = sample_report();
    rep.top = 1;
    std::ostringstream json, text;
    render_stats_json(json, rep);
    auto v = parse_json(json.str());
    ASSERT_TRUE(v) << json.str();
    ASSERT_EQ((*v).at("groups").size(), 1u) << json.str();
    EXPECT_EQ((*v).at("groups")[0].at("comm").get<std::string>(), "curl");
    EXPECT_EQ((*v).at("groups_total").get<double>(), 2);
    EXPECT_EQ((*v).at("states").at("CLOSE-WAIT").at("entered").get<double>(), 1) << "totals keep every group";
    render_stats_text(text, rep);
    EXPECT_NE(text.str().find("(1 more groups; use --top)"), std::string::npos) << text.str();
}

// --state S sorts by S and shows S's columns first; the other states keep
// their counts (they were zeroed).
TEST(StatsFormat, SortStateLeavesOtherColumns) {
    StatsReport rep = sample_report();
    rep.sort_state = kCloseWait;
    std::ostringstream out;
    render_stats_text(out, rep);
    const std::string text = out.str();
    EXPECT_NE(text.find("CW-IN"), std::string::npos) << text;
    size_t nginx = text.find("99 nginx"), curl = text.find("1234 curl");
    ASSERT_NE(nginx, std::string::npos);
    ASSERT_NE(curl, std::string::npos);
    EXPECT_LT(nginx, curl) << "sorted by CLOSE-WAIT\n" << text;
    std::string curl_row = text.substr(curl, text.find('\n', curl) - curl);
    EXPECT_NE(curl_row.find("       3       0"), std::string::npos) << "TW-IN 3 TW-NOW 0 in " << curl_row;
}

// --interval reports: each carries its time (a heading, or "ts"); the one
// report of a run without --interval has none.
TEST(StatsFormat, IntervalReportsCarryTheirTime) {
    StatsReport rep = sample_report();
    std::ostringstream plain, plain_json;
    render_stats_text(plain, rep);
    render_stats_json(plain_json, rep);
    EXPECT_EQ(plain.str().find("==="), std::string::npos);
    EXPECT_EQ(plain_json.str().find("\"ts\""), std::string::npos);
    rep.wall_ns = 1'764'000'000'123'456'789ULL;  // 2025-11-24T16:00:00.123456Z
    rep.duration_ns = 10'000'000'000ULL;
    std::ostringstream text, json;
    render_stats_text(text, rep);
    render_stats_json(json, rep);
    EXPECT_EQ(text.str().rfind("=== " + format_datetime(rep.wall_ns).substr(0, 19) + ", 10.0 s since start ===\n", 0),
              0u)
        << text.str();
    auto v = parse_json(json.str());
    ASSERT_TRUE(v) << json.str();
    EXPECT_EQ((*v).at("ts").get<std::string>(), "2025-11-24T16:00:00.123456Z");
}

// ---- the buffered renderer against the printf/ostream code it replaced ----
namespace {
// The renderer as it was before lines were built in one buffer: the oracle
// for byte-for-byte equality.
std::string printf_millis(uint64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ns) / 1e6);
    return buf;
}

// UTF-8 by decoding: the value, then whether its length was the shortest
// (no overlong form), and not a surrogate nor beyond U+10FFFF.
unsigned ref_code_point(std::string_view s) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    if (s.size() == 1) return b(0);
    unsigned v = b(0) & (0x7f >> s.size());
    for (size_t k = 1; k < s.size(); ++k) v = v << 6 | (b(k) & 0x3f);
    return v;
}

size_t ref_utf8_length(std::string_view s, size_t i) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
    unsigned v = ref_code_point(s.substr(i, n));
    const unsigned shortest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < shortest[n] || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff) return 0;
    return n;
}

// Text escaping as documented (render/escape.hpp), written out plainly.
std::string ref_text(std::string_view s, size_t max_width = std::string::npos) {
    std::vector<std::string> units;
    for (unsigned char c : s) {
        char b[8];
        if (c == '\\')
            units.push_back("\\\\");
        else if (c == '\n')
            units.push_back("\\n");
        else if (c == '\t')
            units.push_back("\\t");
        else if (c == '\r')
            units.push_back("\\r");
        else if (c < 0x20 || c >= 0x7f) {
            std::snprintf(b, sizeof(b), "\\x%02x", c);
            units.push_back(b);
        } else {
            units.push_back(std::string(1, static_cast<char>(c)));
        }
    }
    std::string all;
    for (const auto& u : units) all += u;
    if (all.size() <= max_width) return all;
    if (max_width == 0) return "";
    std::string cut;
    for (const auto& u : units) {
        if (cut.size() + u.size() > max_width - 1) break;
        cut += u;
    }
    return cut + "~";
}

std::string reference_line(const Transition& t, TraceStyle style, WallClock clock) {
    uint64_t wall = clock.wall(t.ts_ns);
    auto strf = [&](const char* fmt, bool utc) {
        time_t secs = static_cast<time_t>(wall / 1'000'000'000ULL);
        struct tm tm {};
        if (utc)
            gmtime_r(&secs, &tm);
        else
            localtime_r(&secs, &tm);
        char buf[64];
        std::strftime(buf, sizeof(buf), fmt, &tm);
        return std::string(buf);
    };
    char frac[16];
    std::ostringstream out;
    if (style.json) {
        auto jstr = [&](std::string_view s) {
            out << '"';
            for (size_t i = 0; i < s.size(); ++i) {
                auto c = static_cast<unsigned char>(s[i]);
                size_t n = c >= 0x80 ? ref_utf8_length(s, i) : 1;
                char b[8];
                switch (c) {
                    case '"':
                        out << "\\\"";
                        break;
                    case '\\':
                        out << "\\\\";
                        break;
                    case '\n':
                        out << "\\n";
                        break;
                    case '\t':
                        out << "\\t";
                        break;
                    default:
                        if (c < 0x20 || c == 0x7f || n == 0) {
                            std::snprintf(b, sizeof(b), "\\u%04x", c);
                            out << b;
                        } else if (n == 2 && ref_code_point(s.substr(i, 2)) < 0xa0) {  // C1 control
                            std::snprintf(b, sizeof(b), "\\u%04x", ref_code_point(s.substr(i, 2)));
                            out << b;
                            ++i;
                        } else {
                            out << s.substr(i, n);
                            i += n - 1;
                        }
                }
            }
            out << '"';
        };
        std::snprintf(frac, sizeof(frac), ".%06uZ", static_cast<unsigned>((wall % 1'000'000'000ULL) / 1000));
        out << "{\"ts\":\"" << strf("%Y-%m-%dT%H:%M:%S", true) + frac << "\",\"ts_ns\":" << t.ts_ns;
        out << ",\"pid\":";
        if (t.actor.known())
            out << t.actor.pid;
        else
            out << "null";
        out << ",\"tid\":";
        if (t.tid)
            out << t.tid;
        else
            out << "null";
        out << ",\"comm\":";
        if (t.actor.known())
            jstr(t.actor.comm);
        else
            out << "null";
        out << ",\"owner_pid\":";
        if (t.owner.known())
            out << t.owner.pid;
        else
            out << "null";
        out << ",\"owner_comm\":";
        if (t.owner.known())
            jstr(t.owner.comm);
        else
            out << "null";
        out << ",\"in_task\":" << (t.in_task ? "true" : "false");
        out << ",\"cookie\":" << t.cookie << ",\"netns\":" << t.netns;
        out << ",\"family\":" << static_cast<int>(t.local.family);
        out << ",\"laddr\":\"" << format_addr(t.local.family, t.local.addr) << "\",\"lport\":" << t.local.port;
        out << ",\"raddr\":\"" << format_addr(t.remote.family, t.remote.addr) << "\",\"rport\":" << t.remote.port;
        out << ",\"old\":\"" << state_name(t.old_state) << "\",\"new\":\"" << state_name(t.new_state) << "\"";
        out << ",\"prev_ms\":";
        if (t.prev_ns)
            out << printf_millis(*t.prev_ns);
        else
            out << "null";
        out << ",\"prev_at_least\":" << (t.prev_at_least ? "true" : "false");
        out << ",\"prev_ms_err\":";
        if (t.prev_ns)
            out << printf_millis(t.prev_err_ns);
        else
            out << "null";
        out << ",\"timewait\":" << (t.timewait ? "true" : "false");
        out << ",\"reason\":";
        if (t.reason != EndReason::None)
            out << '"' << end_reason_name(t.reason) << '"';
        else
            out << "null";
        out << "}\n";
        return out.str();
    }
    std::string when;
    if (style.hms) {
        std::snprintf(frac, sizeof(frac), ".%03u", static_cast<unsigned>((wall % 1'000'000'000ULL) / 1'000'000));
        when = strf("%H:%M:%S", false) + frac;
    } else {
        std::snprintf(frac, sizeof(frac), ".%06u", static_cast<unsigned>((wall % 1'000'000'000ULL) / 1000));
        when = strf("%Y-%m-%d %H:%M:%S", false) + frac;
    }
    std::string pid = t.actor.known() ? std::to_string(t.actor.pid) : "-";
    std::string comm = t.actor.known() ? ref_text(t.actor.comm, 64) : "-";
    std::string extra = "-";
    if (t.prev_ns) extra = (t.prev_at_least ? ">=" : "") + printf_millis(*t.prev_ns);
    if (t.reason != EndReason::None) extra += " " + std::string(end_reason_name(t.reason));
    std::string transition = std::string(state_name(t.old_state)) + " -> " + std::string(state_name(t.new_state));
    char buf[1024];  // every line whole: the comm is cut at 64 characters
    std::snprintf(buf, sizeof(buf), "%-*s %-7s %-15s %-25s %-25s %-27s %s\n", style.hms ? 12 : 26, when.c_str(),
                  pid.c_str(), comm.c_str(), format_endpoint(t.local).c_str(), format_endpoint(t.remote).c_str(),
                  transition.c_str(), extra.c_str());
    return buf;
}

// Durations of every magnitude, with the awkward cases over-represented:
// exact microsecond midpoints, midpoints that are exact in binary (k *
// 62500 ns), and the neighbourhood of 2^53 where doubles stop being exact.
uint64_t awkward_ns(std::mt19937_64& rng) {
    uint64_t r = rng();
    switch (r % 8) {
        case 0:
            return (rng() % 100'000'000'000'000ULL) / 1000 * 1000 + 499 + rng() % 3;
        case 1:
            return (rng() % 1'000'000'000'000ULL) * 62'500;
        case 2:
            return (1ULL << 53) - 5000 + rng() % 10'000;
        case 3:
            return rng();  // beyond any real duration: the printf fallback
        default:
            return rng() >> (rng() % 64);
    }
}
}  // namespace

TEST(TraceFormat, MillisMatchesPrintfForEveryMagnitude) {
    std::mt19937_64 rng(20261118);
    std::vector<uint64_t> edges = {0,
                                   1,
                                   499,
                                   500,
                                   501,
                                   999,
                                   1000,
                                   1499,
                                   1500,
                                   1501,
                                   62'500,
                                   187'500,
                                   999'499,
                                   999'500,
                                   999'501,
                                   999'999,
                                   1'000'000,
                                   60'020'000'000ULL,
                                   UINT64_MAX,
                                   UINT64_MAX - 500,
                                   (1ULL << 52),
                                   (1ULL << 53) - 1,
                                   (1ULL << 53),
                                   (1ULL << 53) + 1};
    for (uint64_t p = 1;; p *= 10) {
        for (uint64_t d : {p - 1, p, p + 1, p / 2, p / 2 + 500}) edges.push_back(d);
        if (p > UINT64_MAX / 10) break;
    }
    size_t n = 0;
    auto check = [&](uint64_t ns) {
        std::string got;
        json::append_millis(got, ns);
        ASSERT_EQ(got, printf_millis(ns)) << "ns=" << ns;
        ++n;
    };
    for (uint64_t ns : edges) check(ns);
    for (int i = 0; i < 3'000'000; ++i) check(awkward_ns(rng));
    // Every sub-microsecond remainder, at several magnitudes.
    for (uint64_t base : {0ULL, 123'456'000ULL, 86'400'000'000'000ULL, (1ULL << 53) - 2000})
        for (uint64_t r = 0; r < 2000; ++r) check(base + r);
    EXPECT_GT(n, 3'000'000u);
}

TEST(TraceFormat, RendererMatchesPrintfReference) {
    // A zone with daylight saving time, from its POSIX rule (no tzdata needed).
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    tzset();
    std::mt19937_64 rng(77);
    const std::string long_comm(600, 'x');
    const std::string nul_comm("ab\0cd", 5);
    const Process procs[] = {{1, "init", 0},    {4294967295u, "max", 0}, {42, "we\"ird\\\x01\x7f\xc3\xa9\n\t", 0},
                             {7, long_comm, 0}, {8, nul_comm, 0},        {9, "", 0},
                             {0, "", 0}};
    WallClock clock;
    clock.offset_ns = 1'774'828'790'000'000'000LL;  // near the 2026-03-29 CET -> CEST switch
    for (TraceStyle style : {TraceStyle{true, false}, TraceStyle{false, false}, TraceStyle{false, true}}) {
        std::ostringstream out;
        TraceRenderer r(out, style, clock);
        std::string want;
        uint64_t ts = 0;
        for (int i = 0; i < 20'000; ++i) {
            Transition t = sample();
            ts += rng() % 3 ? rng() % 2'000'000 : rng() % 4'000'000'000ULL;  // often within a second, sometimes not
            t.ts_ns = ts;
            t.cookie = rng() >> (rng() % 64);
            t.netns = static_cast<uint32_t>(rng());
            t.local.family = t.remote.family = rng() % 3 ? (rng() % 2 ? 4 : 6) : static_cast<uint8_t>(rng() % 8);
            for (auto& b : t.local.addr) b = rng() % 4 ? 0 : static_cast<uint8_t>(rng());
            for (auto& b : t.remote.addr) b = static_cast<uint8_t>(rng());
            if (rng() % 4 == 0) {  // ::ffff:a.b.c.d
                t.remote.addr = {};
                t.remote.addr[10] = t.remote.addr[11] = 0xff;
                t.remote.addr[12] = static_cast<uint8_t>(rng());
            }
            t.local.port = static_cast<uint16_t>(rng());
            t.remote.port = static_cast<uint16_t>(rng());
            t.old_state = static_cast<uint8_t>(rng() % 16);
            t.new_state = static_cast<uint8_t>(rng() % 16);
            if (rng() % 5)
                t.prev_ns = awkward_ns(rng);
            else
                t.prev_ns.reset();
            t.prev_at_least = rng() % 2;
            t.prev_err_ns = rng() % 3 ? 0 : awkward_ns(rng) % 5'000'000;
            t.actor = procs[rng() % std::size(procs)];
            t.owner = procs[rng() % std::size(procs)];
            t.tid = rng() % 2 ? static_cast<uint32_t>(rng()) : 0;
            t.in_task = rng() % 2;
            t.timewait = rng() % 2;
            t.reason = static_cast<EndReason>(rng() % 6);
            r.line(t);
            want += reference_line(t, style, clock);
        }
        ASSERT_EQ(out.str(), want) << "json=" << style.json << " hms=" << style.hms;
    }
    setenv("TZ", "UTC", 1);
    tzset();
}

// ---- untrusted strings: a comm any process can choose ----
namespace {
// The comm of issue 10, byte for byte: a , b " c newline ESC [ 3 1 m 0xff.
const std::string kHostileComm = "a,b\"c\n\x1b[31m\xff";
// What a JSON or CSV reader gets back: 0xff is not UTF-8 and reads as U+00FF.
const std::string kHostileCommDecoded = "a,b\"c\n\x1b[31m\xc3\xbf";

bool printable_ascii_lines(const std::string& s) {
    for (unsigned char c : s)
        if (c != '\n' && (c < 0x20 || c >= 0x7f)) return false;
    return !s.empty() && s.back() == '\n';
}

bool valid_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        size_t n = ref_utf8_length(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}
}  // namespace

TEST(Escape, TextOfHostileCommIsPrintableAscii) {
    EXPECT_EQ(text(kHostileComm), "a,b\"c\\n\\x1b[31m\\xff");
    EXPECT_EQ(text("back\\slash\ttab\r\x7f\xc3\xa9"), "back\\\\slash\\ttab\\r\\x7f\\xc3\\xa9");
    EXPECT_EQ(text(std::string("a\0b", 3)), "a\\x00b");  // nothing hidden after a NUL
}

TEST(Escape, TextCutsAtAnEscapeBoundaryWithTilde) {
    EXPECT_EQ(text("abc", 3), "abc");
    EXPECT_EQ(text("abcd", 3), "ab~");
    EXPECT_EQ(text("\xff\xff\xff", 12), "\\xff\\xff\\xff");
    EXPECT_EQ(text("\xff\xff\xff", 11), "\\xff\\xff~");
    EXPECT_EQ(text("a\xff", 4), "a~");
    for (size_t w = 0; w < 40; ++w)
        for (const std::string& s : {kHostileComm, std::string(30, '\xff'), std::string("x\\y\nz")})
            EXPECT_EQ(text(s, w), ref_text(s, w)) << "width " << w;
}

TEST(Escape, Utf8SequenceLengthMatchesADecoder) {
    // Every sequence of up to 3 bytes, and 4-byte ones around each lead.
    std::string s(4, '\0');
    size_t n = 0;
    for (unsigned a = 0; a < 256; ++a)
        for (unsigned b = 0; b < 256; ++b)
            for (unsigned c = 0; c < 256; ++c) {
                s = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
                ASSERT_EQ(utf8_sequence_length(s, 0), ref_utf8_length(s, 0)) << std::hex << a << " " << b << " " << c;
                ++n;
            }
    for (unsigned a = 0xf0; a < 0x100; ++a)
        for (unsigned b : {0x7fu, 0x80u, 0x8fu, 0x90u, 0xbfu, 0xc0u})
            for (unsigned d : {0x7fu, 0x80u, 0xbfu, 0xc0u}) {
                s = {static_cast<char>(a), static_cast<char>(b), '\x80', static_cast<char>(d)};
                ASSERT_EQ(utf8_sequence_length(s, 0), ref_utf8_length(s, 0)) << std::hex << a << " " << b << " " << d;
            }
    EXPECT_EQ(n, 1u << 24);
}

TEST(TraceFormat, TextLineEscapesHostileComm) {
    Utc utc;
    Transition t = sample();
    t.actor.comm = kHostileComm;
    std::ostringstream out;
    TraceRenderer r(out, TraceStyle{false, true}, fixed_clock());
    r.line(t);
    EXPECT_EQ(out.str(),
              "11:06:40.000 1234    a,b\"c\\n\\x1b[31m\\xff 127.0.0.1:40000           10.0.0.2:80               "
              "TIME-WAIT -> CLOSE          60020.000 expired\n");
    EXPECT_TRUE(printable_ascii_lines(out.str()));
}

TEST(TraceFormat, JsonAndCsvOfHostileCommAreValidUtf8) {
    Transition t = sample();
    t.actor.comm = kHostileComm;
    t.owner.comm = "ok\xc3\xa9\xc2\x9b\xed\xa0\x80";  // UTF-8 é kept; C1 CSI and a surrogate escaped
    std::ostringstream out;
    TraceRenderer r(out, TraceStyle{true, false}, fixed_clock());
    r.line(t);
    const std::string line = out.str();
    EXPECT_TRUE(valid_utf8(line)) << line;
    EXPECT_NE(line.find(R"("comm":"a,b\"c\n\u001b[31m\u00ff")"), std::string::npos) << line;
    EXPECT_NE(line.find("\"owner_comm\":\"ok\xc3\xa9\\u009b\\u00ed\\u00a0\\u0080\""), std::string::npos) << line;
    nlohmann::json v = nlohmann::json::parse(line);  // throws on invalid JSON or ill-formed UTF-8
    EXPECT_EQ(v.at("comm").get<std::string>(), kHostileCommDecoded);

    std::ostringstream csv_out;
    TraceRenderer csv(csv_out, TraceStyle{false, false, true}, fixed_clock());
    csv.line(t);
    const std::string csv_text = csv_out.str();
    EXPECT_TRUE(valid_utf8(csv_text)) << csv_text;
    // RFC 4180: the field is quoted, its quote doubled, the newline kept inside
    // (pid 1234, tid null, then comm).
    EXPECT_NE(csv_text.find(",1234,,\"a,b\"\"c\n\x1b[31m\xc3\xbf\","), std::string::npos) << csv_text;
}

TEST(StatsFormat, TextEscapesCommAndCgroupJsonStaysValid) {
    Filter all;
    Residency r;
    r.state = kTimeWait;
    r.owner = Process{1234, kHostileComm, 77};
    r.end_ns = 1'000'000;
    Engine empty;
    for (GroupBy by : {GroupBy::Process, GroupBy::Cgroup}) {
        Aggregator agg(by, all);
        agg.add(r);
        StatsReport rep;
        rep.by = by;
        rep.groups = agg.report(empty, 0);
        rep.cgroup_name = [](uint64_t) { return std::string("/evil\n\x1b]0;title\x07\xff.slice"); };
        std::ostringstream text_out, json_out;
        render_stats_text(text_out, rep);
        render_stats_json(json_out, rep);
        EXPECT_TRUE(printable_ascii_lines(text_out.str())) << text_out.str();
        // The table's key column is 28 wide: the cgroup is cut after a whole escape.
        const char* want =
            by == GroupBy::Process ? "\n1234 a,b\"c\\n\\x1b[31m\\xff     " : "\n/evil\\n\\x1b]0;title\\x07\\xff~ ";
        EXPECT_NE(text_out.str().find(want), std::string::npos) << text_out.str();
        EXPECT_TRUE(valid_utf8(json_out.str()));
        nlohmann::json v = nlohmann::json::parse(json_out.str());
        if (by == GroupBy::Process)
            EXPECT_EQ(v.at("groups")[0].at("comm").get<std::string>(), kHostileCommDecoded);
        else
            EXPECT_EQ(v.at("groups")[0].at("cgroup").get<std::string>(), "/evil\n\x1b]0;title\x07\xc3\xbf.slice");
    }
}

// ---- the recording's bytes: frames and checksums ----
namespace {
// A stream that sets every field the codec knows, across several frames.
std::string encode_sample_recording(int zstd_level) {
    std::mt19937_64 rng(5);
    const Process procs[] = {
        {1201, "curl", 4001}, {900, "nginx", 5000}, {0, "swapper/1", 1}, {7, "a-long-comm-name", 9}};
    rec::EventsEncoder enc;
    std::string file = rec::encode_prefix();
    uint32_t seq = 0;
    uint64_t ts = 1'000'000'000;
    for (int i = 0; i < 30'000; ++i) {
        Event e;
        e.kind = static_cast<EventKind>(1 + rng() % 8);
        ts += rng() % 50'000;
        e.ts_ns = ts;
        e.cookie = 1000 + rng() % 500;
        e.netns = 4026532000u + static_cast<uint32_t>(rng() % 3);
        e.local.family = e.remote.family = rng() % 4 ? 4 : 6;
        e.local.addr[0] = static_cast<uint8_t>(rng() % 4);
        e.remote.addr[15] = static_cast<uint8_t>(rng() % 4);
        if (rng() % 50 == 0) e.local.addr[9] = 1;  // IPv4 with stray bytes past the first 4
        e.local.port = static_cast<uint16_t>(rng());
        e.remote.port = static_cast<uint16_t>(rng() % 3 + 80);
        e.old_state = static_cast<uint8_t>(rng() % (i % 100 ? 13 : 40));
        e.new_state = static_cast<uint8_t>(rng() % 13);
        e.flags = static_cast<uint16_t>(rng() % 4);
        e.task = procs[rng() % 4];
        e.task_tid = e.task.pid + static_cast<uint32_t>(rng() % 2);
        e.owner = procs[rng() % 4];
        if (rng() % 3 == 0) e.aux1 = 4'294'000'000ULL + ts / 4'000'000;
        if (rng() % 2) e.aux0 = e.aux1 ? e.aux1 + rng() % 20'000 : rng() % 1'000'000'000;
        e.hz = rng() % 100 ? 250 : 1000;
        e.kaddr = rng();
        enc.event(e);
        if (i % 997 == 0) enc.advance(ts + 10);
        if (i % 3001 == 0) enc.cgroup_name(rng() % 10, "/sys/fs/cgroup/user.slice");
        if (enc.bytes() >= (16u << 10) || i == 29'999) {
            std::optional<rec::FlushStatus> status;
            // recursion_skipped = lost 5 + caught 4, as a tracer reports it
            if (seq % 2) status = rec::FlushStatus{ts, DropCounters{seq, 1, 2, 3, 4, 5, 6, 9}};
            file += rec::encode_frame(rec::FrameType::Events, seq++, enc.finish(status), zstd_level);
        }
    }
    return file;
}

uint64_t fnv1a(std::string_view s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}
}  // namespace

TEST(RecordFormat, EncodedBytesAreUnchanged) {
    // Pinned from the encoder as it was before frames were built in reused
    // buffers: the on-disk format must not move by a byte. (Uncompressed,
    // so the hash does not depend on the zstd version.)
    std::string file = encode_sample_recording(0);
    EXPECT_EQ(file.size(), 686901u);
    EXPECT_EQ(fnv1a(file), 17376675470994678816ULL);
    // Compressed frames carry the same payloads.
    std::string packed = encode_sample_recording(3);
    EXPECT_LT(packed.size(), file.size());
    size_t a = rec::kPrefixSize, b = rec::kPrefixSize;
    while (a < file.size()) {
        auto ha = rec::parse_frame_header(std::string_view(file).substr(a));
        auto hb = rec::parse_frame_header(std::string_view(packed).substr(b));
        ASSERT_TRUE(ha && hb);
        auto pa = rec::open_frame(*ha, std::string_view(file).substr(a));
        auto pb = rec::open_frame(*hb, std::string_view(packed).substr(b));
        ASSERT_TRUE(pa && pb);
        EXPECT_EQ(*pa, *pb);
        EXPECT_TRUE(rec::decode_items(*pa));
        a += rec::kFrameHeaderSize + ha->stored_len;
        b += rec::kFrameHeaderSize + hb->stored_len;
    }
    EXPECT_EQ(b, packed.size());
}

TEST(RecordFormat, Crc32cHardwareMatchesTable) {
    const char check[] = "123456789";
    EXPECT_EQ(rec::crc32c(check, 9), 0xe3069283u);  // the CRC-32C check value
    EXPECT_EQ(rec::crc32c_table(check, 9), 0xe3069283u);
    if (!rec::crc32c_hardware()) GTEST_SKIP() << "no SSE4.2: crc32c is the table";
    std::mt19937_64 rng(32);
    std::string data(4096 + 16, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    for (int i = 0; i < 20'000; ++i) {
        size_t off = rng() % 16;  // every alignment
        size_t len = i < 64 ? static_cast<size_t>(i) : rng() % 4096;
        auto seed = static_cast<uint32_t>(rng());
        ASSERT_EQ(rec::crc32c(data.data() + off, len, seed), rec::crc32c_table(data.data() + off, len, seed))
            << "off=" << off << " len=" << len;
        // Chained over two pieces, as frames checksum header then body.
        size_t cut = len ? rng() % len : 0;
        ASSERT_EQ(rec::crc32c(data.data() + off + cut, len - cut, rec::crc32c(data.data() + off, cut)),
                  rec::crc32c_table(data.data() + off, len));
    }
}

TEST(RecordFormat, ReusedBuffersGiveTheSameFrames) {
    // One encoder and one framer across frames, as the recorder keeps them,
    // against fresh ones per frame.
    rec::EventsEncoder reused, fresh;
    rec::FrameEncoder framer;
    std::string payload;
    for (int frame = 0; frame < 6; ++frame) {
        for (int i = 0; i < 200 * (6 - frame); ++i) {  // shrinking frames: stale bytes must not show
            Event e;
            e.ts_ns = 1'000'000ULL * (frame * 1000 + i);
            e.cookie = 100 + i % 7;
            e.local.addr[3] = static_cast<uint8_t>(i % 5);
            // Fixed names, not "p" + to_string(): GCC 12 at -O3 raises a false
            // -Wrestrict on that operator+ (GCC bug 105329).
            static const char* const kComms[] = {"p0", "p1", "p2"};
            e.task = Process{static_cast<uint32_t>(i % 3), kComms[i % 3], 0};
            reused.event(e);
            fresh.event(e);
        }
        std::optional<rec::FlushStatus> status;
        if (frame % 2) status = rec::FlushStatus{static_cast<uint64_t>(frame), {}};
        reused.finish(status, payload);
        std::string want = fresh.finish(status);
        ASSERT_EQ(payload, want);
        for (int level : {0, 3})
            ASSERT_EQ(framer.encode(rec::FrameType::Events, frame, payload, level),
                      rec::encode_frame(rec::FrameType::Events, frame, want, level));
    }
}
