#include "apiserver/discovery.h"

#include <nlohmann/json.hpp>

#include "apiserver/router.h"
#include "model/traffic_metrics.h"

namespace smi::apiserver {

namespace {

nlohmann::json GroupVersion(std::string_view version) {
  return {{"groupVersion", std::string(kGroup) + "/" + std::string(version)}, {"version", version}};
}

nlohmann::json Group() {
  return {{"name", kGroup},
          {"versions", {GroupVersion("v1alpha1"), GroupVersion("v1alpha2")}},
          {"preferredVersion", GroupVersion("v1alpha1")}};
}

}  // namespace

std::string ApiGroupListJson() {
  nlohmann::json doc = {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", {Group()}}};
  return doc.dump();
}

std::string ApiGroupJson() {
  nlohmann::json doc = Group();
  doc["kind"] = "APIGroup";
  doc["apiVersion"] = "v1";
  return doc.dump();
}

std::string ApiResourceListJson(std::string_view version) {
  using model::ResourceKind;
  // Sorted by path, as the generic apiserver registers them; verbs sorted.
  nlohmann::json resources = nlohmann::json::array();
  for (auto kind : {ResourceKind::kDaemonSet, ResourceKind::kDeployment, ResourceKind::kNamespace,
                    ResourceKind::kPod, ResourceKind::kStatefulSet}) {
    const std::string plural(model::ResourcePlural(kind));
    resources.push_back({{"name", plural},
                         {"singularName", ""},
                         {"namespaced", model::IsNamespaced(kind)},
                         {"kind", "TrafficMetrics"},
                         {"verbs", {"get", "list"}}});
    resources.push_back({{"name", plural + "/edges"},
                         {"singularName", ""},
                         {"namespaced", model::IsNamespaced(kind)},
                         {"kind", "TrafficMetricsList"},
                         {"verbs", {"get"}}});
  }
  nlohmann::json doc = {{"kind", "APIResourceList"},
                        {"apiVersion", "v1"},
                        {"groupVersion", std::string(kGroup) + "/" + std::string(version)},
                        {"resources", resources}};
  return doc.dump();
}

std::string VersionJson() {
  nlohmann::json doc = {{"major", "1"},
                        {"minor", kReportedKubernetesMinor},
                        {"gitVersion", "v1." + std::string(kReportedKubernetesMinor) + ".0"},
                        {"platform", "linux/amd64"},
                        {"compiler", "gcc"},
                        {"smiMetricsServerVersion", SMI_METRICS_SERVER_VERSION}};
  return doc.dump();
}

}  // namespace smi::apiserver
