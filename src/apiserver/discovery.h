// Discovery documents: what kube-apiserver's aggregator and kubectl read to learn the API.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smi::apiserver {

// The version the server reports on /version. kubectl's version dispatcher picks its own minor
// version from it, so it names the Kubernetes API level this server was verified against.
inline constexpr std::string_view kReportedKubernetesMinor = "32";

// The kinds discovery gives the resources whose objects are TrafficMetrics, `TrafficMetrics`
// first: each resource has a kind of its own there (docs/decisions.md, decision 10), so OpenAPI
// names them all on the TrafficMetrics schema, for `kubectl explain` of any of them.
std::vector<std::string> TrafficMetricsDiscoveryKinds();

std::string ApiGroupListJson();
// apidiscovery.k8s.io APIGroupDiscoveryList; `api_version` is apidiscovery.k8s.io/v2 or /v2beta1
// (the same JSON otherwise).
std::string AggregatedDiscoveryJson(std::string_view api_version);
std::string ApiGroupJson();
std::string ApiResourceListJson(std::string_view version);
std::string VersionJson();

}  // namespace smi::apiserver
