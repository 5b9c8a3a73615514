#include "aggregation/histogram_quantile.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace smi::aggregation {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Prometheus' smallDeltaTolerance in promql/quantile.go.
constexpr double kSmallDeltaTolerance = 1e-12;

// util/almost.Equal: relative comparison, or absolute against the smallest normal double when a
// value is zero or both are subnormal (a relative test is meaningless there).
bool AlmostEqual(double a, double b, double epsilon) {
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  const double min_normal = std::numeric_limits<double>::min();  // 0x0010000000000000
  const double abs_sum = std::fabs(a) + std::fabs(b);
  const double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || abs_sum < min_normal) return diff < epsilon * min_normal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < epsilon;
}

// coalesceBuckets: after sorting, neighbours with the same bound (le="0.2" and le="2e-1" summed
// across series) become one bucket holding the sum of their counts.
void CoalesceBuckets(std::vector<Bucket>& buckets) {
  size_t i = 0;
  Bucket last = buckets[0];
  for (size_t j = 1; j < buckets.size(); ++j) {
    if (buckets[j].upper_bound == last.upper_bound) {
      last.count += buckets[j].count;
    } else {
      buckets[i++] = last;
      last = buckets[j];
    }
  }
  buckets[i] = last;
  buckets.resize(i + 1);
}

// ensureMonotonicAndIgnoreSmallDeltas. `prev` deliberately stays put when a count is corrected,
// exactly as Prometheus does, so a dip is flattened to the last good count.
void EnsureMonotonicAndIgnoreSmallDeltas(std::vector<Bucket>& buckets, double tolerance,
                                         BucketQuantileResult& result) {
  double prev = buckets[0].count;
  for (size_t i = 1; i < buckets.size(); ++i) {
    const double curr = buckets[i].count;
    if (curr == prev) continue;
    if (AlmostEqual(prev, curr, tolerance)) {
      buckets[i].count = prev;
      result.fixed_precision = true;
      continue;
    }
    if (curr < prev) {
      buckets[i].count = prev;
      result.forced_monotonic = true;
      continue;
    }
    prev = curr;
  }
}

// Go's sort.Search(n, pred): the smallest index in [0, n) for which pred holds, n if none. Ported
// step for step so that the chosen bucket is the same even for inputs that are not monotonic in
// `count >= rank` (NaN counts).
template <typename Predicate>
size_t GoSortSearch(size_t n, Predicate pred) {
  size_t i = 0;
  size_t j = n;
  while (i < j) {
    const size_t h = (i + j) / 2;
    if (!pred(h)) {
      i = h + 1;
    } else {
      j = h;
    }
  }
  return i;
}

}  // namespace

BucketQuantileResult BucketQuantileWithAnnotations(double q, std::vector<Bucket> buckets) {
  if (std::isnan(q)) return {kNaN};
  if (q < 0) return {-kInf};
  if (q > 1) return {kInf};
  // Prometheus never calls this with no buckets (a group exists because a bucket did).
  if (buckets.empty()) return {kNaN};

  // Go's comparator with a NaN bound is not a strict weak ordering, which std::sort may not be
  // given. NaN bounds (le="NaN") are ordered first here; Go leaves their place to the sort
  // algorithm, so results for such nonsense input may differ, every other input sorts alike.
  std::stable_sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) {
    if (std::isnan(a.upper_bound)) return !std::isnan(b.upper_bound);
    if (std::isnan(b.upper_bound)) return false;
    return a.upper_bound < b.upper_bound;
  });
  if (buckets.back().upper_bound != kInf) return {kNaN};

  BucketQuantileResult result{kNaN};
  CoalesceBuckets(buckets);
  EnsureMonotonicAndIgnoreSmallDeltas(buckets, kSmallDeltaTolerance, result);

  const size_t n = buckets.size();
  if (n < 2) return {kNaN};
  const double observations = buckets.back().count;
  if (observations == 0) return {kNaN};
  double rank = q * observations;
  const size_t b = GoSortSearch(n - 1, [&](size_t i) { return buckets[i].count >= rank; });

  if (b == n - 1) {
    // The rank lies among observations above every finite bound: the best statement PromQL can
    // make is "at least the largest finite bound".
    result.value = buckets[n - 2].upper_bound;
    return result;
  }
  if (b == 0 && buckets[0].upper_bound <= 0) {
    result.value = buckets[0].upper_bound;
    return result;
  }
  double bucket_start = 0;
  const double bucket_end = buckets[b].upper_bound;
  double count = buckets[b].count;
  if (b > 0) {
    bucket_start = buckets[b - 1].upper_bound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  // q == 0 with an empty first bucket gives 0/0 = NaN here, as in Go.
  result.value = bucket_start + (bucket_end - bucket_start) * (rank / count);
  return result;
}

double BucketQuantile(double q, std::vector<Bucket> buckets) {
  return BucketQuantileWithAnnotations(q, std::move(buckets)).value;
}

double BucketQuantile(double q, const std::map<double, double>& buckets) {
  std::vector<Bucket> list;
  list.reserve(buckets.size());
  for (const auto& [upper_bound, count] : buckets) list.push_back({upper_bound, count});
  return BucketQuantile(q, std::move(list));
}

}  // namespace smi::aggregation
