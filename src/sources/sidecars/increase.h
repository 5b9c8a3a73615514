// PromQL's increase() over the samples of one series in a range: Prometheus' extrapolatedRate
// for counters, exactly (counter resets, extrapolation to the range edges limited by the
// average sample interval and by the counter's zero point).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sources/sidecars/series_store.h"

namespace smi::sources::sidecars {

// increase(series[range]) evaluated at `range_end_ms`, with range_start_ms = range_end_ms - range,
// given the series' samples in the range (SeriesStore::Select), oldest first.
// nullopt with fewer than two samples (Prometheus returns no element then).
std::optional<double> Increase(const std::vector<Sample>& samples, int64_t range_start_ms,
                               int64_t range_end_ms);

}  // namespace smi::sources::sidecars
