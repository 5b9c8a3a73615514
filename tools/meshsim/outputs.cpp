#include "meshsim/outputs.h"

#include "meshsim/kube.h"

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

std::string MetricsPath(Mesh mesh) {
  return mesh == Mesh::kIstio ? "/stats/prometheus" : "/metrics";
}

std::string PromLabelName(const std::string& kubernetes_label) {
  std::string out = kubernetes_label;
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) c = '_';
  }
  return out;
}

namespace {

std::string IstioPrometheusConfig(const Topology& topo, int port) {
  std::ostringstream out;
  out << "scrape_configs:\n"
         "  # As Istio's Prometheus add-on (samples/addons/prometheus.yaml, job kubernetes-pods)\n"
         "  # labels a pod annotated prometheus.io/scrape, /port 15020, /path /stats/prometheus:\n"
         "  # labelmap __meta_kubernetes_pod_label_(.+), namespace, pod, node. honor_labels as\n"
         "  # there. No owner (deployment/statefulset/daemonset) label: Istio's series name the\n"
         "  # workloads themselves (source_workload, destination_workload).\n"
         "  - job_name: kubernetes-pods\n"
         "    honor_labels: true\n"
         "    metrics_path: /stats/prometheus\n"
         "    static_configs:\n";
  for (std::size_t p = 0; p < topo.pods.size(); ++p) {
    const Pod& pod = topo.pods[p];
    out << "      - targets: ['" << pod.ip << ":" << port << "']\n"
        << "        labels:\n";
    for (const auto& [name, value] : PodLabels(topo, p)) {
      out << "          " << PromLabelName(name) << ": '" << value << "'\n";
    }
    out << "          namespace: " << pod.ns << "\n"
        << "          pod: " << pod.name << "\n"
        << "          node: " << pod.node << "\n";
  }
  return out.str();
}

}  // namespace

std::string PrometheusConfig(const Topology& topo, int port, const std::string& scrape_interval) {
  const auto interval_ms = ParseDurationMs(scrape_interval).value_or(1000);
  // Prometheus refuses scrape_timeout > scrape_interval; its own default timeout is 10s.
  const std::string timeout = interval_ms <= 10'000 ? scrape_interval : "10s";
  std::ostringstream out;
  if (topo.mesh == Mesh::kIstio) {
    out << "# Written by meshsim (istio): one target per simulated pod's merged istio-agent\n"
           "# endpoint.\n"
           "global:\n"
        << "  scrape_interval: " << scrape_interval << "\n"
        << "  scrape_timeout: " << timeout << "\n"
        << "  evaluation_interval: " << scrape_interval << "\n"
        << IstioPrometheusConfig(topo, port);
    return out.str();
  }
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
        << "          " << OwnerTargetLabel(w.kind) << ": " << w.name << "\n";
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
        {"metrics_url", "http://" + pod.ip + ":" + std::to_string(port) + MetricsPath(topo.mesh)},
        {"owner", {{"kind", KindName(w.kind)}, {"name", w.name}}},
        {"serviceaccount", w.serviceaccount},
        {"node", pod.node},
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
    if (!w.version.empty()) j["version"] = w.version;
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
  // calls: meshed client -> server workload, one entry per split backend (with via_apex);
  // unmeshed_calls: traffic only the server's proxy reports (no client workload).
  nlohmann::json calls = nlohmann::json::array();
  nlohmann::json unmeshed = nlohmann::json::array();
  for (const Call& call : topo.calls) {
    nlohmann::json latency = nlohmann::json::array();
    for (const LatencyBucket& b : call.latency) {
      latency.push_back({{"le_ms", b.le_ms}, {"fraction", b.fraction}});
    }
    nlohmann::json c = {{"server", RefJson(topo.workloads[call.server])},
                        {"rps", call.rps},
                        {"failure_ratio", call.failure_ratio},
                        {"pair_rps", topo.PairRate(call)},
                        {"authority", topo.CalledAuthority(call)},
                        {"latency", std::move(latency)}};
    if (call.split != kNoSplit) {
      const TrafficSplit& split = topo.splits[call.split];
      c["via_apex"] = split.apex;
      c["trafficsplit"] = {{"namespace", split.ns}, {"name", split.name}};
      c["apex_rps"] = call.apex_rps;
    }
    if (call.client == kUnmeshed) {
      unmeshed.push_back(std::move(c));
    } else {
      c["client"] = RefJson(topo.workloads[call.client]);
      calls.push_back(std::move(c));
    }
  }
  nlohmann::json splits = nlohmann::json::array();
  for (const TrafficSplit& split : topo.splits) {
    nlohmann::json backends = nlohmann::json::array();
    for (const SplitBackend& b : split.backends) {
      const Workload& w = topo.workloads[b.workload];
      backends.push_back({{"service", w.service}, {"workload", RefJson(w)}, {"weight", b.weight}});
    }
    splits.push_back({{"namespace", split.ns},
                      {"name", split.name},
                      {"apex", split.apex},
                      {"port", split.port},
                      {"backends", std::move(backends)}});
  }
  return {{"mesh", MeshName(topo.mesh)},        {"metrics_port", port},
          {"namespaces", topo.namespaces},      {"nodes", topo.nodes},
          {"trafficsplits", std::move(splits)}, {"unmeshed_calls", std::move(unmeshed)},
          {"workloads", std::move(workloads)},  {"pods", std::move(pods)},
          {"calls", std::move(calls)},          {"idle", std::move(idle)}};
}

}  // namespace meshsim
