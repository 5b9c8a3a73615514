// What `kubectl traffic` reads from a TrafficMetrics object of the API (metrics.smi-spec.io), and
// how it shows the numbers. The plugin is a client of the public API: it reads the wire JSON of any
// server that implements the spec, never the server's own types.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace smi::plugin {

// The answer is not the TrafficMetrics the spec describes (a missing field, a value that is not a
// quantity); the message says what and where.
class MalformedAnswer : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An ObjectReference as the API sends it; any part may be empty (a peer the mesh could not name).
struct ObjectRef {
  std::string kind, ns, name;
  friend bool operator==(const ObjectRef&, const ObjectRef&) = default;
  friend auto operator<=>(const ObjectRef&, const ObjectRef&) = default;
};

// One TrafficMetrics object: a resource, optionally an edge, and its five metrics.
struct TrafficReading {
  ObjectRef resource;
  // The edge: direction "to"/"from", the side that measured ("client"/"server"; empty when the
  // server does not say, as smi-sdk-go's v1alpha1 does not), the peer (nullopt: all traffic).
  std::string direction, side;
  std::optional<ObjectRef> peer;
  double success = 0, failure = 0;
  std::optional<double> p50, p90, p99;  // seconds; nullopt when the window had no requests
  std::chrono::milliseconds window{0};
  std::string timestamp;  // as the server wrote it (RFC 3339)

  double requests() const { return success + failure; }
  // Requests per second over the window; 0 without requests.
  double rps() const;
  // success / requests, or nullopt without requests.
  std::optional<double> success_rate() const;
};

// A Kubernetes quantity ("73492m", "1k", "604255n", "1.5", "2Mi", "1e3") as a number. Throws
// MalformedAnswer for anything else.
double ParseQuantity(std::string_view text);

// Reads one TrafficMetrics object. Metric values may be quantity strings or JSON numbers (the
// spec's YAML examples show both); a latency's unit must be seconds or ms (smi-sdk-go's unit).
// Throws MalformedAnswer.
TrafficReading ReadTrafficMetrics(const nlohmann::json& object);
// Reads a TrafficMetricsList's items. Throws MalformedAnswer.
std::vector<TrafficReading> ReadTrafficMetricsList(const nlohmann::json& list);

// Cell formats, the same as the server's `kubectl get trafficmetrics` table uses; "-" for a window
// without requests (never 0 ms, never NaN).
std::string FormatSuccessRate(const TrafficReading& r);    // 98.67%
std::string FormatRps(const TrafficReading& r);            // 10.0rps
std::string FormatLatency(std::optional<double> seconds);  // 15ms, 2.5ms, 0.25ms, 1.50s
std::string FormatCount(double count);                     // 1500 (rounded)
// "30s", "1m0s": Go's duration form, as the API writes windows.
std::string FormatWindow(std::chrono::milliseconds window);

// How a success rate reads at a glance, for colours.
enum class Health { kIdle, kGood, kDegraded, kFailing };
// kGood from 99%, kDegraded from 95%, kFailing below; kIdle without requests.
Health HealthOf(const TrafficReading& r);

// "deployment/emojivoto/web": the peer of an edge as the plugin prints it (lower-case kind, then
// namespace, then name), leaving out the parts the server left empty; "*" for all traffic.
std::string DescribePeer(const std::optional<ObjectRef>& peer);

}  // namespace smi::plugin
