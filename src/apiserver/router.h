// Maps a request path onto the API's endpoints (the path table of docs/spec-notes.md, "Paths").
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "model/traffic_metrics.h"

namespace smi::apiserver {

inline constexpr std::string_view kGroup = "metrics.smi-spec.io";

enum class Endpoint {
  kNotFound,
  kApis,          // /apis
  kApiGroup,      // /apis/metrics.smi-spec.io
  kResourceList,  // /apis/metrics.smi-spec.io/<version>
  kVersion,       // /version
  kHealthz,
  kLivez,
  kReadyz,
  kMetrics,           // /metrics: the server's own metrics (authenticated)
  kGet,               // one object's resource scope
  kList,              // a kind's objects, in a namespace or across all
  kEdges,             // one object's edges
  kOpenApiV2,         // /openapi/v2
  kOpenApiV3,         // /openapi/v3 (the root: one path per group version)
  kOpenApiV3Version,  // /openapi/v3/apis/metrics.smi-spec.io/<version>
  // /api/v1/namespaces/<name>: kubectl (talking to this server directly) asks whether a namespace
  // exists after a NotFound, and prints that answer instead of ours when it is a 404 too.
  kCoreNamespace,
};

// The resource that lists workload-level TrafficMetrics of every workload kind
// (docs/decisions.md, decision 10).
inline constexpr std::string_view kTrafficMetricsResource = "trafficmetrics";
// TrafficSplits (docs/spec-notes.md, "TrafficSplits"): a get is a TrafficMetricsList, one item
// per backend; no edges.
inline constexpr std::string_view kTrafficSplitsResource = "trafficsplits";

// What an API path names: the objects of one kind (deployments, pods, namespaces, ...), the
// `trafficmetrics` collection of every workload kind (docs/decisions.md, decision 10), or
// TrafficSplits.
struct KindResource {
  model::ResourceKind kind = model::ResourceKind::kDeployment;
};
struct WorkloadsResource {};      // `trafficmetrics`: a name resolves across workload kinds
struct TrafficSplitsResource {};  // `trafficsplits`: kGet and kList only
using ApiResource = std::variant<KindResource, WorkloadsResource, TrafficSplitsResource>;

struct Route {
  Endpoint endpoint = Endpoint::kNotFound;
  std::string version;  // v1alpha1 or v1alpha2, for API endpoints
  // kGet, kList, kEdges: what they are about (kCoreNamespace: namespaces).
  ApiResource resource;
  std::string ns;    // empty for cluster-wide lists and for namespaces
  std::string name;  // empty for lists
  // Set when the path names an object whose name cannot exist in Kubernetes (not DNS-1123).
  bool invalid_name = false;
};

Route MatchRoute(std::string_view path);

// "v1alpha1" and "v1alpha2" serve the same objects (docs/decisions.md, decision 1).
bool IsServedVersion(std::string_view version);

}  // namespace smi::apiserver
