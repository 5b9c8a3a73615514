#include "sources/sidecars/promql_eval.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <unordered_map>
#include <utility>
#include <variant>

#include "model/duration.h"
#include "sources/sidecars/increase.h"

namespace smi::sources::sidecars {

using prometheus::VectorSample;

namespace {

struct Matcher {
  std::string label;
  enum class Op { kEqual, kNotEqual, kMatch, kNotMatch } op = Op::kEqual;
  std::string value;
  std::optional<std::regex> regex;  // for kMatch and kNotMatch: ^(?:value)$

  bool Matches(std::string_view actual) const {
    switch (op) {
      case Op::kEqual:
        return actual == value;
      case Op::kNotEqual:
        return actual != value;
      case Op::kMatch:
        return std::regex_match(actual.begin(), actual.end(), *regex);
      case Op::kNotMatch:
        return !std::regex_match(actual.begin(), actual.end(), *regex);
    }
    return false;
  }
};

struct Selector {
  std::string metric;
  std::vector<LabelMatcher> equality;  // = and !=: checked by the store on its stored labels
  std::vector<Matcher> regex;          // =~ and !~: checked on the series' LabelSet

  SeriesStore::Keep Keep() const {
    if (regex.empty()) return {};
    return [this](const LabelSet& labels) {
      for (const Matcher& m : regex) {
        if (!m.Matches(labels.Get(m.label))) return false;
      }
      return true;
    };
  }
};

}  // namespace

struct Node;

namespace {

struct SumIncrease {
  std::vector<std::string> by;
  Selector selector;
  int64_t range_ms = 0;
};

struct GroupBy {
  std::vector<std::string> by;
  Selector selector;
};

struct LabelReplace {
  std::unique_ptr<Node> inner;
  std::string label;
  std::string replacement;
};

struct Or {
  std::vector<std::unique_ptr<Node>> terms;
};

}  // namespace

struct Node {
  std::variant<SumIncrease, GroupBy, LabelReplace, Or> v;
};

class ParsedQuery {
 public:
  std::unique_ptr<Node> root;
};

namespace {

// --- Parsing
// --------------------------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::unique_ptr<Node> ParseAll() {
    auto node = ParseExpr();
    Skip();
    if (pos_ != text_.size()) Fail("unexpected text");
    return node;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw UnsupportedQuery("PromQL outside the sidecar source's subset at offset " +
                           std::to_string(pos_) + ": " + what + " in: " + std::string(text_));
  }

  void Skip() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n'))
      ++pos_;
  }

  bool TryLiteral(std::string_view lit) {
    Skip();
    if (text_.substr(pos_, lit.size()) != lit) return false;
    // A word must not continue into an identifier ("or" is not "orange").
    const bool word = std::isalpha(static_cast<unsigned char>(lit.back())) != 0;
    if (word && pos_ + lit.size() < text_.size() && IsIdentChar(text_[pos_ + lit.size()]))
      return false;
    pos_ += lit.size();
    return true;
  }

  void Expect(std::string_view lit) {
    if (!TryLiteral(lit)) Fail("expected \"" + std::string(lit) + "\"");
  }

  static bool IsIdentStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  }
  static bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

  std::string Identifier() {
    Skip();
    const size_t start = pos_;
    if (pos_ >= text_.size() || !IsIdentStart(text_[pos_])) Fail("expected a name");
    while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string String() {
    Skip();
    if (pos_ >= text_.size() || text_[pos_] != '"') Fail("expected a string");
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) Fail("unterminated escape");
        const char e = text_[pos_++];
        c = e == 'n' ? '\n' : e;
        if (e != 'n' && e != '\\' && e != '"') Fail("unsupported escape");
      }
      out += c;
    }
    if (pos_ >= text_.size()) Fail("unterminated string");
    ++pos_;
    return out;
  }

  std::vector<std::string> LabelNames() {
    Expect("(");
    std::vector<std::string> out;
    if (TryLiteral(")")) return out;
    do {
      out.push_back(Identifier());
    } while (TryLiteral(","));
    Expect(")");
    return out;
  }

  Selector ParseSelector() {
    Selector s;
    s.metric = Identifier();
    Expect("{");
    std::vector<Matcher> equal, other;
    if (!TryLiteral("}")) {
      while (true) {
        Matcher m;
        m.label = Identifier();
        if (TryLiteral("=~")) {
          m.op = Matcher::Op::kMatch;
        } else if (TryLiteral("!~")) {
          m.op = Matcher::Op::kNotMatch;
        } else if (TryLiteral("!=")) {
          m.op = Matcher::Op::kNotEqual;
        } else if (TryLiteral("=")) {
          m.op = Matcher::Op::kEqual;
        } else {
          Fail("expected a matcher operator");
        }
        m.value = String();
        if (m.op == Matcher::Op::kMatch || m.op == Matcher::Op::kNotMatch) {
          try {
            m.regex.emplace("^(?:" + m.value + ")$", std::regex::ECMAScript | std::regex::optimize);
          } catch (const std::regex_error& e) {
            Fail(std::string("invalid regular expression: ") + e.what());
          }
          other.push_back(std::move(m));
        } else {
          equal.push_back(std::move(m));
        }
        if (TryLiteral("}")) break;
        Expect(",");
        if (TryLiteral("}")) break;  // a trailing comma
      }
    }
    for (auto& m : equal) {
      s.equality.push_back({m.label, m.value, m.op == Matcher::Op::kNotEqual});
    }
    s.regex = std::move(other);
    return s;
  }

  std::unique_ptr<Node> ParseTerm() {
    auto node = std::make_unique<Node>();
    if (TryLiteral("sum")) {
      SumIncrease s;
      Expect("by");
      s.by = LabelNames();
      Expect("(");
      Expect("increase");
      Expect("(");
      s.selector = ParseSelector();
      Expect("[");
      Skip();
      const size_t end = text_.find(']', pos_);
      if (end == std::string_view::npos) Fail("unterminated range");
      std::string error;
      const auto range = model::ParseDuration(text_.substr(pos_, end - pos_), &error);
      if (!range || range->count() <= 0) Fail("bad range: " + error);
      s.range_ms = range->count();
      pos_ = end + 1;
      Expect(")");
      Expect(")");
      node->v = std::move(s);
    } else if (TryLiteral("group")) {
      GroupBy g;
      Expect("by");
      g.by = LabelNames();
      Expect("(");
      g.selector = ParseSelector();
      Expect(")");
      node->v = std::move(g);
    } else if (TryLiteral("label_replace")) {
      LabelReplace r;
      Expect("(");
      r.inner = ParseExpr();
      Expect(",");
      r.label = String();
      Expect(",");
      r.replacement = String();
      Expect(",");
      if (!String().empty()) Fail("label_replace with a source label");
      Expect(",");
      if (!String().empty()) Fail("label_replace with a regular expression");
      Expect(")");
      node->v = std::move(r);
    } else if (TryLiteral("(")) {
      node = ParseExpr();
      Expect(")");
    } else {
      Fail("expected sum, group, label_replace or (");
    }
    return node;
  }

  std::unique_ptr<Node> ParseExpr() {
    auto first = ParseTerm();
    if (!TryLiteral("or")) return first;
    auto node = std::make_unique<Node>();
    Or o;
    o.terms.push_back(std::move(first));
    do {
      o.terms.push_back(ParseTerm());
    } while (TryLiteral("or"));
    node->v = std::move(o);
    return node;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// --- Evaluation
// -----------------------------------------------------------------------------------

using Labels = std::map<std::string, std::string>;

// The groups as a vector, each labelled with its `by` values.
// Groups by their `by` values: hashed, as a request may form thousands (one per pod and bucket).
struct GroupKeyHash {
  size_t operator()(const std::vector<std::string>& key) const {
    size_t h = 0;
    for (const std::string& v : key) h = h * 1000003u ^ std::hash<std::string>{}(v);
    return h;
  }
};
using Groups = std::unordered_map<std::vector<std::string>, double, GroupKeyHash>;

std::vector<VectorSample> ToVector(const std::vector<std::string>& by, Groups groups) {
  // In no particular order, as Prometheus answers a vector.
  std::vector<VectorSample> out;
  out.reserve(groups.size());
  for (auto& [key, value] : groups) {
    VectorSample s;
    for (size_t i = 0; i < by.size(); ++i) {
      if (!key[i].empty()) s.labels.emplace(by[i], key[i]);
    }
    s.value = value;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<VectorSample> Eval(const Node& node, const SeriesStore& store, int64_t at_ms);

// The labels an aggregation reads: its `by` labels and those of the selector's regex matchers,
// sorted (the store then copies only these for each series).
std::vector<std::string> WantedLabels(const std::vector<std::string>& by,
                                      const Selector& selector) {
  std::vector<std::string> wanted = by;
  for (const Matcher& m : selector.regex) wanted.push_back(m.label);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  return wanted;
}

// The group of a series: `key` is reused from series to series, so a group that exists already
// costs no allocation.
double& GroupOf(Groups& groups, std::vector<std::string>& key, const std::vector<std::string>& by,
                const LabelSet& labels) {
  key.resize(by.size());
  for (size_t i = 0; i < by.size(); ++i) key[i].assign(labels.Get(by[i]));
  if (auto it = groups.find(key); it != groups.end()) return it->second;
  return groups.emplace(key, 0.0).first->second;
}

std::vector<VectorSample> EvalSum(const SumIncrease& s, const SeriesStore& store, int64_t at_ms) {
  Groups groups;
  std::vector<std::string> key;
  const std::vector<std::string> wanted = WantedLabels(s.by, s.selector);
  const int64_t from = at_ms - s.range_ms;
  store.Select(
      s.selector.metric, s.selector.equality, from, at_ms, s.selector.Keep(),
      [&](const LabelSet& labels, const std::vector<Sample>& samples) {
        const std::optional<double> inc = Increase(samples, from, at_ms);
        if (!inc) return;
        GroupOf(groups, key, s.by, labels) += *inc;
      },
      &wanted);
  return ToVector(s.by, std::move(groups));
}

std::vector<VectorSample> EvalGroup(const GroupBy& g, const SeriesStore& store, int64_t at_ms) {
  Groups groups;
  std::vector<std::string> key;
  const std::vector<std::string> wanted = WantedLabels(g.by, g.selector);
  store.SelectInstant(
      g.selector.metric, g.selector.equality, at_ms, kLookbackMs, g.selector.Keep(),
      [&](const LabelSet& labels, const Sample&) { GroupOf(groups, key, g.by, labels) = 1; },
      &wanted);
  return ToVector(g.by, std::move(groups));
}

std::vector<VectorSample> EvalLabelReplace(const LabelReplace& r, const SeriesStore& store,
                                           int64_t at_ms) {
  // With an empty source label and an empty regex, the regex matches every element's (empty)
  // source value: the replacement is set on every element, or the label removed when empty.
  std::vector<VectorSample> out = Eval(*r.inner, store, at_ms);
  for (auto& s : out) {
    if (r.replacement.empty()) {
      s.labels.erase(r.label);
    } else {
      s.labels[r.label] = r.replacement;
    }
  }
  return out;
}

std::vector<VectorSample> EvalOr(const Or& o, const SeriesStore& store, int64_t at_ms) {
  std::vector<VectorSample> out;
  std::set<Labels> seen;
  for (const auto& term : o.terms) {
    std::vector<VectorSample> part = Eval(*term, store, at_ms);
    // `a or b or c` is `(a or b) or c`: each side is checked against everything kept before it.
    std::vector<VectorSample> kept;
    for (auto& s : part) {
      if (seen.contains(s.labels)) continue;
      kept.push_back(std::move(s));
    }
    for (auto& s : kept) {
      seen.insert(s.labels);
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<VectorSample> Eval(const Node& node, const SeriesStore& store, int64_t at_ms) {
  return std::visit(
      [&](const auto& n) -> std::vector<VectorSample> {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, SumIncrease>) return EvalSum(n, store, at_ms);
        if constexpr (std::is_same_v<T, GroupBy>) return EvalGroup(n, store, at_ms);
        if constexpr (std::is_same_v<T, LabelReplace>) return EvalLabelReplace(n, store, at_ms);
        if constexpr (std::is_same_v<T, Or>) return EvalOr(n, store, at_ms);
      },
      node.v);
}

}  // namespace

std::shared_ptr<const ParsedQuery> ParseQuery(std::string_view promql) {
  auto q = std::make_shared<ParsedQuery>();
  q->root = Parser(promql).ParseAll();
  return q;
}

std::vector<VectorSample> Evaluate(const ParsedQuery& query, const SeriesStore& store,
                                   int64_t at_ms) {
  std::vector<VectorSample> out = Eval(*query.root, store, at_ms);
  std::erase_if(out, [](const VectorSample& s) { return std::isnan(s.value); });
  return out;
}

}  // namespace smi::sources::sidecars
