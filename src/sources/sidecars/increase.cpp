#include "sources/sidecars/increase.h"

namespace smi::sources::sidecars {

// Prometheus 2.42's extrapolatedRate (promql/functions.go) for a counter, not as a rate: the same
// arithmetic in the same order, so that the results agree to the last bit.
//
// Two details differ from Prometheus 2.51 and later, and this follows 2.42 (the version the
// end-to-end tests run): the zero-point limit is applied to durationToStart before it is compared
// with the extrapolation threshold (later versions first cap it at half an interval), and the
// range includes its start (3.x ranges are left-open; that is the caller's selection).
std::optional<double> Increase(const std::vector<Sample>& samples, int64_t range_start_ms,
                               int64_t range_end_ms) {
  if (samples.size() < 2) return std::nullopt;
  const Sample& first = samples.front();
  const Sample& last = samples.back();
  if (last.t_ms <= first.t_ms) return std::nullopt;  // not a series of a store; no rate either

  double result = last.value - first.value;
  double previous = first.value;
  for (size_t i = 1; i < samples.size(); ++i) {
    // A decrease is a counter reset: the counter restarted from zero.
    if (samples[i].value < previous) result += previous;
    previous = samples[i].value;
  }

  double duration_to_start = static_cast<double>(first.t_ms - range_start_ms) / 1000;
  const double duration_to_end = static_cast<double>(range_end_ms - last.t_ms) / 1000;
  const double sampled_interval = static_cast<double>(last.t_ms - first.t_ms) / 1000;
  const double average_between_samples = sampled_interval / static_cast<double>(samples.size() - 1);

  if (result > 0 && first.value >= 0) {
    // A counter cannot go below zero: extrapolate no further back than where it would be zero.
    const double duration_to_zero = sampled_interval * (first.value / result);
    if (duration_to_zero < duration_to_start) duration_to_start = duration_to_zero;
  }

  // Extrapolate to a range edge when the first/last sample is close to it (within 1.1 average
  // intervals); otherwise by half an interval only, as a series that starts or ends inside the
  // range would.
  const double threshold = average_between_samples * 1.1;
  double extrapolate_to = sampled_interval;
  extrapolate_to += duration_to_start < threshold ? duration_to_start : average_between_samples / 2;
  extrapolate_to += duration_to_end < threshold ? duration_to_end : average_between_samples / 2;
  return result * (extrapolate_to / sampled_interval);
}

}  // namespace smi::sources::sidecars
