// The TrafficMetrics API objects (metrics.smi-spec.io), as the SMI spec describes them.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/quantity.h"

namespace smi::model {

// The kinds of object a TrafficMetrics can be about. Names are the Kubernetes kinds. ReplicaSets,
// ReplicationControllers and Jobs are workloads rolled up from their pods as Deployments are;
// Nodes (cluster-scoped) and Services are groups of pods too (docs/spec-notes.md, "Kinds").
enum class ResourceKind {
  kPod,
  kDeployment,
  kStatefulSet,
  kDaemonSet,
  kNamespace,
  kReplicaSet,
  kReplicationController,
  kJob,
  kNode,
  kService,
};

// "Pod", "Deployment", "StatefulSet", "DaemonSet", "Namespace", "ReplicaSet", ...
std::string_view KindName(ResourceKind kind);
// "pods", "deployments", ... (the resource name in URLs and discovery).
std::string_view ResourcePlural(ResourceKind kind);
// Inverse of ResourcePlural; nullopt for anything else.
std::optional<ResourceKind> KindFromPlural(std::string_view plural);
bool IsNamespaced(ResourceKind kind);

// A core/v1 ObjectReference restricted to the fields the spec uses. Empty strings are omitted in
// JSON.
struct ObjectReference {
  std::string kind;
  std::string ns;  // JSON "namespace"
  std::string name;
  std::string api_version;  // JSON "apiVersion"; usually empty

  friend bool operator==(const ObjectReference&, const ObjectReference&) = default;
  friend auto operator<=>(const ObjectReference&, const ObjectReference&) = default;
};

enum class Direction { kTo, kFrom };
enum class Side { kClient, kServer };
std::string_view DirectionName(Direction d);  // "to" / "from"
std::string_view SideName(Side s);            // "client" / "server"

struct Edge {
  Direction direction = Direction::kFrom;
  Side side = Side::kServer;
  // nullopt serializes as `"resource": null`: all traffic in that direction (the resource scope).
  std::optional<ObjectReference> resource;
};

struct Backend {
  std::string apex;
  std::string name;
  int weight = 0;
};

struct Metric {
  std::string name;  // p99_response_latency, ..., success_count, failure_count
  std::string unit;  // "seconds" for latencies, empty (omitted) for counts
  Quantity value;
};

// Metric names, in the order the spec lists them.
inline constexpr std::string_view kP99Latency = "p99_response_latency";
inline constexpr std::string_view kP90Latency = "p90_response_latency";
inline constexpr std::string_view kP50Latency = "p50_response_latency";
inline constexpr std::string_view kSuccessCount = "success_count";
inline constexpr std::string_view kFailureCount = "failure_count";

using TimePoint = std::chrono::system_clock::time_point;

struct TrafficMetrics {
  ObjectReference resource;
  Edge edge;
  std::optional<Backend> backend;           // only for TrafficSplit resources; omitted when absent
  TimePoint timestamp;                      // serialized RFC 3339, whole seconds, UTC
  std::chrono::milliseconds window{30000};  // serialized as a Go duration string ("30s", "1m15s")
  std::vector<Metric> metrics;
  // What the numbers are, where the object alone would not say (a Service that selects no pod):
  // metadata.annotations, omitted when empty.
  std::map<std::string, std::string> annotations;
};

// The annotation that says which pods a Service's numbers cover when that is none.
inline constexpr std::string_view kPodsAnnotation = "metrics.smi-spec.io/pods";

// A metav1.LabelSelector, as the spec's list examples echo the label selector of a request.
struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist (Gt, Lt for `>`/`<` terms)
  std::vector<std::string> values;
};
struct ListSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;
};

struct TrafficMetricsList {
  ObjectReference resource;  // kind (+ namespace) for kind lists, the object itself for edges
  std::optional<ListSelector> selector;  // the label selector echoed back, when one was given
  std::vector<TrafficMetrics> items;
};

// JSON in the API's wire format. `api_version` is e.g. "metrics.smi-spec.io/v1alpha1".
nlohmann::json ToJson(const TrafficMetrics& tm, std::string_view api_version);
nlohmann::json ToJson(const TrafficMetricsList& list, std::string_view api_version);

// The list's JSON text, exactly `ToJson(list, api_version).dump()` with invalid UTF-8 replaced by
// U+FFFD, written one item at a time: a list of 10,000 pods never exists as one document tree,
// which would take several times the answer's size.
std::string ToJsonText(const TrafficMetricsList& list, std::string_view api_version);

}  // namespace smi::model
