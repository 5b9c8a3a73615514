// Counter arithmetic: what every (client pod, server pod) pair of a call has done after t seconds.
// Pure functions of the topology and elapsed time, so tests can compute the same numbers.
#pragma once

#include <array>
#include <cstdint>

#include "meshsim/topology.h"

namespace meshsim {

// Cumulative bucket counts over kLatencyBoundsMs followed by +Inf, then _count and _sum.
struct LatencyHistogram {
  std::array<std::int64_t, kLatencyBoundsMs.size() + 1> cumulative{};
  std::int64_t count = 0;
  std::int64_t sum_ms = 0;

  LatencyHistogram& operator+=(const LatencyHistogram& other);
};

struct PairCounts {
  std::int64_t requests = 0;
  std::int64_t successes = 0;  // status 200, classification success
  std::int64_t failures = 0;   // status 500, classification failure
  LatencyHistogram success_latency;
  LatencyHistogram failure_latency;

  PairCounts& operator+=(const PairCounts& other);
};

// n(t) = floor(pair_rate * t).
std::int64_t RequestsAt(double pair_rate, double seconds);

// failures = floor(n * round(failure_ratio * 1e6) / 1e6), computed in integers.
std::int64_t FailuresOf(std::int64_t requests, double failure_ratio);

// count(le_i) = floor(n * cumulative_ppm_i / 1e6), +Inf = n. _sum adds, for each request in
// bucket (lo, hi], the integer lo + (hi - lo + 1) / 2 (1 for the first bucket): a fixed
// representative value, so _sum / _count is the mean of those representatives.
LatencyHistogram HistogramOf(
    std::int64_t requests, const std::array<std::int64_t, kLatencyBoundsMs.size()>& cumulative_ppm);

// The representative latency used for _sum of bucket index b (0-based over kLatencyBoundsMs).
std::int64_t BucketRepresentativeMs(std::size_t b);

// Everything one (client pod, server pod) pair of the call has done after `seconds`.
// Client (outbound) and server (inbound) sides see identical counts and latencies.
PairCounts PairCountsAt(const Topology& topo, const Call& call, double seconds);

// The constant counters of one pod of an idle workload: idle_requests requests, 5% (rounded
// down) failures, latencies half in (4, 5] ms and half in (5, 10] ms.
PairCounts IdleCounts(const Workload& workload);

}  // namespace meshsim
