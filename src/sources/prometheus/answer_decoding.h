// The one engine that turns Prometheus' answers to the queries of promql_builder.h into
// TrafficSamples, through the labels and classification rules of a mesh profile.
#pragma once

#include <string_view>
#include <vector>

#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/prometheus_client.h"
#include "sources/traffic_source.h"

namespace smi::sources::prometheus {

// Turns the answers to BuildQueries(profile, query) into samples (evaluated_at and warnings are
// left to the caller). Output is sorted: resources by reference, edges by (resource, direction,
// side, peer), backends by (namespace, apex, backend).
TrafficSamples ToSamples(const MeshProfile& profile, const SampleQuery& query,
                         const std::vector<VectorSample>& counts,
                         const std::vector<VectorSample>& buckets);

// Whether `authority` (host or host:port) names the service `apex` of namespace `ns` by its
// cluster DNS name: `<apex>.<ns>.svc.<cluster domain>`.
bool AuthorityNamesService(std::string_view authority, std::string_view apex, std::string_view ns);

}  // namespace smi::sources::prometheus
