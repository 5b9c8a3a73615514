// The one engine that turns a mesh profile and a SampleQuery into at most two PromQL queries.
//
// Every query is composed from the profile's parts; request values (namespaces, names, the
// window) and profile parameters are inserted only as escaped label values after the Kubernetes
// names were validated here (docs/decisions.md, decision 11).
#pragma once

#include <string>

#include "sources/prometheus/mesh_profile.h"
#include "sources/traffic_source.h"

namespace smi::sources::prometheus {

// The (at most two) instant queries one SampleQuery needs; both are evaluated at query.at.
struct ProfileQueries {
  // success/failure increases (by the classification labels), plus `smi_exists` rows for the
  // objects that exist, and for edges `smi_edge="to"|"from"` on each row.
  std::string counts;
  // latency bucket increases (by `le`, in the profile's latency unit).
  std::string buckets;
};

// Throws std::invalid_argument for names that are not valid Kubernetes names (DNS-1123), for
// edges without their object's namespace and name, for a window below 1ms, for a trafficsplits
// query without splits, and for a kind the profile cannot answer for.
ProfileQueries BuildQueries(const MeshProfile& profile, const SampleQuery& query);

}  // namespace smi::sources::prometheus
