// The exporter's pure parts: the Prometheus/OpenMetrics renderer, the
// bounded series model (folding into ~other, expiry), the web config
// parser and bcrypt checks.
#include <gtest/gtest.h>

#include <string>

#include "app/exporter/series.hpp"
#include "app/exporter/server.hpp"
#include "app/exporter/web_config.hpp"
#include "core/error.hpp"
#include "render/prometheus.hpp"

using namespace tcplinger;
using namespace tcplinger::exporter;

namespace {

const std::string kData = std::string(TL_TEST_DATA) + "/exporter";
// htpasswd -nbBC 4 prom s3cret (cost 4: fast enough for a unit test).
const std::string kHash = "$2y$04$NCATfoZEMwhFWAeuHw4JUe54cEJRZsH7JnL9Relf1c4mRx7rB.ZrO";

GroupLabels labels(const std::string& comm) {
    GroupLabels l;
    l.comm = comm;
    return l;
}

MetricsGroup group(const std::string& comm) {
    MetricsGroup g;
    g.labels = labels(comm);
    g.states[0].stays = 3;
    g.states[0].sockets = 1;
    g.states[0].oldest_s = 1.5;
    g.states[0].slots[residency_slot(60.4)] = 2;
    g.states[0].sum_s = 120.8;
    g.states[0].count = 2;
    g.tw_ends[0] = 2;
    return g;
}

uint64_t stays(const std::vector<MetricsGroup>& gs, const std::string& comm) {
    for (const auto& g : gs)
        if (g.labels.comm == comm) return g.states[0].stays;
    return UINT64_MAX;
}

}  // namespace

TEST(PrometheusRender, EscapesLabelValues) {
    EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    MetricsSnapshot s;
    s.groups.push_back(group("we\"ird\\na\nme"));
    std::string text = render_metrics(s, ExpositionFormat::Text);
    EXPECT_NE(text.find("tcplinger_stays_total{state=\"TIME-WAIT\",comm=\"we\\\"ird\\\\na\\nme\"} 3\n"),
              std::string::npos)
        << text;
}

TEST(PrometheusRender, TextFamiliesAndHistogram) {
    MetricsSnapshot s;
    s.version = "1.2.3";
    s.groups.push_back(group("curl"));
    s.tw_overflow[4026531833] = 5;
    std::string t = render_metrics(s, ExpositionFormat::Text);
    EXPECT_NE(t.find("# TYPE tcplinger_stays_total counter\n"), std::string::npos);
    EXPECT_NE(t.find("tcplinger_sockets{state=\"TIME-WAIT\",comm=\"curl\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("tcplinger_oldest_socket_age_seconds{state=\"TIME-WAIT\",comm=\"curl\"} 1.5\n"),
              std::string::npos);
    // Cumulative buckets: nothing up to 60, both by 61.
    EXPECT_NE(t.find("tcplinger_residency_seconds_bucket{state=\"TIME-WAIT\",comm=\"curl\",le=\"60\"} 0\n"),
              std::string::npos);
    EXPECT_NE(t.find("tcplinger_residency_seconds_bucket{state=\"TIME-WAIT\",comm=\"curl\",le=\"61\"} 2\n"),
              std::string::npos);
    EXPECT_NE(t.find("tcplinger_residency_seconds_bucket{state=\"TIME-WAIT\",comm=\"curl\",le=\"+Inf\"} 2\n"),
              std::string::npos);
    EXPECT_NE(t.find("tcplinger_residency_seconds_count{state=\"TIME-WAIT\",comm=\"curl\"} 2\n"), std::string::npos);
    EXPECT_NE(t.find("tcplinger_timewait_ends_total{reason=\"expired\",comm=\"curl\"} 2\n"), std::string::npos);
    EXPECT_NE(t.find("tcplinger_timewait_overflows_total{netns=\"4026531833\"} 5\n"), std::string::npos);
    EXPECT_NE(t.find("tcplinger_build_info{version=\"1.2.3\",revision=\"\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("tcplinger_series 1\n"), std::string::npos);
    // States the group never saw are left out; no EOF marker in 0.0.4.
    EXPECT_EQ(t.find("CLOSE-WAIT\",comm=\"curl\""), std::string::npos);
    EXPECT_EQ(t.find("# EOF"), std::string::npos);
}

TEST(PrometheusRender, OpenMetrics) {
    MetricsSnapshot s;
    s.groups.push_back(group("curl"));
    std::string t = render_metrics(s, ExpositionFormat::OpenMetrics);
    EXPECT_NE(t.find("# TYPE tcplinger_stays counter\n"), std::string::npos);  // family without _total
    EXPECT_NE(t.find("tcplinger_stays_total{state=\"TIME-WAIT\",comm=\"curl\"} 3\n"), std::string::npos);
    EXPECT_NE(t.find("# UNIT tcplinger_residency_seconds seconds\n"), std::string::npos);
    EXPECT_NE(t.find("le=\"60.0\"} 0\n"), std::string::npos);  // canonical float bounds
    EXPECT_NE(t.find("le=\"0.001\"} 0\n"), std::string::npos);
    EXPECT_TRUE(t.ends_with("# EOF\n"));
    EXPECT_EQ(format_for_accept("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
              ExpositionFormat::OpenMetrics);
    EXPECT_EQ(format_for_accept("text/plain"), ExpositionFormat::Text);
    EXPECT_EQ(format_for_accept(""), ExpositionFormat::Text);
}

TEST(PrometheusRender, ResidencySlots) {
    EXPECT_EQ(residency_slot(0), 0u);
    EXPECT_EQ(residency_slot(0.001), 0u);  // le is inclusive
    EXPECT_EQ(residency_slot(60.0), 9u);   // le="60"
    EXPECT_EQ(residency_slot(60.01), 10u);
    EXPECT_EQ(residency_slot(1e6), kResidencyBuckets.size());  // +Inf
}

// events_lost_total is a counter: its recursion figure must not go down
// when the backups' catch count (read apart from the kernel's skip count)
// or the engine's duplicates catch up, as recursion_missed() does; and it
// must not count the nested hits the backups caught.
TEST(ExporterFigures, RecursionLostIsMonotonic) {
    TracerFigures figures;
    DropCounters d;
    EngineCounters engine;
    d.events = 100;
    d.recursion_skipped = 5;
    d.nested_caught = 3;  // two hits read as skipped, not yet as caught
    MetricsSnapshot before, after, later;
    figures.fill(before, d, engine);
    EXPECT_EQ(before.lost_recursion, 2u);
    const uint64_t missed_before = d.recursion_missed(engine.duplicates);
    d.nested_caught = 6;  // caught up, and one duplicate the engine dropped
    engine.duplicates = 1;
    figures.fill(after, d, engine);
    ASSERT_LT(d.recursion_missed(engine.duplicates), missed_before) << "the net figure does go down";
    EXPECT_EQ(after.lost_recursion, before.lost_recursion);
    // 100 more skipped, all caught: recovered, not lost.
    d.recursion_skipped += 100;
    d.nested_caught += 100;
    figures.fill(later, d, engine);
    EXPECT_EQ(later.lost_recursion, 2u);
    const std::string text = render_metrics(later, ExpositionFormat::Text);
    EXPECT_NE(text.find("tcplinger_events_lost_total{reason=\"recursion\"} 2\n"), std::string::npos) << text;
}

TEST(SeriesModel, BusiestKeptRestFoldedIntoOther) {
    SeriesModel m(3, 300'000'000'000);  // 2 label sets + ~other
    for (int i = 0; i < 5; ++i) m.stay(labels("busy"), 0, 60, true, 0, 1);
    for (int i = 0; i < 3; ++i) m.stay(labels("mid"), 0, 60, true, 0, 1);
    m.stay(labels("quiet1"), 0, 60, true, 0, 1);
    m.stay(labels("quiet2"), 0, 60, true, 0, 1);
    auto gs = m.build({}, 2);
    ASSERT_EQ(gs.size(), 3u);
    EXPECT_EQ(stays(gs, "busy"), 5u);
    EXPECT_EQ(stays(gs, "mid"), 3u);
    EXPECT_EQ(stays(gs, kOther), 2u);
    EXPECT_EQ(m.dropped(), 2u);
    for (const auto& g : gs)
        if (g.labels.comm == kOther) {
            EXPECT_EQ(g.labels.unit, kOther);
        }
    // A folded set stays folded (~other's counter only grows), and is not
    // counted again.
    for (int i = 0; i < 10; ++i) m.stay(labels("quiet1"), 0, 60, true, 0, 3);
    gs = m.build({}, 4);
    EXPECT_EQ(stays(gs, kOther), 12u);
    EXPECT_EQ(stays(gs, "quiet1"), UINT64_MAX);
    EXPECT_EQ(m.dropped(), 2u);
}

TEST(SeriesModel, CurrentSocketsCountAndQuietSetsExpire) {
    const uint64_t ttl = 300'000'000'000;
    SeriesModel m(10, ttl);
    m.stay(labels("gone"), 0, 60, true, 0, 0);
    CurrentSockets leak{labels("leaker"), 2, 1, 1, 12.5};
    CurrentSockets younger{labels("leaker"), 2, 1, 1, 3.0};
    auto gs = m.build({leak, younger}, 1);
    ASSERT_EQ(gs.size(), 2u);
    for (const auto& g : gs)
        if (g.labels.comm == "leaker") {
            EXPECT_EQ(g.states[2].sockets, 2u);
            EXPECT_EQ(g.states[2].stays, 2u);
            EXPECT_EQ(g.states[2].oldest_s, 12.5);
        }
    // Quiet for the ttl: "gone" expires; the leaker has sockets now and stays.
    gs = m.build({leak}, ttl + 1);
    ASSERT_EQ(gs.size(), 1u);
    EXPECT_EQ(gs[0].labels.comm, "leaker");
    EXPECT_EQ(m.entries(), 1u);
    // Its sockets closed: it expires a ttl after it was last seen.
    EXPECT_EQ(m.build({}, 2 * ttl).size(), 1u);
    EXPECT_EQ(m.build({}, 2 * ttl + 2).size(), 0u);
    EXPECT_EQ(m.kept(), 0u);
}

TEST(SeriesModel, BoundedUnderChurn) {
    // 100k distinct short-lived label sets, 1000 per second: the entries the
    // model keeps stay bounded (kept + remembered folded ones).
    const uint64_t ttl = 10'000'000'000;
    SeriesModel m(50, ttl);
    size_t most = 0;
    for (uint64_t sec = 0; sec < 100; ++sec) {
        uint64_t now = sec * 1'000'000'000;
        for (int i = 0; i < 1000; ++i)
            m.stay(labels(std::string("c").append(std::to_string(sec * 1000 + i))), 0, 60, true, 0, now);
        auto gs = m.build({}, now);
        EXPECT_LE(gs.size(), 50u);
        most = std::max(most, m.entries());
    }
    EXPECT_LE(most, 50u + SeriesModel::kFoldedMemory * 50u + 1000u);
}

TEST(WebConfig, ParsesTlsAndUsers) {
    WebConfig c = parse_web_config(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "basic_auth_users:\n  prom: '" +
            kHash + "'\n",
        kData, "web.yml");
    EXPECT_TRUE(c.tls());
    EXPECT_EQ(c.cert_file, kData + "/server.crt");  // relative to the file
    EXPECT_EQ(c.users.at("prom"), kHash);
    EXPECT_FALSE(parse_web_config("", kData, "empty.yml").tls());
}

TEST(WebConfig, RejectsBadInput) {
    auto err = [](const std::string& yaml) {
        try {
            parse_web_config(yaml, kData, "web.yml");
        } catch (const FatalError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(err("tls_server_config: [unclosed").find("bad web config web.yml: not YAML"), std::string::npos);
    EXPECT_NE(err("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n")
                  .find("failed to read cert_file " + kData + "/missing.crt"),
              std::string::npos);
    EXPECT_NE(err("tls_server_config:\n  cert_file: server.crt\n").find("needs both cert_file and key_file"),
              std::string::npos);
    EXPECT_NE(err("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n").find("not a matching"),
              std::string::npos);
    EXPECT_NE(err("basic_auth_users:\n  prom: plaintext\n").find("is not a bcrypt hash"), std::string::npos);
    EXPECT_NE(err("tls_server_config:\n  client_ca_file: ca.crt\n").find("client_ca_file is not supported"),
              std::string::npos);
    EXPECT_NE(err("http_server_config: {}\n").find("http_server_config is not supported"), std::string::npos);
    EXPECT_NE(err("- a\n- b\n").find("expected a mapping"), std::string::npos);
    for (const char* y : {"tls_server_config: [unclosed", "basic_auth_users:\n  prom: x\n"})
        EXPECT_EQ(err(y).find('\n'), std::string::npos) << "one line";
}

TEST(WebConfig, BasicAuthChecksBcrypt) {
    EXPECT_TRUE(bcrypt_matches("s3cret", kHash));
    EXPECT_FALSE(bcrypt_matches("s3cret!", kHash));
    EXPECT_FALSE(bcrypt_matches("s3cret", "$2y$04$invalid"));
    BasicAuth auth({{"prom", kHash}});
    EXPECT_TRUE(auth.check("prom", "s3cret"));
    EXPECT_TRUE(auth.check("prom", "s3cret"));  // from the cache
    EXPECT_FALSE(auth.check("prom", "wrong"));
    EXPECT_FALSE(auth.check("other", "s3cret"));
}

TEST(ListenAddress, Parses) {
    auto a = parse_listen("127.0.0.1:9747");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->port, 9747);
    EXPECT_EQ(a->url(false), "http://127.0.0.1:9747/metrics");
    auto b = parse_listen("[::1]:9747");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->v6);
    EXPECT_EQ(b->url(true), "https://[::1]:9747/metrics");
    for (const char* bad :
         {"", "9747", "localhost:9747", "127.0.0.1:0", "127.0.0.1:70000", "::1:9747", "[::1]9747", "127.0.0.1:97x"})
        EXPECT_FALSE(parse_listen(bad)) << bad;
}
