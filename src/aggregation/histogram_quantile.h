// PromQL's histogram_quantile for classic (le-bucketed) histograms, ported exactly, so that
// latencies computed here from summed bucket increases are what PromQL would answer for the same
// series, and a future source that is not Prometheus (the planned sidecar mode, docs/decisions.md,
// decision 15) gives the same latency for the same traffic.
#pragma once

#include <map>
#include <vector>

namespace smi::aggregation {

// One cumulative bucket: how many observations were <= upper_bound (the `le` label).
struct Bucket {
  double upper_bound;
  double count;
};

// The quantile and the two annotations Prometheus attaches to it.
struct BucketQuantileResult {
  double value;
  // Some bucket count was lower than the one before and was raised to it (Prometheus' info
  // annotation "input to histogram_quantile needed to be fixed for monotonicity").
  bool forced_monotonic = false;
  // Some counts differed from the previous bucket's only by floating-point noise (relative
  // 1e-12) and were made equal.
  bool fixed_precision = false;
};

// Prometheus' BucketQuantile (promql/quantile.go): NaN when there is no +Inf bucket, fewer than two
// buckets or no observations; -Inf for q < 0, +Inf for q > 1, NaN for q NaN; buckets with equal
// upper bounds are added together; a rank in the +Inf bucket answers the largest finite bound;
// otherwise linear interpolation inside the bucket (from 0 for the first one, unless its bound is
// <= 0, which is then the answer).
BucketQuantileResult BucketQuantileWithAnnotations(double q, std::vector<Bucket> buckets);

double BucketQuantile(double q, std::vector<Bucket> buckets);

// The same for buckets keyed by upper bound (upper bound -> cumulative count), the shape in which
// sources report latency bucket increases.
double BucketQuantile(double q, const std::map<double, double>& buckets);

}  // namespace smi::aggregation
