#include "apiserver/discovery.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "apiserver/router.h"
#include "base/strings.h"
#include "model/traffic_metrics.h"

namespace smi::apiserver {

namespace {

using nlohmann::json;

// The kind of every object the spec's resources answer with.
constexpr std::string_view kObjectKind = "TrafficMetrics";

json GroupVersion(std::string_view version) {
  return {{"groupVersion", std::string(kGroup) + "/" + std::string(version)}, {"version", version}};
}

json Group() {
  return {{"name", kGroup},
          {"versions", {GroupVersion("v1alpha1"), GroupVersion("v1alpha2")}},
          {"preferredVersion", GroupVersion("v1alpha1")}};
}

// One served resource and whether it has the `edges` subresource.
struct Resource {
  std::string name;
  std::string singular;  // empty: kubectl guesses it from the kind
  bool namespaced;
  std::vector<std::string> short_names;
  bool edges = true;  // has the `edges` subresource
  // The kind discovery names: one resource per kind (GiveEachResourceItsOwnKind), since clients
  // resolve a resource to its kind and the kind back to a resource.
  std::string kind = std::string(kObjectKind);
};

// "replicationcontrollers" -> "ReplicationController": the kind of the objects a resource of
// the spec measures, from the model when it knows the resource, else from the plural.
std::string SubjectKind(const std::string& plural) {
  if (const auto kind = model::KindFromPlural(plural)) return std::string(model::KindName(*kind));
  std::string out = plural;
  if (out.size() > 1 && out.back() == 's') out.pop_back();
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

// The discovery shape under which every discovery-driven client resolves every resource
// (docs/decisions.md, decision 10; docs/kubernetes-api.md, "Every kind of client"): a kind names
// one resource only. kubectl and client-go's RESTMapper map a kind to the last resource of that
// kind, and the Python dynamic client refuses a kind that several resources share (and with it
// every resource of the group, since it resolves names through each list kind's base kind). So
// `trafficmetrics` keeps `TrafficMetrics` and every other resource whose objects are
// TrafficMetrics is named by what it measures, `<Kind>TrafficMetrics` (`DeploymentTrafficMetrics`),
// with the singular name of that kind (`deployment`). Objects on the wire keep `kind:
// TrafficMetrics`, as the spec says. A rule over the whole list, so a new resource follows it.
void GiveEachResourceItsOwnKind(std::vector<Resource>& resources) {
  for (auto& r : resources) {
    if (r.kind != kObjectKind || r.name == kTrafficMetricsResource) continue;
    const std::string subject = SubjectKind(r.name);
    if (r.singular.empty()) r.singular = base::Lower(subject);
    r.kind = subject;
    r.kind.append(kObjectKind);
  }
}

// Sorted by path, as the generic apiserver registers them, then `trafficmetrics` last
// (docs/decisions.md, decision 10); each with a kind of its own.
std::vector<Resource> Resources() {
  using model::ResourceKind;
  std::vector<Resource> out;
  for (auto kind : {ResourceKind::kDaemonSet, ResourceKind::kDeployment, ResourceKind::kJob,
                    ResourceKind::kNamespace, ResourceKind::kNode, ResourceKind::kPod,
                    ResourceKind::kReplicaSet, ResourceKind::kReplicationController,
                    ResourceKind::kService, ResourceKind::kStatefulSet}) {
    out.push_back({std::string(model::ResourcePlural(kind)), "", model::IsNamespaced(kind), {}});
  }
  // No short name: `ts` is split.smi-spec.io's TrafficSplit itself. No edges
  // (docs/spec-notes.md, "TrafficSplits"). A kind of its own: kubectl maps a kind back to the
  // last resource of that kind (docs/decisions.md, decision 10), so with TrafficMetrics it would
  // print the trafficmetrics table; its get answers a TrafficMetricsList.
  out.push_back({std::string(kTrafficSplitsResource),
                 "trafficsplit",
                 true,
                 {},
                 false,
                 "TrafficSplitMetrics"});
  out.push_back(
      {std::string(kTrafficMetricsResource), std::string(kTrafficMetricsResource), true, {"tm"}});
  GiveEachResourceItsOwnKind(out);
  return out;
}

json ResponseKind(std::string_view version, std::string_view kind) {
  return {{"group", kGroup}, {"version", version}, {"kind", kind}};
}

json AggregatedGroup() {
  json versions = json::array();
  for (std::string_view version : {"v1alpha1", "v1alpha2"}) {
    json resources = json::array();
    for (const auto& r : Resources()) {
      json entry = {{"resource", r.name},
                    {"responseKind", ResponseKind(version, r.kind)},
                    {"scope", r.namespaced ? "Namespaced" : "Cluster"},
                    {"singularResource", r.singular},
                    {"verbs", {"get", "list"}},
                    {"subresources", json::array()}};
      if (r.edges) {
        entry["subresources"].push_back(
            {{"subresource", "edges"},
             {"responseKind", ResponseKind(version, "TrafficMetricsList")},
             {"verbs", {"get"}}});
      }
      if (!r.short_names.empty()) entry["shortNames"] = r.short_names;
      resources.push_back(std::move(entry));
    }
    versions.push_back({{"version", version}, {"resources", resources}, {"freshness", "Current"}});
  }
  return {{"metadata", {{"name", kGroup}}}, {"versions", versions}};
}

}  // namespace

std::vector<std::string> TrafficMetricsDiscoveryKinds() {
  std::vector<std::string> kinds;
  for (const auto& r : Resources()) {
    if (r.kind.ends_with(kObjectKind)) kinds.push_back(r.kind);
  }
  std::stable_partition(kinds.begin(), kinds.end(),
                        [](const std::string& k) { return k == kObjectKind; });
  return kinds;
}

std::string ApiGroupListJson() {
  json doc = {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", {Group()}}};
  return doc.dump();
}

std::string AggregatedDiscoveryJson(std::string_view api_version) {
  json doc = {{"kind", "APIGroupDiscoveryList"},
              {"apiVersion", api_version},
              {"metadata", json::object()},
              {"items", {AggregatedGroup()}}};
  return doc.dump();
}

std::string ApiGroupJson() {
  json doc = Group();
  doc["kind"] = "APIGroup";
  doc["apiVersion"] = "v1";
  return doc.dump();
}

std::string ApiResourceListJson(std::string_view version) {
  json resources = json::array();
  for (const auto& r : Resources()) {
    json entry = {{"name", r.name},
                  {"singularName", r.singular},
                  {"namespaced", r.namespaced},
                  {"kind", r.kind},
                  {"verbs", {"get", "list"}}};
    if (!r.short_names.empty()) entry["shortNames"] = r.short_names;
    resources.push_back(std::move(entry));
    if (!r.edges) continue;
    resources.push_back({{"name", r.name + "/edges"},
                         {"singularName", ""},
                         {"namespaced", r.namespaced},
                         {"kind", "TrafficMetricsList"},
                         {"verbs", {"get"}}});
  }
  json doc = {{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", std::string(kGroup) + "/" + std::string(version)},
              {"resources", resources}};
  return doc.dump();
}

std::string VersionJson() {
  json doc = {{"major", "1"},
              {"minor", kReportedKubernetesMinor},
              {"gitVersion", "v1." + std::string(kReportedKubernetesMinor) + ".0"},
              {"platform", "linux/amd64"},
              {"compiler", "gcc"},
              {"smiMetricsServerVersion", SMI_METRICS_SERVER_VERSION}};
  return doc.dump();
}

}  // namespace smi::apiserver
