// What the metrics backend said about an answer, passed to the client as kube-apiserver passes
// warnings: `Warning: 299 - "text"` response headers, which kubectl and client-go print as
// `Warning: text` (docs/kubernetes-api.md, "Warnings").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "apiserver/http_types.h"

namespace smi::apiserver {

// At most this many Warning headers per answer; when the backend said more, the last one says how
// many were left out.
inline constexpr size_t kMaxWarningsPerAnswer = 3;
// A warning's text is cut to this many characters (kube-apiserver's per-warning limit), ending
// with "...".
inline constexpr size_t kMaxWarningCharacters = 256;

// The header value for `text`: `299 - "text"`, the text made valid UTF-8 without control
// characters, cut to kMaxWarningCharacters, with `"` and `\` escaped (an RFC 7230
// quoted-string, as k8s.io/apimachinery's NewWarningHeader writes it).
std::string WarningHeaderValue(std::string_view text);

// Adds one Warning header per distinct warning, each prefixed "metrics source: ", within
// kMaxWarningsPerAnswer.
void AddWarnings(HttpResponse& response, const std::vector<std::string>& warnings);

}  // namespace smi::apiserver
