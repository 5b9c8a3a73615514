#include "apiserver/discovery.h"

#include <nlohmann/json.hpp>

#include "apiserver/router.h"
#include "model/traffic_metrics.h"

namespace smi::apiserver {

namespace {

using nlohmann::json;

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
  // What a get answers. kubectl resolves a resource to its kind and the kind to the LAST resource
  // of that kind, so only a kind of its own lets `kubectl get trafficsplits...` reach this one.
  std::string kind = "TrafficMetrics";
};

// Sorted by path, as the generic apiserver registers them, then `trafficmetrics` LAST: kubectl
// maps every resource of one kind to the last one listed (docs/decisions.md, decision 10;
// docs/kubernetes-api.md, "kubectl maps a kind to the last resource of that kind").
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
