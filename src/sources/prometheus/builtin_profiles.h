// The built-in mesh profiles (Linkerd, Istio), written in the same YAML a user can supply.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sources/prometheus/mesh_profile.h"

namespace smi::sources::prometheus {

// "linkerd", "istio".
std::vector<std::string> BuiltinProfileNames();
// The built-in profile's YAML text; nullopt for an unknown name.
std::optional<std::string> BuiltinProfileYaml(const std::string& name);
// The built-in profile `name` with `parameters` replacing its own; throws std::invalid_argument
// for an unknown name.
MeshProfileSpec BuiltinProfileSpec(const std::string& name,
                                   const std::map<std::string, std::string>& parameters = {});

// Linkerd 2 proxies (response_total, response_latency_ms_bucket, up) scraped by `proxy_job`.
MeshProfile LinkerdProfile(const std::string& proxy_job = "linkerd-proxy");
// Istio telemetry v2 (istio_requests_total, istio_request_duration_milliseconds_bucket, up).
MeshProfile IstioProfile(const std::string& proxy_job = "kubernetes-pods");

}  // namespace smi::sources::prometheus
