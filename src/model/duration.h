// Time windows: parsing user input and printing Go duration strings.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace smi::model {

// Parses a duration in Go form ("30s", "1m15s", "1.5h", "300ms", "2h45m") or Prometheus form
// ("30s", "5m", "1h30m", "2d", "1w", "1y"). Returns nullopt with `error` set on garbage, negative
// values or overflow. Sub-millisecond precision is rejected.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string* error);

// Go's time.Duration.String(): "30s", "1m0s", "1m15s", "1h0m0s", "1.5s", "500ms", "0s".
std::string FormatGoDuration(std::chrono::milliseconds d);

// Prometheus range selector form without fractions: "30s", "75s", "1500ms" (for PromQL).
std::string FormatPromDuration(std::chrono::milliseconds d);

// RFC 3339 in UTC at whole-second precision: "2019-04-08T22:25:55Z".
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

}  // namespace smi::model
