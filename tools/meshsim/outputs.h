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

// prometheus.yml with one static target per pod in job "linkerd-proxy", carrying the labels
// linkerd-viz's Kubernetes relabelling would add. scrape_interval must be a valid duration.
std::string PrometheusConfig(const Topology& topo, int port, const std::string& scrape_interval);

// The resolved topology: pods, workloads, calls and idle workloads.
nlohmann::json TopologyJson(const Topology& topo, int port);

}  // namespace meshsim
