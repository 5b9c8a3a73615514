#include "plugin/readings.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "model/duration.h"

namespace smi::plugin {

namespace {

using nlohmann::json;

std::string Printf(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The multiplier of a quantity's suffix, or 0 when it is none.
double SuffixMultiplier(std::string_view suffix) {
  struct Suffix {
    std::string_view text;
    double multiplier;
  };
  static constexpr Suffix kSuffixes[] = {
      {"", 1},        {"n", 1e-9},    {"u", 1e-6},    {"m", 1e-3},
      {"k", 1e3},     {"M", 1e6},     {"G", 1e9},     {"T", 1e12},
      {"P", 1e15},    {"E", 1e18},    {"Ki", 1024.0}, {"Mi", 1048576.0},
      {"Gi", 0x1p30}, {"Ti", 0x1p40}, {"Pi", 0x1p50}, {"Ei", 0x1p60}};
  for (const auto& s : kSuffixes) {
    if (s.text == suffix) return s.multiplier;
  }
  return 0;
}

std::string Str(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (!it->is_string()) {
    throw MalformedAnswer(std::string("\"") + key + "\" is not a string: " + it->dump());
  }
  return it->get<std::string>();
}

std::optional<ObjectRef> ReadRef(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) {
    throw MalformedAnswer(std::string("\"") + key + "\" is not an object: " + it->dump());
  }
  ObjectRef ref{Str(*it, "kind"), Str(*it, "namespace"), Str(*it, "name")};
  if (ref.kind.empty() && ref.ns.empty() && ref.name.empty()) return std::nullopt;  // {}: all
  return ref;
}

double MetricNumber(const json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) return ParseQuantity(value.get<std::string>());
  throw MalformedAnswer("a metric value is neither a quantity nor a number: " + value.dump());
}

}  // namespace

double TrafficReading::rps() const {
  if (!(requests() > 0) || window.count() <= 0) return 0;
  return requests() * 1000.0 / static_cast<double>(window.count());
}

std::optional<double> TrafficReading::success_rate() const {
  if (!(requests() > 0)) return std::nullopt;
  return success / requests();
}

double ParseQuantity(std::string_view text) {
  std::string quoted = "\"";
  quoted.append(text).push_back('"');
  size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  bool digits = false;
  while (i < text.size() && IsDigit(text[i])) ++i, digits = true;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && IsDigit(text[i])) ++i, digits = true;
  }
  if (!digits) throw MalformedAnswer("not a quantity: " + quoted);
  const std::string number(text.substr(0, i));
  std::string_view suffix = text.substr(i);
  double multiplier = 0;
  if (!suffix.empty() && (suffix[0] == 'e' || suffix[0] == 'E') && suffix.size() > 1) {
    // Exponent form: 1e3, 5E-3.
    size_t j = 1;
    if (suffix[j] == '+' || suffix[j] == '-') ++j;
    const size_t exp_start = j;
    while (j < suffix.size() && IsDigit(suffix[j])) ++j;
    if (j == exp_start || j != suffix.size()) throw MalformedAnswer("not a quantity: " + quoted);
    multiplier = std::pow(10.0, std::atof(std::string(suffix.substr(1)).c_str()));
  } else {
    multiplier = SuffixMultiplier(suffix);
    if (multiplier == 0) throw MalformedAnswer("not a quantity: " + quoted);
  }
  const double value = std::strtod(number.c_str(), nullptr) * multiplier;
  if (!std::isfinite(value)) throw MalformedAnswer("not a quantity: " + quoted);
  return value;
}

TrafficReading ReadTrafficMetrics(const json& object) {
  if (!object.is_object()) throw MalformedAnswer("a TrafficMetrics is not an object");
  const std::string kind = Str(object, "kind");
  if (!kind.empty() && kind != "TrafficMetrics") {
    throw MalformedAnswer("expected a TrafficMetrics, got kind " + kind);
  }
  TrafficReading r;
  const auto resource = ReadRef(object, "resource");
  if (!resource) throw MalformedAnswer("a TrafficMetrics has no resource");
  r.resource = *resource;
  if (const auto edge = object.find("edge"); edge != object.end() && !edge->is_null()) {
    if (!edge->is_object()) throw MalformedAnswer("\"edge\" is not an object");
    r.direction = Str(*edge, "direction");
    r.side = Str(*edge, "side");
    r.peer = ReadRef(*edge, "resource");
  }
  r.timestamp = Str(object, "timestamp");
  const std::string window = Str(object, "window");
  if (!window.empty()) {
    std::string error;
    const auto parsed = model::ParseDuration(window, &error);
    if (!parsed) throw MalformedAnswer("the window " + window + " is not a duration: " + error);
    r.window = *parsed;
  }
  const auto metrics = object.find("metrics");
  if (metrics == object.end() || !metrics->is_array()) {
    throw MalformedAnswer("a TrafficMetrics has no metrics list");
  }
  for (const auto& m : *metrics) {
    if (!m.is_object() || !m.contains("value")) {
      throw MalformedAnswer("a metric has no value: " + m.dump());
    }
    const std::string name = Str(m, "name");
    const double value = MetricNumber(m.at("value"));
    if (name == "success_count") {
      r.success = value;
    } else if (name == "failure_count") {
      r.failure = value;
    } else if (name == "p50_response_latency" || name == "p90_response_latency" ||
               name == "p99_response_latency") {
      const std::string unit = base::Lower(Str(m, "unit"));
      double seconds = value;
      if (unit == "ms" || unit == "milliseconds") {
        seconds = value / 1000.0;
      } else if (!unit.empty() && unit != "seconds" && unit != "s") {
        throw MalformedAnswer("the latency " + name + " has the unknown unit \"" + unit + "\"");
      }
      if (name == "p50_response_latency") {
        r.p50 = seconds;
      } else if (name == "p90_response_latency") {
        r.p90 = seconds;
      } else {
        r.p99 = seconds;
      }
    }
    // Other metrics (none in the spec today) are not shown.
  }
  return r;
}

std::vector<TrafficReading> ReadTrafficMetricsList(const json& list) {
  if (!list.is_object()) throw MalformedAnswer("a TrafficMetricsList is not an object");
  const std::string kind = Str(list, "kind");
  if (!kind.empty() && kind != "TrafficMetricsList") {
    throw MalformedAnswer("expected a TrafficMetricsList, got kind " + kind);
  }
  std::vector<TrafficReading> out;
  const auto items = list.find("items");
  if (items == list.end() || items->is_null()) return out;
  if (!items->is_array()) throw MalformedAnswer("\"items\" is not a list");
  for (const auto& item : *items) out.push_back(ReadTrafficMetrics(item));
  return out;
}

std::string FormatSuccessRate(const TrafficReading& r) {
  const auto rate = r.success_rate();
  if (!rate) return "-";
  return Printf("%.2f%%", 100.0 * *rate);
}

std::string FormatRps(const TrafficReading& r) {
  if (!(r.requests() > 0) || r.window.count() <= 0) return "-";
  return Printf("%.1frps", r.rps());
}

std::string FormatLatency(std::optional<double> seconds) {
  if (!seconds || !std::isfinite(*seconds)) return "-";
  const double ms = *seconds * 1000.0;
  if (ms >= 9999.5) return Printf("%.2fs", *seconds);
  if (ms >= 9.95) return Printf("%.0fms", ms);
  if (ms >= 0.995) return Printf("%.1fms", ms);
  return Printf("%.2fms", ms);
}

std::string FormatCount(double count) { return Printf("%.0f", std::round(count)); }

std::string FormatWindow(std::chrono::milliseconds window) {
  return model::FormatGoDuration(window);
}

Health HealthOf(const TrafficReading& r) {
  const auto rate = r.success_rate();
  if (!rate) return Health::kIdle;
  if (*rate >= 0.99) return Health::kGood;
  if (*rate >= 0.95) return Health::kDegraded;
  return Health::kFailing;
}

std::string DescribePeer(const std::optional<ObjectRef>& peer) {
  if (!peer) return "*";
  std::string out;
  for (const std::string& part : {base::Lower(peer->kind), peer->ns, peer->name}) {
    if (part.empty()) continue;
    if (!out.empty()) out += "/";
    out += part;
  }
  return out.empty() ? "*" : out;
}

}  // namespace smi::plugin
