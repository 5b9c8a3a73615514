#include "model/traffic_metrics.h"

#include <array>
#include <string>

#include <nlohmann/json.hpp>

#include "model/duration.h"

namespace smi::model {
namespace {

struct KindNames {
  ResourceKind kind;
  std::string_view name;
  std::string_view plural;
  bool namespaced;
};

// One table so that the kind, its URL name and its scope cannot drift apart.
constexpr std::array<KindNames, 10> kKinds{{
    {ResourceKind::kPod, "Pod", "pods", true},
    {ResourceKind::kDeployment, "Deployment", "deployments", true},
    {ResourceKind::kStatefulSet, "StatefulSet", "statefulsets", true},
    {ResourceKind::kDaemonSet, "DaemonSet", "daemonsets", true},
    {ResourceKind::kNamespace, "Namespace", "namespaces", false},
    {ResourceKind::kReplicaSet, "ReplicaSet", "replicasets", true},
    {ResourceKind::kReplicationController, "ReplicationController", "replicationcontrollers", true},
    {ResourceKind::kJob, "Job", "jobs", true},
    {ResourceKind::kNode, "Node", "nodes", false},
    {ResourceKind::kService, "Service", "services", true},
}};

const KindNames& Lookup(ResourceKind kind) {
  for (const auto& entry : kKinds) {
    if (entry.kind == kind) return entry;
  }
  return kKinds.front();  // unreachable: every enumerator is in the table
}

// core/v1 ObjectReference marks every field omitempty, so an empty reference is `{}`: the spec's
// "all traffic of that kind/namespace" form, distinct from a null edge resource.
nlohmann::json ReferenceJson(const ObjectReference& ref) {
  nlohmann::json out = nlohmann::json::object();
  if (!ref.kind.empty()) out["kind"] = ref.kind;
  if (!ref.ns.empty()) out["namespace"] = ref.ns;
  if (!ref.name.empty()) out["name"] = ref.name;
  if (!ref.api_version.empty()) out["apiVersion"] = ref.api_version;
  return out;
}

nlohmann::json MetricJson(const Metric& metric) {
  nlohmann::json out = {{"name", metric.name}, {"value", metric.value.ToString()}};
  if (!metric.unit.empty()) out["unit"] = metric.unit;  // SDK tag: unit,omitempty
  return out;
}

}  // namespace

std::string_view KindName(ResourceKind kind) { return Lookup(kind).name; }

std::string_view ResourcePlural(ResourceKind kind) { return Lookup(kind).plural; }

std::optional<ResourceKind> KindFromPlural(std::string_view plural) {
  for (const auto& entry : kKinds) {
    if (entry.plural == plural) return entry.kind;
  }
  return std::nullopt;
}

bool IsNamespaced(ResourceKind kind) { return Lookup(kind).namespaced; }

std::string_view DirectionName(Direction d) { return d == Direction::kTo ? "to" : "from"; }

std::string_view SideName(Side s) { return s == Side::kClient ? "client" : "server"; }

nlohmann::json ToJson(const TrafficMetrics& tm, std::string_view api_version) {
  const std::string timestamp = FormatRfc3339(tm.timestamp);

  // ObjectMeta as the SDK fills it: the object is named after the resource it describes, and it
  // is "created" when it is computed.
  nlohmann::json metadata = nlohmann::json::object();
  if (!tm.resource.name.empty()) metadata["name"] = tm.resource.name;
  if (!tm.resource.ns.empty()) metadata["namespace"] = tm.resource.ns;
  metadata["creationTimestamp"] = timestamp;
  if (!tm.annotations.empty()) metadata["annotations"] = tm.annotations;

  nlohmann::json edge = {
      {"direction", DirectionName(tm.edge.direction)},
      {"side", SideName(tm.edge.side)},
      {"resource", tm.edge.resource ? ReferenceJson(*tm.edge.resource) : nlohmann::json(nullptr)},
  };

  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& metric : tm.metrics) metrics.push_back(MetricJson(metric));

  nlohmann::json out = {
      {"kind", "TrafficMetrics"},
      {"apiVersion", api_version},
      {"metadata", std::move(metadata)},
      {"timestamp", timestamp},
      {"window", FormatGoDuration(tm.window)},
      {"resource", ReferenceJson(tm.resource)},
      {"edge", std::move(edge)},
      {"metrics", std::move(metrics)},
  };
  if (tm.backend) {
    out["backend"] = {
        {"apex", tm.backend->apex}, {"name", tm.backend->name}, {"weight", tm.backend->weight}};
  }
  return out;
}

namespace {

// The spec's list examples: `selector: {matchLabels: {app: foo}}`.
nlohmann::json SelectorJson(const ListSelector& s) {
  nlohmann::json selector = nlohmann::json::object();
  if (!s.match_labels.empty()) selector["matchLabels"] = s.match_labels;
  for (const auto& r : s.match_expressions) {
    nlohmann::json e = {{"key", r.key}, {"operator", r.op}};
    if (!r.values.empty()) e["values"] = r.values;
    selector["matchExpressions"].push_back(std::move(e));
  }
  return selector;
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

nlohmann::json ToJson(const TrafficMetricsList& list, std::string_view api_version) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : list.items) items.push_back(ToJson(item, api_version));

  nlohmann::json out = {
      {"kind", "TrafficMetricsList"},
      {"apiVersion", api_version},
      {"metadata", nlohmann::json::object()},
      {"resource", ReferenceJson(list.resource)},
      {"items", std::move(items)},
  };
  if (list.selector) out["selector"] = SelectorJson(*list.selector);
  return out;
}

std::string ToJsonText(const TrafficMetricsList& list, std::string_view api_version) {
  // The members in the order the tree writes them (its objects keep their keys sorted).
  std::string out = "{\"apiVersion\":" + Dump(api_version) + ",\"items\":[";
  bool first = true;
  for (const auto& item : list.items) {
    if (!first) out += ',';
    first = false;
    out += Dump(ToJson(item, api_version));
  }
  out += "],\"kind\":\"TrafficMetricsList\",\"metadata\":{},\"resource\":";
  out += Dump(ReferenceJson(list.resource));
  if (list.selector) {
    out += ",\"selector\":";
    out += Dump(SelectorJson(*list.selector));
  }
  out += '}';
  return out;
}

}  // namespace smi::model
