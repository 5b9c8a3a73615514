#include "kube/cluster_state.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "kube/store.h"

namespace smi::kube {

using nlohmann::json;

bool Selected(const ObjectMeta& meta, const LabelSelector& labels, const FieldSelector& fields) {
  return labels.Matches(meta.labels) && fields.Matches(meta.ns, meta.name);
}

namespace {

template <typename T>
const ObjectMap<T>& OrEmpty(const std::shared_ptr<const ObjectMap<T>>& m) {
  static const ObjectMap<T> kEmpty;
  return m ? *m : kEmpty;
}

template <typename T>
std::vector<const T*> InNamespace(const ObjectMap<T>& map, std::string_view ns) {
  std::vector<const T*> out;
  if (ns.empty()) {
    out.reserve(map.size());
    for (const auto& [k, v] : map) out.push_back(v.get());
    return out;
  }
  for (auto it = map.lower_bound(ObjectKey{std::string(ns), ""});
       it != map.end() && it->first.ns == ns; ++it) {
    out.push_back(it->second.get());
  }
  return out;
}

template <typename T>
const T* Find(const ObjectMap<T>& map, std::string_view ns, std::string_view name) {
  auto it = map.find(ObjectKey{std::string(ns), std::string(name)});
  return it == map.end() ? nullptr : it->second.get();
}

}  // namespace

ClusterSnapshot::ClusterSnapshot(Parts parts) : p_(std::move(parts)) {}

std::vector<const Namespace*> ClusterSnapshot::Namespaces() const {
  return InNamespace(OrEmpty(p_.namespaces), {});
}

const Namespace* ClusterSnapshot::FindNamespace(std::string_view name) const {
  return Find(OrEmpty(p_.namespaces), "", name);
}

const ObjectMap<Workload>& ClusterSnapshot::WorkloadMap(WorkloadKind kind) const {
  switch (kind) {
    case WorkloadKind::kReplicaSet:
      return OrEmpty(p_.replicasets);
    case WorkloadKind::kDeployment:
      return OrEmpty(p_.deployments);
    case WorkloadKind::kStatefulSet:
      return OrEmpty(p_.statefulsets);
    case WorkloadKind::kDaemonSet:
      return OrEmpty(p_.daemonsets);
    case WorkloadKind::kReplicationController:
      return OrEmpty(p_.replicationcontrollers);
    case WorkloadKind::kJob:
      return OrEmpty(p_.jobs);
  }
  return OrEmpty(p_.deployments);
}

std::vector<const Workload*> ClusterSnapshot::Workloads(WorkloadKind kind,
                                                        std::string_view ns) const {
  return InNamespace(WorkloadMap(kind), ns);
}

const Workload* ClusterSnapshot::FindWorkload(WorkloadKind kind, std::string_view ns,
                                              std::string_view name) const {
  return Find(WorkloadMap(kind), ns, name);
}

std::vector<const Node*> ClusterSnapshot::Nodes() const {
  return InNamespace(OrEmpty(p_.nodes), {});
}

const Node* ClusterSnapshot::FindNode(std::string_view name) const {
  return Find(OrEmpty(p_.nodes), "", name);
}

std::vector<const Service*> ClusterSnapshot::Services(std::string_view ns) const {
  return InNamespace(OrEmpty(p_.services), ns);
}

const Service* ClusterSnapshot::FindService(std::string_view ns, std::string_view name) const {
  return Find(OrEmpty(p_.services), ns, name);
}

std::vector<const Pod*> ClusterSnapshot::Pods(std::string_view ns) const {
  return InNamespace(OrEmpty(p_.pods), ns);
}

const Pod* ClusterSnapshot::FindPod(std::string_view ns, std::string_view name) const {
  return Find(OrEmpty(p_.pods), ns, name);
}

std::optional<WorkloadRef> ClusterSnapshot::ControllerOf(const Pod& pod) const {
  const OwnerReference* c = pod.meta.Controller();
  if (!c) return std::nullopt;
  const auto kind = WorkloadKindFromName(c->kind);
  if (!kind) return std::nullopt;
  const Workload* owner = FindWorkload(*kind, pod.meta.ns, c->name);
  if (!owner || (!c->uid.empty() && !owner->meta.uid.empty() && c->uid != owner->meta.uid)) {
    return std::nullopt;
  }
  return WorkloadRef{*kind, pod.meta.ns, c->name};
}

std::optional<WorkloadRef> ClusterSnapshot::OwnerOf(const Pod& pod) const {
  const auto controller = ControllerOf(pod);
  if (!controller) return std::nullopt;
  const auto& c = *pod.meta.Controller();
  const auto kind = controller->kind;
  const Workload* owner = FindWorkload(kind, pod.meta.ns, c.name);
  if (kind != WorkloadKind::kReplicaSet) return controller;
  const OwnerReference* rc = owner->meta.Controller();
  if (rc && rc->kind == "Deployment") {
    const Workload* d = FindWorkload(WorkloadKind::kDeployment, pod.meta.ns, rc->name);
    if (d && (rc->uid.empty() || d->meta.uid.empty() || rc->uid == d->meta.uid)) {
      return WorkloadRef{WorkloadKind::kDeployment, pod.meta.ns, rc->name};
    }
    return std::nullopt;
  }
  if (rc) return std::nullopt;  // a ReplicaSet run by something else (a Rollout...)
  return WorkloadRef{WorkloadKind::kReplicaSet, pod.meta.ns, c.name};
}

const DepartedPod* ClusterSnapshot::FindDepartedPod(std::string_view ns,
                                                    std::string_view name) const {
  if (!p_.departed_pods || FindPod(ns, name) != nullptr) return nullptr;
  const auto it = p_.departed_pods->find(ObjectKey{std::string(ns), std::string(name)});
  return it == p_.departed_pods->end() ? nullptr : &it->second;
}

std::optional<WorkloadRef> ClusterSnapshot::PodOwner(std::string_view ns,
                                                     std::string_view name) const {
  if (const Pod* pod = FindPod(ns, name)) return OwnerOf(*pod);
  const DepartedPod* departed = FindDepartedPod(ns, name);
  if (departed == nullptr) return std::nullopt;
  // Resolved when it departed: while that very workload exists. Otherwise (its owner was not in
  // the caches yet, or was deleted first) through the owners the caches hold now.
  if (!departed->owner) return OwnerOf(*departed->pod);
  const auto& o = *departed->owner;
  const Workload* w = FindWorkload(o.kind, o.ns, o.name);
  if (w == nullptr || (!departed->owner_uid.empty() && !w->meta.uid.empty() &&
                       departed->owner_uid != w->meta.uid)) {
    return std::nullopt;
  }
  return o;
}

std::vector<const Pod*> ClusterSnapshot::PodsOf(const WorkloadRef& workload) const {
  std::call_once(owner_index_once_, [this] {
    for (const auto& [k, pod] : OrEmpty(p_.pods)) {
      if (auto owner = OwnerOf(*pod)) owner_index_[*owner].push_back(pod.get());
    }
  });
  auto it = owner_index_.find(workload);
  return it == owner_index_.end() ? std::vector<const Pod*>{} : it->second;
}

std::vector<const TrafficSplit*> ClusterSnapshot::TrafficSplits(std::string_view ns) const {
  return InNamespace(OrEmpty(p_.traffic_splits), ns);
}

const TrafficSplit* ClusterSnapshot::FindTrafficSplit(std::string_view ns,
                                                      std::string_view name) const {
  return Find(OrEmpty(p_.traffic_splits), ns, name);
}

size_t ClusterSnapshot::Count(Resource r) const {
  switch (r) {
    case Resource::kPods:
      return OrEmpty(p_.pods).size();
    case Resource::kReplicaSets:
      return OrEmpty(p_.replicasets).size();
    case Resource::kDeployments:
      return OrEmpty(p_.deployments).size();
    case Resource::kStatefulSets:
      return OrEmpty(p_.statefulsets).size();
    case Resource::kDaemonSets:
      return OrEmpty(p_.daemonsets).size();
    case Resource::kNamespaces:
      return OrEmpty(p_.namespaces).size();
    case Resource::kTrafficSplits:
      return OrEmpty(p_.traffic_splits).size();
    case Resource::kReplicationControllers:
      return OrEmpty(p_.replicationcontrollers).size();
    case Resource::kJobs:
      return OrEmpty(p_.jobs).size();
    case Resource::kNodes:
      return OrEmpty(p_.nodes).size();
    case Resource::kServices:
      return OrEmpty(p_.services).size();
  }
  return 0;
}

// ---- StoreSet ------------------------------------------------------------------------------

namespace internal {

StoreSet::StoreSet()
    : pods(DecodePod, &changes_),
      replicasets([](const json& o) { return DecodeWorkload(WorkloadKind::kReplicaSet, o); },
                  &changes_),
      deployments([](const json& o) { return DecodeWorkload(WorkloadKind::kDeployment, o); },
                  &changes_),
      statefulsets([](const json& o) { return DecodeWorkload(WorkloadKind::kStatefulSet, o); },
                   &changes_),
      daemonsets([](const json& o) { return DecodeWorkload(WorkloadKind::kDaemonSet, o); },
                 &changes_),
      namespaces(DecodeNamespace, &changes_),
      splits([](const json& o) { return DecodeTrafficSplit(o, ""); }, &changes_),
      replicationcontrollers(
          [](const json& o) { return DecodeWorkload(WorkloadKind::kReplicationController, o); },
          &changes_),
      jobs([](const json& o) { return DecodeWorkload(WorkloadKind::kJob, o); }, &changes_),
      nodes(DecodeNode, &changes_),
      services(DecodeService, &changes_),
      clock_(&base::DefaultClock()),
      departed_memory_ms_(kDefaultDepartedPodMemory.count()),
      departed_(std::make_shared<DepartedPods>()) {
  pods.SetOnRemoved(
      [this](std::vector<std::shared_ptr<const Pod>> gone) { PodsDeparted(std::move(gone)); });
}

void StoreSet::RememberDepartedPodsFor(std::chrono::milliseconds d) {
  int64_t current = departed_memory_ms_.load();
  while (d.count() > current && !departed_memory_ms_.compare_exchange_weak(current, d.count())) {
  }
}

void StoreSet::PodsDeparted(std::vector<std::shared_ptr<const Pod>> gone) {
  // The owners as the workload stores hold them now: a pod deleted before its ReplicaSet (a
  // scale-down, a rollout) is resolved at once; one whose owner went first is resolved later,
  // if that owner comes back.
  ClusterSnapshot::Parts p;
  p.replicasets = replicasets.View();
  p.deployments = deployments.View();
  p.statefulsets = statefulsets.View();
  p.daemonsets = daemonsets.View();
  p.replicationcontrollers = replicationcontrollers.View();
  p.jobs = jobs.View();
  const ClusterSnapshot owners(std::move(p));
  const auto now = clock_->Now();
  const auto oldest = now - std::chrono::milliseconds(departed_memory_ms_.load());
  std::lock_guard lock(departed_mu_);
  // Copy-on-write: a snapshot may hold the current map.
  if (departed_.use_count() > 1) departed_ = std::make_shared<DepartedPods>(*departed_);
  DepartedPods* next = departed_.get();
  std::erase_if(*next, [&](const auto& entry) { return entry.second.departed_at < oldest; });
  for (auto& pod : gone) {
    DepartedPod d;
    d.owner = owners.OwnerOf(*pod);
    if (d.owner) {
      if (const Workload* w = owners.FindWorkload(d.owner->kind, d.owner->ns, d.owner->name)) {
        d.owner_uid = w->meta.uid;
      }
    }
    d.departed_at = now;
    ObjectKey key{pod->meta.ns, pod->meta.name};
    d.pod = std::move(pod);
    next->insert_or_assign(std::move(key), std::move(d));
  }
  changes_.fetch_add(1);
}

ReflectorSink& StoreSet::Sink(Resource r) {
  switch (r) {
    case Resource::kPods:
      return pods;
    case Resource::kReplicaSets:
      return replicasets;
    case Resource::kDeployments:
      return deployments;
    case Resource::kStatefulSets:
      return statefulsets;
    case Resource::kDaemonSets:
      return daemonsets;
    case Resource::kNamespaces:
      return namespaces;
    case Resource::kTrafficSplits:
      return splits;
    case Resource::kReplicationControllers:
      return replicationcontrollers;
    case Resource::kJobs:
      return jobs;
    case Resource::kNodes:
      return nodes;
    case Resource::kServices:
      return services;
  }
  return pods;
}

std::shared_ptr<const ClusterSnapshot> StoreSet::Snapshot(const std::string& split_version) const {
  std::lock_guard lock(snapshot_mu_);
  const uint64_t v = changes_.load();
  if (cached_ && v == cached_version_ && split_version == cached_split_version_) return cached_;
  ClusterSnapshot::Parts p;
  p.version = v + 1;  // 0 is never a real version
  p.traffic_split_version = split_version;
  p.pods = pods.View();
  p.replicasets = replicasets.View();
  p.deployments = deployments.View();
  p.statefulsets = statefulsets.View();
  p.daemonsets = daemonsets.View();
  p.namespaces = namespaces.View();
  p.traffic_splits = splits.View();
  {
    std::lock_guard departed_lock(departed_mu_);
    p.departed_pods = departed_;
  }
  p.replicationcontrollers = replicationcontrollers.View();
  p.jobs = jobs.View();
  p.nodes = nodes.View();
  p.services = services.View();
  cached_ = std::make_shared<const ClusterSnapshot>(std::move(p));
  cached_version_ = v;
  cached_split_version_ = split_version;
  return cached_;
}

}  // namespace internal

// ---- StaticClusterState --------------------------------------------------------------------

StaticClusterState::StaticClusterState() : stores_(std::make_unique<internal::StoreSet>()) {}
StaticClusterState::~StaticClusterState() = default;

std::unique_ptr<StaticClusterState> StaticClusterState::FromFile(const std::string& path) {
  const std::string text = base::ReadFile(path, "Kubernetes objects file");
  auto state = std::make_unique<StaticClusterState>();
  try {
    state->Load(ParseTrimmed(text, 3));  // depth of a List's items
  } catch (const json::exception& e) {
    throw std::runtime_error("Kubernetes objects file " + path + " is not valid JSON: " + e.what());
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("Kubernetes objects file " + path + ": " + e.what());
  }
  return state;
}

size_t StaticClusterState::Load(const json& objects) {
  if (!objects.is_object()) throw std::invalid_argument("expected a JSON object");
  if (auto items = objects.find("items"); items != objects.end() && items->is_array()) {
    // A List, or a typed list (PodList...) whose items may lack kind and apiVersion.
    std::string kind = objects.value("kind", "");
    if (kind.size() > 4 && kind.ends_with("List")) kind.resize(kind.size() - 4);
    const std::string api_version = objects.value("apiVersion", "v1");
    size_t taken = 0;
    for (json item : *items) {
      if (!item.is_object()) throw std::invalid_argument("a list item is not an object");
      if (kind != "" && !item.contains("kind")) {
        item["kind"] = kind;
        item["apiVersion"] = api_version;
      }
      taken += Load(item);
    }
    return taken;
  }
  return Upsert(objects) ? 1 : 0;
}

bool StaticClusterState::Upsert(const json& object) {
  const std::string api_version = object.value("apiVersion", "");
  const std::string kind = object.value("kind", "");
  const auto r = ResourceForKind(api_version, kind);
  if (!r) return false;
  // Decode first, to report a broken object rather than skip it silently.
  try {
    DecodeMeta(object);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(kind + " object: " + e.what());
  }
  if (*r == Resource::kTrafficSplits) {
    std::lock_guard lock(mu_);
    const std::string version = api_version.substr(api_version.find('/') + 1);
    if (split_version_.empty() || version > split_version_) split_version_ = version;
  }
  return stores_->Sink(*r).Upsert(object);
}

bool StaticClusterState::Remove(std::string_view api_version, std::string_view kind,
                                std::string_view ns, std::string_view name) {
  const auto r = ResourceForKind(api_version, kind);
  if (!r) return false;
  json object = {{"metadata", {{"namespace", ns}, {"name", name}}}};
  return stores_->Sink(*r).Remove(object);
}

bool StaticClusterState::Synced(std::string* why) const { return true; }

void StaticClusterState::RememberDepartedPodsFor(std::chrono::milliseconds d) const {
  stores_->RememberDepartedPodsFor(d);
}

void StaticClusterState::SetClock(const base::Clock& clock) { stores_->SetClock(clock); }

std::shared_ptr<const ClusterSnapshot> StaticClusterState::Snapshot() const {
  std::string v;
  {
    std::lock_guard lock(mu_);
    v = split_version_;
  }
  return stores_->Snapshot(v);
}

}  // namespace smi::kube
