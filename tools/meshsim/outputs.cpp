#include "meshsim/outputs.h"

#include <regex>
#include <sstream>

namespace meshsim {
namespace {

nlohmann::json RefJson(const Workload& w) {
  return {{"namespace", w.ns}, {"kind", KindName(w.kind)}, {"name", w.name}};
}

}  // namespace

std::optional<std::int64_t> ParseDurationMs(const std::string& text) {
  static const std::regex pattern("^([0-9]{1,9})(ms|s|m|h)$");
  std::smatch match;
  if (!std::regex_match(text, match, pattern)) return std::nullopt;
  const std::int64_t value = std::stoll(match[1].str());
  const std::string unit = match[2].str();
  const std::int64_t ms = unit == "ms"  ? value
                          : unit == "s" ? value * 1000
                          : unit == "m" ? value * 60'000
                                        : value * 3'600'000;
  if (ms <= 0) return std::nullopt;
  return ms;
}

std::string PrometheusConfig(const Topology& topo, int port, const std::string& scrape_interval) {
  const auto interval_ms = ParseDurationMs(scrape_interval).value_or(1000);
  // Prometheus refuses scrape_timeout > scrape_interval; its own default timeout is 10s.
  const std::string timeout = interval_ms <= 10'000 ? scrape_interval : "10s";
  std::ostringstream out;
  out << "# Written by meshsim: one target per simulated pod, labelled as linkerd-viz's\n"
         "# kubernetes_sd relabelling labels a proxy (namespace, pod, owner, pod_template_hash,\n"
         "# control_plane_ns).\n"
         "global:\n"
      << "  scrape_interval: " << scrape_interval << "\n"
      << "  scrape_timeout: " << timeout << "\n"
      << "  evaluation_interval: " << scrape_interval << "\n"
      << "scrape_configs:\n"
         "  - job_name: linkerd-proxy\n"
         "    metrics_path: /metrics\n"
         "    static_configs:\n";
  for (const Pod& pod : topo.pods) {
    const Workload& w = topo.workloads[pod.workload];
    out << "      - targets: ['" << pod.ip << ":" << port << "']\n"
        << "        labels:\n"
        << "          namespace: " << pod.ns << "\n"
        << "          pod: " << pod.name << "\n"
        << "          " << KindName(w.kind) << ": " << w.name << "\n";
    if (w.kind == WorkloadKind::kDeployment) {
      out << "          pod_template_hash: '" << w.pod_template_hash << "'\n";
    }
    out << "          control_plane_ns: linkerd\n";
  }
  return out.str();
}

nlohmann::json TopologyJson(const Topology& topo, int port) {
  nlohmann::json pods = nlohmann::json::array();
  for (const Pod& pod : topo.pods) {
    const Workload& w = topo.workloads[pod.workload];
    nlohmann::json p = {
        {"namespace", pod.ns},
        {"name", pod.name},
        {"ip", pod.ip},
        {"metrics_url", "http://" + pod.ip + ":" + std::to_string(port) + "/metrics"},
        {"owner", {{"kind", KindName(w.kind)}, {"name", w.name}}},
        {"serviceaccount", w.serviceaccount},
        {"idle", w.idle}};
    if (w.kind == WorkloadKind::kDeployment) p["pod_template_hash"] = w.pod_template_hash;
    pods.push_back(std::move(p));
  }
  nlohmann::json workloads = nlohmann::json::array();
  nlohmann::json idle = nlohmann::json::array();
  for (const Workload& w : topo.workloads) {
    nlohmann::json j = RefJson(w);
    j["replicas"] = w.replicas;
    j["service"] = w.service;
    j["serviceaccount"] = w.serviceaccount;
    j["port"] = w.port;
    j["idle"] = w.idle;
    j["pods"] = nlohmann::json::array();
    for (std::size_t p : w.pods) j["pods"].push_back(topo.pods[p].name);
    workloads.push_back(std::move(j));
    if (w.idle) {
      nlohmann::json i = RefJson(w);
      i["requests_per_pod"] = w.idle_requests;
      i["failures_per_pod"] = w.idle_requests / 20;
      idle.push_back(std::move(i));
    }
  }
  nlohmann::json calls = nlohmann::json::array();
  for (const Call& call : topo.calls) {
    nlohmann::json latency = nlohmann::json::array();
    for (const LatencyBucket& b : call.latency) {
      latency.push_back({{"le_ms", b.le_ms}, {"fraction", b.fraction}});
    }
    calls.push_back({{"client", RefJson(topo.workloads[call.client])},
                     {"server", RefJson(topo.workloads[call.server])},
                     {"rps", call.rps},
                     {"failure_ratio", call.failure_ratio},
                     {"pair_rps", topo.PairRate(call)},
                     {"latency", std::move(latency)}});
  }
  return {{"metrics_port", port},
          {"namespaces", topo.namespaces},
          {"workloads", std::move(workloads)},
          {"pods", std::move(pods)},
          {"calls", std::move(calls)},
          {"idle", std::move(idle)}};
}

}  // namespace meshsim
