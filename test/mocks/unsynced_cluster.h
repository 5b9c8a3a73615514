// Kubernetes caches that have not synced until the test says so: `why` names "pods, replicasets".
// The snapshot is empty.
#pragma once

#include <memory>
#include <string>

#include "kube/cluster_state.h"

namespace smi::testing {

class UnsyncedCluster : public kube::ClusterState {
 public:
  bool Synced(std::string* why) const override {
    if (why) *why = "pods, replicasets";
    return synced;
  }
  std::shared_ptr<const kube::ClusterSnapshot> Snapshot() const override {
    return std::make_shared<kube::ClusterSnapshot>(kube::ClusterSnapshot::Parts{});
  }
  bool synced = false;
};

}  // namespace smi::testing
