#include "stats/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace tcplinger {

namespace {
constexpr uint64_t kSub = 1ULL << Histogram::kSubBits;
}

uint32_t Histogram::bucket_of(uint64_t v) {
    if (v < kSub) return static_cast<uint32_t>(v);
    unsigned e = 63 - __builtin_clzll(v);  // e >= kSubBits
    uint64_t sub = (v >> (e - kSubBits)) & (kSub - 1);
    return static_cast<uint32_t>((e - kSubBits + 1) * kSub + sub);
}

uint64_t Histogram::bucket_low(uint32_t b) {
    if (b < kSub) return b;
    unsigned e = b / kSub + kSubBits - 1;
    uint64_t sub = b % kSub;
    return (1ULL << e) + (sub << (e - kSubBits));
}

uint64_t Histogram::bucket_high(uint32_t b) {
    if (b < kSub) return b + 1;
    unsigned e = b / kSub + kSubBits - 1;
    return bucket_low(b) + (1ULL << (e - kSubBits));
}

void Histogram::add(uint64_t v) {
    uint32_t b = bucket_of(v);
    auto it = std::lower_bound(buckets_.begin(), buckets_.end(), b,
                               [](const auto& p, uint32_t key) { return p.first < key; });
    if (it != buckets_.end() && it->first == b)
        ++it->second;
    else
        buckets_.insert(it, {b, 1});
    ++count_;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
}

void Histogram::merge(const Histogram& o) {
    std::vector<std::pair<uint32_t, uint64_t>> out;
    out.reserve(buckets_.size() + o.buckets_.size());
    auto a = buckets_.cbegin();
    auto b = o.buckets_.cbegin();
    while (a != buckets_.cend() || b != o.buckets_.cend()) {
        if (b == o.buckets_.cend() || (a != buckets_.cend() && a->first < b->first)) {
            out.push_back(*a++);
        } else if (a == buckets_.cend() || b->first < a->first) {
            out.push_back(*b++);
        } else {
            out.emplace_back(a->first, a->second + b->second);
            ++a;
            ++b;
        }
    }
    buckets_ = std::move(out);
    count_ += o.count_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
}

uint64_t Histogram::quantile(double q) const {
    if (!count_) return 0;
    if (q >= 1.0) return max_;
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (const auto& [b, n] : buckets_) {
        seen += n;
        if (seen >= rank) {
            uint64_t mid = bucket_low(b) + (bucket_high(b) - 1 - bucket_low(b)) / 2;
            return std::clamp(mid, min(), max_);
        }
    }
    return max_;
}

std::vector<std::pair<uint64_t, uint64_t>> Histogram::log2_rows(uint64_t unit) const {
    std::vector<std::pair<uint64_t, uint64_t>> rows;
    if (!count_ || !unit) return rows;
    auto row_of = [](uint64_t units) -> size_t { return units == 0 ? 0 : 64 - __builtin_clzll(units); };
    std::vector<uint64_t> counts;
    for (const auto& [b, n] : buckets_) {
        size_t r = row_of(bucket_low(b) / unit);
        if (counts.size() <= r) counts.resize(r + 1, 0);
        counts[r] += n;
    }
    size_t first = 0;
    while (first < counts.size() && counts[first] == 0) ++first;
    for (size_t r = first; r < counts.size(); ++r) rows.emplace_back(r == 0 ? 0 : 1ULL << (r - 1), counts[r]);
    return rows;
}

}  // namespace tcplinger
