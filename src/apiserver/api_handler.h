// The API's behaviour for one request: routing, parameters, errors, encoding. No sockets here.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "aggregation/traffic_metrics_service.h"
#include "apiserver/authorization.h"
#include "apiserver/health.h"
#include "apiserver/http_types.h"
#include "apiserver/negotiation.h"

namespace smi::apiserver {

class AnswerCache;

class ApiHandler {
 public:
  // `readiness`: the checks /readyz runs, in order (none: always ready).
  ApiHandler(aggregation::TrafficMetricsService& service, HealthChecks readiness = {});

  HttpResponse Handle(const HttpRequest& request) const;

  // What Handle answers, when it is a kept answer (set_answer_cache) to a metrics request that is
  // authorized without asking kube-apiserver; nullopt otherwise (then call Handle). Never waits on
  // anything: the server calls it on its event loop before handing a request to a worker.
  std::optional<HttpResponse> KeptAnswer(const HttpRequest& request) const;

  // The server's own metrics in the Prometheus text format, served at /metrics to authenticated
  // callers. Unset: /metrics is not served.
  void set_metrics_text(std::function<std::string()> metrics_text) {
    metrics_text_ = std::move(metrics_text);
  }
  // Decides who may do what, after /healthz, /livez, /readyz and /version (always open). Unset:
  // any authenticated caller may read (what the tests of the API itself use).
  void set_authorizer(const Authorizer* authorizer) { authorizer_ = authorizer; }
  // Keeps encoded metrics answers for requests that would get the same bytes (answer_cache.h).
  // Unset: every answer is computed. Not owned; must outlive the handler.
  void set_answer_cache(AnswerCache* answers) { answers_ = answers; }

 private:
  HttpResponse HandleTraffic(const HttpRequest& request, const struct Route& route,
                             Representation representation) const;
  // The encoded answer to a validated metrics request, computed on `basis`, with the source's
  // warnings as Warning headers.
  HttpResponse Answer(const struct Route& route, const aggregation::MetricsQuery& query,
                      Representation representation, const struct TableOptions& table,
                      aggregation::AnswerBasis& basis) const;
  // Answer's body and status.
  HttpResponse Compute(const struct Route& route, const aggregation::MetricsQuery& query,
                       Representation representation, const struct TableOptions& table,
                       aggregation::AnswerBasis& basis) const;

  HttpResponse CoreNamespace(const struct Route& route) const;

  aggregation::TrafficMetricsService& service_;
  HealthChecks readiness_;
  std::function<std::string()> metrics_text_;
  const Authorizer* authorizer_ = nullptr;
  AnswerCache* answers_ = nullptr;
};

// The window a request asks for (`?window=`, or `?t=` as the reference server named it),
// docs/decisions.md, decision 4. Returns the default when neither is given; throws
// std::invalid_argument with the message the user reads.
std::chrono::milliseconds WindowParam(const HttpRequest& request,
                                      std::chrono::milliseconds default_window);

}  // namespace smi::apiserver
