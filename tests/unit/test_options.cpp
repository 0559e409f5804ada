// Command-line parsing, by parsing argument vectors as a user types them.
#include <gtest/gtest.h>

#include "cli/options.hpp"
#include "core/error.hpp"
#include "stats/filter.hpp"

using namespace tcplinger;

namespace {
struct Parsed {
    TraceOptions trace;
    StatsOptions stats;
    RecordOptions record;
    ReportOptions report;
    CLI::App app{"t"};
    CLI::App* trace_cmd;
    CLI::App* stats_cmd;
    CLI::App* record_cmd;
    CLI::App* report_cmd;
    Parsed() {
        use_help_formatter(app);
        trace_cmd = setup_trace(app, trace);
        stats_cmd = setup_stats(app, stats);
        record_cmd = setup_record(app, record);
        report_cmd = setup_report(app, report);
    }
    void parse(std::vector<std::string> args) {
        std::reverse(args.begin(), args.end());  // CLI11 takes the vector back to front
        app.parse(args);
    }
};
}  // namespace

TEST(Options, TraceFlagsAndFilters) {
    Parsed p;
    p.parse({"trace",      "-j",      "-T",        "--duration", "5",          "--lport", "80",     "--rport",
             "5432",       "--port",  "443",       "--addr",     "10.0.0.0/8", "--addr",  "::1",    "--netns",
             "4026531840", "--state", "TIME-WAIT", "-4",         "--pid",      "12",      "--comm", "nginx"});
    EXPECT_TRUE(p.trace_cmd->parsed());
    EXPECT_TRUE(p.trace.json);
    EXPECT_TRUE(p.trace.hms);
    EXPECT_DOUBLE_EQ(p.trace.duration, 5);
    const FilterOptions& f = p.trace.common.filter;
    EXPECT_EQ(f.lport, 80);
    EXPECT_EQ(f.rport, 5432);
    EXPECT_EQ(f.port, 443);
    EXPECT_EQ(f.addrs, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
    EXPECT_EQ(f.netns, 4026531840u);
    EXPECT_TRUE(f.netns_path.empty());
    EXPECT_EQ(f.state, "TIME-WAIT");
    EXPECT_TRUE(f.ipv4);
    EXPECT_EQ(f.pids, std::vector<uint32_t>{12});
    EXPECT_EQ(f.comms, std::vector<std::string>{"nginx"});
    Filter filter(f);
    EXPECT_EQ(filter.kernel().family, 4);
    EXPECT_EQ(filter.kernel().netns, 4026531840u);
    EXPECT_EQ(*filter.state(), kTimeWait);
}

TEST(Options, NetnsAcceptsAPath) {
    Parsed p;
    p.parse({"trace", "--netns", "/proc/self/ns/net"});
    EXPECT_EQ(p.trace.common.filter.netns_path, "/proc/self/ns/net");
    Filter filter(p.trace.common.filter);
    EXPECT_NE(filter.kernel().netns, 0u);
}

TEST(Options, StatsDefaultsAndChoices) {
    Parsed p;
    p.parse({"stats"});
    EXPECT_EQ(p.stats.by, "process");
    EXPECT_EQ(p.stats.top, 20u);
    Parsed q;
    q.parse({"stats", "--by", "endpoint", "--top", "5", "--interval", "10", "-j", "--state", "close_wait"});
    EXPECT_EQ(q.stats.by, "endpoint");
    EXPECT_EQ(q.stats.top, 5u);
    EXPECT_DOUBLE_EQ(q.stats.interval, 10);
    EXPECT_TRUE(q.stats.json);
    EXPECT_EQ(*Filter(q.stats.common.filter).state(), kCloseWait);
}

TEST(Options, BadValuesAreParseErrors) {
    for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{{"trace", "--lport", "0"},
                                                                              {"trace", "--lport", "70000"},
                                                                              {"trace", "--state", "WAITING"},
                                                                              {"trace", "--addr", "10.0.0.0/33"},
                                                                              {"trace", "--addr", "not-an-ip"},
                                                                              {"trace", "--duration", "-1"},
                                                                              {"trace", "-4", "-6"},
                                                                              {"stats", "--by", "color"},
                                                                              {"stats", "--top", "0"},
                                                                              {"trace", "--ringbuf-mb", "3"},
                                                                              {"trace", "--unknown"}}) {
        Parsed p;
        EXPECT_THROW(p.parse(bad), CLI::ParseError) << bad[1];
    }
}

// The message CLI11 prints for a bad value (exit 2), or "" when it parses.
std::string parse_error(std::vector<std::string> args) {
    Parsed p;
    try {
        p.parse(std::move(args));
    } catch (const CLI::ParseError& e) {
        return e.what();
    }
    return "";
}

TEST(Options, NetnsInodeIsRangeCheckedNeverWrappedOrAborted) {
    // Was std::stoul: an abort (exit 134), and 4294967297 silently became 1.
    EXPECT_NE(parse_error({"trace", "--netns", "99999999999999999999"}).find("out of range"), std::string::npos);
    EXPECT_NE(parse_error({"trace", "--netns", "4294967297"}).find("1 to 4294967295"), std::string::npos);
    EXPECT_NE(parse_error({"stats", "--netns", "0"}), "");
    EXPECT_NE(parse_error({"record", "-o", "x", "--netns", "4294967296"}), "");
    Parsed p;
    p.parse({"trace", "--netns", "4294967295"});
    EXPECT_EQ(p.trace.common.filter.netns, 4294967295u);
    EXPECT_TRUE(p.trace.common.filter.netns_path.empty());
}

TEST(Options, SecondsAreFinitePositiveAndBounded) {
    for (const char* cmd : {"trace", "stats", "record"})
        for (const char* bad : {"-1", "0", "1e11", "nan", "inf", "-inf", "5s", ""}) {
            std::vector<std::string> args = {cmd, "--duration", bad};
            if (std::string(cmd) == "record") args.insert(args.end(), {"-o", "x"});
            std::string msg = parse_error(args);
            EXPECT_NE(msg.find("give seconds"), std::string::npos) << cmd << " --duration '" << bad << "': " << msg;
            EXPECT_LT(msg.size(), 200u) << "no 309-digit range: " << msg;
        }
    EXPECT_NE(parse_error({"stats", "--interval", "nan"}), "");
    EXPECT_NE(parse_error({"stats", "--interval", "1e10"}), "");
    Parsed p;
    p.parse({"stats", "--duration", "1e9", "--interval", "0.25"});
    EXPECT_DOUBLE_EQ(p.stats.duration, 1e9);
    EXPECT_DOUBLE_EQ(p.stats.interval, 0.25);
}

TEST(Options, StatsStateIsATrackedStateAndListsThem) {
    for (const char* cmd : {"stats", "report"}) {
        std::vector<std::string> args = {cmd, "--state", "ESTABLISHED"};
        if (std::string(cmd) == "report") args.insert(args.end(), {"-i", "x"});
        std::string msg = parse_error(args);
        for (const char* s : {"TIME-WAIT", "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK", "CLOSING", "ESTABLISHED"})
            EXPECT_NE(msg.find(s), std::string::npos) << cmd << ": " << msg;
    }
    Parsed p;
    p.parse({"stats", "--state", "last_ack"});
    EXPECT_EQ(*Filter(p.stats.common.filter).state(), kLastAck);
    Parsed t;
    t.parse({"trace", "--state", "ESTABLISHED"});  // trace follows any state
    EXPECT_EQ(*Filter(t.trace.common.filter).state(), kEstablished);
}

TEST(Options, RecordRefusesProcessFiltersSayingWhereTheyApply) {
    for (std::vector<std::string> args :
         std::vector<std::vector<std::string>>{{"record", "-o", "x", "--pid", "1"},
                                               {"record", "-o", "x", "-p", "1"},
                                               {"record", "-o", "x", "--comm", "nginx"},
                                               {"record", "-o", "x", "--state", "TIME-WAIT"},
                                               {"record", "-o", "x", "--addr", "10.0.0.0/8"},
                                               {"record", "-o", "x", "--cgroup", "/system.slice"}}) {
        std::string msg = parse_error(args);
        EXPECT_NE(msg.find("record filters sockets only"), std::string::npos) << args[3] << ": " << msg;
        EXPECT_NE(msg.find("report, trace -i or export"), std::string::npos) << msg;
    }
    Parsed p;
    p.parse({"record", "-o", "x", "--netns", "12", "--lport", "80"});
    EXPECT_EQ(p.record.common.filter.netns, 12u);
}

TEST(Options, HelpShowsDefaultsWithoutExcludesNoise) {
    Parsed p;
    std::string stats = p.stats_cmd->help();
    for (const char* d : {"=process", "=20", "=16", "=1048576"})
        EXPECT_NE(stats.find(d), std::string::npos) << d << " in\n" << stats;
    std::string report = p.report_cmd->help();
    EXPECT_NE(report.find("=process"), std::string::npos) << report;
    for (CLI::App* cmd : {p.trace_cmd, p.stats_cmd, p.record_cmd, p.report_cmd})
        EXPECT_EQ(cmd->help().find("Excludes"), std::string::npos) << cmd->help();
    EXPECT_EQ(p.record_cmd->help().find("--pid"), std::string::npos) << "refused options stay out of help";
}

TEST(Filter, CidrMatching) {
    auto net = parse_cidr("10.1.0.0/16");
    ASSERT_TRUE(net);
    Endpoint in;
    in.family = 4;
    in.addr = {10, 1, 2, 3};
    Endpoint out = in;
    out.addr = {10, 2, 0, 1};
    EXPECT_TRUE(net->contains(in));
    EXPECT_FALSE(net->contains(out));
    Endpoint mapped;
    mapped.family = 6;
    mapped.addr = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 9, 9};
    EXPECT_TRUE(net->contains(mapped)) << "an IPv4 range covers v4-mapped addresses";
    auto v6 = parse_cidr("fe80::/10");
    ASSERT_TRUE(v6);
    Endpoint ll;
    ll.family = 6;
    ll.addr = {0xfe, 0x81};
    EXPECT_TRUE(v6->contains(ll));
    EXPECT_FALSE(v6->contains(in));
    EXPECT_FALSE(parse_cidr("1.2.3.4/"));
    EXPECT_FALSE(parse_cidr("::1/129"));
}

TEST(Filter, MatchesTransitionsByProcessStateAndPort) {
    FilterOptions o;
    o.pids = {42};
    o.state = "TIME-WAIT";
    o.lport = 8080;
    Filter f(o);
    Transition t;
    t.local.port = 8080;
    t.old_state = kFinWait2;
    t.new_state = kTimeWait;
    t.actor = Process{42, "app", 0};
    EXPECT_TRUE(f.match(t));
    t.actor = Process{};
    EXPECT_FALSE(f.match(t));
    t.owner = Process{42, "app", 0};
    EXPECT_TRUE(f.match(t)) << "the owner matches too";
    t.new_state = kClose;
    t.old_state = kEstablished;
    EXPECT_FALSE(f.match(t));
    t.old_state = kTimeWait;
    t.local.port = 9090;
    EXPECT_FALSE(f.match(t));
}

TEST(Filter, FatalErrorsNameTheFix) {
    FilterOptions o;
    o.cgroup = "/no/such/cgroup/here";
    try {
        Filter f(o);
        FAIL();
    } catch (const FatalError& e) {
        EXPECT_NE(std::string(e.what()).find("cgroup"), std::string::npos);
    }
}

#include "host/cgroup.hpp"

TEST(CgroupLabel, ContainerIdOrSystemdUnit) {
    using tcplinger::sys::cgroup_label;
    EXPECT_EQ(cgroup_label("/system.slice/docker-0123456789abcdef0123456789abcdef.scope"), "container:0123456789ab");
    EXPECT_EQ(cgroup_label("/kubepods.slice/kubepods-pod1.slice/cri-containerd-abcdef0123456789.scope"),
              "container:abcdef012345");
    EXPECT_EQ(cgroup_label("/system.slice/nginx.service"), "nginx.service");
    EXPECT_EQ(cgroup_label("/user.slice/user-1000.slice/session-3.scope"), "session-3.scope");
    EXPECT_EQ(cgroup_label("/"), "");
}
