#include "meshsim/traffic.h"

#include <cmath>

namespace meshsim {

LatencyHistogram& LatencyHistogram::operator+=(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < cumulative.size(); ++i) cumulative[i] += other.cumulative[i];
  count += other.count;
  sum_ms += other.sum_ms;
  return *this;
}

PairCounts& PairCounts::operator+=(const PairCounts& other) {
  requests += other.requests;
  successes += other.successes;
  failures += other.failures;
  success_latency += other.success_latency;
  failure_latency += other.failure_latency;
  return *this;
}

std::int64_t RequestsAt(double pair_rate, double seconds) {
  if (seconds <= 0 || pair_rate <= 0) return 0;
  return static_cast<std::int64_t>(std::floor(pair_rate * seconds));
}

std::int64_t FailuresOf(std::int64_t requests, double failure_ratio) {
  const std::int64_t ppm = std::llround(failure_ratio * static_cast<double>(kPpm));
  return requests * ppm / kPpm;
}

std::int64_t BucketRepresentativeMs(std::size_t b) {
  const std::int64_t hi = kLatencyBoundsMs[b];
  const std::int64_t lo = b == 0 ? 0 : kLatencyBoundsMs[b - 1];
  return lo + (hi - lo + 1) / 2;
}

LatencyHistogram HistogramOf(
    std::int64_t requests,
    const std::array<std::int64_t, kLatencyBoundsMs.size()>& cumulative_ppm) {
  LatencyHistogram h;
  std::int64_t previous = 0;
  for (std::size_t b = 0; b < kLatencyBoundsMs.size(); ++b) {
    const std::int64_t c = requests * cumulative_ppm[b] / kPpm;
    h.cumulative[b] = c;
    h.sum_ms += (c - previous) * BucketRepresentativeMs(b);
    previous = c;
  }
  h.cumulative.back() = requests;
  h.count = requests;
  return h;
}

PairCounts PairCountsAt(const Topology& topo, const Call& call, double seconds) {
  PairCounts counts;
  counts.requests = RequestsAt(topo.PairRate(call), seconds);
  counts.failures = FailuresOf(counts.requests, call.failure_ratio);
  counts.successes = counts.requests - counts.failures;
  counts.success_latency = HistogramOf(counts.successes, call.cumulative_ppm);
  counts.failure_latency = HistogramOf(counts.failures, call.cumulative_ppm);
  return counts;
}

PairCounts IdleCounts(const Workload& workload) {
  std::array<std::int64_t, kLatencyBoundsMs.size()> cumulative_ppm{};
  for (std::size_t b = 0; b < kLatencyBoundsMs.size(); ++b) {
    cumulative_ppm[b] = kLatencyBoundsMs[b] < 5 ? 0 : kLatencyBoundsMs[b] == 5 ? kPpm / 2 : kPpm;
  }
  PairCounts counts;
  counts.requests = workload.idle_requests;
  counts.failures = counts.requests / 20;
  counts.successes = counts.requests - counts.failures;
  counts.success_latency = HistogramOf(counts.successes, cumulative_ppm);
  counts.failure_latency = HistogramOf(counts.failures, cumulative_ppm);
  return counts;
}

}  // namespace meshsim
