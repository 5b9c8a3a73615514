// Mesh profiles as data: what one mesh's proxy metrics look like in Prometheus (series names, the
// labels that name objects and peers, the success rule, the latency unit, how existence is seen),
// and the one engine that turns a profile and a SampleQuery into at most two PromQL queries and
// their answers into TrafficSamples.
//
// The engine composes every query from the profile's parts; request values (namespaces, names,
// the window) and profile parameters are inserted only as escaped label values after the
// Kubernetes names were validated (DESIGN.md decision 11). Label and metric names in a profile are
// checked to be PromQL identifiers when the profile is made, so a profile cannot smuggle PromQL
// in either.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sources/prometheus/prometheus_client.h"
#include "sources/traffic_source.h"

namespace smi::sources::prometheus {

// The (at most two) instant queries one SampleQuery needs; both are evaluated at query.at.
struct ProfileQueries {
  // success/failure increases (by the classification labels), plus `smi_exists` rows for the
  // objects that exist, and for edges `smi_edge="to"|"from"` on each row.
  std::string counts;
  // latency bucket increases (by `le`, in the profile's latency unit).
  std::string buckets;
};

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
  // SampleQuery::all_workload_kinds: the labels naming a workload of each kind, in order; a row
  // belongs to the first whose name label is not empty; rows with none are skipped. Every entry
  // has its kind set.
  std::vector<ObjectLabels> workloads;
  Side side = Side::kClient;  // edges only
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

// How the traffic of TrafficSplits is seen (SampleQuery::traffic_splits): the series of requests
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
  std::vector<ExistenceSource> existence;
  // nullopt: the profile cannot answer for TrafficSplits.
  std::optional<TrafficSplitView> traffic_split;
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

  // Throws std::invalid_argument for names that are not valid Kubernetes names (DNS-1123), for an
  // edges query without its object, for a window below 1ms, and for a kind the profile cannot
  // answer for.
  ProfileQueries BuildQueries(const SampleQuery& query) const;

  // Turns the answers to BuildQueries(query) into samples (evaluated_at and warnings are left to
  // the caller). Output is sorted: resources by reference, edges by (resource, direction, side,
  // peer).
  TrafficSamples ToSamples(const SampleQuery& query, const std::vector<VectorSample>& counts,
                           const std::vector<VectorSample>& buckets) const;

  // Whether both edge views name the object and the peer of a pod edge as pods (Linkerd: `pod`
  // and `dst_pod`), so that workload edges can be rolled up from pod edges; false when a peer of
  // a pod is named as another kind (Istio names it by its workload).
  bool PodEdgesNamePeerPods() const;

  const MeshProfileSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }

 private:
  TrafficSamples SplitSamples(const SampleQuery& query, const std::vector<VectorSample>& counts,
                              const std::vector<VectorSample>& buckets) const;

  struct Compiled;
  MeshProfileSpec spec_;
  std::shared_ptr<const Compiled> compiled_;  // regexes, shared between copies
};

// --- Built-in profiles (builtin_profiles.cpp) ---------------------------------------------------

// Whether `authority` (host or host:port) names the service `apex` of namespace `ns` by its
// cluster DNS name: `<apex>.<ns>.svc.<cluster domain>`.
bool AuthorityNamesService(std::string_view authority, std::string_view apex, std::string_view ns);

// "linkerd", "istio".
std::vector<std::string> BuiltinProfileNames();
// The built-in profile's YAML text; nullopt for an unknown name.
std::optional<std::string> BuiltinProfileYaml(const std::string& name);
// The built-in profile `name` with `parameters` replacing its own; throws std::invalid_argument
// for an unknown name.
MeshProfileSpec BuiltinProfileSpec(const std::string& name,
                                   const std::map<std::string, std::string>& parameters = {});

// Linkerd 2 proxies (response_total, response_latency_ms_bucket, up) scraped by `proxy_job`.
MeshProfile LinkerdProfile(const std::string& proxy_job = "linkerd-proxy");
// Istio telemetry v2 (istio_requests_total, istio_request_duration_milliseconds_bucket, up).
MeshProfile IstioProfile(const std::string& proxy_job = "kubernetes-pods");

// --- YAML (profile_yaml.cpp) --------------------------------------------------------------------

// Parses a profile from YAML text. `where` prefixes every error message (a file name, or the key
// of an inline profile, e.g. "config.yaml: mesh.profile"); errors name the key that is wrong
// ("istio.yaml: edges.to.selector[0].op: \"==\" is not one of =, !=, =~, !~"). Throws
// std::invalid_argument. The result is also checked by MeshProfile's constructor.
MeshProfileSpec ParseProfileYaml(const std::string& yaml_text, const std::string& where);
// Reads and parses a profile file; errors are prefixed with its path.
MeshProfileSpec LoadProfileFile(const std::string& path);

// The Prometheus label Linkerd's scrape config gives the owner of a proxy: "pod", "deployment",
// "statefulset", "daemonset", "namespace"; also the keys of `objects` in profile YAML.
std::string_view KindLabel(ResourceKind kind);

}  // namespace smi::sources::prometheus
