// doctor --conf: parsing sysctl.d files and the answer for each line, on
// fixture files in tests/data/doctor.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "app/doctor/conf.hpp"
#include "app/doctor/host.hpp"
#include "app/doctor/knobs.hpp"

namespace tcplinger::doctor {
namespace {

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(TL_TEST_DATA) + "/doctor/" + name);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A kernel of today, with the keys of the knob table.
ConfContext modern_kernel() {
    ConfContext c;
    c.key_exists = [](const std::string& raw) {
        std::string k = normalize_key(raw);
        return find_knob(k) != nullptr || k == "net.ipv4.tcp_syn_retries";
    };
    c.current = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    return c;
}

std::vector<LineVerdict> check(const std::string& text, const ConfContext& ctx) {
    auto lines = parse_conf(text);
    std::map<std::string, std::string> all;
    for (const auto& l : lines)
        if (!l.syntax_error) all[l.key] = l.value;
    return check_conf(lines, all, ctx);
}

std::string kinds(const LineVerdict& v) {
    std::string out;
    for (const auto& a : v.answers) {  // appended in steps: GCC 12 -Wrestrict false positive (bug 105329)
        if (!out.empty()) out += ',';
        out += answer_kind_name(a.kind);
    }
    return out;
}

TEST(DoctorConf, ParsesSysctlDSyntax) {
    auto lines = parse_conf(
        "# c\n ; c\n\nnet/ipv4/tcp_fin_timeout=30\n-kernel.x  =  a   b \nnet/ipv4/conf/eth0.1/rp_filter = 1\nbad\n");
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0].number, 4);
    EXPECT_EQ(lines[0].key, "net.ipv4.tcp_fin_timeout");
    EXPECT_EQ(lines[0].value, "30");
    EXPECT_TRUE(lines[1].ignore_missing);
    EXPECT_EQ(lines[1].key, "kernel.x");
    EXPECT_EQ(lines[1].value, "a b");
    // With '/' separators a dot is part of a name (a VLAN interface).
    EXPECT_EQ(proc_path(lines[2].raw_key), "/proc/sys/net/ipv4/conf/eth0.1/rp_filter");
    EXPECT_EQ(proc_path("net.ipv4.tcp_fin_timeout"), "/proc/sys/net/ipv4/tcp_fin_timeout");
    EXPECT_TRUE(lines[3].syntax_error);
}

TEST(DoctorConf, EveryAnswerKindOnTheFolkloreRecipe) {
    ConfContext ctx = modern_kernel();
    ctx.time_wait_now = 14000;  // the host's TIME-WAIT now
    ctx.listening_ports = {5432, 22};
    auto v = check(fixture("folklore.conf"), ctx);
    ASSERT_EQ(v.size(), 9u);
    EXPECT_EQ(v[0].line.key, "net.ipv4.tcp_tw_recycle");
    EXPECT_EQ(kinds(v[0]), "removed");
    EXPECT_EQ(v[0].worst(), Severity::Problem);
    EXPECT_NE(v[0].answers[0].text.find("removed in Linux 4.12"), std::string::npos);

    EXPECT_EQ(kinds(v[1]), "foreign");
    EXPECT_NE(v[1].answers[0].text.find("FreeBSD"), std::string::npos);
    EXPECT_EQ(v[1].worst(), Severity::Problem);

    EXPECT_EQ(kinds(v[2]), "myth");  // tcp_fin_timeout = 15
    EXPECT_NE(v[2].answers[0].text.find("TIME-WAIT stays 60 s"), std::string::npos);
    EXPECT_EQ(v[2].worst(), Severity::Info);

    EXPECT_EQ(kinds(v[3]), "risky,myth");  // tcp_max_tw_buckets = 5000 below the 14,000 present
    EXPECT_EQ(v[3].worst(), Severity::Problem);
    EXPECT_NE(v[3].answers[0].text.find("14,000 sockets in TIME-WAIT now"), std::string::npos);

    EXPECT_EQ(kinds(v[4]), "risky,risky,myth");  // 1024-65000: no reserved ports, 5432 inside
    EXPECT_NE(v[4].answers[1].text.find("(5432)"), std::string::npos);
    EXPECT_EQ(v[4].worst(), Severity::Warn);

    EXPECT_EQ(v[5].line.key, "net.ipv4.tcp_tw_reuse");
    EXPECT_EQ(kinds(v[5]), "myth,default");
    EXPECT_EQ(v[5].answers[1].text, "already the default: the line changes nothing");

    EXPECT_EQ(kinds(v[6]), "missing");  // '-' prefix: sysctl skips it
    EXPECT_EQ(v[6].worst(), Severity::Warn);

    EXPECT_EQ(kinds(v[7]), "ok");  // tcp_rfc1337 = 1
    EXPECT_EQ(kinds(v[8]), "syntax");
}

TEST(DoctorConf, MissingKeyWithoutDashIsAProblem) {
    auto v = check("net.ipv4.tcp_frobnicate = 1\n", modern_kernel());
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(kinds(v[0]), "missing");
    EXPECT_EQ(v[0].worst(), Severity::Problem);
}

TEST(DoctorConf, SoundFileHasNoProblem) {
    ConfContext ctx = modern_kernel();
    ctx.listening_ports = {8080};
    auto v = check(fixture("sound.conf"), ctx);
    ASSERT_EQ(v.size(), 4u);
    for (const auto& line : v) EXPECT_LT(line.worst(), Severity::Warn) << line.line.text << ": " << kinds(line);
    // A port range too narrow for the busiest destination now is a problem.
    ctx.max_ports_to_one_destination = 50000;
    v = check(fixture("sound.conf"), ctx);
    EXPECT_EQ(v[2].worst(), Severity::Problem);
}

TEST(DoctorConf, TwReuseWithTimestampsOffInTheSameFile) {
    auto v = check("net.ipv4.tcp_timestamps = 0\nnet.ipv4.tcp_tw_reuse = 1\n", modern_kernel());
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(kinds(v[0]), "risky,myth");
    EXPECT_EQ(kinds(v[1]), "risky,myth");
    EXPECT_NE(v[1].answers[0].text.find("tcp_timestamps=0"), std::string::npos);
}

}  // namespace
}  // namespace tcplinger::doctor
