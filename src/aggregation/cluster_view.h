// What the Kubernetes caches add to answers (docs/decisions.md, decisions 7 and 8): which objects
// exist and are selected, and the roll-up of pod samples to the workloads that own them.
#pragma once

#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "kube/cluster_state.h"
#include "model/traffic_metrics.h"
#include "sources/traffic_source.h"

namespace smi::aggregation {

// The workload kinds the caches resolve pods to (the metrics API's Deployment, StatefulSet,
// DaemonSet); nullopt for pods and namespaces.
std::optional<kube::WorkloadKind> CachedWorkloadKind(model::ResourceKind kind);

// The reference an answer uses for a cached object of `kind`.
model::ObjectReference ReferenceOf(model::ResourceKind kind, std::string_view ns,
                                   std::string_view name);

// Whether the object exists in the snapshot.
bool ObjectExists(const kube::ClusterSnapshot& snapshot, model::ResourceKind kind,
                  std::string_view ns, std::string_view name);

// Every object of `kind` in `ns` (empty: everywhere) selected by both selectors, in (namespace,
// name) order.
std::vector<model::ObjectReference> SelectedObjects(const kube::ClusterSnapshot& snapshot,
                                                    model::ResourceKind kind, std::string_view ns,
                                                    const kube::LabelSelector& labels,
                                                    const kube::FieldSelector& fields);

// Adds `from` into `to`: counts, and every latency bucket's increase (so that a quantile of the
// sums is what PromQL's histogram_quantile gives for `sum by (le)` over the same series).
void AddCounts(sources::TrafficCounts& to, const sources::TrafficCounts& from);

// The workload the caches hold for an owner the series name (ResourceSample::owner): of its kind
// when the series say it, else the one workload of that namespace and name among Deployments,
// StatefulSets and DaemonSets; nullopt when there is none, or several of different kinds (the
// series cannot tell which one ran the pod).
std::optional<model::ObjectReference> SeriesOwnerInCaches(const kube::ClusterSnapshot& snapshot,
                                                          const model::ObjectReference& owner);

// Sums pod samples (resources of kind Pod) per owning workload through the caches (pod ->
// ReplicaSet -> Deployment, StatefulSet, DaemonSet), deleted pods by the owner they had
// (ClusterSnapshot::PodOwner, docs/decisions.md, decision 16). A pod the caches never knew or
// have forgotten counts for the owner its series name, when SeriesOwnerInCaches finds it, in the
// pod's own namespace; pods the caches know without a workload owner (other controllers, none)
// count for no workload.
std::map<model::ObjectReference, sources::TrafficCounts> RollUpPods(
    const kube::ClusterSnapshot& snapshot, const std::vector<sources::ResourceSample>& pods);

// A workload peer named by a mesh that does not record kinds (Istio names it as the kind asked
// about) with the kind the caches know it by: the Deployment, else the StatefulSet, else the
// DaemonSet of that name (decision 10's order). Anything else, and names the caches do not know,
// are returned as they are.
model::ObjectReference PeerOfItsOwnKind(const kube::ClusterSnapshot& snapshot,
                                        const model::ObjectReference& peer);

// Whether an edge's counts show traffic in the window: edges whose series exist but did not move
// are not listed (docs/spec-notes.md, "Resource scope and edges").
bool HadTraffic(const sources::TrafficCounts& counts);

// The edges of the workload `self` (of `kind`, a workload kind) from pod edges (resources of kind
// Pod, the NamespacePodEdges query shape) through the caches: edges of `self` itself (ObjectEdges
// with peer_kind, where the series name the workload) and of the pods PodOwner maps to `self` are
// kept; each peer pod becomes its owning workload, of whichever workload kind that is, else keeps
// the identity the mesh gives (EdgeSample::peer_as_kind when the series name one, else the pod):
// a peer is never dropped (docs/decisions.md, decision 6). Counts and latency buckets are summed
// per (direction, side, peer); the result is in that order, with `resource` = `self`.
std::vector<sources::EdgeSample> RollUpPodEdges(const kube::ClusterSnapshot& snapshot,
                                                model::ResourceKind kind,
                                                const model::ObjectReference& self,
                                                const std::vector<sources::EdgeSample>& pod_edges);

// The kinds whose objects are groups of pods formed through the caches alone, a pod counting
// for every group it belongs to (docs/decisions.md, decisions 17 to 19): ReplicaSets,
// ReplicationControllers and Jobs (the pod's own controller, whatever controls that one),
// Nodes (the node the pod is scheduled on) and Services (the Services whose selector picks it).
bool IsPodGroupKind(model::ResourceKind kind);

// The objects of the pod-group `kind` that `pod` counts for (a pod may be picked by several
// Services; by at most one object of the other kinds).
std::vector<model::ObjectReference> PodGroupsOf(const kube::ClusterSnapshot& snapshot,
                                                model::ResourceKind kind, const kube::Pod& pod);

// What an item of a Service says about its pods when it selects none (docs/decisions.md,
// decision 19): model::kPodsAnnotation -> why; empty for every other object.
std::map<std::string, std::string> PodGroupAnnotations(const kube::ClusterSnapshot& snapshot,
                                                       const model::ObjectReference& ref);

// Sums pod samples per object of the pod-group `kind` (PodGroupsOf). Pods the caches do not
// know count for nothing.
std::map<model::ObjectReference, sources::TrafficCounts> RollUpPodGroups(
    const kube::ClusterSnapshot& snapshot, model::ResourceKind kind,
    const std::vector<sources::ResourceSample>& pods);

// The edges of `self`, an object of the pod-group `kind`, from pod edges (the NamespacePodEdges
// shape): edges of the pods that count for `self` are kept; each peer pod becomes every object of
// `kind` it counts for, and a peer that counts for none keeps the identity the mesh gives
// (EdgeSample::peer_as_kind, else the pod): a peer is never dropped (docs/decisions.md,
// decision 6). Summed per (direction, side, peer), in that order.
std::vector<sources::EdgeSample> RollUpPodGroupEdges(
    const kube::ClusterSnapshot& snapshot, model::ResourceKind kind,
    const model::ObjectReference& self, const std::vector<sources::EdgeSample>& pod_edges);

// The label selector as the spec's list echoes it (metav1.LabelSelector): equality terms as
// matchLabels, the rest as matchExpressions (In, NotIn, Exists, DoesNotExist; `!=` as NotIn of
// one value; `>`/`<` as Gt/Lt).
model::ListSelector EchoSelector(const kube::LabelSelector& selector);

}  // namespace smi::aggregation
