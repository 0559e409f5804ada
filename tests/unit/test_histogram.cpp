#include <gtest/gtest.h>

#include <random>

#include "stats/histogram.hpp"

using namespace tcplinger;

TEST(Histogram, BucketsCoverEveryValueWithBoundedWidth) {
    std::mt19937_64 rng(1);
    for (int i = 0; i < 100000; ++i) {
        uint64_t v = rng() >> (rng() % 64);
        uint32_t b = Histogram::bucket_of(v);
        ASSERT_LE(Histogram::bucket_low(b), v);
        ASSERT_LT(v, Histogram::bucket_high(b) == 0 ? UINT64_MAX : Histogram::bucket_high(b)) << v;
        uint64_t width = Histogram::bucket_high(b) - Histogram::bucket_low(b);
        if (Histogram::bucket_low(b) >= 64) {
            ASSERT_LE(static_cast<double>(width) / static_cast<double>(Histogram::bucket_low(b)), 1.0 / 64 + 1e-12);
        } else {
            ASSERT_EQ(width, 1u);
        }
    }
}

TEST(Histogram, QuantilesWithinTwoPercent) {
    Histogram h;
    std::vector<uint64_t> values;
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> dist(20.0, 2.0);
    for (int i = 0; i < 50000; ++i) {
        uint64_t v = static_cast<uint64_t>(dist(rng)) + 1;
        values.push_back(v);
        h.add(v);
    }
    std::sort(values.begin(), values.end());
    for (double q : {0.5, 0.9, 0.99}) {
        uint64_t exact = values[static_cast<size_t>(std::ceil(q * values.size())) - 1];
        double err =
            std::abs(static_cast<double>(h.quantile(q)) - static_cast<double>(exact)) / static_cast<double>(exact);
        EXPECT_LE(err, 0.02) << "q=" << q;
    }
    EXPECT_EQ(h.quantile(1.0), values.back());
    EXPECT_EQ(h.max(), values.back());
    EXPECT_EQ(h.min(), values.front());
    EXPECT_EQ(h.count(), values.size());
}

TEST(Histogram, MergeEqualsAddingEverything) {
    Histogram a, b, all;
    for (uint64_t v = 1; v < 100000; v = v * 3 / 2 + 1) {
        (v % 2 ? a : b).add(v * 1000);
        all.add(v * 1000);
    }
    a.merge(b);
    EXPECT_EQ(a, all);
}

TEST(Histogram, SixtySecondsIsResolvedToTheSecondDecimal) {
    Histogram h;
    h.add(60'020'000'000ULL);
    h.add(60'860'000'000ULL);
    EXPECT_NEAR(static_cast<double>(h.quantile(0.5)) / 1e9, 60.02, 60.02 * 0.016);
    EXPECT_EQ(h.quantile(1.0), 60'860'000'000ULL);
}

TEST(Histogram, Log2RowsInMilliseconds) {
    Histogram h;
    h.add(500'000);         // 0.5 ms -> row 0
    h.add(3'000'000);       // 3 ms -> [2,3]
    h.add(3'500'000);       // 3.5 ms -> [2,3]
    h.add(60'000'000'000);  // 60 s
    auto rows = h.log2_rows(1'000'000);
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows[0], std::make_pair(uint64_t{0}, uint64_t{1}));
    EXPECT_EQ(rows[2], std::make_pair(uint64_t{2}, uint64_t{2}));
    EXPECT_EQ(rows.back(), std::make_pair(uint64_t{32768}, uint64_t{1}));
    uint64_t total = 0;
    for (auto& r : rows) total += r.second;
    EXPECT_EQ(total, 4u);
}

TEST(Histogram, EmptyIsZero) {
    Histogram h;
    EXPECT_EQ(h.quantile(0.5), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_TRUE(h.log2_rows(1000).empty());
}

// Exact figures, worked out by hand from the layout (64 sub-buckets per power
// of two), so a bucket edge or a midpoint off by one fails: the 2% tolerance
// above is wider than a bucket (1/64 = 1.6%) and would let either pass.
// Between 2^19 and 2^20 a bucket is 2^13 = 8192 ns wide, between 2^20 and
// 2^21 it is 16384 ns; the midpoint is low + (width - 1) / 2.
TEST(Histogram, BucketEdgesAroundOneMillisecond) {
    struct Case {
        uint64_t value, low, high;
    };
    const Case cases[] = {
        {63, 63, 64},                                      // last exact bucket
        {64, 64, 65},                                      // 2^6: still 1 ns wide
        {129, 128, 130},                                   // 2^7: 2 ns wide
        {999'423, 991'232, 999'424},                       // 2^19 + 57 * 8192
        {999'424, 999'424, 1'007'616},                     // first value of sub-bucket 58
        {1'000'000, 999'424, 1'007'616},                   // 1 ms
        {1'007'615, 999'424, 1'007'616},                   // last value of sub-bucket 58
        {1'007'616, 1'007'616, 1'015'808},                 // first value of sub-bucket 59
        {1'048'575, 1'040'384, 1'048'576},                 // 2^20 - 1: last sub-bucket below 2^20
        {1'048'576, 1'048'576, 1'064'960},                 // 2^20: width doubles to 16384
        {2'000'000, 1'998'848, 2'015'232},                 // 2^20 + 58 * 16384
        {60'020'000'000, 59'592'671'232, 60'129'542'144},  // 2^35 + 47 * 2^29
    };
    for (const Case& c : cases) {
        uint32_t b = Histogram::bucket_of(c.value);
        EXPECT_EQ(Histogram::bucket_low(b), c.low) << c.value;
        EXPECT_EQ(Histogram::bucket_high(b), c.high) << c.value;
    }
}

TEST(Histogram, QuantileIsTheMidpointOfTheNearestRankBucket) {
    Histogram h;
    for (uint64_t v : {999'424ULL, 1'007'615ULL, 1'007'616ULL, 1'048'575ULL, 1'048'576ULL, 1'064'959ULL, 1'064'960ULL,
                       1'500'000ULL, 2'000'000ULL, 60'020'000'000ULL})
        h.add(v);
    // Nearest rank: the ceil(q * 10)th smallest value's bucket.
    EXPECT_EQ(h.quantile(0.1), 1'003'519u);        // rank 1: [999424, 1007616)
    EXPECT_EQ(h.quantile(0.2), 1'003'519u);        // rank 2: the same bucket's last value
    EXPECT_EQ(h.quantile(0.25), 1'011'711u);       // rank 3: [1007616, 1015808)
    EXPECT_EQ(h.quantile(0.4), 1'044'479u);        // rank 4: [1040384, 1048576)
    EXPECT_EQ(h.quantile(0.5), 1'056'767u);        // rank 5: [1048576, 1064960)
    EXPECT_EQ(h.quantile(0.6), 1'056'767u);        // rank 6: the same bucket's last value
    EXPECT_EQ(h.quantile(0.65), 1'073'151u);       // rank 7: [1064960, 1081344)
    EXPECT_EQ(h.quantile(0.8), 1'499'135u);        // rank 8: [1490944, 1507328)
    EXPECT_EQ(h.quantile(0.9), 2'007'039u);        // rank 9: [1998848, 2015232)
    EXPECT_EQ(h.quantile(0.99), 59'861'106'687u);  // rank 10, below 1: the bucket's midpoint
    EXPECT_EQ(h.quantile(1.0), 60'020'000'000u);   // exact maximum
}

TEST(Histogram, QuantileOnARankBoundaryTakesTheLowerBucket) {
    // 50 values in one bucket, 50 in the next: p50 is rank 50, the last of the
    // first bucket; a rank one too high lands in the second.
    Histogram h;
    for (int i = 0; i < 50; ++i) h.add(1'000'000);  // [999424, 1007616), midpoint 1003519
    for (int i = 0; i < 50; ++i) h.add(1'012'000);  // [1007616, 1015808), midpoint 1011711
    EXPECT_EQ(h.quantile(0.5), 1'003'519u);
    EXPECT_EQ(h.quantile(0.51), 1'011'711u);
    // The midpoint is clamped to the observed range: a single value is exact.
    EXPECT_EQ(h.quantile(0.01), 1'003'519u);
    Histogram one;
    one.add(1'000'000);
    EXPECT_EQ(one.quantile(0.5), 1'000'000u);
}
