// A reader for the subset of Prometheus' promqltest language that exercises histogram_quantile on
// classic histograms, and a tiny evaluator for the expressions those tests use. Test code only:
// it is the oracle's half of the conformance test and shares nothing with the product except the
// BucketQuantile under test.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smi::aggregation::promqltest {

using Labels = std::map<std::string, std::string>;  // includes "__name__"

struct Sample {
  int64_t t_ms;
  double value;
  bool stale = false;
};

struct Series {
  Labels labels;
  std::vector<Sample> samples;
  bool native = false;  // had native histogram values ({{...}}), which this reader does not model
  bool with_nhcb = false;  // loaded by `load_with_nhcb`: Prometheus also derives a native histogram
};

struct ExpectedSample {
  Labels labels;
  double value;
};

// One `eval instant at <t> <expr>` block with the data loaded at that point of the file.
struct EvalCase {
  int line = 0;
  int64_t at_ms = 0;
  std::string expression;
  std::vector<std::string> expect_lines;  // "expect ..." lines, verbatim without indentation
  bool expect_fail = false;
  bool expect_info = false;
  bool expect_no_info = false;
  std::vector<ExpectedSample> expected;
  std::vector<Series> store;
};

// Reads a promqltest file. Throws std::runtime_error (with the line number) on lines it cannot
// read, so a fixture update that the reader does not understand fails loudly instead of shrinking
// the ported set.
std::vector<EvalCase> ReadPromqlTest(std::istream& in);

// The result of evaluating `histogram_quantile(q, inner)` the way PromQL does.
struct QuantileOutcome {
  bool failed = false;      // PromQL would return an error (duplicate output label sets)
  std::string skip_reason;  // non-empty: the expression is outside what this evaluator models
  std::vector<ExpectedSample> result;
  bool any_forced_monotonic = false;
};

// Bucket quantile function under test: (q, upper bounds and counts of one group) -> quantile and
// whether monotonicity had to be forced.
using QuantileFunction =
    std::function<std::pair<double, bool>(double q, const std::vector<std::pair<double, double>>&)>;

// Evaluates a case whose expression is `histogram_quantile(<q>, <inner>)`; <inner> may be a
// selector, rate()/increase() of one, and sum/avg with `by (...)` around either.
QuantileOutcome EvaluateHistogramQuantile(const EvalCase& c, const QuantileFunction& quantile);

// promqltest's comparison: NaN equals NaN, otherwise relative tolerance 1e-6 (its defaultEpsilon).
bool SameValue(double expected, double actual);

std::string FormatLabels(const Labels& labels);

// Text helpers shared by the reader and the evaluator.
namespace text {
[[noreturn]] void Fail(int line, const std::string& message);  // throws std::runtime_error
std::string_view Trim(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
// Like Go's strconv.ParseFloat for what these files contain; the whole text must be a number.
std::optional<double> ParseFloat(std::string_view text);
// Prometheus durations as the files write them: "50m", "7m", "0".
int64_t ParseDurationMs(std::string_view text, int line);
// A double-quoted string with Go escapes; `pos` is at the opening quote and ends after the closing.
std::string ParseQuoted(std::string_view s, size_t& pos, int line);
void SkipSpace(std::string_view s, size_t& pos);
std::string ParseName(std::string_view s, size_t& pos);  // a metric or label name, maybe empty
}  // namespace text

}  // namespace smi::aggregation::promqltest
