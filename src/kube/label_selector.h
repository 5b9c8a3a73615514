// Kubernetes label selectors (k8s.io/apimachinery/pkg/labels): the string syntax users type
// (`app=web,tier in (a,b),!canary`) and the metav1.LabelSelector workloads carry, parsed into one
// matcher. Parse errors are worded as apimachinery's parser words them, because the API answers
// them verbatim in a 400 Status.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include "model/go_quote.h"

namespace smi::kube {

using Labels = std::map<std::string, std::string, std::less<>>;

// A selector (label or field) the user wrote is malformed; what() is the message to answer.
class SelectorParseError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

enum class SelectorOp {
  kIn,
  kNotIn,
  kEquals,        // =
  kDoubleEquals,  // ==
  kNotEquals,     // !=
  kExists,        // key
  kDoesNotExist,  // !key
  kGreaterThan,   // key>1 (integer values only)
  kLessThan,      // key<1
};

struct LabelRequirement {
  std::string key;
  SelectorOp op = SelectorOp::kExists;
  std::vector<std::string> values;  // sorted, unique

  bool Matches(const Labels& labels) const;
  std::string String() const;  // as Requirement.String(): "a in (x,y)", "!b", "c!=d"
  friend bool operator==(const LabelRequirement&, const LabelRequirement&) = default;
};

class LabelSelector {
 public:
  // Matches everything (labels.Everything()).
  LabelSelector() = default;
  // Matches nothing (labels.Nothing(): what a nil metav1.LabelSelector means).
  static LabelSelector Nothing();

  // labels.Parse: the full string syntax. An empty string matches everything.
  // Throws SelectorParseError with apimachinery's message.
  static LabelSelector Parse(std::string_view text);

  // metav1.LabelSelectorAsSelector for a {matchLabels, matchExpressions} object (a workload's
  // spec.selector). JSON null matches nothing; {} matches everything. Throws SelectorParseError.
  static LabelSelector FromLabelSelectorJson(const nlohmann::json& selector);

  bool Matches(const Labels& labels) const;
  bool MatchesEverything() const { return !nothing_ && requirements_.empty(); }
  bool MatchesNothing() const { return nothing_; }

  // Canonical form (requirements sorted by key, as labels.Selector.String()).
  std::string String() const;
  const std::vector<LabelRequirement>& requirements() const { return requirements_; }

 private:
  std::vector<LabelRequirement> requirements_;
  bool nothing_ = false;
};

// Validation used by the parser, exposed for the fixtures and for callers validating label input:
// each returns apimachinery's list of messages (empty when valid).
std::vector<std::string> IsQualifiedName(std::string_view value);
std::vector<std::string> IsValidLabelValue(std::string_view value);

using model::GoQuote;  // model/go_quote.h

}  // namespace smi::kube
