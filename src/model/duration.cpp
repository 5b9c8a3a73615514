#include "model/duration.h"

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

namespace smi::model {
namespace {

using Nanos = __int128;  // wide enough that no sum of in-range terms overflows before we check

constexpr Nanos kNanosPerMilli = 1'000'000;
constexpr Nanos kNanosPerSecond = 1'000'000'000;
constexpr Nanos kNanosPerDay = 86'400 * kNanosPerSecond;
// A window is sent back as a Go time.Duration (metav1.Duration), which is int64 nanoseconds;
// anything longer (about 292 years) could not be echoed, so it is rejected as out of range.
constexpr Nanos kMaxNanos = std::numeric_limits<int64_t>::max();

// Units of both grammars: Go's (ns us µs μs ms s m h) and Prometheus' (ms s m h d w y, y = 365d).
// Mixing them ("1d12h") is accepted; neither grammar gives such a string another meaning.
Nanos UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") return 1'000;
  if (unit == "ms") return kNanosPerMilli;
  if (unit == "s") return kNanosPerSecond;
  if (unit == "m") return 60 * kNanosPerSecond;
  if (unit == "h") return 3'600 * kNanosPerSecond;
  if (unit == "d") return kNanosPerDay;
  if (unit == "w") return 7 * kNanosPerDay;
  if (unit == "y") return 365 * kNanosPerDay;
  return 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

constexpr std::string_view kExpected =
    "expected numbers with units (ns, us, ms, s, m, h, d, w, y), e.g. \"30s\", \"1m15s\", \"5m\"";

bool Fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

// Parses the unsigned part, like Go's time.ParseDuration: a sequence of <digits>[.<digits>]<unit>.
// Fractions are computed exactly in integers (Go goes through float64 there), so "1.1s" is exactly
// 1100ms and the whole-millisecond check below never sees a rounding artefact.
bool ParseUnsigned(std::string_view text, std::string_view whole, Nanos* total,
                   std::string* error) {
  if (text == "0") {  // Go's special case: a bare zero needs no unit
    *total = 0;
    return true;
  }
  size_t i = 0;
  *total = 0;
  while (i < text.size()) {
    Nanos integer = 0;
    const size_t integer_start = i;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      integer = integer * 10 + (text[i] - '0');
      if (integer > kMaxNanos) return Fail(error, "duration " + Quoted(whole) + " is too long");
    }
    const bool has_integer = i > integer_start;

    Nanos fraction = 0;
    Nanos fraction_scale = 1;
    bool has_fraction = false;
    if (i < text.size() && text[i] == '.') {
      ++i;
      const size_t fraction_start = i;
      for (; i < text.size() && IsDigit(text[i]); ++i) {
        // Digits beyond nanosecond resolution of the largest unit cannot change a whole-millisecond
        // result unless they are zero; keep counting them so the check below still rejects them.
        if (fraction_scale <= kMaxNanos) {
          fraction = fraction * 10 + (text[i] - '0');
          fraction_scale *= 10;
        } else if (text[i] != '0') {
          return Fail(error,
                      "duration " + Quoted(whole) + " is not a whole number of milliseconds");
        }
      }
      has_fraction = i > fraction_start;
    }
    if (!has_integer && !has_fraction) {
      return Fail(error, "invalid duration " + Quoted(whole) + ": " + std::string(kExpected));
    }

    const size_t unit_start = i;
    for (; i < text.size() && text[i] != '.' && !IsDigit(text[i]); ++i) {
    }
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      return Fail(error,
                  "missing unit in duration " + Quoted(whole) + ": " + std::string(kExpected));
    }
    const Nanos unit_nanos = UnitNanos(unit);
    if (unit_nanos == 0) {
      return Fail(error, "unknown unit " + Quoted(unit) + " in duration " + Quoted(whole) + ": " +
                             std::string(kExpected));
    }

    const Nanos fraction_nanos_scaled = fraction * unit_nanos;  // fraction < 2^63, unit < 2^55
    if (fraction_nanos_scaled % fraction_scale != 0) {
      return Fail(error, "duration " + Quoted(whole) + " is not a whole number of milliseconds");
    }
    if (integer > kMaxNanos / unit_nanos) {
      return Fail(error, "duration " + Quoted(whole) + " is too long");
    }
    *total += integer * unit_nanos + fraction_nanos_scaled / fraction_scale;
    if (*total > kMaxNanos) return Fail(error, "duration " + Quoted(whole) + " is too long");
  }
  return true;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string* error) {
  if (text.empty()) {
    Fail(error, "empty duration: " + std::string(kExpected));
    return std::nullopt;
  }
  // Go accepts one leading sign. The rest is parsed first so that "--1s" is reported as garbage
  // and "-1s" as a negative window.
  std::string_view body = text;
  const bool negative = body.front() == '-';
  if (negative || body.front() == '+') body.remove_prefix(1);
  if (body.empty()) {
    Fail(error, "invalid duration " + Quoted(text) + ": " + std::string(kExpected));
    return std::nullopt;
  }
  Nanos total = 0;
  if (!ParseUnsigned(body, text, &total, error)) return std::nullopt;
  if (negative) {
    Fail(error, "negative duration " + Quoted(text) + " is not allowed");
    return std::nullopt;
  }
  if (total % kNanosPerMilli != 0) {
    Fail(error, "duration " + Quoted(text) + " is not a whole number of milliseconds");
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total / kNanosPerMilli));
}

// Go's time.Duration.String() restricted to whole milliseconds: below one second the value is
// printed in "ms"; from one second on as [<h>h][<m>m]<s>[.<fraction>]s, where minutes appear once
// there are hours ("1h0m0s") and the fraction drops trailing zeros ("2h45m30.25s").
std::string FormatGoDuration(std::chrono::milliseconds d) {
  const int64_t count = d.count();
  if (count == 0) return "0s";
  const bool negative = count < 0;
  // Through uint64 so that the most negative value has a magnitude.
  const uint64_t millis =
      negative ? ~static_cast<uint64_t>(count) + 1 : static_cast<uint64_t>(count);
  std::string sign = negative ? "-" : "";
  if (millis < 1000) return sign + std::to_string(millis) + "ms";

  const uint64_t total_seconds = millis / 1000;
  const uint64_t fraction_millis = millis % 1000;
  std::string seconds = std::to_string(total_seconds % 60);
  if (fraction_millis != 0) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, ".%03u", static_cast<unsigned>(fraction_millis));
    std::string fraction = buffer;
    while (fraction.back() == '0') fraction.pop_back();
    seconds += fraction;
  }
  std::string text = seconds + "s";
  const uint64_t total_minutes = total_seconds / 60;
  if (total_minutes > 0) {
    text = std::to_string(total_minutes % 60) + "m" + text;
    const uint64_t hours = total_minutes / 60;
    if (hours > 0) text = std::to_string(hours) + "h" + text;
  }
  return sign + text;
}

// PromQL range selectors accept one integer per unit; whole seconds read best as "75s", anything
// finer stays exact as milliseconds.
std::string FormatPromDuration(std::chrono::milliseconds d) {
  const int64_t count = d.count();
  if (count % 1000 == 0) return std::to_string(count / 1000) + "s";
  return std::to_string(count) + "ms";
}

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  // floor, not a cast: a cast truncates toward zero and would move pre-1970 times forward.
  const auto seconds = floor<std::chrono::seconds>(t);
  const auto days = floor<std::chrono::days>(seconds);
  const year_month_day date{days};
  const hh_mm_ss time_of_day{seconds - days};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time_of_day.hours().count()),
                static_cast<int>(time_of_day.minutes().count()),
                static_cast<int>(time_of_day.seconds().count()));
  return buffer;
}

}  // namespace smi::model
