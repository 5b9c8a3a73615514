#include "apiserver/api_handler.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "apiserver/answer_cache.h"
#include "apiserver/discovery.h"
#include "apiserver/negotiation.h"
#include "apiserver/openapi.h"
#include "apiserver/router.h"
#include "apiserver/status.h"
#include "apiserver/table.h"
#include "apiserver/warnings.h"
#include "base/overloaded.h"
#include "base/strings.h"
#include "kube/cluster_state.h"
#include "model/duration.h"
#include "model/go_quote.h"

namespace smi::apiserver {

namespace {

bool IsApiEndpoint(Endpoint e) {
  return e == Endpoint::kGet || e == Endpoint::kList || e == Endpoint::kEdges;
}

HttpResponse Json(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

// Invalid UTF-8 a request brought in (a field selector's value echoed in a list) becomes U+FFFD,
// as Go's encoding/json writes it, instead of failing the answer.
HttpResponse Json(const nlohmann::json& body) {
  return Json(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse PlainText(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8") {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

// Whether `If-None-Match` names `etag` (a single tag or a comma-separated list, or *).
bool EtagMatches(const HttpRequest& request, const std::string& etag) {
  const std::string header = request.Header("if-none-match");
  if (header.empty()) return false;
  std::stringstream in(header);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::string tag = base::Trim(item);
    if (tag == "*") return true;
    if (tag.rfind("W/", 0) == 0) tag = tag.substr(2);
    if (tag == etag) return true;
  }
  return false;
}

// A cacheable document: ETag, and 304 Not Modified when the client already has it.
HttpResponse WithEtag(const HttpRequest& request, HttpResponse r, const std::string& etag) {
  r.headers.emplace_back("ETag", etag);
  if (EtagMatches(request, etag)) {
    r.status = 304;
    r.body.clear();
  }
  return r;
}

// /apis, as the generic apiserver answers it (aggregated/wrapper.go, aggregated/etag.go).
HttpResponse Apis(const HttpRequest& request) {
  const auto format = NegotiateDiscovery(request.Header("accept"));
  if (!format) return NotAcceptable();
  if (*format == DiscoveryFormat::kLegacy) return Json(ApiGroupListJson());
  HttpResponse r = Json(AggregatedDiscoveryJson(*format == DiscoveryFormat::kAggregatedV2
                                                    ? "apidiscovery.k8s.io/v2"
                                                    : "apidiscovery.k8s.io/v2beta1"));
  r.content_type = DiscoveryContentType(*format);
  r.headers.emplace_back("Vary", "Accept");
  r.headers.emplace_back("Cache-Control", "public");
  const std::string etag = "\"" + Sha512Hex(r.body) + "\"";
  return WithEtag(request, std::move(r), etag);
}

std::string HttpDate(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// Whether the Accept header admits the JSON form of an OpenAPI document (kube-openapi offers
// application/json and protobuf; this server only JSON).
bool AcceptsOpenApiJson(const std::string& accept) {
  if (base::TrimView(accept).empty()) return true;
  for (const auto& m : ParseAccept(accept)) {
    if ((m.type == "application" || m.type == "*") && (m.subtype == "json" || m.subtype == "*")) {
      return true;
    }
  }
  return false;
}

// /openapi/v3/apis/<group>/<version>, as kube-openapi's handler3 serves it.
HttpResponse OpenApiV3Version(const HttpRequest& request, const std::string& version) {
  if (!AcceptsOpenApiJson(request.Header("accept"))) {
    return NotAcceptable();
  }
  const std::string hash = OpenApiV3Hash(version);
  HttpResponse r = Json(OpenApiV3VersionJson(version));
  if (const auto asked = request.Param("hash"); asked && !asked->empty()) {
    if (*asked != hash) {
      // A stale link: send the client to the current document.
      HttpResponse moved;
      moved.status = 301;
      moved.content_type = "text/html; charset=utf-8";
      const std::string location =
          "/openapi/v3/apis/" + std::string(kGroup) + "/" + version + "?hash=" + hash;
      moved.headers.emplace_back("Location", location);
      moved.body = "<a href=\"" + location + "\">Moved Permanently</a>.\n";
      return moved;
    }
    r.headers.emplace_back("Vary", "Accept");
    r.headers.emplace_back("Cache-Control", "public, immutable");
    r.headers.emplace_back(
        "Expires", HttpDate(std::chrono::system_clock::now() + std::chrono::hours(24 * 365)));
  }
  return WithEtag(request, std::move(r), "\"" + hash + "\"");
}

// The resource name an error about this route names (`trafficmetrics`, `deployments`, ...).
std::string ResourceOf(const Route& route) {
  return std::visit(
      base::Overloaded{
          [](const KindResource& r) { return std::string(model::ResourcePlural(r.kind)); },
          [](const WorkloadsResource&) { return std::string(kTrafficMetricsResource); },
          [](const TrafficSplitsResource&) { return std::string(kTrafficSplitsResource); }},
      route.resource);
}

}  // namespace

std::chrono::milliseconds WindowParam(const HttpRequest& request,
                                      std::chrono::milliseconds default_window) {
  auto value = request.Param("window");
  if (!value) value = request.Param("t");
  if (!value) return default_window;
  std::string error;
  const auto window = model::ParseDuration(*value, &error);
  if (!window) {
    throw std::invalid_argument("invalid window " + model::GoQuote(*value) + ": " + error +
                                "; use a duration such as 30s, 5m or 1h");
  }
  return *window;
}

ApiHandler::ApiHandler(aggregation::TrafficMetricsService& service, HealthChecks readiness)
    : service_(service), readiness_(std::move(readiness)) {}

HttpResponse ApiHandler::Handle(const HttpRequest& request) const {
  const Route route = MatchRoute(request.path);
  const bool read = request.method == "GET" || request.method == "HEAD";

  // Health and version are open to everyone (kubelet probes, kubectl's version dispatcher).
  switch (route.endpoint) {
    case Endpoint::kHealthz:
    case Endpoint::kLivez:
      return PlainText(200, "ok");
    case Endpoint::kReadyz: {
      const HealthAnswer answer = ReadyzAnswer(readiness_, request.Param("verbose").has_value());
      return PlainText(answer.status, answer.body);
    }
    case Endpoint::kVersion:
      return Json(VersionJson());
    default:
      break;
  }

  // Everything else is authorized (docs/decisions.md, decision 12: SubjectAccessReview, or the
  // explicit local mode); without an authorizer, an authenticated identity is required. Fail
  // closed.
  if (authorizer_) {
    if (auto refused = authorizer_->Authorize(request)) return *refused;
  } else if (!request.identity || request.identity->user == "system:anonymous") {
    return Unauthorized();
  }

  if (route.endpoint == Endpoint::kNotFound) return NotFoundPath();
  if (!read) return MethodNotAllowed();

  switch (route.endpoint) {
    case Endpoint::kApis:
      return Apis(request);
    case Endpoint::kOpenApiV2:
      if (!AcceptsOpenApiJson(request.Header("accept"))) return NotAcceptable();
      return WithEtag(request, Json(OpenApiV2Json()), "\"" + Sha512Hex(OpenApiV2Json()) + "\"");
    case Endpoint::kOpenApiV3:
      return Json(OpenApiV3RootJson());
    case Endpoint::kOpenApiV3Version:
      return OpenApiV3Version(request, route.version);
    case Endpoint::kCoreNamespace:
      return CoreNamespace(route);
    case Endpoint::kMetrics:
      if (!metrics_text_) return NotFoundPath();
      return PlainText(200, metrics_text_(), "text/plain; version=0.0.4; charset=utf-8");
    default:
      break;
  }
  const auto representation = NegotiateObject(request.Header("accept"));
  if (!representation) return NotAcceptable();

  switch (route.endpoint) {
    case Endpoint::kApiGroup:
      return Json(ApiGroupJson());
    case Endpoint::kResourceList:
      return Json(ApiResourceListJson(route.version));
    default:
      break;
  }
  if (!IsApiEndpoint(route.endpoint)) return NotFoundPath();
  return HandleTraffic(request, route, *representation);
}

HttpResponse ApiHandler::CoreNamespace(const Route& route) const {
  // The core API's wording: `namespaces "x" not found`, no group.
  const auto not_found = [&] {
    return StatusResponse(404, "NotFound",
                          "namespaces " + model::GoQuote(route.name) + " not found",
                          {route.name, "", "namespaces"});
  };
  if (route.invalid_name) return not_found();
  aggregation::MetricsQuery query;
  query.kind = model::ResourceKind::kNamespace;
  query.name = route.name;
  try {
    const auto tm = service_.Get(query);
    nlohmann::json ns = {{"kind", "Namespace"},
                         {"apiVersion", "v1"},
                         {"metadata", {{"name", route.name}}},
                         {"spec", nlohmann::json::object()},
                         {"status", {{"phase", "Active"}}}};
    return Json(ns);
  } catch (const aggregation::ObjectNotFound&) {
    return not_found();
  } catch (const sources::SourceUnavailable& e) {
    return ServiceUnavailable(e.what());
  } catch (const aggregation::NotReady& e) {
    return ServiceUnavailable(e.what());
  }
}

namespace {

// A metrics request checked and parsed: what its answer is computed from, besides the basis.
struct TrafficRequest {
  aggregation::MetricsQuery query;
  TableOptions table;
};

// Checks and parses a metrics request's parameters, or answers the error. With `may_wait` false,
// nothing that may wait on the backend is asked (the window is checked against the retention seen
// last), and nullopt means "answer it where waiting is allowed".
std::optional<std::variant<HttpResponse, TrafficRequest>> PrepareTraffic(
    const aggregation::TrafficMetricsService& service, const HttpRequest& request,
    const Route& route, Representation representation, bool may_wait) {
  // `limit`, `continue`, `resourceVersion`, `resourceVersionMatch`, `timeout` are accepted and
  // ignored: every list is answered whole (no `continue`), as metrics-server does.
  const std::string resource = ResourceOf(route);
  if (const auto watch = request.Param("watch"); watch && (*watch == "true" || *watch == "1")) {
    return WatchNotSupported(resource);
  }
  if (route.invalid_name) {
    // Such a name cannot exist in Kubernetes, so the object is not there; it never reaches a query.
    return route.name.empty() ? NotFoundObject("namespaces", route.ns)
                              : NotFoundObject(resource, route.name);
  }
  TrafficRequest out;
  aggregation::MetricsQuery& query = out.query;
  if (const auto* k = std::get_if<KindResource>(&route.resource)) query.kind = k->kind;
  query.ns = route.ns;
  query.name = route.name;
  // Selectors filter the objects of a list (docs/decisions.md, decision 8); a get ignores them, as
  // kube-apiserver's.
  if (route.endpoint == Endpoint::kList) {
    try {
      if (const auto v = request.Param("labelSelector"); v && !v->empty()) {
        query.label_selector = kube::LabelSelector::Parse(*v);
      }
      if (const auto v = request.Param("fieldSelector"); v && !v->empty()) {
        query.field_selector = kube::FieldSelector::Parse(*v);
      }
    } catch (const kube::SelectorParseError& e) {
      return BadRequest(e.what());
    }
  }
  try {
    query.window = WindowParam(request, service.default_window());
    if (may_wait) {
      service.CheckWindow(query.window);
    } else if (!service.WindowAcceptedWithoutAsking(query.window)) {
      return std::nullopt;
    }
  } catch (const std::invalid_argument& e) {
    return BadRequest(e.what());
  }

  if (representation != Representation::kJson) {
    try {
      out.table.include = ParseIncludeObject(request.Param("includeObject"));
    } catch (const std::invalid_argument& e) {
      return BadRequest(e.what());
    }
    out.table.version = representation;
    out.table.object_api_version = std::string(kGroup) + "/" + route.version;
    out.table.kind_column = std::holds_alternative<WorkloadsResource>(route.resource);
  }
  return out;
}

// What an answer is kept under. The request-target as sent names the path and every parameter;
// without one (a request built in code), the decoded path and parameters do, written into
// `scratch`.
AnswerCache::Key KeyOf(const HttpRequest& request, Representation representation,
                       const aggregation::AnswerBasis& basis, std::string& scratch) {
  std::string_view target = request.target;
  if (target.empty()) {
    scratch = request.path;
    char separator = '?';
    for (const auto& [name, value] : request.params) {
      scratch.append(1, separator).append(name).append(1, '=').append(value);
      separator = '&';
    }
    target = scratch;
  }
  return {
      target, representation,
      std::chrono::duration_cast<std::chrono::milliseconds>(basis.evaluated_at.time_since_epoch())
          .count(),
      basis.snapshot ? basis.snapshot->version() : 0,
      basis.snapshot ? std::string_view(basis.snapshot->traffic_split_version())
                     : std::string_view()};
}

}  // namespace

HttpResponse ApiHandler::HandleTraffic(const HttpRequest& request, const Route& route,
                                       Representation representation) const {
  auto prepared = *PrepareTraffic(service_, request, route, representation, /*may_wait=*/true);
  if (auto* error = std::get_if<HttpResponse>(&prepared)) return std::move(*error);
  const TrafficRequest& traffic = std::get<TrafficRequest>(prepared);

  // Every part of the answer is computed on one basis (evaluation second, cluster snapshot), which
  // is also what a kept answer must match to be reused.
  aggregation::AnswerBasis basis;
  try {
    basis = service_.Basis();
  } catch (const aggregation::NotReady& e) {
    return ServiceUnavailable(e.what());
  }
  if (!answers_ || !answers_->enabled()) {
    return Answer(route, traffic.query, representation, traffic.table, basis);
  }
  std::string scratch;
  const AnswerCache::Key key = KeyOf(request, representation, basis, scratch);
  if (const auto kept = answers_->Find(key, [this](const auto& source_answers) {
        return service_.StillCurrent(source_answers);
      })) {
    return kept->response;
  }
  HttpResponse response = Answer(route, traffic.query, representation, traffic.table, basis);
  // Errors, and answers from source answers that cannot be recognised again (warnings among
  // them), are computed every time.
  if (response.status == 200 && basis.reusable) {
    answers_->Store(key, {response, std::move(basis.source_answers)}, basis.current_until);
  }
  return response;
}

std::optional<HttpResponse> ApiHandler::KeptAnswer(const HttpRequest& request) const {
  if (!answers_ || !answers_->enabled()) return std::nullopt;
  if (request.method != "GET" && request.method != "HEAD") return std::nullopt;
  const Route route = MatchRoute(request.path);
  if (!IsApiEndpoint(route.endpoint)) return std::nullopt;
  // The same order as Handle: authorization first, then negotiation and parameters. Anything
  // but an allowed request with a kept answer is Handle's to answer.
  if (authorizer_) {
    if (!authorizer_->AllowsWithoutAsking(request)) return std::nullopt;
  } else if (!request.identity || request.identity->user == "system:anonymous") {
    return std::nullopt;
  }
  const auto representation = NegotiateObject(request.Header("accept"));
  if (!representation) return std::nullopt;
  const auto prepared =
      PrepareTraffic(service_, request, route, *representation, /*may_wait=*/false);
  if (!prepared) return std::nullopt;
  const auto* traffic = std::get_if<TrafficRequest>(&*prepared);
  if (!traffic) return std::nullopt;
  aggregation::AnswerBasis basis;
  try {
    basis = service_.Basis();
  } catch (const aggregation::NotReady&) {
    return std::nullopt;
  }
  std::string scratch;
  const auto kept = answers_->Find(
      KeyOf(request, *representation, basis, scratch),
      [this](const auto& source_answers) { return service_.StillCurrent(source_answers); },
      /*count_misses=*/false);
  if (!kept) return std::nullopt;
  return kept->response;
}

HttpResponse ApiHandler::Answer(const Route& route, const aggregation::MetricsQuery& query,
                                Representation representation, const TableOptions& table,
                                aggregation::AnswerBasis& basis) const {
  HttpResponse response = Compute(route, query, representation, table, basis);
  // What the backend said about the answers used reaches the client (docs/kubernetes-api.md,
  // "Warnings"); an answer is kept only without warnings, so a kept answer has none either.
  AddWarnings(response, basis.warnings);
  return response;
}

HttpResponse ApiHandler::Compute(const Route& route, const aggregation::MetricsQuery& query,
                                 Representation representation, const TableOptions& table,
                                 aggregation::AnswerBasis& basis) const {
  const std::string resource = ResourceOf(route);
  const std::string api_version = std::string(kGroup) + "/" + route.version;
  const bool as_table = representation != Representation::kJson;
  try {
    const auto encode = [&](const model::TrafficMetricsList& list, auto table_of) {
      if (as_table) return Json(table_of(list.items, table));
      return Json(model::ToJsonText(list, api_version));
    };
    return std::visit(
        base::Overloaded{[&](const TrafficSplitsResource&) {
                           // A split's get is a list too: one item per backend
                           // (docs/spec-notes.md).
                           return encode(route.endpoint == Endpoint::kGet
                                             ? service_.GetTrafficSplit(query, basis)
                                             : service_.ListTrafficSplits(query, basis),
                                         TrafficSplitTable);
                         },
                         [&](const WorkloadsResource&) {
                           switch (route.endpoint) {
                             case Endpoint::kGet: {
                               const auto tm = service_.GetWorkload(query, basis);
                               if (as_table) return Json(ResourceTable({tm}, table));
                               return Json(model::ToJson(tm, api_version));
                             }
                             case Endpoint::kList:
                               return encode(service_.ListWorkloads(query, basis), ResourceTable);
                             default:
                               return encode(service_.WorkloadEdges(query, basis), EdgeTable);
                           }
                         },
                         [&](const KindResource&) {
                           switch (route.endpoint) {
                             case Endpoint::kGet: {
                               const auto tm = service_.Get(query, basis);
                               if (as_table) return Json(ResourceTable({tm}, table));
                               return Json(model::ToJson(tm, api_version));
                             }
                             case Endpoint::kList:
                               return encode(service_.List(query, basis), ResourceTable);
                             default:
                               return encode(service_.Edges(query, basis), EdgeTable);
                           }
                         }},
        route.resource);
  } catch (const aggregation::ObjectNotFound& e) {
    return NotFoundObject(resource, e.name());
  } catch (const sources::SourceUnavailable& e) {
    return ServiceUnavailable(e.what());
  } catch (const aggregation::NotReady& e) {
    return ServiceUnavailable(e.what());
  } catch (const std::invalid_argument& e) {
    return BadRequest(e.what());
  }
}

std::optional<std::string> HttpRequest::Param(const std::string& name) const {
  const auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

std::string HttpRequest::Header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

}  // namespace smi::apiserver
