// Istio mode: the merged istio-agent endpoint (:15020/stats/prometheus) of one simulated pod,
// with Istio telemetry v2 series (istio_requests_total, istio_request_duration_milliseconds)
// as Envoy's stats filter writes them (label order and values as in the Istio 1.11.4 scrape
// quoted in test/meshsim/fixtures/istio-1.11-merged-excerpt.txt, see its README).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "meshsim/topology.h"
#include "meshsim/traffic.h"

namespace meshsim {

// Envoy's default histogram buckets (ms), which Istio's request duration uses, +Inf excluded.
inline constexpr std::array<double, 19> kIstioBoundsMs = {
    0.5,  1,    5,     10,    25,    50,     100,    250,     500,    1000,
    2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};

// The `le` label of bound b ("0.5", "1", ..., "3600000"), or "+Inf" for b == size.
std::string IstioLe(std::size_t b);

// Cumulative counts over kIstioBoundsMs followed by +Inf, then _count and _sum (ms).
struct IstioHistogram {
  std::array<std::int64_t, kIstioBoundsMs.size() + 1> cumulative{};
  std::int64_t count = 0;
  std::int64_t sum_ms = 0;
};

// The same requests on Istio's buckets. Every simulated request has the representative latency
// of its Linkerd bucket (BucketRepresentativeMs, the value _sum adds), so an Istio bucket
// counts the requests whose representative is <= its bound: at bounds Linkerd also has (1, 5,
// 10, 50, ..., 30000) the counts are Linkerd's; 0.5 holds none; 25, 250, 2500 hold all of
// (20,30], (200,300], (2000,3000] (representatives 25, 250, 2500); 60000 and up hold all.
// _count and _sum are Linkerd's.
IstioHistogram ToIstioBuckets(const LatencyHistogram& linkerd);

// Renders the merged agent + Envoy payload of topo.pods[pod] after `seconds`.
std::string RenderIstioPodMetrics(const Topology& topo, std::size_t pod, double seconds,
                                  std::int64_t process_start_unix);

}  // namespace meshsim
