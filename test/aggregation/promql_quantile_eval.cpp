// The evaluator half of the promqltest reader: parses `histogram_quantile(q, <inner>)` and computes
// it over the loaded series the way PromQL's engine would, for the expressions histograms.test
// uses.
#include <cctype>
#include <cmath>
#include <limits>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string_view>

#include "promql_test_reader.h"

namespace smi::aggregation::promqltest {

using namespace text;

namespace {

constexpr int64_t kLookbackMs = 5 * 60 * 1000;  // Prometheus' default lookback delta

struct Unsupported {
  std::string reason;
};

struct Matcher {
  std::string label;
  std::string op;  // = != =~ !~
  std::string value;
};

struct Node {
  enum class Type { kSelector, kRate, kIncrease, kSum, kAvg } type = Type::kSelector;
  std::vector<Matcher> matchers;
  int64_t range_ms = 0;  // selectors inside rate()/increase()
  bool has_by = false;
  std::vector<std::string> by;
  std::unique_ptr<Node> inner;
};

class ExpressionParser {
 public:
  ExpressionParser(std::string_view text, int line) : s_(text), line_(line) {}

  // histogram_quantile(<q>, <inner>)
  std::pair<double, std::unique_ptr<Node>> ParseHistogramQuantile() {
    Expect("histogram_quantile");
    Expect("(");
    const double q = ParseScalar();
    Expect(",");
    auto inner = ParseVector();
    Expect(")");
    SkipSpace(s_, pos_);
    if (pos_ != s_.size()) Fail(line_, "trailing text in expression");
    return {q, std::move(inner)};
  }

 private:
  bool Peek(std::string_view token) {
    SkipSpace(s_, pos_);
    return s_.substr(pos_, token.size()) == token;
  }
  void Expect(std::string_view token) {
    if (!Peek(token)) Fail(line_, "expected '" + std::string(token) + "'");
    pos_ += token.size();
  }

  double ParseNumber() {
    SkipSpace(s_, pos_);
    const size_t start = pos_;
    if (pos_ < s_.size() && (s_[pos_] == '-' || s_[pos_] == '+')) ++pos_;
    while (
        pos_ < s_.size() &&
        (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
         ((s_[pos_] == '-' || s_[pos_] == '+') && (s_[pos_ - 1] == 'e' || s_[pos_ - 1] == 'E')))) {
      ++pos_;
    }
    const auto value = ParseFloat(s_.substr(start, pos_ - start));
    if (!value) Fail(line_, "bad number in expression");
    return *value;
  }

  // A number or a quotient of two ("1./6.").
  double ParseScalar() {
    double value = ParseNumber();
    if (Peek("/")) {
      ++pos_;
      value /= ParseNumber();
    }
    return value;
  }

  std::vector<std::string> ParseBy() {
    Expect("by");
    Expect("(");
    std::vector<std::string> labels;
    while (!Peek(")")) {
      labels.push_back(ParseName(s_, pos_));
      if (labels.back().empty()) Fail(line_, "bad by clause");
      if (Peek(",")) ++pos_;
    }
    Expect(")");
    return labels;
  }

  std::unique_ptr<Node> ParseVector() {
    SkipSpace(s_, pos_);
    size_t probe = pos_;
    const std::string word = ParseName(s_, probe);
    auto node = std::make_unique<Node>();
    if (word == "sum" || word == "avg") {
      pos_ = probe;
      node->type = word == "sum" ? Node::Type::kSum : Node::Type::kAvg;
      if (Peek("by")) {
        node->has_by = true;
        node->by = ParseBy();
      }
      Expect("(");
      node->inner = ParseVector();
      Expect(")");
      if (Peek("by")) {
        node->has_by = true;
        node->by = ParseBy();
      }
      return node;
    }
    if (word == "rate" || word == "increase") {
      pos_ = probe;
      node->type = word == "rate" ? Node::Type::kRate : Node::Type::kIncrease;
      Expect("(");
      node->inner = ParseSelector(/*with_range=*/true);
      Expect(")");
      return node;
    }
    SkipSpace(s_, pos_);
    if (probe < s_.size() && s_[probe] == '(') throw Unsupported{"function " + word + "()"};
    return ParseSelector(/*with_range=*/false);
  }

  std::unique_ptr<Node> ParseSelector(bool with_range) {
    SkipSpace(s_, pos_);
    auto node = std::make_unique<Node>();
    const std::string name = ParseName(s_, pos_);
    if (!name.empty()) node->matchers.push_back({"__name__", "=", name});
    if (Peek("{")) {
      ++pos_;
      while (!Peek("}")) {
        Matcher m;
        m.label = ParseName(s_, pos_);
        SkipSpace(s_, pos_);
        for (std::string_view op : {"=~", "!~", "!=", "="}) {
          if (s_.substr(pos_, op.size()) == op) {
            m.op = op;
            pos_ += op.size();
            break;
          }
        }
        if (m.label.empty() || m.op.empty()) Fail(line_, "bad matcher");
        SkipSpace(s_, pos_);
        m.value = ParseQuoted(s_, pos_, line_);
        node->matchers.push_back(std::move(m));
        if (Peek(",")) ++pos_;
      }
      Expect("}");
    }
    if (node->matchers.empty()) Fail(line_, "empty selector");
    if (with_range) {
      Expect("[");
      const size_t close = s_.find(']', pos_);
      if (close == std::string_view::npos) Fail(line_, "unterminated range");
      node->range_ms = ParseDurationMs(Trim(s_.substr(pos_, close - pos_)), line_);
      pos_ = close + 1;
    }
    return node;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int line_;
};

bool Matches(const std::vector<Matcher>& matchers, const Labels& labels) {
  for (const auto& m : matchers) {
    const auto it = labels.find(m.label);
    const std::string value = it == labels.end() ? "" : it->second;
    bool ok = false;
    if (m.op == "=") ok = value == m.value;
    if (m.op == "!=") ok = value != m.value;
    if (m.op == "=~") ok = std::regex_match(value, std::regex(m.value));
    if (m.op == "!~") ok = !std::regex_match(value, std::regex(m.value));
    if (!ok) return false;
  }
  return true;
}

using Vector = std::vector<std::pair<Labels, double>>;

// load_with_nhcb also stores each classic histogram as a native one named without "_bucket";
// a selector that would pick those (or a series with native samples) is outside this reader.
void RejectNativeHistograms(const Node& selector, const std::vector<Series>& store) {
  for (const auto& series : store) {
    if (series.native && Matches(selector.matchers, series.labels)) {
      throw Unsupported{"native histogram samples"};
    }
    const std::string& name = series.labels.at("__name__");
    constexpr std::string_view kSuffix = "_bucket";
    if (!series.with_nhcb || name.size() <= kSuffix.size() ||
        name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      continue;
    }
    Labels derived = series.labels;
    derived.erase("le");
    derived["__name__"] = name.substr(0, name.size() - kSuffix.size());
    if (Matches(selector.matchers, derived)) throw Unsupported{"native histogram (load_with_nhcb)"};
  }
}

// Prometheus' extrapolatedRate for counters over the left-open range (start, end].
std::optional<double> ExtrapolatedIncrease(const std::vector<Sample>& samples, int64_t start_ms,
                                           int64_t end_ms) {
  if (samples.size() < 2) return std::nullopt;
  const Sample& first = samples.front();
  const Sample& last = samples.back();
  double result = last.value - first.value;
  double prev = first.value;
  for (size_t i = 1; i < samples.size(); ++i) {
    if (samples[i].value < prev) result += prev;  // counter reset
    prev = samples[i].value;
  }
  double to_start = static_cast<double>(first.t_ms - start_ms) / 1000;
  double to_end = static_cast<double>(end_ms - last.t_ms) / 1000;
  const double sampled = static_cast<double>(last.t_ms - first.t_ms) / 1000;
  const double average = sampled / static_cast<double>(samples.size() - 1);
  const double threshold = average * 1.1;
  if (to_start >= threshold) to_start = average / 2;
  if (result > 0 && first.value >= 0) {
    const double to_zero = sampled * (first.value / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  if (to_end >= threshold) to_end = average / 2;
  return result * ((sampled + to_start + to_end) / sampled);
}

Vector Evaluate(const Node& node, const std::vector<Series>& store, int64_t at_ms) {
  Vector out;
  switch (node.type) {
    case Node::Type::kSelector: {
      RejectNativeHistograms(node, store);
      for (const auto& series : store) {
        if (!Matches(node.matchers, series.labels)) continue;
        const Sample* latest = nullptr;
        for (const auto& sample : series.samples) {
          if (sample.t_ms > at_ms - kLookbackMs && sample.t_ms <= at_ms) latest = &sample;
        }
        if (latest != nullptr && !latest->stale) out.emplace_back(series.labels, latest->value);
      }
      return out;
    }
    case Node::Type::kRate:
    case Node::Type::kIncrease: {
      const Node& selector = *node.inner;
      RejectNativeHistograms(selector, store);
      for (const auto& series : store) {
        if (!Matches(selector.matchers, series.labels)) continue;
        std::vector<Sample> window;
        for (const auto& sample : series.samples) {
          if (sample.t_ms > at_ms - selector.range_ms && sample.t_ms <= at_ms && !sample.stale) {
            window.push_back(sample);
          }
        }
        auto increase = ExtrapolatedIncrease(window, at_ms - selector.range_ms, at_ms);
        if (!increase) continue;
        if (node.type == Node::Type::kRate)
          *increase /= static_cast<double>(selector.range_ms) / 1000;
        Labels labels = series.labels;
        labels.erase("__name__");  // functions drop the metric name
        out.emplace_back(std::move(labels), *increase);
      }
      return out;
    }
    case Node::Type::kSum:
    case Node::Type::kAvg: {
      std::map<Labels, std::pair<double, int>> groups;
      for (const auto& [labels, value] : Evaluate(*node.inner, store, at_ms)) {
        Labels key;
        for (const auto& name : node.by) {
          if (auto it = labels.find(name); it != labels.end()) key.insert(*it);
        }
        auto& [sum, count] = groups[key];
        sum += value;
        ++count;
      }
      for (const auto& [key, acc] : groups) {
        out.emplace_back(key, node.type == Node::Type::kSum ? acc.first : acc.first / acc.second);
      }
      return out;
    }
  }
  return out;
}

}  // namespace

QuantileOutcome EvaluateHistogramQuantile(const EvalCase& c, const QuantileFunction& quantile) {
  QuantileOutcome outcome;
  try {
    auto [q, inner] = ExpressionParser(c.expression, c.line).ParseHistogramQuantile();
    // resetHistograms: group by every label but `le` (the metric name included), skipping samples
    // whose `le` is missing or not a float.
    std::map<Labels, std::vector<std::pair<double, double>>> groups;
    for (const auto& [labels, value] : Evaluate(*inner, c.store, c.at_ms)) {
      const auto le = labels.find("le");
      if (le == labels.end()) continue;
      const auto bound = ParseFloat(le->second);
      if (!bound) continue;
      Labels key = labels;
      key.erase("le");
      groups[key].emplace_back(*bound, value);
    }
    std::map<Labels, int> seen;
    for (const auto& [key, buckets] : groups) {
      Labels output = key;
      output.erase("__name__");
      if (++seen[output] > 1) {
        outcome.failed = true;  // "vector cannot contain metrics with the same labelset"
        outcome.result.clear();
        return outcome;
      }
      const auto [value, forced] = quantile(q, buckets);
      outcome.any_forced_monotonic |= forced;
      outcome.result.push_back({std::move(output), value});
    }
  } catch (const Unsupported& unsupported) {
    outcome.skip_reason = unsupported.reason;
  }
  return outcome;
}
}  // namespace smi::aggregation::promqltest
