#include "sources/source_metrics.h"

#include <sstream>

#include <prometheus/text_serializer.h>

namespace smi::sources {
namespace {

using ::prometheus::BuildCounter;
using ::prometheus::BuildGauge;
using ::prometheus::BuildHistogram;

// Upstream query latency: from a cached-in-Prometheus 1ms answer to the default 30s timeout.
const ::prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

}  // namespace

SourceMetrics::SourceMetrics(std::shared_ptr<::prometheus::Registry> registry)
    : registry_(registry ? std::move(registry) : std::make_shared<::prometheus::Registry>()),
      queries_(BuildCounter()
                   .Name("smi_prometheus_queries_total")
                   .Help("Queries requests needed, by how they were answered: success and error "
                         "were sent to the backend, coalesced joined an identical query in "
                         "flight, cached came from the result cache.")
                   .Register(*registry_)),
      errors_(BuildCounter()
                  .Name("smi_prometheus_query_errors_total")
                  .Help("Queries sent to the backend that failed, by cause.")
                  .Register(*registry_)),
      success_(queries_.Add({{"outcome", "success"}})),
      error_(queries_.Add({{"outcome", "error"}})),
      coalesced_(queries_.Add({{"outcome", "coalesced"}})),
      cached_(queries_.Add({{"outcome", "cached"}})),
      latency_(BuildHistogram()
                   .Name("smi_prometheus_query_duration_seconds")
                   .Help("Time the backend took to answer a query (or to fail), in seconds.")
                   .Register(*registry_)
                   .Add({}, kLatencyBuckets)),
      warnings_(BuildCounter()
                    .Name("smi_prometheus_query_warnings_total")
                    .Help("Backend answers that carried warnings or infos (partial responses "
                          "among them).")
                    .Register(*registry_)
                    .Add({})),
      wait_timeouts_(BuildCounter()
                         .Name("smi_prometheus_wait_timeouts_total")
                         .Help("Requests that gave up waiting for an identical query in flight "
                               "at their own deadline.")
                         .Register(*registry_)
                         .Add({})),
      in_flight_(BuildGauge()
                     .Name("smi_prometheus_queries_in_flight")
                     .Help("Queries being answered by the backend now.")
                     .Register(*registry_)
                     .Add({})) {}

void SourceMetrics::Count(QueryOutcome outcome) {
  switch (outcome) {
    case QueryOutcome::kSuccess:
      success_.Increment();
      break;
    case QueryOutcome::kError:
      error_.Increment();
      break;
    case QueryOutcome::kCoalesced:
      coalesced_.Increment();
      break;
    case QueryOutcome::kCached:
      cached_.Increment();
      break;
  }
}

void SourceMetrics::CountError(std::string_view reason) {
  errors_.Add({{"reason", std::string(reason)}}).Increment();
}

void SourceMetrics::ObserveLatency(double seconds) { latency_.Observe(seconds); }
void SourceMetrics::CountWarnings() { warnings_.Increment(); }
void SourceMetrics::CountWaitTimeout() { wait_timeouts_.Increment(); }

std::string SerializeMetrics(const ::prometheus::Registry& registry) {
  std::ostringstream out;
  ::prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

}  // namespace smi::sources
