#include "aggregation/cluster_view.h"

#include <algorithm>
#include <tuple>

namespace smi::aggregation {

using model::ObjectReference;
using model::ResourceKind;

std::optional<kube::WorkloadKind> CachedWorkloadKind(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kDeployment:
      return kube::WorkloadKind::kDeployment;
    case ResourceKind::kStatefulSet:
      return kube::WorkloadKind::kStatefulSet;
    case ResourceKind::kDaemonSet:
      return kube::WorkloadKind::kDaemonSet;
    default:
      return std::nullopt;
  }
}

namespace {

// The controller kind the caches group pods by for a pod-group kind that is a workload.
std::optional<kube::WorkloadKind> ControllerKind(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kReplicaSet:
      return kube::WorkloadKind::kReplicaSet;
    case ResourceKind::kReplicationController:
      return kube::WorkloadKind::kReplicationController;
    case ResourceKind::kJob:
      return kube::WorkloadKind::kJob;
    default:
      return std::nullopt;
  }
}

}  // namespace

ObjectReference ReferenceOf(ResourceKind kind, std::string_view ns, std::string_view name) {
  ObjectReference ref{std::string(model::KindName(kind)), std::string(ns), std::string(name), ""};
  if (!model::IsNamespaced(kind)) ref.ns.clear();
  return ref;
}

bool ObjectExists(const kube::ClusterSnapshot& snapshot, ResourceKind kind, std::string_view ns,
                  std::string_view name) {
  if (kind == ResourceKind::kNamespace) return snapshot.FindNamespace(name) != nullptr;
  if (kind == ResourceKind::kPod) return snapshot.FindPod(ns, name) != nullptr;
  if (kind == ResourceKind::kNode) return snapshot.FindNode(name) != nullptr;
  if (kind == ResourceKind::kService) return snapshot.FindService(ns, name) != nullptr;
  if (const auto controller = ControllerKind(kind)) {
    return snapshot.FindWorkload(*controller, ns, name) != nullptr;
  }
  const auto workload = CachedWorkloadKind(kind);
  return workload && snapshot.FindWorkload(*workload, ns, name) != nullptr;
}

std::vector<ObjectReference> SelectedObjects(const kube::ClusterSnapshot& snapshot,
                                             ResourceKind kind, std::string_view ns,
                                             const kube::LabelSelector& labels,
                                             const kube::FieldSelector& fields) {
  std::vector<ObjectReference> out;
  const auto take = [&](const kube::ObjectMeta& meta) {
    if (kube::Selected(meta, labels, fields)) out.push_back(ReferenceOf(kind, meta.ns, meta.name));
  };
  if (kind == ResourceKind::kNamespace) {
    for (const auto* n : snapshot.Namespaces()) take(n->meta);
  } else if (kind == ResourceKind::kPod) {
    for (const auto* p : snapshot.Pods(ns)) take(p->meta);
  } else if (kind == ResourceKind::kNode) {
    for (const auto* n : snapshot.Nodes()) take(n->meta);
  } else if (kind == ResourceKind::kService) {
    for (const auto* s : snapshot.Services(ns)) take(s->meta);
  } else if (const auto workload = CachedWorkloadKind(kind)) {
    for (const auto* w : snapshot.Workloads(*workload, ns)) take(w->meta);
  } else if (const auto controller = ControllerKind(kind)) {
    for (const auto* w : snapshot.Workloads(*controller, ns)) take(w->meta);
  }
  return out;
}

bool IsPodGroupKind(ResourceKind kind) {
  return kind == ResourceKind::kNode || kind == ResourceKind::kService ||
         ControllerKind(kind).has_value();
}

std::vector<ObjectReference> PodGroupsOf(const kube::ClusterSnapshot& snapshot, ResourceKind kind,
                                         const kube::Pod& pod) {
  std::vector<ObjectReference> out;
  if (kind == ResourceKind::kNode) {
    if (!pod.node.empty() && snapshot.FindNode(pod.node)) {
      out.push_back(ReferenceOf(kind, "", pod.node));
    }
  } else if (kind == ResourceKind::kService) {
    for (const auto* service : snapshot.Services(pod.meta.ns)) {
      if (service->has_selector && service->selector.Matches(pod.meta.labels)) {
        out.push_back(ReferenceOf(kind, service->meta.ns, service->meta.name));
      }
    }
  } else if (const auto controller = ControllerKind(kind)) {
    const auto c = snapshot.ControllerOf(pod);
    if (c && c->kind == *controller) out.push_back(ReferenceOf(kind, c->ns, c->name));
  }
  return out;
}

std::map<std::string, std::string> PodGroupAnnotations(const kube::ClusterSnapshot& snapshot,
                                                       const ObjectReference& ref) {
  if (ref.kind != model::KindName(ResourceKind::kService)) return {};
  const kube::Service* service = snapshot.FindService(ref.ns, ref.name);
  if (!service || service->has_selector) return {};
  const std::string why =
      service->type == "ExternalName"
          ? "none: an ExternalName Service is a DNS name, it selects no pods"
          : "none: the Service has no selector, so its traffic is not seen through pods";
  return {{std::string(model::kPodsAnnotation), why}};
}

namespace {

// A pod the caches hold, else one deleted within their memory (docs/decisions.md, decision 16).
const kube::Pod* PodOrDeparted(const kube::ClusterSnapshot& snapshot, std::string_view ns,
                               std::string_view name) {
  if (const kube::Pod* pod = snapshot.FindPod(ns, name)) return pod;
  const kube::DepartedPod* departed = snapshot.FindDepartedPod(ns, name);
  return departed ? departed->pod.get() : nullptr;
}

}  // namespace

std::map<ObjectReference, sources::TrafficCounts> RollUpPodGroups(
    const kube::ClusterSnapshot& snapshot, ResourceKind kind,
    const std::vector<sources::ResourceSample>& pods) {
  std::map<ObjectReference, sources::TrafficCounts> out;
  for (const auto& sample : pods) {
    if (sample.resource.kind != model::KindName(ResourceKind::kPod)) continue;
    const kube::Pod* pod = PodOrDeparted(snapshot, sample.resource.ns, sample.resource.name);
    if (!pod) continue;
    for (const auto& group : PodGroupsOf(snapshot, kind, *pod)) {
      AddCounts(out[group], sample.counts);
    }
  }
  return out;
}

std::vector<sources::EdgeSample> RollUpPodGroupEdges(
    const kube::ClusterSnapshot& snapshot, ResourceKind kind, const ObjectReference& self,
    const std::vector<sources::EdgeSample>& pod_edges) {
  const std::string pod_kind(model::KindName(ResourceKind::kPod));
  const auto groups_of = [&](const ObjectReference& ref) -> std::vector<ObjectReference> {
    if (ref.kind != pod_kind) return {};
    const kube::Pod* pod = PodOrDeparted(snapshot, ref.ns, ref.name);
    if (!pod) return {};
    return PodGroupsOf(snapshot, kind, *pod);
  };
  using Key = std::tuple<model::Direction, model::Side, ObjectReference>;
  std::map<Key, sources::TrafficCounts> rows;
  for (const auto& edge : pod_edges) {
    const auto own = groups_of(edge.resource);
    if (std::find(own.begin(), own.end(), self) == own.end()) continue;
    auto peers = groups_of(edge.peer);
    if (peers.empty()) peers.push_back(edge.peer_as_kind ? *edge.peer_as_kind : edge.peer);
    for (auto& peer : peers) {
      AddCounts(rows[Key{edge.direction, edge.side, std::move(peer)}], edge.counts);
    }
  }
  std::vector<sources::EdgeSample> out;
  out.reserve(rows.size());
  for (auto& [key, counts] : rows) {
    const auto& [direction, side, peer] = key;
    out.push_back(
        sources::EdgeSample{self, direction, side, peer, std::move(counts), std::nullopt});
  }
  return out;
}

void AddCounts(sources::TrafficCounts& to, const sources::TrafficCounts& from) {
  to.success += from.success;
  to.failure += from.failure;
  for (const auto& [le, increase] : from.latency_buckets) to.latency_buckets[le] += increase;
}

std::optional<ObjectReference> SeriesOwnerInCaches(const kube::ClusterSnapshot& snapshot,
                                                   const ObjectReference& owner) {
  std::optional<ObjectReference> found;
  for (auto kind : {kube::WorkloadKind::kDeployment, kube::WorkloadKind::kStatefulSet,
                    kube::WorkloadKind::kDaemonSet}) {
    const std::string name(kube::WorkloadKindName(kind));
    if (!owner.kind.empty() && owner.kind != name) continue;
    if (snapshot.FindWorkload(kind, owner.ns, owner.name) == nullptr) continue;
    if (found) return std::nullopt;  // two kinds share the name: the series cannot tell which
    found = ObjectReference{name, owner.ns, owner.name, ""};
  }
  return found;
}

std::map<ObjectReference, sources::TrafficCounts> RollUpPods(
    const kube::ClusterSnapshot& snapshot, const std::vector<sources::ResourceSample>& pods) {
  std::map<ObjectReference, sources::TrafficCounts> out;
  for (const auto& sample : pods) {
    if (sample.resource.kind != model::KindName(ResourceKind::kPod)) continue;
    const auto& pod = sample.resource;
    if (const auto owner = snapshot.PodOwner(pod.ns, pod.name)) {
      ObjectReference ref{std::string(kube::WorkloadKindName(owner->kind)), owner->ns, owner->name,
                          ""};
      AddCounts(out[ref], sample.counts);
      continue;
    }
    // The series' own owner, only for a pod the caches never knew (or have forgotten): a pod
    // they know without a workload owner (a bare pod, a Job's) keeps counting for none.
    if (!sample.owner || sample.owner->ns != pod.ns || snapshot.FindPod(pod.ns, pod.name) ||
        snapshot.FindDepartedPod(pod.ns, pod.name)) {
      continue;
    }
    if (auto ref = SeriesOwnerInCaches(snapshot, *sample.owner)) {
      AddCounts(out[*ref], sample.counts);
    }
  }
  return out;
}

ObjectReference PeerOfItsOwnKind(const kube::ClusterSnapshot& snapshot,
                                 const ObjectReference& peer) {
  const auto kind = kube::WorkloadKindFromName(peer.kind);
  if (!kind || *kind == kube::WorkloadKind::kReplicaSet) return peer;
  if (snapshot.FindWorkload(*kind, peer.ns, peer.name) != nullptr) return peer;
  for (auto other : {kube::WorkloadKind::kDeployment, kube::WorkloadKind::kStatefulSet,
                     kube::WorkloadKind::kDaemonSet}) {
    if (snapshot.FindWorkload(other, peer.ns, peer.name) != nullptr) {
      return ObjectReference{std::string(kube::WorkloadKindName(other)), peer.ns, peer.name,
                             peer.api_version};
    }
  }
  return peer;
}

bool HadTraffic(const sources::TrafficCounts& counts) {
  if (counts.success != 0 || counts.failure != 0) return true;
  for (const auto& [le, increase] : counts.latency_buckets) {
    if (increase != 0) return true;
  }
  return false;
}

std::vector<sources::EdgeSample> RollUpPodEdges(const kube::ClusterSnapshot& snapshot,
                                                ResourceKind kind, const ObjectReference& self,
                                                const std::vector<sources::EdgeSample>& pod_edges) {
  const auto workload = CachedWorkloadKind(kind);
  const std::string pod_kind(model::KindName(ResourceKind::kPod));
  // The workload owning a cached pod, of whichever workload kind it is: a peer answers with its
  // own kind, not the kind asked about.
  const auto owner_of = [&](const ObjectReference& ref) -> std::optional<ObjectReference> {
    if (!workload || ref.kind != pod_kind) return std::nullopt;
    // The caches' owner, or the one a departed pod had (decision 16).
    const auto owner = snapshot.PodOwner(ref.ns, ref.name);
    if (!owner || owner->kind == kube::WorkloadKind::kReplicaSet) return std::nullopt;
    return ObjectReference{std::string(kube::WorkloadKindName(owner->kind)), owner->ns, owner->name,
                           ""};
  };
  using Key = std::tuple<model::Direction, model::Side, ObjectReference>;
  std::map<Key, sources::TrafficCounts> rows;
  for (const auto& edge : pod_edges) {
    if (edge.resource != self && owner_of(edge.resource) != self) continue;
    ObjectReference peer = edge.peer;
    if (auto owner = owner_of(edge.peer)) {
      peer = std::move(*owner);
    } else if (edge.peer_as_kind) {
      peer = *edge.peer_as_kind;
    }
    AddCounts(rows[Key{edge.direction, edge.side, std::move(peer)}], edge.counts);
  }
  std::vector<sources::EdgeSample> out;
  out.reserve(rows.size());
  for (auto& [key, counts] : rows) {
    const auto& [direction, side, peer] = key;
    out.push_back(
        sources::EdgeSample{self, direction, side, peer, std::move(counts), std::nullopt});
  }
  return out;
}

model::ListSelector EchoSelector(const kube::LabelSelector& selector) {
  model::ListSelector out;
  for (const auto& r : selector.requirements()) {
    const auto expression = [&](std::string op, std::vector<std::string> values) {
      out.match_expressions.push_back({r.key, std::move(op), std::move(values)});
    };
    switch (r.op) {
      case kube::SelectorOp::kEquals:
      case kube::SelectorOp::kDoubleEquals:
        // Two equalities on one key (a=x,a=y) cannot both be matchLabels.
        if (!out.match_labels.contains(r.key) && r.values.size() == 1) {
          out.match_labels[r.key] = r.values.front();
        } else {
          expression("In", r.values);
        }
        break;
      case kube::SelectorOp::kNotEquals:
      case kube::SelectorOp::kNotIn:
        expression("NotIn", r.values);
        break;
      case kube::SelectorOp::kIn:
        expression("In", r.values);
        break;
      case kube::SelectorOp::kExists:
        expression("Exists", {});
        break;
      case kube::SelectorOp::kDoesNotExist:
        expression("DoesNotExist", {});
        break;
      case kube::SelectorOp::kGreaterThan:
        expression("Gt", r.values);
        break;
      case kube::SelectorOp::kLessThan:
        expression("Lt", r.values);
        break;
    }
  }
  return out;
}

}  // namespace smi::aggregation
