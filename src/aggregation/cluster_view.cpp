#include "aggregation/cluster_view.h"

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

ObjectReference ReferenceOf(ResourceKind kind, std::string_view ns, std::string_view name) {
  ObjectReference ref{std::string(model::KindName(kind)), std::string(ns), std::string(name), ""};
  if (kind == ResourceKind::kNamespace) ref.ns.clear();
  return ref;
}

bool ObjectExists(const kube::ClusterSnapshot& snapshot, ResourceKind kind, std::string_view ns,
                  std::string_view name) {
  if (kind == ResourceKind::kNamespace) return snapshot.FindNamespace(name) != nullptr;
  if (kind == ResourceKind::kPod) return snapshot.FindPod(ns, name) != nullptr;
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
  } else if (const auto workload = CachedWorkloadKind(kind)) {
    for (const auto* w : snapshot.Workloads(*workload, ns)) take(w->meta);
  }
  return out;
}

void AddCounts(sources::TrafficCounts& to, const sources::TrafficCounts& from) {
  to.success += from.success;
  to.failure += from.failure;
  for (const auto& [le, increase] : from.latency_buckets) to.latency_buckets[le] += increase;
}

std::map<ObjectReference, sources::TrafficCounts> RollUpPods(
    const kube::ClusterSnapshot& snapshot, const std::vector<sources::ResourceSample>& pods) {
  std::map<ObjectReference, sources::TrafficCounts> out;
  for (const auto& sample : pods) {
    if (sample.resource.kind != model::KindName(ResourceKind::kPod)) continue;
    const auto owner = snapshot.PodOwner(sample.resource.ns, sample.resource.name);
    if (!owner || owner->kind == kube::WorkloadKind::kReplicaSet) continue;
    ObjectReference ref{std::string(kube::WorkloadKindName(owner->kind)), owner->ns, owner->name,
                        ""};
    AddCounts(out[ref], sample.counts);
  }
  return out;
}

std::vector<sources::EdgeSample> RollUpPodEdges(const kube::ClusterSnapshot& snapshot,
                                                ResourceKind kind, const ObjectReference& self,
                                                const std::vector<sources::EdgeSample>& pod_edges) {
  const auto workload = CachedWorkloadKind(kind);
  const std::string pod_kind(model::KindName(ResourceKind::kPod));
  // The owner of a cached pod when it is a workload of the kind asked about.
  const auto owner_of = [&](const ObjectReference& ref) -> std::optional<ObjectReference> {
    if (!workload || ref.kind != pod_kind) return std::nullopt;
    const auto owner = snapshot.PodOwner(ref.ns, ref.name);
    if (!owner || owner->kind != *workload) return std::nullopt;
    return ObjectReference{std::string(model::KindName(kind)), owner->ns, owner->name, ""};
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
