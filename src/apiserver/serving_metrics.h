// The serving metrics every apiserver exports, in a prometheus-cpp registry the wiring owns and
// serves at /metrics: requests by verb, resource and code, their latency, requests in flight,
// open connections, and connections closed by each limit or by the peer.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace smi::apiserver {

class ServingMetrics {
 public:
  // Null: nothing is recorded.
  explicit ServingMetrics(prometheus::Registry* registry);

  // One answered request. The verb and resource are those authorization sees (RequestInfo);
  // resources the API does not serve are counted under "other", so that a client cannot grow the
  // label set.
  void Request(std::string_view method, std::string_view path,
               const std::multimap<std::string, std::string>& params, int code, double seconds);
  void InFlight(int delta);
  void ConnectionsOpen(int delta);
  // Connections waiting for their next request (the first the connection cap closes).
  void ConnectionsIdle(int delta);
  // "handshake_timeout", "header_timeout", "idle_timeout", "write_timeout", "header_too_large",
  // "body_too_large", "over_capacity" (closed to make room), "refused" (cap reached, none idle),
  // "tls_error", "client_closed", "server_stopped".
  void ConnectionClosed(std::string_view reason);
  // A reloadable file set ("serving certificate", "client CA") read again after it changed.
  void Reload(const std::string& what, bool applied);

 private:
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* latency_ = nullptr;
  prometheus::Gauge* in_flight_ = nullptr;
  prometheus::Gauge* open_ = nullptr;
  prometheus::Gauge* idle_ = nullptr;
  prometheus::Family<prometheus::Counter>* closed_ = nullptr;
  prometheus::Family<prometheus::Counter>* reloads_ = nullptr;

  // The request series of each (verb, resource, code) seen, so that a request finds its counter
  // and histogram without building label sets (the families' own lookup) every time.
  struct RequestSeries {
    prometheus::Counter* count;
    prometheus::Histogram* latency;
  };
  std::mutex series_mu_;
  std::map<std::tuple<std::string, std::string, int>, RequestSeries, std::less<>> series_;
};

}  // namespace smi::apiserver
