#include "base/yaml_keys.h"

namespace smi::base {

std::optional<std::string> UnknownKey(const YAML::Node& node,
                                      const std::set<std::string>& allowed) {
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (!allowed.contains(key)) return key;
  }
  return std::nullopt;
}

std::string UnknownKeyMessage(const std::set<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return "unknown key (expected one of: " + list + ")";
}

}  // namespace smi::base
