// Field selectors (k8s.io/apimachinery/pkg/fields) restricted, as the generic apiserver restricts
// them for most resources, to metadata.name and metadata.namespace with =, == and !=.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kube/label_selector.h"  // SelectorParseError

namespace smi::kube {

struct FieldRequirement {
  std::string field;    // "metadata.name" or "metadata.namespace"
  bool negate = false;  // != rather than = / ==
  std::string value;
  friend bool operator==(const FieldRequirement&, const FieldRequirement&) = default;
};

class FieldSelector {
 public:
  FieldSelector() = default;  // matches everything

  // fields.ParseSelector followed by the generic apiserver's field label conversion.
  // Throws SelectorParseError with the message kube-apiserver answers in its 400:
  //   invalid selector: 'a'; can't understand 'a'
  //   invalid field selector: invalid escape sequence: \x
  //   "spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"
  static FieldSelector Parse(std::string_view text);

  bool Matches(std::string_view ns, std::string_view name) const;
  bool MatchesEverything() const { return requirements_.empty(); }
  // Terms sorted, values escaped: "metadata.name=a,metadata.namespace!=b".
  std::string String() const;
  const std::vector<FieldRequirement>& requirements() const { return requirements_; }

 private:
  std::vector<FieldRequirement> requirements_;
};

}  // namespace smi::kube
