// Small text helpers, ASCII only: the protocols the server speaks (HTTP, PEM, YAML keys) are ASCII
// where these are used, and the C locale must never change their result.
#pragma once

#include <string>
#include <string_view>

namespace smi::base {

// `text` without leading and trailing ASCII white space (space, tab, CR, LF, VT, FF).
std::string Trim(std::string_view text);
std::string_view TrimView(std::string_view text);

// `text` with A-Z turned into a-z; every other byte as it is.
std::string Lower(std::string_view text);

// Whether `a` and `b` are equal ignoring ASCII case (HTTP header names, auth schemes).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// The whole content of the file at `path`; throws std::runtime_error naming `what` and `path`
// when it cannot be read ("cannot read token file /var/run/...: No such file or directory").
std::string ReadFile(const std::string& path, std::string_view what = "file");

}  // namespace smi::base
