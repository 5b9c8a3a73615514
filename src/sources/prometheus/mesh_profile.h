// Mesh profiles as data: what one mesh's proxy metrics look like in Prometheus (series names, the
// labels that name objects and peers, the success rule, the latency unit, how existence is seen),
// and the checked MeshProfile made from one. The one engine that turns a profile and a SampleQuery
// into PromQL is promql_builder.h; the one that turns the answers into TrafficSamples is
// answer_decoding.h. Profiles come from YAML (profile_yaml.h), built-in ones included
// (builtin_profiles.h).
//
// Label and metric names in a profile are checked to be PromQL identifiers when the profile is
// made, so a profile cannot smuggle PromQL into a query (docs/decisions.md, decision 11).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sources/traffic_source.h"

namespace smi::sources::prometheus {

// One label matcher of a selector: `label op "value"`, the value either literal or a profile
// parameter's value (both escaped).
struct Matcher {
  std::string label;
  std::string op = "=";  // =, !=, =~, !~
  std::string value;
  std::string param;  // when not empty: the value of this profile parameter
};

// The labels that name one object in a series: its namespace (empty for namespaces, which are
// named by `name` alone) and its name. `kind`: the kind of the object named (peers may be of
// another kind than the object asked about, e.g. Istio names the peer of a pod by its workload);
// nullopt: the kind asked about.
struct ObjectLabels {
  std::optional<ResourceKind> kind;
  std::string ns_label;
  std::string name_label;
};

// One way of looking at the series: which of them (the selector) and which labels name the object
// and, for edges, the peer, per kind asked about.
struct SeriesView {
  std::vector<Matcher> selector;
  std::map<ResourceKind, ObjectLabels> objects;
  std::map<ResourceKind, ObjectLabels> peers;  // edges only
  // AllWorkloads queries: the labels naming a workload of each kind, in order; a row
  // belongs to the first whose name label is not empty; rows with none are skipped. Every entry
  // has its kind set.
  std::vector<ObjectLabels> workloads;
  // Resource scope only. The labels naming the workload that owns the pod a series comes from
  // (its kind when the series say it, else nullopt), so that a pod the Kubernetes caches never
  // knew still counts for its workload (ResourceSample::owner; docs/decisions.md, decision 16).
  // Pod queries are also grouped by these labels. nullopt: the series do not name the owner.
  std::optional<ObjectLabels> pod_owner;
  Side side = Side::kClient;  // edges only
  // Edges only. Peers of the workload kinds: named by the first of these whose name label is set
  // (each has its kind), so that a peer answers with its own kind, not the kind asked about;
  // empty: `peers` names them.
  std::vector<ObjectLabels> peer_workloads;
  // Edges only. A row whose peer labels are missing or empty, or whose peer name is
  // `unnamed_value` (Istio's "unknown"), is traffic with a peer the mesh cannot name: it is kept,
  // as a peer of kind Unknown named by the host the client addressed (`host_label`, port
  // removed) where the series record it (docs/decisions.md, decision 6).
  std::string unnamed_value;
  std::string host_label;
};

// Where the existence of objects is seen (e.g. `up{job="linkerd-proxy"}`): an instant selector,
// grouped by the object's labels.
struct ExistenceSource {
  std::string metric;
  std::vector<Matcher> selector;
  std::map<ResourceKind, ObjectLabels> objects;  // kinds this source can tell about
  std::vector<ObjectLabels> workloads;           // as SeriesView::workloads
};

// A label whose value fully matches `regex` (anchored, as PromQL's =~).
struct LabelRule {
  std::string label;
  std::string regex;
};

// How a row of the counts query is classified: it is grouped by `labels`; a failure when any
// `failure` rule matches; otherwise a success when `success` is empty or any of its rules
// matches; otherwise not counted.
struct Classification {
  std::vector<std::string> labels;
  std::vector<LabelRule> failure;
  std::vector<LabelRule> success;
};

// How the traffic of TrafficSplits is seen (TrafficSplitBackends queries): the series of requests
// measured by the clients (`selector`), the labels naming the service a request was routed to
// (the backend: `ns_label`, `backend_label`) and, when the mesh records it, the authority the
// client called (`authority_label`): a row counts for an apex when its host is
// `<apex>.<namespace>.svc.<anything>` (port optional), compared in C++, never as a regex built
// from a name. Without `authority_label` every request to a backend service counts for it.
struct TrafficSplitView {
  std::vector<Matcher> selector;
  std::string ns_label;
  std::string backend_label;
  std::string authority_label;
  Side side = Side::kClient;
};

// How sidecar mode finds a mesh's proxies among the pods and labels their series the way the
// mesh's usual Prometheus scrape configuration would (profile key `sidecars`).
struct SidecarTargets {
  // A pod is meshed when it has a container named `container`, or else (when `container` is
  // empty) the annotation `annotation`.
  std::string container;
  std::string annotation;
  // The proxy's metrics port: the port named `port_name` of any container, else the value of
  // the pod annotation `port_annotation`, else `port`.
  std::string port_name;
  std::string port_annotation;
  int port = 0;
  // The path, unless the pod annotation `path_annotation` names another.
  std::string path = "/metrics";
  std::string path_annotation;
  // The target labels besides job (the `job` parameter), instance, namespace and pod:
  // kLinkerdViz: every pod label, `linkerd.io/proxy-<kind>` as `<kind>` (`linkerd.io/proxy-job`
  //   as `k8s_job`), other `linkerd.io/<x>` as `<x>`, each name sanitised (every character
  //   outside [a-zA-Z0-9_] becomes `_`), as linkerd-viz's Prometheus relabels a proxy;
  // kPodLabels: every pod label, sanitised, as the kubernetes-pods job of Istio's Prometheus.
  enum class Relabel { kLinkerdViz, kPodLabels } relabel = Relabel::kPodLabels;
};

struct MeshProfileSpec {
  std::string name;
  // Values matchers can refer to (e.g. `job`, the Prometheus job scraping the proxies).
  std::map<std::string, std::string> parameters;
  std::string requests_metric;             // a counter of requests
  std::string latency_bucket_metric;       // the cumulative buckets of a latency histogram (`le`)
  double latency_units_per_second = 1000;  // 1000: bounds in milliseconds
  Classification classification;
  SeriesView resource;    // resource scope: inbound traffic measured at the server side
  SeriesView edges_to;    // `to` edges: the object calls the peer
  SeriesView edges_from;  // `from` edges: the peer calls the object
  // `from` edges of callers only the object's side records (unmeshed callers, which have no
  // proxy to report them): every row's peer is unnamed. nullopt: `edges_from` sees every caller.
  std::optional<SeriesView> edges_from_unnamed;
  std::vector<ExistenceSource> existence;
  // nullopt: the profile cannot answer for TrafficSplits.
  std::optional<TrafficSplitView> traffic_split;
  // nullopt: the profile cannot be used in sidecar mode.
  std::optional<SidecarTargets> sidecars;
  // The workload kinds every series names reliably by a label of that kind alone (profile key
  // `labelled_workloads`; Linkerd: deployment, statefulset, daemonset, which its scrape config
  // copies from the proxy's `linkerd.io/proxy-<kind>` pod label). A workload of such a kind is
  // summed by that label in PromQL, so it keeps the traffic of pods that ended within the window;
  // other workloads are rolled up from their pods through the Kubernetes caches.
  std::set<ResourceKind> labelled_workloads;
};

class MeshProfile {
 public:
  // Throws std::invalid_argument naming the part of the spec that is wrong (an invalid label or
  // metric name, operator, regex, unknown parameter, ...).
  explicit MeshProfile(MeshProfileSpec spec);
  ~MeshProfile();
  MeshProfile(const MeshProfile&);
  MeshProfile& operator=(const MeshProfile&);
  MeshProfile(MeshProfile&&) noexcept;
  MeshProfile& operator=(MeshProfile&&) noexcept;

  // How the classification rules count a row of the counts query (its labels).
  enum class RowClass { kFailure, kSuccess, kNotCounted };
  RowClass Classify(const std::map<std::string, std::string>& labels) const;

  // Whether both edge views name the object and the peer of a pod edge as pods (Linkerd: `pod`
  // and `dst_pod`), so that workload edges can be rolled up from pod edges; false when a peer of
  // a pod is named as another kind (Istio names it by its workload).
  bool PodEdgesNamePeerPods() const;

  // Whether the series name workloads of `kind` by a label of their own (labelled_workloads).
  bool SeriesNameWorkloads(ResourceKind kind) const {
    return spec_.labelled_workloads.contains(kind);
  }

  const MeshProfileSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }

 private:
  struct Compiled;
  MeshProfileSpec spec_;
  std::shared_ptr<const Compiled> compiled_;  // regexes, shared between copies
};

// The Prometheus label Linkerd's scrape config gives the owner of a proxy: "pod", "deployment",
// "statefulset", "daemonset", "namespace"; also the keys of `objects` in profile YAML.
std::string_view KindLabel(ResourceKind kind);

}  // namespace smi::sources::prometheus
