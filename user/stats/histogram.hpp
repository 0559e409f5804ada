// Log-linear histogram of durations in ns: 64 linear sub-buckets per power
// of two, so a bucket's width is at most 1/64 (1.6%) of its lower bound.
// Sparse (lingering times cluster in few buckets) and mergeable.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace tcplinger {

class Histogram {
public:
    static constexpr unsigned kSubBits = 6;

    void add(uint64_t value);
    void merge(const Histogram& other);
    uint64_t count() const { return count_; }
    uint64_t min() const { return count_ ? min_ : 0; }
    uint64_t max() const { return max_; }
    // Value at quantile q in [0,1]: the midpoint of the bucket holding that
    // rank, clamped to [min, max]; exact for q = 1.
    uint64_t quantile(double q) const;
    // Counts per power of two of value/unit: (lower bound in units, count),
    // from the first to the last non-empty row, for bcc-style histograms.
    std::vector<std::pair<uint64_t, uint64_t>> log2_rows(uint64_t unit) const;

    static uint32_t bucket_of(uint64_t value);
    static uint64_t bucket_low(uint32_t bucket);
    static uint64_t bucket_high(uint32_t bucket);  // exclusive

    bool operator==(const Histogram&) const = default;

private:
    std::vector<std::pair<uint32_t, uint64_t>> buckets_;  // sorted by bucket
    uint64_t count_ = 0;
    uint64_t min_ = UINT64_MAX;
    uint64_t max_ = 0;
};

}  // namespace tcplinger
