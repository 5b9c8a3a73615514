// The built-in mesh profiles, written in the same YAML a user can supply (README.md, "Mesh
// profiles"); `--mesh` picks one by name.
#include "sources/prometheus/builtin_profiles.h"

#include <stdexcept>

#include "sources/prometheus/profile_yaml.h"

namespace smi::sources::prometheus {
namespace {

// Linkerd 2 (linkerd2-proxy) as linkerd-viz' Prometheus scrapes it: the proxy's own labels
// (direction, classification, dst_*) plus the target labels namespace, pod and the owner
// (deployment, statefulset, daemonset). Linkerd records peers only on the client side, so both
// edge directions come from outbound series.
constexpr const char* kLinkerd = R"yaml(
name: linkerd
parameters:
  job: linkerd-proxy
metrics:
  requests: response_total
  latency_buckets: response_latency_ms_bucket
  latency_unit: milliseconds
classification:
  labels: [classification]
  failure: [{label: classification, regex: failure}]
  success: [{label: classification, regex: success}]
# Every query of counts selects the scrape job: a second job scraping the same proxies (a
# PodMonitor beside the annotations job, say) must not count each request twice.
resource:
  selector: [{label: direction, value: inbound}, {label: job, param: job}]
  objects: &self
    pod: {namespace: namespace, name: pod}
    deployment: {namespace: namespace, name: deployment}
    statefulset: {namespace: namespace, name: statefulset}
    daemonset: {namespace: namespace, name: daemonset}
    namespace: {name: namespace}
  workloads: &self_workloads
    - {kind: deployment, namespace: namespace, name: deployment}
    - {kind: statefulset, namespace: namespace, name: statefulset}
    - {kind: daemonset, namespace: namespace, name: daemonset}
# A workload's peers are named by their own kind (a Deployment calling a StatefulSet sees a
# StatefulSet). Egress the destination controller did not resolve has no dst_* labels: its peer
# is the host called (authority). Unmeshed callers are seen only by the server's proxy, as inbound
# series without a client identity: from_unnamed (side server).
edges:
  to:
    side: client
    selector: [{label: direction, value: outbound}, {label: job, param: job}]
    objects: *self
    peers: &dst
      pod: {namespace: dst_namespace, name: dst_pod}
      deployment: {namespace: dst_namespace, name: dst_deployment}
      statefulset: {namespace: dst_namespace, name: dst_statefulset}
      daemonset: {namespace: dst_namespace, name: dst_daemonset}
      namespace: {name: dst_namespace}
    peer_workloads:
      - {kind: deployment, namespace: dst_namespace, name: dst_deployment}
      - {kind: statefulset, namespace: dst_namespace, name: dst_statefulset}
      - {kind: daemonset, namespace: dst_namespace, name: dst_daemonset}
    host: authority
  from:
    side: client
    selector: [{label: direction, value: outbound}, {label: job, param: job}]
    objects: *dst
    peers: *self
    peer_workloads: *self_workloads
  from_unnamed:
    side: server
    selector:
      - {label: direction, value: inbound}
      - {label: job, param: job}
      - {label: client_id, value: ""}
    objects: *self
existence:
  - metric: up
    selector: [{label: job, param: job}]
    objects: *self
    workloads: *self_workloads
# Every proxy's series carry its owner as `deployment`, `statefulset` or `daemonset` (the scrape
# config copies the injector's linkerd.io/proxy-<kind> pod label), and peers as dst_<kind>: a
# workload is summed by that label, which keeps the traffic of its pods that ended in the window.
labelled_workloads: [deployment, statefulset, daemonset]
# A client's proxy resolves the apex service, applies the split and records the authority the
# client called (the apex) beside the backend it chose (dst_service): both are on its outbound
# series, so only traffic sent to the apex counts for a split.
traffic_split:
  side: client
  selector: [{label: direction, value: outbound}, {label: job, param: job}]
  namespace: dst_namespace
  backend: dst_service
  authority: authority
# Sidecar mode: the proxy's admin port serves /metrics; series are labelled as linkerd-viz's
# Prometheus labels them (namespace, pod, the owner from linkerd.io/proxy-<kind>, ...).
sidecars:
  container: linkerd-proxy
  port_name: linkerd-admin
  port: 4191
  path: /metrics
  relabel: linkerd-viz
)yaml";

// Istio telemetry v2 (istio_requests_total and istio_request_duration_milliseconds from the
// sidecars' stats filter), scraped with the `namespace` and `pod` target labels Prometheus' pod
// discovery adds (Istio's own Prometheus config does). Both sidecars of a call report it: the
// resource scope and `from` edges use reporter="destination" (the server's sidecar, which records
// the caller: side server), `to` edges reporter="source" (side client); so each request is
// counted once per item.
//
// Istio's workload labels do not say the kind, so a workload is answered as whatever workload
// kind was asked about (deployments, statefulsets and daemonsets each see every Istio workload),
// and as a Deployment where the kind is not asked (every workload kind at once; the peers of pod
// edges, which Istio names by workload, not pod). Workloads exist while their sidecars have
// request series (as server or as client); pods and namespaces while `up` has their proxies.
// Istio names a peer it does not know (an unmeshed caller, egress) workload "unknown" in
// namespace "unknown": that peer is answered as kind Unknown, never as an object of that name.
constexpr const char* kIstio = R"yaml(
name: istio
parameters:
  job: kubernetes-pods
metrics:
  requests: istio_requests_total
  latency_buckets: istio_request_duration_milliseconds_bucket
  latency_unit: milliseconds
classification:
  labels: [response_code, grpc_response_status]
  # HTTP 5xx; no response at all (response_code 0: reset, timeout, as Linkerd counts it); gRPC
  # Unknown, DeadlineExceeded, PermissionDenied, Internal, Unavailable, DataLoss.
  failure:
    - {label: response_code, regex: "5..|0"}
    - {label: grpc_response_status, regex: "2|4|7|13|14|15"}
resource:
  selector: [{label: reporter, value: destination}, {label: job, param: job}]
  objects: &destination
    pod: {namespace: namespace, name: pod}
    deployment: &dst_workload {namespace: destination_workload_namespace, name: destination_workload}
    statefulset: *dst_workload
    daemonset: *dst_workload
    namespace: {name: destination_workload_namespace}
  workloads:
    - {kind: deployment, namespace: destination_workload_namespace, name: destination_workload}
  # The server's own workload, as its sidecar names it (no kind): a pod the Kubernetes caches
  # never knew counts for the one workload of that name they hold (docs/decisions.md, decision 16).
  pod_owner: {namespace: destination_workload_namespace, name: destination_workload}
edges:
  to:
    side: client
    selector: [{label: reporter, value: source}, {label: job, param: job}]
    objects:
      pod: {namespace: namespace, name: pod}
      deployment: &src_workload {namespace: source_workload_namespace, name: source_workload}
      statefulset: *src_workload
      daemonset: *src_workload
      namespace: {name: source_workload_namespace}
    peers:
      pod: {kind: deployment, namespace: destination_workload_namespace, name: destination_workload}
      deployment: *dst_workload
      statefulset: *dst_workload
      daemonset: *dst_workload
      namespace: {name: destination_workload_namespace}
    unnamed_value: unknown
    host: destination_service
  from:
    side: server
    selector: [{label: reporter, value: destination}, {label: job, param: job}]
    objects: *destination
    peers:
      pod: {kind: deployment, namespace: source_workload_namespace, name: source_workload}
      deployment: *src_workload
      statefulset: *src_workload
      daemonset: *src_workload
      namespace: {name: source_workload_namespace}
    unnamed_value: unknown
existence:
  - metric: up
    selector: [{label: job, param: job}]
    objects:
      pod: {namespace: namespace, name: pod}
      namespace: {name: namespace}
  - metric: istio_requests_total
    selector: [{label: reporter, value: destination}]
    objects: {deployment: *dst_workload, statefulset: *dst_workload, daemonset: *dst_workload}
    workloads:
      - {kind: deployment, namespace: destination_workload_namespace, name: destination_workload}
  - metric: istio_requests_total
    selector: [{label: reporter, value: source}]
    objects: {deployment: *src_workload, statefulset: *src_workload, daemonset: *src_workload}
    workloads:
      - {kind: deployment, namespace: source_workload_namespace, name: source_workload}
# No labelled_workloads: destination_workload and source_workload do not say the workload's kind,
# so with the Kubernetes caches workloads are rolled up from their pods (deleted pods included,
# for as long as the longest window; pods the caches never knew by resource.pod_owner).
# Istio implements a TrafficSplit with a VirtualService on the apex host routing to the backend
# services: the client's sidecar (reporter="source") names the backend it routed to in
# destination_service_name, and no standard label keeps the host the client asked for. So a
# backend counts every client-measured request to its service, through the apex or not.
traffic_split:
  side: client
  selector: [{label: reporter, value: source}, {label: job, param: job}]
  namespace: destination_service_namespace
  backend: destination_service_name
# Sidecar mode: istio-agent's merged endpoint (Envoy's stats and the agent's), labelled as the
# kubernetes-pods job of Istio's Prometheus add-on labels it (namespace, pod, the pod's labels).
sidecars:
  annotation: sidecar.istio.io/status
  port_annotation: prometheus.io/port
  port: 15020
  path: /stats/prometheus
  path_annotation: prometheus.io/path
  relabel: pod-labels
)yaml";

}  // namespace

std::vector<std::string> BuiltinProfileNames() { return {"linkerd", "istio"}; }

std::optional<std::string> BuiltinProfileYaml(const std::string& name) {
  if (name == "linkerd") return std::string(kLinkerd);
  if (name == "istio") return std::string(kIstio);
  return std::nullopt;
}

MeshProfileSpec BuiltinProfileSpec(const std::string& name,
                                   const std::map<std::string, std::string>& parameters) {
  const auto text = BuiltinProfileYaml(name);
  if (!text) {
    std::string names;
    for (const auto& n : BuiltinProfileNames()) names += (names.empty() ? "" : ", ") + n;
    throw std::invalid_argument("\"" + name + "\" is not a built-in mesh profile (" + names + ")");
  }
  MeshProfileSpec spec = ParseProfileYaml(*text, "built-in profile " + name);
  for (const auto& [k, v] : parameters) spec.parameters[k] = v;
  return spec;
}

MeshProfile LinkerdProfile(const std::string& proxy_job) {
  return MeshProfile(BuiltinProfileSpec("linkerd", {{"job", proxy_job}}));
}

MeshProfile IstioProfile(const std::string& proxy_job) {
  return MeshProfile(BuiltinProfileSpec("istio", {{"job", proxy_job}}));
}

}  // namespace smi::sources::prometheus
