#include "apiserver/serving_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "apiserver/request_info.h"
#include "apiserver/router.h"
#include "model/traffic_metrics.h"

namespace smi::apiserver {
namespace {

bool IsServedResource(const std::string& resource) {
  return resource == kTrafficMetricsResource || resource == kTrafficSplitsResource ||
         model::KindFromPlural(resource).has_value();
}

bool IsKnownVerb(const std::string& verb) {
  for (const char* v : {"get", "list", "watch", "create", "update", "patch", "delete",
                        "deletecollection", "head", "post", "put", "options"}) {
    if (verb == v) return true;
  }
  return false;
}

}  // namespace

ServingMetrics::ServingMetrics(prometheus::Registry* registry) {
  if (!registry) return;
  requests_ = &prometheus::BuildCounter()
                   .Name("apiserver_request_total")
                   .Help("Requests answered, by verb, resource and HTTP status code")
                   .Register(*registry);
  latency_ = &prometheus::BuildHistogram()
                  .Name("apiserver_request_duration_seconds")
                  .Help("Time from the request's header to its answer, by verb and resource")
                  .Register(*registry);
  in_flight_ = &prometheus::BuildGauge()
                    .Name("apiserver_current_inflight_requests")
                    .Help("Requests being answered now")
                    .Register(*registry)
                    .Add({});
  open_ = &prometheus::BuildGauge()
               .Name("smi_serving_open_connections")
               .Help("Client connections open now")
               .Register(*registry)
               .Add({});
  idle_ = &prometheus::BuildGauge()
               .Name("smi_serving_idle_connections")
               .Help("Client connections waiting for their next request")
               .Register(*registry)
               .Add({});
  closed_ = &prometheus::BuildCounter()
                 .Name("smi_serving_connections_closed_total")
                 .Help("Client connections closed, by reason (a limit, the client, the server)")
                 .Register(*registry);
  reloads_ = &prometheus::BuildCounter()
                  .Name("smi_serving_file_reloads_total")
                  .Help("Changed certificate and CA files read again, by file and outcome")
                  .Register(*registry);
}

void ServingMetrics::Request(std::string_view method, std::string_view path,
                             const std::multimap<std::string, std::string>& params, int code,
                             double seconds) {
  if (!requests_) return;
  const RequestInfo info = NewRequestInfo(method, path, params);
  const std::string verb = IsKnownVerb(info.verb) ? info.verb : "other";
  std::string resource;
  if (info.is_resource_request) {
    resource = IsServedResource(info.resource) ? info.resource : "other";
  }
  RequestSeries series{};
  {
    std::lock_guard lock(series_mu_);
    auto it = series_.find(std::forward_as_tuple(verb, resource, code));
    if (it == series_.end()) {
      static const prometheus::Histogram::BucketBoundaries kBuckets = {
          0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
      RequestSeries added{
          &requests_->Add({{"verb", verb}, {"resource", resource}, {"code", std::to_string(code)}}),
          &latency_->Add({{"verb", verb}, {"resource", resource}}, kBuckets)};
      it = series_.emplace(std::make_tuple(verb, resource, code), added).first;
    }
    series = it->second;
  }
  series.count->Increment();
  series.latency->Observe(seconds);
}

void ServingMetrics::InFlight(int delta) {
  if (in_flight_) in_flight_->Increment(delta);
}

void ServingMetrics::ConnectionsOpen(int delta) {
  if (open_) open_->Increment(delta);
}

void ServingMetrics::ConnectionsIdle(int delta) {
  if (idle_) idle_->Increment(delta);
}

void ServingMetrics::ConnectionClosed(std::string_view reason) {
  if (closed_) closed_->Add({{"reason", std::string(reason)}}).Increment();
}

void ServingMetrics::Reload(const std::string& what, bool applied) {
  if (reloads_)
    reloads_->Add({{"file", what}, {"outcome", applied ? "applied" : "refused"}}).Increment();
}

}  // namespace smi::apiserver
