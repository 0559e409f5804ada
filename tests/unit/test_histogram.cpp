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
        double err = std::abs(static_cast<double>(h.quantile(q)) - static_cast<double>(exact)) / static_cast<double>(exact);
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
    h.add(500'000);       // 0.5 ms -> row 0
    h.add(3'000'000);     // 3 ms -> [2,3]
    h.add(3'500'000);     // 3.5 ms -> [2,3]
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
