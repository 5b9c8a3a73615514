// The /metrics payload of one simulated linkerd2-proxy, in the layout a real proxy serves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "meshsim/topology.h"

namespace meshsim {

// Renders the proxy metrics of topo.pods[pod] after `seconds` of simulated traffic.
// process_start_unix is reported as process_start_time_seconds.
std::string RenderPodMetrics(const Topology& topo, std::size_t pod, double seconds,
                             std::int64_t process_start_unix);

}  // namespace meshsim
