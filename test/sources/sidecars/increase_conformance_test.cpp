// Prometheus' own increase()/rate() cases (test/fixtures/promql/functions-counters.test) through
// the sidecar path: each `load` series is scraped into a SeriesStore at its sample times, the
// range is selected with Select, and the value computed by Increase (rate = increase / range).
// So the store's range boundaries and staleness are checked together with the arithmetic.
//
// The fixture comes from a Prometheus 3.x checkout; the server must agree with Prometheus 2.42,
// which the end-to-end tests run. Where 2.42 answers differently the case is listed in
// k242Answers with the reason; the values there were worked out by hand from 2.42's
// promql/functions.go and engine.go and agree with 2.42's own promql/testdata/functions.test
// where it has the same case.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "aggregation/promql_test_reader.h"
#include "sources/sidecars/increase.h"
#include "sources/sidecars/series_store.h"

namespace smi::sources::sidecars {
namespace {

namespace promqltest = aggregation::promqltest;

struct Answer242 {
  int64_t at_ms;
  const char* expression;
  const char* labels;
  std::optional<double> value;  // nullopt: 2.42 returns no element
  const char* why;
};

const Answer242 k242Answers[] = {
    {3'000'000, "increase(http_requests_total[50m])", "{path=\"/bar\"}", 162,
     "2.x ranges include their start: the sample at 0m (value 0) is in [0m, 50m], so the raw "
     "increase 162 needs no extrapolation (3.x leaves it out and extrapolates 144 to 160)"},
    {3'000'000, "increase(http_requests_total[100m])", "{path=\"/dings\"}", 110,
     "2.42 limits durationToStart by the zero point (5m) before comparing it with the threshold "
     "(5.5m), so all 5m count: 100 * 55/50 = 110; since 2.51 the start is first capped at half "
     "an interval (2.5m): 105"},
    {3'000'000, "rate(testcounter_reset_middle_total[50m])", "{}", 0.081,
     "the range includes the sample at 0m: increase 243 over 3000 s, no extrapolation"},
    {3'000'000, "rate(testcounter_reset_end_total[5m])", "{}", 0,
     "the range [45m, 50m] holds two samples, 90 and 0 (a reset): increase 0; 3.x's (45m, 50m] "
     "holds one sample and returns nothing"},
    {600'000, "rate(testcounter_zero_cutoff_total[20m])", "{start=\"3m\"}", 0.65,
     "zero point 3m back, under the threshold 4.4m, so all of it counts: 780 / 1200 s; 2.51+ caps "
     "at 2m first (0.6)"},
    {600'000, "rate(testcounter_zero_cutoff_total[20m])", "{start=\"4m\"}", 0.7,
     "zero point 4m back, under the threshold 4.4m: 840 / 1200 s; 2.51+ caps at 2m first (0.6)"},
};

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

std::string PayloadLine(const promqltest::Labels& labels, double value) {
  std::string line = labels.at("__name__") + "{";
  for (const auto& [name, v] : labels) {
    if (name == "__name__") continue;
    line += name + "=\"" + v + "\",";
  }
  return line + "} " + FormatValue(value) + "\n";
}

struct Expression {
  std::string function;  // increase | rate
  std::string metric;
  promqltest::Labels matchers;
  int64_t range_ms = 0;
  int64_t offset_ms = 0;
};

std::optional<Expression> ParseExpression(const std::string& text) {
  static const std::regex pattern(
      R"(^(increase|rate)\(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\[([0-9a-z]+)\](?: offset ([0-9a-z]+))?\)$)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern)) return std::nullopt;
  Expression e;
  e.function = m[1];
  e.metric = m[2];
  if (m[3].matched) {
    static const std::regex matcher(R"re(([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"([^"]*)")re");
    const std::string braces = m[3];
    for (auto it = std::sregex_iterator(braces.begin(), braces.end(), matcher);
         it != std::sregex_iterator(); ++it) {
      e.matchers[(*it)[1]] = (*it)[2];
    }
  }
  e.range_ms = promqltest::text::ParseDurationMs(m[4].str(), 0);
  if (m[5].matched) e.offset_ms = promqltest::text::ParseDurationMs(m[5].str(), 0);
  return e;
}

// The expression evaluated through the store: labels (as promqltest writes them) -> value.
std::map<std::string, double> Evaluate(const promqltest::EvalCase& c, const Expression& e) {
  SeriesStore store(std::chrono::hours(24), Retained{{e.metric}});
  int index = 0;
  for (const promqltest::Series& series : c.store) {
    if (series.labels.at("__name__") != e.metric || series.native) continue;
    // Every series is a target of its own, scraped at its sample times; a `stale` point is a
    // scrape without it.
    const std::string target = "series-" + std::to_string(index++);
    for (const promqltest::Sample& s : series.samples) {
      const std::string payload = s.stale ? "" : PayloadLine(series.labels, s.value);
      const IngestResult r = store.Ingest(target, LabelSet(), s.t_ms, payload);
      EXPECT_TRUE(r.ok) << r.error;
    }
  }
  const int64_t end = c.at_ms - e.offset_ms;
  const int64_t start = end - e.range_ms;
  std::map<std::string, double> out;
  store.Select(
      e.metric, start, end,
      [&](const LabelSet& labels) {
        for (const auto& [name, value] : e.matchers) {
          if (labels.Get(name) != value) return false;
        }
        return true;
      },
      [&](const LabelSet& labels, const std::vector<Sample>& samples) {
        const std::optional<double> increase = Increase(samples, start, end);
        if (!increase) return;
        promqltest::Labels key(labels.items().begin(), labels.items().end());
        out[promqltest::FormatLabels(key)] =
            e.function == "rate" ? *increase / (static_cast<double>(e.range_ms) / 1000) : *increase;
      });
  return out;
}

TEST(IncreaseConformance, PrometheusCounterCases) {
  std::ifstream in(std::string(SMI_TEST_FIXTURES) + "/promql/functions-counters.test");
  ASSERT_TRUE(in) << "fixture missing";
  const std::vector<promqltest::EvalCase> cases = promqltest::ReadPromqlTest(in);
  size_t evaluated = 0;
  size_t compared = 0;
  size_t overridden = 0;
  for (const promqltest::EvalCase& c : cases) {
    const std::optional<Expression> e = ParseExpression(c.expression);
    ASSERT_TRUE(e.has_value()) << "line " << c.line << ": not ported: " << c.expression;
    ++evaluated;
    std::map<std::string, double> expected;
    for (const auto& sample : c.expected)
      expected[promqltest::FormatLabels(sample.labels)] = sample.value;
    for (const Answer242& a : k242Answers) {
      if (c.at_ms != a.at_ms || c.expression != a.expression) continue;
      ++overridden;
      if (a.value) {
        expected[a.labels] = *a.value;
      } else {
        expected.erase(a.labels);
      }
    }
    const std::map<std::string, double> actual = Evaluate(c, *e);
    for (const auto& [labels, value] : expected) {
      const auto it = actual.find(labels);
      if (it == actual.end()) {
        ADD_FAILURE() << "line " << c.line << " " << c.expression << ": no " << labels;
        continue;
      }
      ++compared;
      EXPECT_TRUE(promqltest::SameValue(value, it->second))
          << "line " << c.line << " " << c.expression << " " << labels << ": expected " << value
          << ", got " << FormatValue(it->second);
    }
    for (const auto& [labels, value] : actual) {
      EXPECT_TRUE(expected.contains(labels))
          << "line " << c.line << " " << c.expression << ": unexpected " << labels << " " << value;
    }
  }
  EXPECT_EQ(overridden, std::size(k242Answers)) << "every 2.42 answer matches a case";
  EXPECT_EQ(evaluated, 10u);
  std::printf(
      "functions-counters.test: %zu evaluations, %zu values compared, %zu answered as "
      "Prometheus 2.42 does instead of 3.x\n",
      evaluated, compared, std::size(k242Answers));
}

}  // namespace
}  // namespace smi::sources::sidecars
