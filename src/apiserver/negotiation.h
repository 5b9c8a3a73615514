// Content negotiation as the generic apiserver does it: which representation an Accept header
// asks for (plain JSON, a meta.k8s.io Table, aggregated discovery), and Table's includeObject.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smi::apiserver {

// One entry of an Accept header: `type/subtype;param=value;...;q=0.5`.
struct MediaRange {
  std::string type, subtype;                  // lower-cased
  std::map<std::string, std::string> params;  // keys lower-cased, q removed
  double q = 1;
};

// The entries in preference order: by q (highest first), ties in the client's order; q=0 dropped.
std::vector<MediaRange> ParseAccept(std::string_view accept);

enum class Representation {
  kJson,          // the object itself, application/json
  kTableV1,       // meta.k8s.io/v1 Table
  kTableV1beta1,  // meta.k8s.io/v1beta1 Table
};

// For API objects: the first acceptable entry wins. An absent or empty header means JSON.
// nullopt: nothing offered is acceptable (406). Table for another group version is skipped.
std::optional<Representation> NegotiateObject(std::string_view accept);

enum class DiscoveryFormat {
  kAggregatedV2,       // apidiscovery.k8s.io/v2 APIGroupDiscoveryList
  kAggregatedV2beta1,  // apidiscovery.k8s.io/v2beta1
  kLegacy,             // v1 APIGroupList
};

// For /apis: aggregated discovery when asked for by GVK parameters, else the legacy list.
// nullopt: nothing acceptable.
std::optional<DiscoveryFormat> NegotiateDiscovery(std::string_view accept);

// The exact Content-Type of an aggregated discovery answer (clients check g, v and as).
std::string DiscoveryContentType(DiscoveryFormat format);

enum class IncludeObject { kNone, kMetadata, kObject };

// `?includeObject=`: "" and Metadata (the default), Object, None. Throws std::invalid_argument
// with the generic apiserver's message for anything else.
IncludeObject ParseIncludeObject(const std::optional<std::string>& value);

}  // namespace smi::apiserver
