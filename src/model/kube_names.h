// Kubernetes object name rules (RFC 1123), shared by everything that takes a name from a user.
#pragma once

#include <string_view>

namespace smi::model {

// A DNS-1123 label (namespace names): 1-63 of [a-z0-9-], starting and ending alphanumeric.
bool IsDns1123Label(std::string_view name);
// A DNS-1123 subdomain (pod and workload names): at most 253 characters, dot-separated parts of
// [a-z0-9-], each starting and ending alphanumeric.
bool IsDns1123Subdomain(std::string_view name);

}  // namespace smi::model
