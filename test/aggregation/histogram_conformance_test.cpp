// Prometheus' own histogram_quantile conformance cases (promqltest histograms.test), run against
// BucketQuantile through a small reader and evaluator that live in the test.
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "aggregation/histogram_quantile.h"
#include "promql_test_reader.h"

namespace smi::aggregation {
namespace {

using promqltest::EvalCase;
using promqltest::FormatLabels;

std::pair<double, bool> QuantileUnderTest(double q,
                                          const std::vector<std::pair<double, double>>& buckets) {
  std::vector<Bucket> list;
  for (const auto& [bound, count] : buckets) list.push_back({bound, count});
  const auto result = BucketQuantileWithAnnotations(q, std::move(list));
  return {result.value, result.forced_monotonic};
}

bool IsHistogramQuantile(const EvalCase& c) {
  return c.expression.rfind("histogram_quantile(", 0) == 0;
}

void CheckCase(const EvalCase& c, const promqltest::QuantileOutcome& outcome) {
  SCOPED_TRACE("histograms.test line " + std::to_string(c.line) + ": " + c.expression);
  if (c.expect_fail) {
    EXPECT_TRUE(outcome.failed);
    return;
  }
  ASSERT_FALSE(outcome.failed);
  std::map<promqltest::Labels, double> actual;
  for (const auto& sample : outcome.result) actual[sample.labels] = sample.value;
  EXPECT_EQ(actual.size(), c.expected.size());
  for (const auto& expected : c.expected) {
    const auto it = actual.find(expected.labels);
    if (it == actual.end()) {
      ADD_FAILURE() << "missing " << FormatLabels(expected.labels);
      continue;
    }
    EXPECT_TRUE(promqltest::SameValue(expected.value, it->second))
        << FormatLabels(expected.labels) << ": expected " << expected.value << ", got "
        << it->second;
  }
  // The only info annotation histogram_quantile gives for classic buckets is the forced one.
  if (c.expect_info) {
    EXPECT_TRUE(outcome.any_forced_monotonic);
  }
  if (c.expect_no_info) {
    EXPECT_FALSE(outcome.any_forced_monotonic);
  }
}

TEST(HistogramQuantileConformance, PrometheusHistogramsTest) {
  std::ifstream in(std::string(SMI_TEST_FIXTURES) + "/promql/histograms.test");
  ASSERT_TRUE(in.good());
  const auto cases = promqltest::ReadPromqlTest(in);

  int ported = 0;
  int other_functions = 0;
  std::map<std::string, int> skipped;  // reason -> count
  for (const auto& c : cases) {
    if (!IsHistogramQuantile(c)) {
      ++other_functions;  // histogram_quantiles, histogram_fraction, rate, sum, ...
      continue;
    }
    const auto outcome = promqltest::EvaluateHistogramQuantile(c, QuantileUnderTest);
    if (!outcome.skip_reason.empty()) {
      ++skipped[outcome.skip_reason];
      continue;
    }
    ++ported;
    CheckCase(c, outcome);
  }

  int skipped_total = 0;
  std::cout << "histograms.test: " << cases.size() << " eval blocks, " << other_functions
            << " of other functions (not histogram_quantile)\n";
  std::cout << "histogram_quantile cases ported: " << ported << "\n";
  for (const auto& [reason, count] : skipped) {
    std::cout << "histogram_quantile cases skipped (" << reason << "): " << count << "\n";
    skipped_total += count;
  }
  RecordProperty("ported", ported);
  RecordProperty("skipped", skipped_total);
  // A change of fixture or reader that silently drops cases must show up here.
  EXPECT_EQ(ported, 46);
  EXPECT_EQ(skipped_total, 39);
}

}  // namespace
}  // namespace smi::aggregation
