#include "apiserver/negotiation.h"

#include "model/go_quote.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace smi::apiserver {

namespace {

using base::Lower;
using base::Trim;

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    out.push_back(std::string(s.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::string Param(const MediaRange& m, const std::string& key) {
  const auto it = m.params.find(key);
  return it == m.params.end() ? "" : it->second;
}

bool IsJsonish(const MediaRange& m) {
  return (m.type == "application" && (m.subtype == "json" || m.subtype == "*")) ||
         (m.type == "*" && m.subtype == "*");
}

}  // namespace

std::vector<MediaRange> ParseAccept(std::string_view accept) {
  std::vector<MediaRange> out;
  for (const std::string& item : Split(accept, ',')) {
    const auto parts = Split(item, ';');
    const std::string media = Lower(Trim(parts[0]));
    const auto slash = media.find('/');
    if (media.empty() || slash == std::string::npos) continue;
    MediaRange m;
    m.type = media.substr(0, slash);
    m.subtype = media.substr(slash + 1);
    for (size_t i = 1; i < parts.size(); ++i) {
      const auto eq = parts[i].find('=');
      if (eq == std::string::npos) continue;
      const std::string key = Lower(Trim(parts[i].substr(0, eq)));
      std::string value = Trim(parts[i].substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (key == "q") {
        m.q = std::strtod(value.c_str(), nullptr);
      } else {
        m.params[key] = value;
      }
    }
    if (m.q > 0) out.push_back(std::move(m));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const MediaRange& a, const MediaRange& b) { return a.q > b.q; });
  return out;
}

std::optional<Representation> NegotiateObject(std::string_view accept) {
  // What most clients send (kubectl get --raw, dashboards, controllers) needs no parsing.
  if (accept == "application/json" || accept == "application/json, */*" || accept == "*/*") {
    return Representation::kJson;
  }
  if (base::TrimView(accept).empty()) return Representation::kJson;
  for (const MediaRange& m : ParseAccept(accept)) {
    if (!IsJsonish(m)) continue;
    const std::string as = Param(m, "as");
    if (as.empty()) return Representation::kJson;
    if (m.type != "application" || m.subtype != "json") continue;
    if (as == "Table" && Param(m, "g") == "meta.k8s.io") {
      if (Param(m, "v") == "v1") return Representation::kTableV1;
      if (Param(m, "v") == "v1beta1") return Representation::kTableV1beta1;
    }
    // Other transformations (PartialObjectMetadata, Tables of other versions) are not offered;
    // a later entry may still be acceptable.
  }
  return std::nullopt;
}

std::optional<DiscoveryFormat> NegotiateDiscovery(std::string_view accept) {
  if (base::TrimView(accept).empty()) return DiscoveryFormat::kLegacy;
  for (const MediaRange& m : ParseAccept(accept)) {
    if (!IsJsonish(m)) continue;
    const std::string as = Param(m, "as");
    if (as.empty()) return DiscoveryFormat::kLegacy;
    if (m.subtype != "json" || as != "APIGroupDiscoveryList" ||
        Param(m, "g") != "apidiscovery.k8s.io") {
      continue;
    }
    if (Param(m, "v") == "v2") return DiscoveryFormat::kAggregatedV2;
    if (Param(m, "v") == "v2beta1") return DiscoveryFormat::kAggregatedV2beta1;
  }
  return std::nullopt;
}

std::string DiscoveryContentType(DiscoveryFormat format) {
  switch (format) {
    case DiscoveryFormat::kAggregatedV2:
      return "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    case DiscoveryFormat::kAggregatedV2beta1:
      return "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
    case DiscoveryFormat::kLegacy:
      break;
  }
  return "application/json";
}

IncludeObject ParseIncludeObject(const std::optional<std::string>& value) {
  if (!value || value->empty() || *value == "Metadata") return IncludeObject::kMetadata;
  if (*value == "Object") return IncludeObject::kObject;
  if (*value == "None") return IncludeObject::kNone;
  throw std::invalid_argument("unrecognized includeObject value: " + model::GoQuote(*value));
}

}  // namespace smi::apiserver
