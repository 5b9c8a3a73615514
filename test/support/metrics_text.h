// Reading one sample out of a Prometheus text exposition (what /metrics serves), for tests.
#pragma once

#include <charconv>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace smi::test_support {

// The value of the counter or gauge sample whose name and labels are exactly `series`
// (`smi_prometheus_queries_total{outcome="success"}`, labels as the serializer writes them), or
// nullopt when the exposition has no such sample.
inline std::optional<double> FindSample(std::string_view text, std::string_view series) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      std::string_view value = line.substr(series.size() + 1);
      if (const size_t space = value.find(' '); space != std::string_view::npos) {
        value = value.substr(0, space);  // a timestamp follows
      }
      double v = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec == std::errc()) return v;
    }
  }
  return std::nullopt;
}

// FindSample's value; a series that is not there fails the test (and reads NaN, so that no
// comparison with it holds) instead of passing for 0: a misspelt name must not look like an idle
// counter. Assert absence with FindSample(...) == std::nullopt.
inline double ScrapeValue(std::string_view text, std::string_view series) {
  if (const auto v = FindSample(text, series)) return *v;
  ADD_FAILURE() << "no sample " << series << " in the exposition";
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace smi::test_support
