// The check every YAML reader of the server makes on a mapping: only the keys it knows, so that a
// misspelt key is an error naming it instead of a setting silently ignored.
#pragma once

#include <optional>
#include <set>
#include <string>

#include <yaml-cpp/yaml.h>

namespace smi::base {

// The first key of the mapping `node` that is not in `allowed`, or nullopt when all are.
std::optional<std::string> UnknownKey(const YAML::Node& node, const std::set<std::string>& allowed);

// "unknown key (expected one of: a, b, c)".
std::string UnknownKeyMessage(const std::set<std::string>& allowed);

}  // namespace smi::base
