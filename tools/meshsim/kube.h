// The Kubernetes objects behind a topology, shaped as the API server returns them: what a
// controller (or the product's Kubernetes client) would list in the simulated cluster.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <string>

#include "meshsim/topology.h"

namespace meshsim {

// The labels of topo.pods[pod] (sorted, as the API returns them): app=<workload>, version
// when set, the controller's hash labels (pod-template-hash; controller-revision-hash,
// statefulset.kubernetes.io/pod-name, pod-template-generation) and the mesh's injector labels
// (linkerd.io/control-plane-ns, linkerd.io/proxy-<kind>, linkerd.io/workload-ns; or
// security.istio.io/tlsMode, service.istio.io/canonical-name, -revision).
std::map<std::string, std::string> PodLabels(const Topology& topo, std::size_t pod);

// A deterministic RFC 4122 version-4-shaped uid for an object ("kind/namespace/name").
std::string Uid(const std::string& key);

// {"apiVersion":"v1","kind":"List","items":[...]}: Namespaces, Nodes, Deployments and their
// ReplicaSets, StatefulSets, DaemonSets, Pods (ownerReferences to their controller, status.podIP
// = the simulated address), Services (one per workload service and per split apex) and
// TrafficSplits (split.smi-spec.io/v1alpha2). uids and resourceVersions are deterministic.
// `port` is the sidecar metrics port (the pods' scrape annotations).
nlohmann::json KubeObjects(const Topology& topo, int port);

}  // namespace meshsim
