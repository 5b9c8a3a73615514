// Increase() on hand-made series; every expected number is worked out in the comment above it
// from Prometheus' extrapolation rules (docs/sidecars.md, "increase").
#include "sources/sidecars/increase.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace smi::sources::sidecars {
namespace {

// Samples every `step_s` seconds from `start_s`, with the given values.
std::vector<Sample> Every(int64_t start_s, int64_t step_s, std::vector<double> values) {
  std::vector<Sample> out;
  for (size_t i = 0; i < values.size(); ++i) {
    out.push_back({(start_s + static_cast<int64_t>(i) * step_s) * 1000, values[i]});
  }
  return out;
}

TEST(Increase, NothingBelowTwoSamples) {
  EXPECT_FALSE(Increase({}, 0, 60'000).has_value());
  EXPECT_FALSE(Increase({{30'000, 5}}, 0, 60'000).has_value());
  EXPECT_FALSE(Increase({{30'000, 5}, {30'000, 6}}, 0, 60'000).has_value());
}

TEST(Increase, SamplesOnTheRangeEdgesNeedNoExtrapolation) {
  // 0..30 over [0s, 30s]: 30.
  EXPECT_EQ(Increase(Every(0, 10, {0, 10, 20, 30}), 0, 30'000), 30);
}

TEST(Increase, ExtrapolatesToBothEdgesWhenCloseToThem) {
  // Samples at 5s, 15s, 25s: 100, 110, 120 over [0s, 30s]. Raw increase 20 over 20 s; 5 s to
  // each edge is less than 1.1 * 10 s, and the counter would reach zero only 200 s back:
  // 20 * (20 + 5 + 5) / 20 = 30.
  EXPECT_EQ(Increase(Every(5, 10, {100, 110, 120}), 0, 30'000), 30);
}

TEST(Increase, ExtrapolatesHalfAnIntervalPastAGap) {
  // Samples at 20s, 30s, 40s: 100, 110, 120 over [0s, 60s]. 20 s to each edge is more than
  // 1.1 * 10 s: extrapolate 5 s on each side: 20 * (20 + 5 + 5) / 20 = 30.
  EXPECT_EQ(Increase(Every(20, 10, {100, 110, 120}), 0, 60'000), 30);
  // Just under the threshold (10.999 s < 11 s) the whole distance counts:
  // 20 * (20 + 10.999 + 0) / 20 = 30.999.
  EXPECT_DOUBLE_EQ(*Increase(Every(20, 10, {100, 110, 120}), 9'001, 40'000), 30.999);
  // Just over it (11.001 s), half an interval: 20 * (20 + 5) / 20 = 25.
  EXPECT_DOUBLE_EQ(*Increase(Every(20, 10, {100, 110, 120}), 8'999, 40'000), 25);
}

TEST(Increase, StartExtrapolationStopsWhereTheCounterWouldBeZero) {
  // Samples at 20s, 30s, 40s: 1, 11, 21 over [0s, 40s]. Raw 20 over 20 s; the counter was 0
  // 20 * 1/20 = 1 s before the first sample, closer than the 20 s to the range start:
  // 20 * (20 + 1) / 20 = 21.
  EXPECT_DOUBLE_EQ(*Increase(Every(20, 10, {1, 11, 21}), 0, 40'000), 21);
  // Starting at zero: nothing before the first sample.
  EXPECT_DOUBLE_EQ(*Increase(Every(20, 10, {0, 10, 20}), 0, 40'000), 20);
}

TEST(Increase, ZeroPointBeforeTheThresholdAsInPrometheus242) {
  // Samples every 4 min from 0: 180, 420, 660 over [-10m, 10m] (functions.test's
  // testcounter_zero_cutoff{start="3m"} at 10m). Raw 480 over 480 s, average 240 s. Zero point
  // 480 * 180/480 = 180 s back, less than the 600 s to the start, so durationToStart = 180 s;
  // 180 < 264 (1.1 * 240): extrapolate all of it. End: 120 s < 264. 480 * (480+180+120)/480 =
  // 780 (Prometheus 2.51+ would cap the start at 120 s first and answer 720).
  EXPECT_DOUBLE_EQ(*Increase(Every(0, 240, {180, 420, 660}), -600'000, 600'000), 780);
}

TEST(Increase, CounterResets) {
  // 0 1 2 3 2 3 4: the drop from 3 to 2 is a reset, so 3 is added: 4 - 0 + 3 = 7.
  EXPECT_EQ(Increase(Every(0, 300, {0, 1, 2, 3, 2, 3, 4}), 0, 1'800'000), 7);
  // Two resets, the second to exactly 0: (5 - 10) + 12 + 7 = 14.
  EXPECT_EQ(Increase(Every(0, 10, {10, 12, 3, 7, 0, 5}), 0, 50'000), 14);
  // A reset at the last sample: 90 then 0 is an increase of 0.
  EXPECT_EQ(Increase(Every(0, 300, {90, 0}), 0, 300'000), 0);
}

TEST(Increase, NoZeroLimitForNegativeOrFallingStarts) {
  // First value negative: no zero point; 10 s to the start extrapolates fully:
  // 20 * (20 + 10) / 20 = 30.
  EXPECT_EQ(Increase(Every(10, 10, {-10, 0, 10}), 0, 30'000), 30);
}

TEST(Increase, NaNAsPrometheusTreatsIt) {
  // A NaN last: last - first is NaN.
  EXPECT_TRUE(std::isnan(*Increase(Every(0, 10, {1, 2, std::nan("")}), 0, 20'000)));
  // A NaN in the middle compares false both ways, so it is no reset: 3 - 1 = 2.
  EXPECT_EQ(Increase(Every(0, 10, {1, std::nan(""), 3}), 0, 20'000), 2);
}

}  // namespace
}  // namespace smi::sources::sidecars
