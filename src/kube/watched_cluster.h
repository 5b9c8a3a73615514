// The cluster state kept by list+watch caches against kube-apiserver: one reflector per resource
// (pods, replicasets, deployments, statefulsets, daemonsets, namespaces) and, when the cluster
// serves split.smi-spec.io, TrafficSplits at the newest version it serves (discovery is re-checked
// periodically, so a CRD installed or upgraded later is picked up, and one removed is dropped).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "kube/cluster_state.h"
#include "kube/credentials.h"
#include "kube/reflector.h"

namespace smi::kube {

class WatchedClusterState : public ClusterState {
 public:
  struct Options {
    ReflectorOptions reflector;
    std::chrono::milliseconds split_discovery_interval{60000};
  };

  WatchedClusterState(RestConfig config, Options options);
  explicit WatchedClusterState(RestConfig config) : WatchedClusterState(std::move(config), {}) {}
  ~WatchedClusterState() override;  // stops

  void Start();
  void Stop();

  bool Synced(std::string* why = nullptr) const override;
  std::shared_ptr<const ClusterSnapshot> Snapshot() const override;
  void RememberDepartedPodsFor(std::chrono::milliseconds d) const override;

  // For /metrics, logs and tests. TrafficSplits: zero stats while the group is not served.
  ReflectorStats Stats(Resource r) const;
  // The split.smi-spec.io version being watched; empty while the group is absent or unknown.
  std::string TrafficSplitVersion() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The RBAC rules the client needs (for deploy/ and the docs): get on the split.smi-spec.io
// discovery document is open to every authenticated user by the default system:discovery role.
inline constexpr const char* kRequiredRbac =
    "- apiGroups: [\"\"]\n"
    "  resources: [\"pods\", \"namespaces\"]\n"
    "  verbs: [\"list\", \"watch\"]\n"
    "- apiGroups: [\"apps\"]\n"
    "  resources: [\"replicasets\", \"deployments\", \"statefulsets\", \"daemonsets\"]\n"
    "  verbs: [\"list\", \"watch\"]\n"
    "- apiGroups: [\"split.smi-spec.io\"]\n"
    "  resources: [\"trafficsplits\"]\n"
    "  verbs: [\"list\", \"watch\"]\n";

}  // namespace smi::kube
