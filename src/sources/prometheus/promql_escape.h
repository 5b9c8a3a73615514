// Putting Kubernetes names into PromQL safely: label-value escaping (names are validated with
// model/kube_names.h first).
#pragma once

#include <string>
#include <string_view>

namespace smi::sources::prometheus {

// The body of a PromQL double-quoted string for `value`: backslash, double quote and newline
// escaped. Names are validated before they get here; escaping is the second line of defence.
std::string EscapeLabelValue(std::string_view value);

// `label="value"` (exact match) with the value escaped. PromQL label names are not user input.
std::string EqualMatcher(std::string_view label, std::string_view value);

}  // namespace smi::sources::prometheus
