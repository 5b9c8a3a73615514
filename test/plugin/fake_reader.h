// Canned API answers for the plugin's commands, by request path; records what was asked.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugin/metrics_api.h"

namespace smi::plugin::testing {

class FakeReader : public TrafficMetricsReader {
 public:
  void Answer(const std::string& path, nlohmann::json body) { answers_[path] = std::move(body); }
  void Fail(const std::string& path, const std::string& line) { failures_[path] = line; }

  nlohmann::json Get(const ApiRequest& request) override {
    const std::string path = request.Path();
    asked.push_back(path);
    if (const auto it = failures_.find(path); it != failures_.end()) throw KubectlError(it->second);
    const auto it = answers_.find(path);
    if (it == answers_.end()) {
      throw KubectlError("Error from server (NotFound): no canned answer for " + path);
    }
    return it->second;
  }

  std::vector<std::string> asked;

 private:
  std::map<std::string, nlohmann::json> answers_;
  std::map<std::string, std::string> failures_;
};

// A TrafficMetrics object as the API writes it.
inline nlohmann::json Item(const std::string& kind, const std::string& ns, const std::string& name,
                           double success, double failure, const nlohmann::json& edge = nullptr,
                           const std::string& window = "30s") {
  nlohmann::json resource = {{"kind", kind}, {"name", name}};
  if (!ns.empty()) resource["namespace"] = ns;
  nlohmann::json metrics = nlohmann::json::array();
  if (success + failure > 0) {
    metrics.push_back({{"name", "p99_response_latency"}, {"unit", "seconds"}, {"value", "90m"}});
    metrics.push_back({{"name", "p90_response_latency"}, {"unit", "seconds"}, {"value", "45m"}});
    metrics.push_back({{"name", "p50_response_latency"}, {"unit", "seconds"}, {"value", "15m"}});
  }
  char s[32], f[32];
  std::snprintf(s, sizeof s, "%.0fm", success * 1000);
  std::snprintf(f, sizeof f, "%.0fm", failure * 1000);
  metrics.push_back({{"name", "success_count"}, {"value", s}});
  metrics.push_back({{"name", "failure_count"}, {"value", f}});
  return {{"kind", "TrafficMetrics"},
          {"apiVersion", "metrics.smi-spec.io/v1alpha1"},
          {"resource", resource},
          {"edge",
           edge.is_null()
               ? nlohmann::json{{"direction", "from"}, {"side", "server"}, {"resource", nullptr}}
               : edge},
          {"timestamp", "2024-05-01T12:00:00Z"},
          {"window", window},
          {"metrics", metrics}};
}

inline nlohmann::json Edge(const std::string& direction, const std::string& side,
                           const std::string& kind, const std::string& ns,
                           const std::string& name) {
  nlohmann::json peer = {{"kind", kind}, {"name", name}};
  if (!ns.empty()) peer["namespace"] = ns;
  return {{"direction", direction}, {"side", side}, {"resource", peer}};
}

inline nlohmann::json List(std::vector<nlohmann::json> items) {
  return {{"kind", "TrafficMetricsList"},
          {"apiVersion", "metrics.smi-spec.io/v1alpha1"},
          {"items", items}};
}

}  // namespace smi::plugin::testing
