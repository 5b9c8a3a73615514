#include "meshsim/kube.h"

#include <cstdio>
#include <set>
#include <utility>

namespace meshsim {
namespace {

using nlohmann::json;

// Every object was "created" at the same fixed instant: outputs never depend on the clock.
constexpr const char* kCreated = "2024-01-01T00:00:00Z";

// Hands out resourceVersions in item order, as one etcd revision per object creation would.
class Versions {
 public:
  std::string Next() { return std::to_string(next_++); }

 private:
  long next_ = 1000;
};

json Meta(Versions& versions, const std::string& kind, const std::string& ns,
          const std::string& name) {
  json meta = {{"name", name},
               {"uid", Uid(kind + "/" + ns + "/" + name)},
               {"resourceVersion", versions.Next()},
               {"creationTimestamp", kCreated}};
  if (!ns.empty()) meta["namespace"] = ns;
  return meta;
}

json OwnerRef(const std::string& kind, const std::string& ns, const std::string& name) {
  return json::array({{{"apiVersion", kind == "Job" ? "batch/v1" : "apps/v1"},
                       {"kind", kind},
                       {"name", name},
                       {"uid", Uid(kind + "/" + ns + "/" + name)},
                       {"controller", true},
                       {"blockOwnerDeletion", true}}});
}

std::string KubernetesKind(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kDeployment:
      return "Deployment";
    case WorkloadKind::kStatefulSet:
      return "StatefulSet";
    case WorkloadKind::kDaemonSet:
      return "DaemonSet";
    case WorkloadKind::kReplicaSet:
      return "ReplicaSet";
    case WorkloadKind::kJob:
      return "Job";
  }
  return "Deployment";
}

// The statefulset controller labels pods with "<name>-<hash>"; the daemonset one with the hash.
std::string RevisionLabel(const Workload& w) {
  return w.kind == WorkloadKind::kStatefulSet ? w.name + "-" + w.controller_revision_hash
                                              : w.controller_revision_hash;
}

json PodTemplate(const Topology& topo, const Workload& w) {
  json labels = {{"app", w.name}};
  if (!w.version.empty()) labels["version"] = w.version;
  json annotations = json::object();
  if (topo.mesh == Mesh::kLinkerd) {
    annotations["linkerd.io/inject"] = "enabled";
  } else {
    annotations["sidecar.istio.io/inject"] = "true";
  }
  return {{"metadata", {{"labels", labels}, {"annotations", annotations}}},
          {"spec",
           {{"serviceAccountName", w.serviceaccount},
            {"containers", json::array({{{"name", w.name},
                                         {"image", "meshsim.local/" + w.ns + "/" + w.name + ":v1"},
                                         {"ports", json::array({{{"name", "http"},
                                                                 {"containerPort", w.port},
                                                                 {"protocol", "TCP"}}})}}})}}}};
}

json Selector(const Workload& w) { return {{"matchLabels", {{"app", w.name}}}}; }

std::string NodeAddress(std::size_t node) { return "172.18.0." + std::to_string(node + 2); }

}  // namespace

std::string Uid(const std::string& key) {
  const std::uint64_t a = Fnv1a(key);
  const std::uint64_t b = Fnv1a("uid:" + key);
  char buffer[40];
  // 8-4-4-4-12 hex with the version (4) and variant (8..b) nibbles of a random UUID.
  std::snprintf(buffer, sizeof buffer, "%08x-%04x-4%03x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buffer;
}

std::map<std::string, std::string> PodLabels(const Topology& topo, std::size_t pod_index) {
  const Pod& pod = topo.pods[pod_index];
  const Workload& w = topo.workloads[pod.workload];
  std::map<std::string, std::string> labels = {{"app", w.name}};
  if (!w.version.empty()) labels["version"] = w.version;
  switch (w.kind) {
    case WorkloadKind::kDeployment:
      labels["pod-template-hash"] = w.pod_template_hash;
      break;
    case WorkloadKind::kStatefulSet:
      labels["controller-revision-hash"] = RevisionLabel(w);
      labels["statefulset.kubernetes.io/pod-name"] = pod.name;
      break;
    case WorkloadKind::kDaemonSet:
      labels["controller-revision-hash"] = RevisionLabel(w);
      labels["pod-template-generation"] = "1";
      break;
    case WorkloadKind::kReplicaSet:
      break;
    case WorkloadKind::kJob:
      // The job controller's labels (batch/v1 since Kubernetes 1.27).
      labels["batch.kubernetes.io/job-name"] = w.name;
      labels["job-name"] = w.name;
      break;
  }
  if (topo.mesh == Mesh::kLinkerd) {
    labels["linkerd.io/control-plane-ns"] = "linkerd";
    labels["linkerd.io/proxy-" + KindName(w.kind)] = w.name;
    labels["linkerd.io/workload-ns"] = w.ns;
  } else {
    labels["security.istio.io/tlsMode"] = "istio";
    labels["service.istio.io/canonical-name"] = w.name;
    labels["service.istio.io/canonical-revision"] = w.version.empty() ? "latest" : w.version;
  }
  return labels;
}

json KubeObjects(const Topology& topo, int port) {
  Versions versions;
  json items = json::array();
  const bool istio = topo.mesh == Mesh::kIstio;

  for (const std::string& ns : topo.namespaces) {
    json meta = Meta(versions, "Namespace", "", ns);
    meta["labels"] = {{"kubernetes.io/metadata.name", ns}};
    if (istio) {
      meta["labels"]["istio-injection"] = "enabled";
    } else {
      meta["annotations"] = {{"linkerd.io/inject", "enabled"}};
    }
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Namespace"},
                     {"metadata", meta},
                     {"spec", {{"finalizers", {"kubernetes"}}}},
                     {"status", {{"phase", "Active"}}}});
  }
  for (std::size_t n = 0; n < topo.nodes.size(); ++n) {
    json meta = Meta(versions, "Node", "", topo.nodes[n]);
    meta["labels"] = {{"kubernetes.io/hostname", topo.nodes[n]}, {"kubernetes.io/os", "linux"}};
    items.push_back(
        {{"apiVersion", "v1"},
         {"kind", "Node"},
         {"metadata", meta},
         {"status",
          {{"addresses", json::array({{{"type", "InternalIP"}, {"address", NodeAddress(n)}},
                                      {{"type", "Hostname"}, {"address", topo.nodes[n]}}})},
           {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}});
  }

  for (const Workload& w : topo.workloads) {
    const std::string kind = KubernetesKind(w.kind);
    json meta = Meta(versions, kind, w.ns, w.name);
    meta["generation"] = 1;
    meta["labels"] = {{"app", w.name}};
    const json tmpl = PodTemplate(topo, w);
    const int n = w.replicas;
    json object = {{"apiVersion", w.kind == WorkloadKind::kJob ? "batch/v1" : "apps/v1"},
                   {"kind", kind}};
    switch (w.kind) {
      case WorkloadKind::kDeployment: {
        meta["annotations"] = {{"deployment.kubernetes.io/revision", "1"}};
        object["spec"] = {{"replicas", n}, {"selector", Selector(w)}, {"template", tmpl}};
        object["status"] = {{"observedGeneration", 1},
                            {"replicas", n},
                            {"updatedReplicas", n},
                            {"readyReplicas", n},
                            {"availableReplicas", n}};
        break;
      }
      case WorkloadKind::kStatefulSet: {
        object["spec"] = {{"replicas", n},
                          {"serviceName", w.service},
                          {"podManagementPolicy", "OrderedReady"},
                          {"selector", Selector(w)},
                          {"template", tmpl}};
        object["status"] = {{"observedGeneration", 1},
                            {"replicas", n},
                            {"readyReplicas", n},
                            {"currentReplicas", n},
                            {"updatedReplicas", n},
                            {"availableReplicas", n},
                            {"currentRevision", RevisionLabel(w)},
                            {"updateRevision", RevisionLabel(w)}};
        break;
      }
      case WorkloadKind::kDaemonSet: {
        object["spec"] = {{"selector", Selector(w)}, {"template", tmpl}};
        object["status"] = {{"observedGeneration", 1},
                            {"desiredNumberScheduled", n},
                            {"currentNumberScheduled", n},
                            {"updatedNumberScheduled", n},
                            {"numberReady", n},
                            {"numberAvailable", n},
                            {"numberMisscheduled", 0}};
        break;
      }
      case WorkloadKind::kReplicaSet: {
        object["spec"] = {{"replicas", n}, {"selector", Selector(w)}, {"template", tmpl}};
        object["status"] = {{"observedGeneration", 1},
                            {"replicas", n},
                            {"fullyLabeledReplicas", n},
                            {"readyReplicas", n},
                            {"availableReplicas", n}};
        break;
      }
      case WorkloadKind::kJob: {
        // A Job still running: its pods serve for the whole simulation.
        json selector = Selector(w);
        object["spec"] = {{"parallelism", n},
                          {"completions", n},
                          {"backoffLimit", 6},
                          {"selector", selector},
                          {"template", tmpl}};
        object["status"] = {{"active", n}, {"ready", n}, {"startTime", kCreated}};
        break;
      }
    }
    object["metadata"] = meta;
    items.push_back(std::move(object));

    if (w.kind == WorkloadKind::kDeployment) {
      const std::string rs = w.name + "-" + w.pod_template_hash;
      json rs_meta = Meta(versions, "ReplicaSet", w.ns, rs);
      rs_meta["generation"] = 1;
      rs_meta["labels"] = {{"app", w.name}, {"pod-template-hash", w.pod_template_hash}};
      rs_meta["annotations"] = {{"deployment.kubernetes.io/desired-replicas", std::to_string(n)},
                                {"deployment.kubernetes.io/max-replicas", std::to_string(n + 1)},
                                {"deployment.kubernetes.io/revision", "1"}};
      rs_meta["ownerReferences"] = OwnerRef("Deployment", w.ns, w.name);
      json rs_tmpl = tmpl;
      rs_tmpl["metadata"]["labels"]["pod-template-hash"] = w.pod_template_hash;
      json selector = Selector(w);
      selector["matchLabels"]["pod-template-hash"] = w.pod_template_hash;
      items.push_back({{"apiVersion", "apps/v1"},
                       {"kind", "ReplicaSet"},
                       {"metadata", rs_meta},
                       {"spec", {{"replicas", n}, {"selector", selector}, {"template", rs_tmpl}}},
                       {"status",
                        {{"observedGeneration", 1},
                         {"replicas", n},
                         {"fullyLabeledReplicas", n},
                         {"readyReplicas", n},
                         {"availableReplicas", n}}}});
    }
  }

  for (std::size_t p = 0; p < topo.pods.size(); ++p) {
    const Pod& pod = topo.pods[p];
    const Workload& w = topo.workloads[pod.workload];
    json meta = Meta(versions, "Pod", pod.ns, pod.name);
    json labels = json::object();
    for (const auto& [k, v] : PodLabels(topo, p)) labels[k] = v;
    meta["labels"] = labels;
    std::string owner_kind = KubernetesKind(w.kind);
    std::string owner = w.name;
    if (w.kind == WorkloadKind::kDeployment) {
      owner_kind = "ReplicaSet";
      owner = w.name + "-" + w.pod_template_hash;
    }
    meta["generateName"] = owner + "-";
    meta["ownerReferences"] = OwnerRef(owner_kind, w.ns, owner);
    json sidecar;
    if (istio) {
      meta["annotations"] = {{"prometheus.io/scrape", "true"},
                             {"prometheus.io/port", std::to_string(port)},
                             {"prometheus.io/path", "/stats/prometheus"},
                             {"kubectl.kubernetes.io/default-container", w.name},
                             {"sidecar.istio.io/status",
                              "{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-"
                              "proxy\"],\"volumes\":[\"istio-envoy\",\"istio-data\",\"istio-"
                              "podinfo\",\"istio-token\",\"istiod-ca-cert\"],"
                              "\"imagePullSecrets\":null}"}};
      sidecar = {
          {"name", "istio-proxy"},
          {"image", "docker.io/istio/proxyv2:1.11.4"},
          {"ports",
           json::array(
               {{{"name", "http-envoy-prom"}, {"containerPort", 15090}, {"protocol", "TCP"}}})}};
    } else {
      meta["annotations"] = {{"linkerd.io/created-by", "linkerd/proxy-injector meshsim"},
                             {"linkerd.io/identity-mode", "default"},
                             {"linkerd.io/proxy-version", "meshsim"}};
      sidecar = {
          {"name", "linkerd-proxy"},
          {"image", "cr.l5d.io/linkerd/proxy:meshsim"},
          {"ports",
           json::array(
               {{{"name", "linkerd-proxy"}, {"containerPort", 4143}, {"protocol", "TCP"}},
                {{"name", "linkerd-admin"}, {"containerPort", port}, {"protocol", "TCP"}}})}};
    }
    json spec = PodTemplate(topo, w)["spec"];
    spec["containers"].push_back(sidecar);
    spec["nodeName"] = pod.node;
    if (w.kind == WorkloadKind::kStatefulSet) {
      spec["hostname"] = pod.name;
      spec["subdomain"] = w.service;
    }
    std::size_t node_index = 0;
    for (std::size_t n = 0; n < topo.nodes.size(); ++n) {
      if (topo.nodes[n] == pod.node) node_index = n;
    }
    json statuses = json::array();
    for (const auto& c : spec["containers"]) {
      statuses.push_back({{"name", c["name"]},
                          {"image", c["image"]},
                          {"ready", true},
                          {"started", true},
                          {"restartCount", 0},
                          {"state", {{"running", {{"startedAt", kCreated}}}}}});
    }
    items.push_back(
        {{"apiVersion", "v1"},
         {"kind", "Pod"},
         {"metadata", meta},
         {"spec", spec},
         {"status",
          {{"phase", "Running"},
           {"podIP", pod.ip},
           {"podIPs", json::array({{{"ip", pod.ip}}})},
           {"hostIP", NodeAddress(node_index)},
           {"startTime", kCreated},
           {"qosClass", "BestEffort"},
           {"conditions", json::array({{{"type", "Initialized"}, {"status", "True"}},
                                       {{"type", "Ready"}, {"status", "True"}},
                                       {{"type", "ContainersReady"}, {"status", "True"}},
                                       {{"type", "PodScheduled"}, {"status", "True"}}})},
           {"containerStatuses", statuses}}}});
  }

  // Services: one per (namespace, service) of the workloads, then one per split apex, which
  // selects its first backend's pods (the apex only needs to exist for clients to resolve it;
  // the mesh routes its traffic to the backends).
  std::set<std::pair<std::string, std::string>> services;
  int cluster_ip = 10;
  auto service = [&](const std::string& ns, const std::string& name, const Workload& selected,
                     int service_port) {
    if (!services.insert({ns, name}).second) return;
    json meta = Meta(versions, "Service", ns, name);
    meta["labels"] = {{"app", selected.name}};
    const std::string ip =
        "10.96." + std::to_string(cluster_ip / 250) + "." + std::to_string(cluster_ip % 250);
    ++cluster_ip;
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Service"},
                     {"metadata", meta},
                     {"spec",
                      {{"type", "ClusterIP"},
                       {"clusterIP", ip},
                       {"clusterIPs", {ip}},
                       {"selector", {{"app", selected.name}}},
                       {"ports", json::array({{{"name", "http"},
                                               {"port", service_port},
                                               {"targetPort", service_port},
                                               {"protocol", "TCP"}}})}}},
                     {"status", {{"loadBalancer", json::object()}}}});
  };
  for (const Workload& w : topo.workloads) service(w.ns, w.service, w, w.port);
  for (const TrafficSplit& split : topo.splits) {
    service(split.ns, split.apex, topo.workloads[split.backends.front().workload], split.port);
  }

  for (const TrafficSplit& split : topo.splits) {
    json meta = Meta(versions, "TrafficSplit", split.ns, split.name);
    meta["generation"] = 1;
    json backends = json::array();
    for (const SplitBackend& b : split.backends) {
      backends.push_back({{"service", topo.workloads[b.workload].service}, {"weight", b.weight}});
    }
    items.push_back({{"apiVersion", "split.smi-spec.io/v1alpha2"},
                     {"kind", "TrafficSplit"},
                     {"metadata", meta},
                     {"spec", {{"service", split.apex}, {"backends", backends}}}});
  }
  return {{"apiVersion", "v1"},
          {"kind", "List"},
          {"metadata", {{"resourceVersion", ""}}},
          {"items", std::move(items)}};
}

}  // namespace meshsim
