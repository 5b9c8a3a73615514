// Expected values follow Go's time.ParseDuration / Duration.String() and Prometheus'
// model.ParseDuration, worked out by hand.
#include "model/duration.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace smi::model {
namespace {

using std::chrono::milliseconds;

milliseconds MustParse(std::string_view text) {
  std::string error;
  const auto parsed = ParseDuration(text, &error);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << error;
  return parsed.value_or(milliseconds(-1));
}

std::string ParseError(std::string_view text) {
  std::string error;
  const auto parsed = ParseDuration(text, &error);
  EXPECT_FALSE(parsed.has_value()) << text << " parsed as " << parsed->count() << "ms";
  EXPECT_FALSE(error.empty()) << text;
  return error;
}

TEST(ParseDuration, GoForms) {
  EXPECT_EQ(MustParse("30s"), milliseconds(30'000));
  EXPECT_EQ(MustParse("1m15s"), milliseconds(75'000));
  EXPECT_EQ(MustParse("1.5h"), milliseconds(5'400'000));
  EXPECT_EQ(MustParse("300ms"), milliseconds(300));
  EXPECT_EQ(MustParse("2h45m"), milliseconds(9'900'000));
  EXPECT_EQ(MustParse("1h0m0s"), milliseconds(3'600'000));
  EXPECT_EQ(MustParse("1.5s"), milliseconds(1'500));
  EXPECT_EQ(MustParse(".5s"), milliseconds(500));    // Go allows a missing integer part
  EXPECT_EQ(MustParse("1.s"), milliseconds(1'000));  // ... and a missing fraction
  EXPECT_EQ(MustParse("2000000us"), milliseconds(2'000));
  EXPECT_EQ(MustParse("3000000ns"), milliseconds(3));
  EXPECT_EQ(MustParse("1000\u00b5s"), milliseconds(1));  // micro sign
  EXPECT_EQ(MustParse("1000\u03bcs"), milliseconds(1));  // Greek mu
  EXPECT_EQ(MustParse("0.001s"), milliseconds(1));
  EXPECT_EQ(MustParse("1.1s"), milliseconds(1'100));  // exact, no float rounding
  EXPECT_EQ(MustParse("+30s"), milliseconds(30'000));
  EXPECT_EQ(MustParse("0"), milliseconds(0));  // Go's unitless zero
  EXPECT_EQ(MustParse("0s"), milliseconds(0));
}

TEST(ParseDuration, PrometheusForms) {
  EXPECT_EQ(MustParse("5m"), milliseconds(300'000));
  EXPECT_EQ(MustParse("2d"), milliseconds(2 * 86'400'000LL));
  EXPECT_EQ(MustParse("1w"), milliseconds(7 * 86'400'000LL));
  EXPECT_EQ(MustParse("1y"), milliseconds(365 * 86'400'000LL));
  EXPECT_EQ(MustParse("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(MustParse("1d12h"), milliseconds(129'600'000));
  EXPECT_EQ(MustParse("1s500ms"), milliseconds(1'500));
}

TEST(ParseDuration, RejectsGarbageWithAClearMessage) {
  EXPECT_NE(ParseError("").find("empty"), std::string::npos);
  EXPECT_NE(ParseError("abc").find("invalid duration \"abc\""), std::string::npos);
  EXPECT_NE(ParseError("30").find("missing unit"), std::string::npos);
  EXPECT_NE(ParseError("1x").find("unknown unit \"x\""), std::string::npos);
  EXPECT_NE(ParseError("--1s").find("invalid duration"), std::string::npos);
  EXPECT_NE(ParseError("1.5").find("missing unit"), std::string::npos);
  ParseError(".s");
  ParseError("s");
  ParseError("+");
  ParseError("-");
  ParseError("30 s");
  ParseError(" 30s");
  ParseError("30s ");
  ParseError("1mss");
  ParseError("1S");  // units are case-sensitive in both grammars
}

TEST(ParseDuration, RejectsNegative) {
  EXPECT_NE(ParseError("-1s").find("negative"), std::string::npos);
  EXPECT_NE(ParseError("-5m").find("negative"), std::string::npos);
}

TEST(ParseDuration, RejectsOverflow) {
  // Go's time.Duration holds at most 2^63-1 ns (about 292 years); the window is echoed as one.
  EXPECT_NE(ParseError("293y").find("too long"), std::string::npos);
  EXPECT_NE(ParseError("9223372036854775808ns").find("too long"), std::string::npos);
  EXPECT_NE(ParseError("99999999999999999999999999h").find("too long"), std::string::npos);
  EXPECT_NE(ParseError("200y200y").find("too long"), std::string::npos);
  // 292y = 9208512000 s < 9223372036 s: accepted.
  EXPECT_EQ(MustParse("292y"), milliseconds(292LL * 365 * 86'400'000));
}

TEST(ParseDuration, RejectsSubMillisecondPrecision) {
  EXPECT_NE(ParseError("1500us").find("whole number of milliseconds"), std::string::npos);
  EXPECT_NE(ParseError("1ns").find("whole number of milliseconds"), std::string::npos);
  EXPECT_NE(ParseError("0.0001s").find("whole number of milliseconds"), std::string::npos);
  EXPECT_NE(ParseError("1.0000000000000000000000001h").find("whole number of milliseconds"),
            std::string::npos);
  // Trailing zeros beyond any precision are harmless.
  EXPECT_EQ(MustParse("1.500000000000000000000000000s"), milliseconds(1'500));
}

TEST(FormatGoDuration, LikeGo) {
  EXPECT_EQ(FormatGoDuration(milliseconds(30'000)), "30s");
  EXPECT_EQ(FormatGoDuration(milliseconds(60'000)), "1m0s");
  EXPECT_EQ(FormatGoDuration(milliseconds(75'000)), "1m15s");
  EXPECT_EQ(FormatGoDuration(milliseconds(3'600'000)), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(milliseconds(1'500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(FormatGoDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatGoDuration(milliseconds(9'930'250)), "2h45m30.25s");
  EXPECT_EQ(FormatGoDuration(milliseconds(1'001)), "1.001s");
  EXPECT_EQ(FormatGoDuration(milliseconds(1'010)), "1.01s");
  EXPECT_EQ(FormatGoDuration(milliseconds(1)), "1ms");
  EXPECT_EQ(FormatGoDuration(milliseconds(1'000)), "1s");
  EXPECT_EQ(FormatGoDuration(milliseconds(3'601'000)), "1h0m1s");
  EXPECT_EQ(FormatGoDuration(milliseconds(2 * 86'400'000LL)), "48h0m0s");  // Go has no days
  EXPECT_EQ(FormatGoDuration(milliseconds(-1'500)), "-1.5s");
  EXPECT_EQ(FormatGoDuration(milliseconds(-500)), "-500ms");
}

TEST(FormatGoDuration, RoundTripsThroughParse) {
  for (const char* text : {"30s", "1m0s", "1m15s", "1h0m0s", "1.5s", "500ms", "2h45m30.25s"}) {
    EXPECT_EQ(FormatGoDuration(MustParse(text)), text);
  }
}

TEST(FormatPromDuration, WholeSecondsOrMilliseconds) {
  EXPECT_EQ(FormatPromDuration(milliseconds(30'000)), "30s");
  EXPECT_EQ(FormatPromDuration(milliseconds(75'000)), "75s");
  EXPECT_EQ(FormatPromDuration(milliseconds(1'500)), "1500ms");
  EXPECT_EQ(FormatPromDuration(milliseconds(3'600'000)), "3600s");
  EXPECT_EQ(FormatPromDuration(milliseconds(0)), "0s");
}

TEST(FormatRfc3339, UtcWholeSeconds) {
  using namespace std::chrono;
  // 2019-04-08T22:25:55Z = 1554762355 s since the epoch (the spec example's timestamp).
  const system_clock::time_point spec_time{seconds(1554762355)};
  EXPECT_EQ(FormatRfc3339(spec_time), "2019-04-08T22:25:55Z");
  EXPECT_EQ(FormatRfc3339(spec_time + milliseconds(999)), "2019-04-08T22:25:55Z");  // truncated
  EXPECT_EQ(FormatRfc3339(system_clock::time_point{}), "1970-01-01T00:00:00Z");
  // Half a second before the epoch is still 1969-12-31T23:59:59 (floor, not toward zero).
  EXPECT_EQ(FormatRfc3339(system_clock::time_point{} - milliseconds(500)), "1969-12-31T23:59:59Z");
  // A leap day: 2024-02-29T12:00:00Z = 1709208000.
  EXPECT_EQ(FormatRfc3339(system_clock::time_point{seconds(1709208000)}), "2024-02-29T12:00:00Z");
}

}  // namespace
}  // namespace smi::model
