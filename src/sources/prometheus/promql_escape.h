// Putting Kubernetes names into PromQL safely: name validation and label-value escaping.
#pragma once

#include <string>
#include <string_view>

namespace smi::sources::prometheus {

// A DNS-1123 label (namespace names): 1-63 of [a-z0-9-], starting and ending alphanumeric.
bool IsDns1123Label(std::string_view name);
// A DNS-1123 subdomain (pod and workload names): at most 253 characters, dot-separated DNS-1123
// labels ([a-z0-9-.], starting and ending alphanumeric).
bool IsDns1123Subdomain(std::string_view name);

// The body of a PromQL double-quoted string for `value`: backslash, double quote and newline
// escaped. Names are validated before they get here; escaping is the second line of defence.
std::string EscapeLabelValue(std::string_view value);

// `label="value"` (exact match) with the value escaped. PromQL label names are not user input.
std::string EqualMatcher(std::string_view label, std::string_view value);

}  // namespace smi::sources::prometheus
