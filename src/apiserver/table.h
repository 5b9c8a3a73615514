// meta.k8s.io Table views of TrafficMetrics, for `kubectl get` (server-side printing). Columns read
// like `linkerd viz stat`: success rate, requests per second and latency percentiles.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/negotiation.h"
#include "model/traffic_metrics.h"

namespace smi::apiserver {

struct TableOptions {
  Representation version = Representation::kTableV1;  // kTableV1 or kTableV1beta1
  IncludeObject include = IncludeObject::kMetadata;
  // apiVersion of the full objects (includeObject=Object), e.g. metrics.smi-spec.io/v1alpha1.
  std::string object_api_version;
  // A KIND column (the `trafficmetrics` resource mixes workload kinds).
  bool kind_column = false;
};

// A Table of resource-scope items: one row per object, named after it.
nlohmann::json ResourceTable(const std::vector<model::TrafficMetrics>& items,
                             const TableOptions& options);

// A Table of edges: one row per edge, named after the peer, with the direction.
nlohmann::json EdgeTable(const std::vector<model::TrafficMetrics>& items,
                         const TableOptions& options);

// A Table of TrafficSplit backends: one row per backend, named after the split, with the
// backend service and its weight (and the apex in wide output).
nlohmann::json TrafficSplitTable(const std::vector<model::TrafficMetrics>& items,
                                 const TableOptions& options);

// Cell formats. Each shows "-" when the window had no requests (never 0 ms, never NaN).
// 98.67%
std::string FormatSuccessRate(double success, double failure);
// 10.0rps
std::string FormatRps(double requests, std::chrono::milliseconds window);
// 15ms, 2.5ms, 0.25ms, 1.50s; nullopt (no observations) is "-".
std::string FormatLatency(std::optional<double> seconds);
// Counts as whole numbers (extrapolated increases are rounded): 1500
std::string FormatCount(double count);

}  // namespace smi::apiserver
