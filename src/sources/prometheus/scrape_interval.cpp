#include "sources/prometheus/scrape_interval.h"

#include <cmath>
#include <stdexcept>

#include "sources/prometheus/promql_escape.h"

namespace smi::sources::prometheus {

std::string ScrapeIntervalQuery(const MeshProfile& profile) {
  const auto& spec = profile.spec();
  if (spec.existence.empty()) {
    throw std::invalid_argument("mesh profile " + spec.name + " has no existence source");
  }
  const ExistenceSource& source = spec.existence.front();
  std::string selector;
  for (const Matcher& m : source.selector) {
    std::string value = m.value;
    if (!m.param.empty()) {
      const auto it = spec.parameters.find(m.param);
      value = it == spec.parameters.end() ? "" : it->second;
    }
    if (!selector.empty()) selector += ",";
    selector += m.label + m.op + "\"" + EscapeLabelValue(value) + "\"";
  }
  const std::string series = source.metric + "{" + selector + "}";
  const std::string lookback = std::to_string(kScrapeIntervalLookback.count()) + "m";
  return "max(count_over_time(" + series + "[" + lookback + "]) and " + series + " offset " +
         lookback + ")";
}

std::optional<std::chrono::milliseconds> ScrapeIntervalFromAnswer(
    const std::vector<VectorSample>& samples) {
  if (samples.empty()) return std::nullopt;
  const double n = samples.front().value;
  if (!std::isfinite(n) || n < 2) return std::nullopt;
  const double ms =
      std::chrono::duration<double, std::milli>(kScrapeIntervalLookback).count() / (n - 1);
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(ms)));
}

}  // namespace smi::sources::prometheus
