#include "promql_test_reader.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace smi::aggregation::promqltest {
namespace text {

[[noreturn]] void Fail(int line, const std::string& message) {
  throw std::runtime_error("histograms.test line " + std::to_string(line) + ": " + message);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Like Go's strconv.ParseFloat as far as these files need: decimal, exponents, "+Inf", "NaN".
// The whole text must be consumed (strtod alone would also take "0x10" as hex).
std::optional<double> ParseFloat(std::string_view text) {
  if (text.empty() || text.find_first_of("xX") != std::string_view::npos) return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return value;
}

// Prometheus durations as the test files write them: "50m", "7m", "0", "1h30m".
int64_t ParseDurationMs(std::string_view text, int line) {
  if (text == "0") return 0;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (start == i) Fail(line, "bad duration " + std::string(text));
    const int64_t number = std::stoll(std::string(text.substr(start, i - start)));
    start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view unit = text.substr(start, i - start);
    int64_t unit_ms = 0;
    if (unit == "ms")
      unit_ms = 1;
    else if (unit == "s")
      unit_ms = 1000;
    else if (unit == "m")
      unit_ms = 60'000;
    else if (unit == "h")
      unit_ms = 3'600'000;
    else if (unit == "d")
      unit_ms = 86'400'000;
    else
      Fail(line, "bad duration unit in " + std::string(text));
    total += number * unit_ms;
  }
  return total;
}

// A double-quoted label value with Go escapes; `pos` is at the opening quote.
std::string ParseQuoted(std::string_view s, size_t& pos, int line) {
  if (pos >= s.size() || s[pos] != '"') Fail(line, "expected a quoted string");
  std::string out;
  for (++pos; pos < s.size() && s[pos] != '"'; ++pos) {
    if (s[pos] == '\\' && pos + 1 < s.size()) {
      ++pos;
      out += s[pos] == 'n' ? '\n' : s[pos];
    } else {
      out += s[pos];
    }
  }
  if (pos >= s.size()) Fail(line, "unterminated string");
  ++pos;
  return out;
}

namespace {
bool IsNameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

}  // namespace

void SkipSpace(std::string_view s, size_t& pos) {
  while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos]))) ++pos;
}

std::string ParseName(std::string_view s, size_t& pos) {
  const size_t start = pos;
  while (pos < s.size() && IsNameChar(s[pos], pos == start)) ++pos;
  return std::string(s.substr(start, pos - start));
}

}  // namespace text

using namespace text;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// `name{a="b", c="d"}`, `name` or `{a="b"}` at `pos`: the series notation of load and eval blocks.
Labels ParseSeriesLabels(std::string_view s, size_t& pos, int line) {
  Labels labels;
  const std::string name = ParseName(s, pos);
  if (!name.empty()) labels["__name__"] = name;
  if (name.empty() && (pos >= s.size() || s[pos] != '{')) Fail(line, "expected a series");
  if (pos < s.size() && s[pos] == '{') {
    ++pos;
    for (;;) {
      SkipSpace(s, pos);
      if (pos < s.size() && s[pos] == '}') break;
      const std::string key = ParseName(s, pos);
      SkipSpace(s, pos);
      if (key.empty() || pos >= s.size() || s[pos] != '=') Fail(line, "bad label set");
      ++pos;
      SkipSpace(s, pos);
      labels[key] = ParseQuoted(s, pos, line);
      SkipSpace(s, pos);
      if (pos < s.size() && s[pos] == ',') ++pos;
    }
    ++pos;
  }
  return labels;
}

// The expanding notation: "1 2 3", "0+5x10" (11 points), "1x4" (5 points), "1-1x3", "_", "_x3",
// "stale". Returns false when the values are native histograms ({{...}}).
bool ParseSeriesValues(std::string_view text, int64_t interval_ms, std::vector<Sample>& out,
                       int line) {
  if (text.find("{{") != std::string_view::npos) return false;
  std::istringstream tokens{std::string(text)};
  std::string token;
  int64_t step = 0;
  while (tokens >> token) {
    if (token == "_") {
      ++step;
      continue;
    }
    if (token == "stale") {
      out.push_back({step++ * interval_ms, kNaN, true});
      continue;
    }
    const size_t x = token.rfind('x');
    if (x == std::string::npos) {
      const auto value = ParseFloat(token);
      if (!value) Fail(line, "bad sample value " + token);
      out.push_back({step++ * interval_ms, *value});
      continue;
    }
    const int64_t times = std::stoll(token.substr(x + 1));
    const std::string head = token.substr(0, x);
    if (head == "_") {
      step += times;
      continue;
    }
    // Split "a+b" / "a-b" at the operator that is neither a leading sign nor an exponent sign.
    size_t op = std::string::npos;
    for (size_t i = 1; i < head.size(); ++i) {
      if ((head[i] == '+' || head[i] == '-') && head[i - 1] != 'e' && head[i - 1] != 'E') {
        op = i;
        break;
      }
    }
    const auto start = ParseFloat(std::string_view(head).substr(0, op));
    std::optional<double> delta = 0.0;
    if (op != std::string::npos) {
      delta = ParseFloat(std::string_view(head).substr(op + 1));
      if (delta && head[op] == '-') *delta = -*delta;
    }
    if (!start || !delta) Fail(line, "bad expanding notation " + token);
    for (int64_t k = 0; k <= times; ++k) out.push_back({step++ * interval_ms, *start + k * *delta});
  }
  return true;
}

}  // namespace

std::vector<EvalCase> ReadPromqlTest(std::istream& in) {
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);

  std::vector<EvalCase> cases;
  std::vector<Series> store;
  size_t i = 0;
  auto block_line = [&](size_t k) {
    return k < lines.size() && !lines[k].empty() &&
           std::isspace(static_cast<unsigned char>(lines[k][0])) && !Trim(lines[k]).empty();
  };
  while (i < lines.size()) {
    const int number = static_cast<int>(i) + 1;
    const std::string_view line = Trim(lines[i]);
    ++i;
    if (line.empty() || line.front() == '#') continue;
    if (line == "clear") {
      store.clear();
    } else if (StartsWith(line, "load ") || StartsWith(line, "load_with_nhcb ")) {
      const bool nhcb = StartsWith(line, "load_with_nhcb");
      const int64_t interval = ParseDurationMs(Trim(line.substr(line.find(' '))), number);
      for (; block_line(i); ++i) {
        const std::string_view text = Trim(lines[i]);
        if (text.front() == '#') continue;
        size_t pos = 0;
        Series series;
        series.labels = ParseSeriesLabels(text, pos, static_cast<int>(i) + 1);
        series.with_nhcb = nhcb;
        series.native =
            !ParseSeriesValues(text.substr(pos), interval, series.samples, static_cast<int>(i) + 1);
        store.push_back(std::move(series));
      }
    } else if (StartsWith(line, "eval instant at ")) {
      EvalCase c;
      c.line = number;
      std::string_view rest = line.substr(std::string_view("eval instant at ").size());
      const size_t space = rest.find(' ');
      c.at_ms = ParseDurationMs(rest.substr(0, space), number);
      c.expression = std::string(Trim(rest.substr(space)));
      for (; block_line(i); ++i) {
        const std::string_view text = Trim(lines[i]);
        if (text.front() == '#') continue;
        if (StartsWith(text, "expect")) {
          c.expect_lines.emplace_back(text);
          c.expect_fail |= StartsWith(text, "expect fail");
          c.expect_info |= StartsWith(text, "expect info");
          c.expect_no_info |= StartsWith(text, "expect no_info");
          continue;
        }
        size_t pos = 0;
        ExpectedSample expected{ParseSeriesLabels(text, pos, static_cast<int>(i) + 1), kNaN};
        // Native histogram results ({{...}}) stay NaN: no histogram_quantile case has them.
        expected.value = ParseFloat(Trim(text.substr(pos))).value_or(kNaN);
        c.expected.push_back(std::move(expected));
      }
      c.store = store;
      cases.push_back(std::move(c));
    } else {
      Fail(number, "unknown command: " + std::string(line));
    }
  }
  return cases;
}
bool SameValue(double expected, double actual) {
  if (std::isnan(expected) || std::isnan(actual)) return std::isnan(expected) && std::isnan(actual);
  if (expected == actual) return true;  // infinities
  const double abs_sum = std::fabs(expected) + std::fabs(actual);
  const double diff = std::fabs(expected - actual);
  const double min_normal = std::numeric_limits<double>::min();
  if (expected == 0 || actual == 0 || abs_sum < min_normal) return diff < 1e-6 * min_normal;
  return diff / abs_sum < 1e-6;
}

std::string FormatLabels(const Labels& labels) {
  std::string out = "{";
  for (const auto& [key, value] : labels) {
    if (out.size() > 1) out += ", ";
    out += key + "=\"" + value + "\"";
  }
  return out + "}";
}

}  // namespace smi::aggregation::promqltest
