// BucketQuantile edge cases (as Prometheus' promql/quantile.go handles them) and the quantiles of
// real proxy payloads (test/fixtures/proxy-histograms/README.md).
#include "aggregation/histogram_quantile.h"

#include <cmath>
#include <limits>
#include <map>

#include <gtest/gtest.h>

namespace smi::aggregation {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Names the type of a braced bucket list, which would otherwise also fit the map overload.
using Buckets = std::vector<Bucket>;

TEST(BucketQuantile, QuantileOutsideZeroToOne) {
  const std::vector<Bucket> buckets{{1, 5}, {kInf, 10}};
  EXPECT_EQ(BucketQuantile(-0.1, buckets), -kInf);
  EXPECT_EQ(BucketQuantile(1.01, buckets), kInf);
  EXPECT_TRUE(std::isnan(BucketQuantile(std::nan(""), buckets)));
  // The q checks come first: even unusable buckets answer +-Inf.
  EXPECT_EQ(BucketQuantile(-1, std::vector<Bucket>{}), -kInf);
}

TEST(BucketQuantile, AllZeroBucketsIsNaN) {
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, Buckets{{0.1, 0}, {0.2, 0}, {kInf, 0}})));
}

TEST(BucketQuantile, MissingInfBucketIsNaN) {
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, Buckets{{0.1, 1}, {0.2, 2}})));
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, std::vector<Bucket>{})));
}

TEST(BucketQuantile, FewerThanTwoBucketsIsNaN) {
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, Buckets{{kInf, 10}})));
  // Two +Inf buckets coalesce into one: still fewer than two.
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, Buckets{{kInf, 4}, {kInf, 6}})));
}

TEST(BucketQuantile, RankInInfBucketAnswersHighestFiniteBound) {
  // 10 observations, 4 <= 1, 6 <= 2: the 0.9 rank (9) lies above every finite bound.
  EXPECT_EQ(BucketQuantile(0.9, Buckets{{1, 4}, {2, 6}, {kInf, 10}}), 2);
  EXPECT_EQ(BucketQuantile(1, Buckets{{1, 4}, {2, 6}, {kInf, 10}}), 2);
}

TEST(BucketQuantile, SingleFiniteBucketPlusInf) {
  // Rank 5 of 10 in (0, 1]: 0 + 1 * 5/10.
  EXPECT_EQ(BucketQuantile(0.5, Buckets{{1, 10}, {kInf, 10}}), 0.5);
  // Rank 9 of 10 with only 8 <= 1: in the +Inf bucket -> 1.
  EXPECT_EQ(BucketQuantile(0.9, Buckets{{1, 8}, {kInf, 10}}), 1);
}

TEST(BucketQuantile, NegativeOrZeroFirstBound) {
  // The first bucket's lower edge is unknown when its bound is <= 0: the bound is the answer.
  EXPECT_EQ(BucketQuantile(0.25, Buckets{{-1, 5}, {1, 10}, {kInf, 10}}), -1);
  EXPECT_EQ(BucketQuantile(0.25, Buckets{{0, 5}, {1, 10}, {kInf, 10}}), 0);
  // Rank 7.5 in (-1, 1]: -1 + 2 * 2.5/5.
  EXPECT_EQ(BucketQuantile(0.75, Buckets{{-1, 5}, {1, 10}, {kInf, 10}}), 0);
}

TEST(BucketQuantile, QuantileZero) {
  // rank 0 -> first bucket; positive bound -> 0 + bound * 0/count = 0.
  EXPECT_EQ(BucketQuantile(0, Buckets{{1, 5}, {kInf, 10}}), 0);
  // ... and 0/0 = NaN when the first bucket is empty, as in Go.
  EXPECT_TRUE(std::isnan(BucketQuantile(0, Buckets{{1, 0}, {2, 5}, {kInf, 10}})));
}

TEST(BucketQuantile, NonMonotonicInputIsFlattened) {
  // {1:5, 2:3, +Inf:6} is treated as {1:5, 2:5, +Inf:6}: rank 3 -> (0,1] -> 3/5 = 0.6, and rank
  // 5.4 -> +Inf bucket -> 2.
  auto result = BucketQuantileWithAnnotations(0.5, {{1, 5}, {2, 3}, {kInf, 6}});
  EXPECT_DOUBLE_EQ(result.value, 0.6);
  EXPECT_TRUE(result.forced_monotonic);
  EXPECT_FALSE(result.fixed_precision);
  EXPECT_EQ(BucketQuantile(0.9, Buckets{{1, 5}, {2, 3}, {kInf, 6}}), 2);
  // `prev` stays at the last good count: {1:5, 2:3, 3:4, +Inf:6} -> {5, 5, 5, 6}.
  EXPECT_EQ(BucketQuantile(0.9, Buckets{{1, 5}, {2, 3}, {3, 4}, {kInf, 6}}), 3);
}

TEST(BucketQuantile, TinyDeltasAreFloatingPointNoise) {
  // 1e-13 relative difference: equalised without the monotonicity annotation, in either
  // direction.
  const double c = 100;
  const double below = c * (1 - 1e-13);
  auto result = BucketQuantileWithAnnotations(0.5, {{1, c}, {2, below}, {kInf, c}});
  EXPECT_TRUE(result.fixed_precision);
  EXPECT_FALSE(result.forced_monotonic);
  EXPECT_EQ(result.value, 0.5);
  // 1e-11 relative is real: forced, not fixed.
  result = BucketQuantileWithAnnotations(0.5, {{1, c}, {2, c * (1 - 1e-11)}, {kInf, c}});
  EXPECT_TRUE(result.forced_monotonic);
  EXPECT_FALSE(result.fixed_precision);
  // Near zero the test is absolute against the smallest normal double, so 0 vs 1e-300 is real.
  result = BucketQuantileWithAnnotations(0.5, {{1, 0}, {2, 1e-300}, {kInf, 1e-300}});
  EXPECT_FALSE(result.fixed_precision);
}

TEST(BucketQuantile, DuplicateBoundsAreAdded) {
  // After `sum by (le)` over series spelling le as "0.2" and "2e-1": both parse to 0.2 and their
  // counts add up. {0.1:1, 0.2:1+1+1, +Inf:4} -> rank 2 in (0.1, 0.2] -> 0.1 + 0.1 * 1/2.
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, Buckets{{0.1, 1}, {0.2, 1}, {0.2, 1}, {0.2, 1}, {kInf, 4}}),
                   0.15);
}

TEST(BucketQuantile, UnsortedInputIsSorted) {
  EXPECT_EQ(BucketQuantile(0.5, Buckets{{kInf, 10}, {2, 10}, {1, 0}}), 1.5);
}

TEST(BucketQuantile, MapOverload) {
  const std::map<double, double> buckets{{1, 0}, {2, 10}, {kInf, 10}};
  EXPECT_EQ(BucketQuantile(0.5, buckets), 1.5);
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, std::map<double, double>{})));
}

// Bucket counts transcribed from real proxy payloads (where each comes from:
// test/fixtures/proxy-histograms/README.md); expected quantiles worked out by hand from
// Prometheus' BucketQuantile, with the rank shown.

TEST(BucketQuantileOnProxyPayloads, LinkerdInboundNoTls) {
  // A Linkerd 2 proxy (DataDog integrations-core linkerd/tests/fixtures/linkerd_v2.txt, lines
  // 17-42): response_latency_ms_bucket{direction="inbound",tls="no_identity",
  // no_tls_reason="not_provided_by_remote",status_code="200"}; 852 observations, 705 <= 1 ms.
  const std::map<double, double> buckets{
      {1, 705},     {2, 814},    {3, 830},     {4, 833},     {5, 838},     {10, 842},
      {20, 847},    {30, 848},   {40, 849},    {50, 849},    {100, 849},   {200, 850},
      {300, 850},   {400, 850},  {500, 850},   {1000, 852},  {2000, 852},  {3000, 852},
      {4000, 852},  {5000, 852}, {10000, 852}, {20000, 852}, {30000, 852}, {40000, 852},
      {50000, 852}, {kInf, 852}};
  // p50: rank 426 in (0, 1] -> 426/705.
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, buckets), 426.0 / 705.0);
  EXPECT_NEAR(BucketQuantile(0.5, buckets), 0.604255, 1e-6);
  // p90: rank 766.8 in (1, 2] -> 1 + 61.8/109.
  EXPECT_NEAR(BucketQuantile(0.9, buckets), 1.56697, 1e-5);
  // p99: rank 843.48 in (10, 20] -> 10 + 10 * 1.48/5.
  EXPECT_NEAR(BucketQuantile(0.99, buckets), 12.96, 1e-9);
}

TEST(BucketQuantileOnProxyPayloads, LinkerdDestinationOneObservation) {
  // Same file, lines 45-70: one observation in (1, 2] ms.
  std::map<double, double> buckets{{1, 0}, {2, 1}};
  for (double bound : {3,   4,    5,    10,   20,   30,   40,    50,    100,   200,   300,  400,
                       500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000}) {
    buckets[bound] = 1;
  }
  buckets[kInf] = 1;
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, buckets), 1.5);
  EXPECT_DOUBLE_EQ(BucketQuantile(0.9, buckets), 1.9);
  EXPECT_DOUBLE_EQ(BucketQuantile(0.99, buckets), 1.99);
}

TEST(BucketQuantileOnProxyPayloads, IstioOneSlowRequest) {
  // Istio 1.11 (DataDog integrations-core istio/tests/fixtures/1.5/istio-merged.txt):
  // istio_request_duration_milliseconds, productpage -> reviews-v1, one observation in
  // (1000, 2500].
  std::map<double, double> buckets;
  for (double bound : {0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0}) {
    buckets[bound] = 0;
  }
  for (double bound : {2500.0, 5000.0, 10000.0, 30000.0, 60000.0, 300000.0, 600000.0, 1800000.0,
                       3600000.0, kInf}) {
    buckets[bound] = 1;
  }
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, buckets), 1750);
  EXPECT_DOUBLE_EQ(BucketQuantile(0.9, buckets), 2350);
  EXPECT_DOUBLE_EQ(BucketQuantile(0.99, buckets), 2485);
}

TEST(BucketQuantileOnProxyPayloads, EnvoyGoldenRqTime) {
  // Envoy's own golden output (envoyproxy/envoy test/server/admin/prometheus_stats_test.cc,
  // OutputWithAllMetricTypes): 7 observations.
  const std::map<double, double> buckets{
      {0.5, 0},   {1, 0},      {5, 0},      {10, 0},      {25, 1},      {50, 2},    {100, 4},
      {250, 6},   {500, 6},    {1000, 6},   {2500, 6},    {5000, 6},    {10000, 7}, {30000, 7},
      {60000, 7}, {300000, 7}, {600000, 7}, {1800000, 7}, {3600000, 7}, {kInf, 7}};
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, buckets), 87.5);   // rank 3.5 in (50, 100]
  EXPECT_DOUBLE_EQ(BucketQuantile(0.9, buckets), 6500);   // rank 6.3 in (5000, 10000]
  EXPECT_DOUBLE_EQ(BucketQuantile(0.99, buckets), 9650);  // rank 6.93
}

TEST(BucketQuantileOnProxyPayloads, TraefikReadiness) {
  // Traefik Mesh (DataDog integrations-core traefik_mesh/tests/fixtures/traefik_proxy.txt, lines
  // 169-173): traefik_service_request_duration_seconds, service="readiness@http", all 70424
  // requests <= 0.1 s.
  const std::map<double, double> buckets{
      {0.1, 70424}, {0.3, 70424}, {1.2, 70424}, {5, 70424}, {kInf, 70424}};
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, buckets), 0.05);
  EXPECT_DOUBLE_EQ(BucketQuantile(0.9, buckets), 0.09);
  EXPECT_DOUBLE_EQ(BucketQuantile(0.99, buckets), 0.099);
}

}  // namespace
}  // namespace smi::aggregation
