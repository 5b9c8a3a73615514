// What the rest of the server reads about the cluster: namespaces, workloads, pods with their
// owners, TrafficSplits. Readers take a Snapshot(): an immutable, versioned view that stays
// consistent for as long as they hold it (a request takes one and answers from it alone).
//
// Two implementations fill it: WatchedClusterState (list+watch caches against kube-apiserver,
// kube/watched_cluster.h) and StaticClusterState (a file of Kubernetes objects, for the demo and
// tests, below).
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/clock.h"
#include "kube/field_selector.h"
#include "kube/label_selector.h"
#include "kube/objects.h"

namespace smi::kube {

struct ObjectKey {
  std::string ns;  // empty for namespaces
  std::string name;
  friend auto operator<=>(const ObjectKey&, const ObjectKey&) = default;
  friend bool operator==(const ObjectKey&, const ObjectKey&) = default;
};

template <typename T>
using ObjectMap = std::map<ObjectKey, std::shared_ptr<const T>>;

// A workload of a kind the metrics API serves (Deployment, StatefulSet, DaemonSet), or a
// ReplicaSet that no Deployment controls.
struct WorkloadRef {
  WorkloadKind kind = WorkloadKind::kDeployment;
  std::string ns;
  std::string name;
  friend auto operator<=>(const WorkloadRef&, const WorkloadRef&) = default;
  friend bool operator==(const WorkloadRef&, const WorkloadRef&) = default;
};

// A pod the caches no longer hold, remembered so that a workload's numbers over a window still
// include the traffic of its pods that ended within it (docs/decisions.md, decision 16).
struct DepartedPod {
  std::shared_ptr<const Pod> pod;    // as the caches last held it
  std::optional<WorkloadRef> owner;  // OwnerOf when it departed (nullopt: not resolvable then)
  std::string owner_uid;             // that workload's UID, when known
  std::chrono::system_clock::time_point departed_at;
};
using DepartedPods = std::map<ObjectKey, DepartedPod>;

// How long deleted pods' owners are remembered unless a longer window is announced
// (ClusterState::RememberDepartedPodsFor).
inline constexpr std::chrono::milliseconds kDefaultDepartedPodMemory{3600000};

// Whether an object is selected by a label and a field selector (as a list request filters).
bool Selected(const ObjectMeta& meta, const LabelSelector& labels, const FieldSelector& fields);

// Pointers returned by a snapshot stay valid while the snapshot is held. Lists are sorted by
// (namespace, name). An empty `ns` means every namespace.
class ClusterSnapshot {
 public:
  struct Parts {
    uint64_t version = 0;
    std::string traffic_split_version;  // "v1alpha4"...; empty: the group is not served
    std::shared_ptr<const ObjectMap<Pod>> pods;
    std::shared_ptr<const ObjectMap<Workload>> replicasets, deployments, statefulsets, daemonsets;
    std::shared_ptr<const ObjectMap<Namespace>> namespaces;
    std::shared_ptr<const ObjectMap<TrafficSplit>> traffic_splits;
    std::shared_ptr<const DepartedPods> departed_pods;
    std::shared_ptr<const ObjectMap<Workload>> replicationcontrollers, jobs;
    std::shared_ptr<const ObjectMap<Node>> nodes;
    std::shared_ptr<const ObjectMap<Service>> services;
  };
  explicit ClusterSnapshot(Parts parts);

  // Increases whenever anything in the cluster state changed; equal versions, equal contents.
  uint64_t version() const { return p_.version; }

  std::vector<const Namespace*> Namespaces() const;
  const Namespace* FindNamespace(std::string_view name) const;

  std::vector<const Workload*> Workloads(WorkloadKind kind, std::string_view ns = {}) const;
  const Workload* FindWorkload(WorkloadKind kind, std::string_view ns, std::string_view name) const;

  std::vector<const Node*> Nodes() const;
  const Node* FindNode(std::string_view name) const;

  std::vector<const Service*> Services(std::string_view ns = {}) const;
  const Service* FindService(std::string_view ns, std::string_view name) const;

  std::vector<const Pod*> Pods(std::string_view ns = {}) const;
  const Pod* FindPod(std::string_view ns, std::string_view name) const;

  // The workload that owns the pod, through controller ownerReferences and the caches:
  // pod -> ReplicaSet -> Deployment, pod -> StatefulSet, pod -> DaemonSet, pod ->
  // ReplicationController, pod -> Job. A ReplicaSet without a Deployment controlling it is its own
  // answer. nullopt: a bare pod, another controller, or an owner not (yet) in the caches. UIDs are
  // checked, so a deleted-and-recreated owner of the same name does not adopt the old pods.
  std::optional<WorkloadRef> OwnerOf(const Pod& pod) const;
  // The workload that owns the pod `ns/name`: OwnerOf() for a pod the caches hold; else, for a
  // pod deleted within the memory (DepartedPods), the owner it had when it was deleted, while
  // that workload (same UID) still exists; else nullopt.
  std::optional<WorkloadRef> PodOwner(std::string_view ns, std::string_view name) const;
  // A remembered deleted pod of that name (nullptr: none, or the caches hold a pod of that name).
  const DepartedPod* FindDepartedPod(std::string_view ns, std::string_view name) const;
  // The controller of the pod itself, whatever controls that one in turn: its ReplicaSet (also
  // one a Deployment runs), ReplicationController, Job, StatefulSet or DaemonSet, UID checked.
  // nullopt: a bare pod, another controller, or one not (yet) in the caches.
  std::optional<WorkloadRef> ControllerOf(const Pod& pod) const;
  // The pods OwnerOf() maps to this workload (index built once per snapshot, on first use).
  std::vector<const Pod*> PodsOf(const WorkloadRef& workload) const;

  std::vector<const TrafficSplit*> TrafficSplits(std::string_view ns = {}) const;
  const TrafficSplit* FindTrafficSplit(std::string_view ns, std::string_view name) const;
  // Which split.smi-spec.io version the objects were read at; empty when the group is absent.
  const std::string& traffic_split_version() const { return p_.traffic_split_version; }

  size_t Count(Resource r) const;

 private:
  const ObjectMap<Workload>& WorkloadMap(WorkloadKind kind) const;

  Parts p_;
  mutable std::once_flag owner_index_once_;
  mutable std::map<WorkloadRef, std::vector<const Pod*>> owner_index_;
};

class ClusterState {
 public:
  virtual ~ClusterState() = default;
  // Every cache has completed its first list (for /readyz); otherwise `why` says which not.
  virtual bool Synced(std::string* why = nullptr) const = 0;
  // The current view. Before Synced() it may be incomplete: callers answer 503 until then.
  virtual std::shared_ptr<const ClusterSnapshot> Snapshot() const = 0;
  // Remember deleted pods' owners for at least `d` from now on (the longest window a request may
  // ask for; kDefaultDepartedPodMemory until said). A longer memory is never shortened. This sets
  // how long the caches keep what they were told, not what the cluster holds, so it is allowed
  // to every reader; thread-safe.
  virtual void RememberDepartedPodsFor(std::chrono::milliseconds d) const { (void)d; }
};

namespace internal {
class StoreSet;
}

// A cluster state fed from Kubernetes objects rather than a cluster: a JSON file holding
// {"kind":"List","items":[...]} (as `kubectl get -o json` writes, and the mesh simulator's
// --write-kube-objects), or objects added at run time. Always synced. Objects of kinds not cached
// (Services, ...) are ignored.
class StaticClusterState : public ClusterState {
 public:
  StaticClusterState();
  ~StaticClusterState() override;

  // Throws std::runtime_error naming the file and the problem.
  static std::unique_ptr<StaticClusterState> FromFile(const std::string& path);

  // Adds (or replaces) every object of a List, a typed list (PodList...) or a single object.
  // Returns how many objects were taken. Throws std::invalid_argument for an object of a cached
  // kind that cannot be decoded (no name...).
  size_t Load(const nlohmann::json& objects);
  bool Upsert(const nlohmann::json& object);  // false: a kind that is not cached
  bool Remove(std::string_view api_version, std::string_view kind, std::string_view ns,
              std::string_view name);

  bool Synced(std::string* why = nullptr) const override;
  std::shared_ptr<const ClusterSnapshot> Snapshot() const override;
  void RememberDepartedPodsFor(std::chrono::milliseconds d) const override;
  // The clock that dates deleted pods (tests); not owned, must outlive the state.
  void SetClock(const base::Clock& clock);

 private:
  std::unique_ptr<internal::StoreSet> stores_;
  mutable std::mutex mu_;
  std::string split_version_;
};

}  // namespace smi::kube
