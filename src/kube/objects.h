// The Kubernetes objects the server needs, reduced to the fields it uses, and their decoding from
// the JSON kube-apiserver returns (lists, watch events, `kubectl get -o json` files).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kube/label_selector.h"

namespace smi::kube {

struct OwnerReference {
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
  friend bool operator==(const OwnerReference&, const OwnerReference&) = default;
};

struct ObjectMeta {
  std::string name;
  std::string ns;  // empty for cluster-scoped objects (namespaces)
  std::string uid;
  Labels labels;
  std::vector<OwnerReference> owners;

  // The ownerReference with controller: true, if any.
  const OwnerReference* Controller() const;
};

// The resources the caches hold: the objects the metrics API serves, and what pods are grouped by
// (owners, nodes, the Services that select them).
enum class Resource {
  kPods,
  kReplicaSets,
  kDeployments,
  kStatefulSets,
  kDaemonSets,
  kNamespaces,
  kTrafficSplits,
  kReplicationControllers,
  kJobs,
  kNodes,
  kServices,
};
inline constexpr Resource kAllResources[] = {
    Resource::kPods,          Resource::kReplicaSets,
    Resource::kDeployments,   Resource::kStatefulSets,
    Resource::kDaemonSets,    Resource::kNamespaces,
    Resource::kTrafficSplits, Resource::kReplicationControllers,
    Resource::kJobs,          Resource::kNodes,
    Resource::kServices};

std::string_view ResourceName(Resource r);      // "pods", "replicasets", ..., "trafficsplits"
std::string_view ResourceGroup(Resource r);     // "", "apps", "batch", "split.smi-spec.io"
std::string_view ResourceKindName(Resource r);  // "Pod", "ReplicaSet", ...
// The collection path for a served version: /api/v1/pods, /apis/apps/v1/deployments,
// /apis/batch/v1/jobs, /apis/split.smi-spec.io/<split_version>/trafficsplits.
std::string CollectionPath(Resource r, std::string_view split_version = "v1alpha4");
// Resource of a `kind` (+ apiVersion group) as objects name it; nullopt for kinds not cached.
std::optional<Resource> ResourceForKind(std::string_view api_version, std::string_view kind);

// The controllers of pods the caches follow (ReplicationControllers are core/v1, Jobs batch/v1).
enum class WorkloadKind {
  kReplicaSet,
  kDeployment,
  kStatefulSet,
  kDaemonSet,
  kReplicationController,
  kJob
};
std::string_view WorkloadKindName(WorkloadKind k);                        // "Deployment", ...
std::optional<WorkloadKind> WorkloadKindFromName(std::string_view kind);  // "Deployment" -> ...
Resource WorkloadResource(WorkloadKind k);

// A container port with a name (spec.containers[].ports[]), as sidecar mode finds a proxy's
// metrics port.
struct NamedPort {
  std::string name;
  int port = 0;
  friend bool operator==(const NamedPort&, const NamedPort&) = default;
};

struct Pod {
  ObjectMeta meta;
  std::string ip;     // status.podIP (empty until scheduled and started)
  std::string node;   // spec.nodeName (empty until scheduled)
  std::string phase;  // status.phase: Pending, Running, Succeeded, Failed, Unknown
  // What sidecar mode needs to find and scrape a proxy, and nothing more: the containers' names,
  // their named ports, and the annotations of kPodScrapeAnnotations (a long value, such as
  // Istio's sidecar status, is kept as "" : only its presence is read).
  std::vector<std::string> containers;
  std::vector<NamedPort> named_ports;
  Labels annotations;
};

// The pod annotations the caches keep (see Pod::annotations).
inline constexpr std::string_view kPodScrapeAnnotations[] = {
    "prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path", "sidecar.istio.io/status"};

struct Workload {
  WorkloadKind kind = WorkloadKind::kDeployment;
  ObjectMeta meta;
  LabelSelector selector;  // spec.selector
};

struct Namespace {
  ObjectMeta meta;
  std::string phase;  // Active, Terminating
};

struct Node {
  ObjectMeta meta;
};

// A core/v1 Service, as far as grouping pods needs it.
struct Service {
  ObjectMeta meta;
  // spec.selector; a Service without one (its Endpoints managed by hand, ExternalName) selects
  // no pod: LabelSelector::Nothing().
  LabelSelector selector;
  bool has_selector = false;
  std::string type;       // spec.type: ClusterIP (default), NodePort, LoadBalancer, ExternalName
  bool headless = false;  // spec.clusterIP "None"
};

struct TrafficSplitBackend {
  std::string service;
  // The weight as the object states it, in thousandths: v1alpha2+ integers (weight 500 ->
  // 500000), v1alpha1 quantities ("500m" -> 500). A weight that is negative, not a number or
  // above 9e15 makes the whole object invalid (DecodeTrafficSplit throws std::invalid_argument).
  int64_t weight_milli = 0;
  // The integer weight the metrics API reports (backend.weight): the stated integer for
  // v1alpha2+; for v1alpha1 the quantity's value when every backend's weight is whole, otherwise
  // every backend's milli-value, so that the ratios survive. Capped at INT32_MAX.
  int weight = 0;
};

struct TrafficSplit {
  ObjectMeta meta;
  std::string api_version;  // split.smi-spec.io/v1alphaN
  std::string service;      // spec.service: the apex service
  std::vector<TrafficSplitBackend> backends;
};

// Decoding. Each takes the object JSON (as in a list's items or a watch event's object; kind and
// apiVersion are not needed) and throws std::invalid_argument on a missing name or a wrong shape.
ObjectMeta DecodeMeta(const nlohmann::json& object);
Pod DecodePod(const nlohmann::json& object);
Workload DecodeWorkload(WorkloadKind kind, const nlohmann::json& object);
Namespace DecodeNamespace(const nlohmann::json& object);
Node DecodeNode(const nlohmann::json& object);
Service DecodeService(const nlohmann::json& object);
TrafficSplit DecodeTrafficSplit(const nlohmann::json& object, std::string_view api_version);

// A Kubernetes quantity ("1", "500m", "1.5", "2k", "1Ki") in thousandths, rounded up as
// Quantity.MilliValue() does. Throws std::invalid_argument, also for a magnitude above 9e18
// thousandths and for an exponent beyond int.
int64_t ParseQuantityMilli(std::string_view text);

// Parses JSON while dropping the (large) parts of objects nothing here reads (managedFields,
// annotations, pod specs and statuses except podIP/phase, pod templates...). `object_depth` is
// the nesting depth of the objects' own fields: 1 for a single object, 2 for a watch event, 3 for
// a list. Throws nlohmann::json::parse_error, also for a number beyond double.
nlohmann::json ParseTrimmed(std::string_view text, int object_depth);

}  // namespace smi::kube
