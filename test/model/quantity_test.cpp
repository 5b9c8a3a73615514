// Expected strings are derived by hand from Kubernetes' rules (apimachinery resource/amount.go
// int64Amount.AsCanonicalBytes and suffix.go): strip trailing decimal zeros from the mantissa into
// the exponent, lower the exponent to a multiple of 3 by appending zeros, then pick the suffix
// n u m "" k M G T P E for exponents -9 .. 18.
#include "model/quantity.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include <gtest/gtest.h>

namespace smi::model {
namespace {

TEST(QuantityToString, ExamplesFromTheApi) {
  // 0: Kubernetes special-cases zero.
  EXPECT_EQ(Quantity(0, 0).ToString(), "0");
  EXPECT_EQ(Quantity(0, -9).ToString(), "0");
  // 10e-3: 10 -> 1, exponent -2; -2 % 3 == -2 -> 1*10, exponent -3 -> "10m" (the spec's latency).
  EXPECT_EQ(Quantity(10, -3).ToString(), "10m");
  // 1000: 1000 -> 1, exponent 3 -> "1k".
  EXPECT_EQ(Quantity(1000, 0).ToString(), "1k");
  // 1500: 1500 -> 15, exponent 2; 2 % 3 == 2 -> 15*100, exponent 0 -> "1500".
  EXPECT_EQ(Quantity(1500, 0).ToString(), "1500");
  // 73492e-3: no trailing zeros, exponent -3 -> "73492m".
  EXPECT_EQ(Quantity(73492, -3).ToString(), "73492m");
  // 604255e-9: no trailing zeros, exponent -9 -> "604255n".
  EXPECT_EQ(Quantity(604255, -9).ToString(), "604255n");
  // 2000000: -> 2, exponent 6 -> "2M".
  EXPECT_EQ(Quantity(2000000, 0).ToString(), "2M");
  // 1e-9 -> "1n".
  EXPECT_EQ(Quantity(1, -9).ToString(), "1n");
  // 100: -> 1, exponent 2 -> 1*100, exponent 0 -> "100" (the spec's count).
  EXPECT_EQ(Quantity(100, 0).ToString(), "100");
  // -5e-3: sign kept, 5, exponent -3 -> "-5m".
  EXPECT_EQ(Quantity(-5, -3).ToString(), "-5m");
}

TEST(QuantityToString, SameValueAtDifferentScalesPrintsTheSame) {
  // 0.5 at milli (500e-3) and at nano (500000000e-9): both reduce to 5e-1 -> 500e-3 -> "500m".
  EXPECT_EQ(Quantity(500, -3).ToString(), "500m");
  EXPECT_EQ(Quantity(500000000, -9).ToString(), "500m");
  // 1.5 seconds at nano: 15e-1 -> 1500e-3 -> "1500m" (Kubernetes' own doc example: 1.5 -> "1500m").
  EXPECT_EQ(Quantity(1500000000, -9).ToString(), "1500m");
  // 10 ms at nano: 1e-2 -> 10e-3 -> "10m".
  EXPECT_EQ(Quantity(10000000, -9).ToString(), "10m");
  // 100 counted at milli: 100000e-3 -> 1e2 -> 100e0 -> "100".
  EXPECT_EQ(Quantity(100000, -3).ToString(), "100");
  // 1 count at milli: 1000e-3 -> 1e0 -> "1".
  EXPECT_EQ(Quantity(1000, -3).ToString(), "1");
}

TEST(QuantityToString, EveryDecimalSuffix) {
  // 1e(3k) for each k in the suffix table; 1e-6 -> "1u" (Kubernetes uses ASCII u, not µ).
  EXPECT_EQ(Quantity(1, -6).ToString(), "1u");
  EXPECT_EQ(Quantity(1, 9).ToString(), "1G");
  EXPECT_EQ(Quantity(1, 12).ToString(), "1T");
  EXPECT_EQ(Quantity(1, 15).ToString(), "1P");
  EXPECT_EQ(Quantity(1, 18).ToString(), "1E");
  // 12345e-4: exponent -4; -4 % 3 == -1 -> 12345*100, exponent -6 -> "1234500u".
  EXPECT_EQ(Quantity(12345, -4).ToString(), "1234500u");
  // 7e4: 4 % 3 == 1 -> 70, exponent 3 -> "70k".
  EXPECT_EQ(Quantity(70000, 0).ToString(), "70k");
  // 1001000: -> 1001, exponent 3 -> "1001k".
  EXPECT_EQ(Quantity(1001000, 0).ToString(), "1001k");
}

TEST(QuantityToString, Int64Extremes) {
  // INT64_MAX has no trailing zero: exponent 0 -> its digits, no suffix.
  EXPECT_EQ(Quantity(std::numeric_limits<int64_t>::max(), 0).ToString(), "9223372036854775807");
  EXPECT_EQ(Quantity(std::numeric_limits<int64_t>::min(), 0).ToString(), "-9223372036854775808");
  // INT64_MAX e-1: -1 % 3 == -1 -> *100 overflows int64 (Kubernetes switches to big decimals);
  // digits + "00", exponent -3 -> "922337203685477580700m".
  EXPECT_EQ(Quantity(std::numeric_limits<int64_t>::max(), -1).ToString(), "922337203685477580700m");
}

TEST(QuantityToString, ExponentsOutsideTheSuffixTableUseExponentForm) {
  // 1e21 and 1e-12 have no DecimalSI suffix; Kubernetes would print the bare mantissa ("1"),
  // which misstates the value, so these print in the exponent form Kubernetes parses.
  EXPECT_EQ(Quantity(1, 21).ToString(), "1e21");
  EXPECT_EQ(Quantity(1, -12).ToString(), "1e-12");
  // 5e-11: -11 % 3 == -2 -> 50, exponent -12.
  EXPECT_EQ(Quantity(5, -11).ToString(), "50e-12");
}

TEST(QuantityFromDouble, RoundsToTheScale) {
  // 0.604255 s at nano: 604255000e-9 -> 604255e-6 -> "604255u". The design's "604255n" is a
  // latency of 0.604255 ms (Linkerd's p50 in the fixtures) = 0.000604255 s = 604255e-9.
  EXPECT_EQ(Quantity::FromDouble(0.604255, kSecondsScale).ToString(), "604255u");
  EXPECT_EQ(Quantity::FromDouble(0.000604255, kSecondsScale).ToString(), "604255n");
  // 73.492 at milli: 73492.00000000001 -> 73492 -> "73492m".
  EXPECT_EQ(Quantity::FromDouble(73.492, kCountScale).ToString(), "73492m");
  // 0.01 at nano: 10000000e-9 -> "10m".
  EXPECT_EQ(Quantity::FromDouble(0.01, kSecondsScale).ToString(), "10m");
  // 100 at milli -> 100000e-3 -> "100".
  EXPECT_EQ(Quantity::FromDouble(100, kCountScale).ToString(), "100");
  EXPECT_EQ(Quantity::FromDouble(0.0, kCountScale).ToString(), "0");
  // 10.123456 at milli: 10123.456 -> 10123 -> "10123m" (smi-sdk-go's test value).
  EXPECT_EQ(Quantity::FromDouble(10.123456, kCountScale).ToString(), "10123m");
}

TEST(QuantityFromDouble, HalfRoundsAwayFromZero) {
  // 2.5 at scale 0 -> 3; -2.5 -> -3; 0.0025 at milli: 2.5 (0.0025 * 1000 rounds to exactly 2.5)
  // -> 3 -> "3m".
  EXPECT_EQ(Quantity::FromDouble(2.5, 0).mantissa(), 3);
  EXPECT_EQ(Quantity::FromDouble(-2.5, 0).mantissa(), -3);
  EXPECT_EQ(Quantity::FromDouble(0.0025, kCountScale).ToString(), "3m");
  // 1.4999 at milli: 1499.9 -> 1500 -> 15e2 * 1e-3 -> "1500m".
  EXPECT_EQ(Quantity::FromDouble(1.4999, kCountScale).ToString(), "1500m");
  // 0.4e-9 rounds to 0 at nano; -0.4e-9 too (no "-0").
  EXPECT_EQ(Quantity::FromDouble(0.4e-9, kSecondsScale).ToString(), "0");
  EXPECT_EQ(Quantity::FromDouble(-0.4e-9, kSecondsScale).ToString(), "0");
  // 0.6e-9 -> 1 -> "1n".
  EXPECT_EQ(Quantity::FromDouble(0.6e-9, kSecondsScale).ToString(), "1n");
}

TEST(QuantityFromDouble, TooLargeForTheScaleFallsBackToACoarserScale) {
  // 1e17 at milli would be 1e20 milli-units > INT64_MAX (9.2e18): scale -3 -> -2 -> -1 (1e18 fits).
  const Quantity big = Quantity::FromDouble(1e17, kCountScale);
  EXPECT_EQ(big.scale(), -1);
  EXPECT_EQ(big.mantissa(), 1000000000000000000);
  // 1e18 * 1e-1 = 1e17 -> exponent 17; 17 % 3 == 2 -> 100, exponent 15 -> "100P".
  EXPECT_EQ(big.ToString(), "100P");
  // 1e30 at nano lands on scale 12 (1e18 fits) -> 1e30 -> 30 % 3 == 0 -> "1e30".
  EXPECT_EQ(Quantity::FromDouble(1e30, kSecondsScale).ToString(), "1e30");
  // 9e18 fits at scale 0 (below 2^63 ~ 9.22e18): 9e18 -> 9, exponent 18 -> "9E".
  EXPECT_EQ(Quantity::FromDouble(9e18, 0).ToString(), "9E");
  // 2^63 itself does not fit at scale 0 -> scale 1. 2^63 / 10 is not a double; the nearest one is
  // 922337203685477632 (doubles near 2^59 are 128 apart), already an integer. Exponent 1 ->
  // mantissa * 10, exponent 0 -> no suffix.
  const Quantity edge = Quantity::FromDouble(9223372036854775808.0, 0);
  EXPECT_EQ(edge.scale(), 1);
  EXPECT_EQ(edge.mantissa(), 922337203685477632);
  EXPECT_EQ(edge.ToString(), "9223372036854776320");
  EXPECT_EQ(Quantity::FromDouble(-1e17, kCountScale).ToString(), "-100P");
}

TEST(QuantityFromDouble, VerySmallValues) {
  // Below half a nanosecond everything is zero at nano scale.
  EXPECT_EQ(Quantity::FromDouble(1e-12, kSecondsScale).ToString(), "0");
  // A caller that asks for pico gets it, printed in exponent form (see above).
  EXPECT_EQ(Quantity::FromDouble(1e-12, -12).ToString(), "1e-12");
  // The smallest positive double rounds to 0 at any usable scale.
  EXPECT_EQ(
      Quantity::FromDouble(std::numeric_limits<double>::denorm_min(), kSecondsScale).ToString(),
      "0");
}

TEST(QuantityFromDouble, NonFiniteIsRejected) {
  EXPECT_THROW(Quantity::FromDouble(std::nan(""), kSecondsScale), std::domain_error);
  EXPECT_THROW(Quantity::FromDouble(std::numeric_limits<double>::infinity(), kCountScale),
               std::domain_error);
}

TEST(QuantityToDouble, RoundTrips) {
  EXPECT_DOUBLE_EQ(Quantity(604255, -9).ToDouble(), 0.000604255);
  EXPECT_EQ(Quantity(604255, -9).ToDouble(), 0.000604255);  // correctly rounded, not just close
  EXPECT_EQ(Quantity(73492, -3).ToDouble(), 73.492);
  EXPECT_EQ(Quantity(2, 6).ToDouble(), 2e6);
  EXPECT_EQ(Quantity(-5, -3).ToDouble(), -0.005);
}

}  // namespace
}  // namespace smi::model
