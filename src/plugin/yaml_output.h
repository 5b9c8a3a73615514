// JSON documents printed as YAML the way `kubectl -o yaml` prints them: keys in order, two-space
// indentation, lists under their key, and strings quoted only where YAML would read them as
// something else ("600", "true", "").
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace smi::plugin {

std::string ToYaml(const nlohmann::json& document);

}  // namespace smi::plugin
