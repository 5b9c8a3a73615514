// The server's own metrics about its queries to the metrics backend, kept in a prometheus-cpp
// registry that the caller owns (and serves at /metrics; docs/architecture.md, "The server's own
// metrics").
//
// clang-format off
//   smi_prometheus_queries_total{outcome}     each query a request needed, by how it was answered:
//                                               success, error  sent upstream by this request
//                                               coalesced       joined an identical query in flight
//                                               cached          answered from the result cache
//                                             so success + error = upstream queries sent.
//   smi_prometheus_query_errors_total{reason} upstream queries that failed, by cause
//                                             (ReasonLabel: unreachable, timeout, http_5xx, ...)
//   smi_prometheus_query_duration_seconds     latency of upstream queries (histogram), both
//                                             outcomes
//   smi_prometheus_query_warnings_total       upstream answers that carried warnings or infos
//                                             (partial responses among them)
//   smi_prometheus_wait_timeouts_total        coalesced waiters that gave up at their own
//                                             deadline before the shared query ended
//   smi_prometheus_queries_in_flight          upstream queries being answered now
// clang-format on
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace smi::sources {

enum class QueryOutcome { kSuccess, kError, kCoalesced, kCached };

class SourceMetrics {
 public:
  // Adds the families to `registry` (sharing them if another SourceMetrics added them already).
  explicit SourceMetrics(std::shared_ptr<::prometheus::Registry> registry);

  void Count(QueryOutcome outcome);
  void CountError(std::string_view reason);
  void ObserveLatency(double seconds);
  void CountWarnings();
  void CountWaitTimeout();
  ::prometheus::Gauge& in_flight() { return in_flight_; }

  const std::shared_ptr<::prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<::prometheus::Registry> registry_;
  ::prometheus::Family<::prometheus::Counter>& queries_;
  ::prometheus::Family<::prometheus::Counter>& errors_;
  ::prometheus::Counter& success_;
  ::prometheus::Counter& error_;
  ::prometheus::Counter& coalesced_;
  ::prometheus::Counter& cached_;
  ::prometheus::Histogram& latency_;
  ::prometheus::Counter& warnings_;
  ::prometheus::Counter& wait_timeouts_;
  ::prometheus::Gauge& in_flight_;
};

// The registry's metrics in the Prometheus text exposition format (version 0.0.4), for /metrics.
std::string SerializeMetrics(const ::prometheus::Registry& registry);

}  // namespace smi::sources
