// The readiness checks the server registers for /readyz, in order: the Kubernetes caches first
// (until they have synced every answer would be a 503 anyway), then the source of numbers.
#pragma once

#include "apiserver/health.h"
#include "kube/cluster_state.h"
#include "sources/traffic_source.h"

namespace smi::config {

// `cluster` may be null (no Kubernetes knowledge: no cache check). Both must outlive the checks.
apiserver::HealthChecks ReadinessChecks(const kube::ClusterState* cluster,
                                        sources::TrafficSource& source);

}  // namespace smi::config
