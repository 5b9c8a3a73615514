// Files meshsim writes for the tools around it: Prometheus' scrape configuration and the
// resolved topology that tests use as their oracle.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "meshsim/topology.h"

namespace meshsim {

// Milliseconds of a Prometheus duration such as "500ms", "1s", "2m"; nullopt when malformed.
std::optional<std::int64_t> ParseDurationMs(const std::string& text);

// The path the mesh's sidecar serves its metrics at: /metrics or /stats/prometheus.
std::string MetricsPath(Mesh mesh);

// Prometheus' labelmap of a Kubernetes label name: every character outside [a-zA-Z0-9_] -> _.
std::string PromLabelName(const std::string& kubernetes_label);

// prometheus.yml with one static target per pod, carrying the target labels the mesh's usual
// Kubernetes relabelling would add. Linkerd: job "linkerd-proxy" as linkerd-viz labels it
// (namespace, pod, <owner kind>, pod_template_hash, control_plane_ns). Istio: job
// "kubernetes-pods" as Istio's Prometheus add-on (samples/addons/prometheus.yaml) labels it
// (labelmap of the pod's labels, namespace, pod, node; no owner label).
// scrape_interval must be a valid duration.
std::string PrometheusConfig(const Topology& topo, int port, const std::string& scrape_interval);

// The resolved topology: pods, workloads, calls and idle workloads.
nlohmann::json TopologyJson(const Topology& topo, int port);

}  // namespace meshsim
