#include "apiserver/api_handler.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "apiserver/discovery.h"
#include "apiserver/router.h"
#include "apiserver/status.h"
#include "model/duration.h"

namespace smi::apiserver {

namespace {

constexpr std::chrono::milliseconds kDefaultWindow{30000};

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool IsApiEndpoint(Endpoint e) {
  return e == Endpoint::kGet || e == Endpoint::kList || e == Endpoint::kEdges;
}

HttpResponse Json(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

HttpResponse PlainText(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

}  // namespace

bool AcceptsJson(const std::string& accept) {
  if (Trim(accept).empty()) return true;
  std::stringstream in(accept);
  std::string item;
  while (std::getline(in, item, ',')) {
    const std::string media = Lower(Trim(item.substr(0, item.find(';'))));
    if (media == "application/json" || media == "application/*" || media == "*/*") {
      // A Table-only entry (application/json;as=Table;...) still ends in a JSON fallback for
      // kubectl, which always lists plain application/json too; honour only plain entries.
      if (media == "application/json" && item.find("as=") != std::string::npos) continue;
      return true;
    }
  }
  return false;
}

std::chrono::milliseconds WindowParam(const HttpRequest& request,
                                      std::chrono::milliseconds default_window) {
  auto value = request.Param("window");
  if (!value) value = request.Param("t");
  if (!value) return default_window;
  std::string error;
  const auto window = model::ParseDuration(*value, &error);
  if (!window) {
    throw std::invalid_argument("invalid window " + nlohmann::json(*value).dump() + ": " + error +
                                "; use a duration such as 30s, 5m or 1h");
  }
  return *window;
}

ApiHandler::ApiHandler(aggregation::TrafficMetricsService& service, sources::TrafficSource& source)
    : service_(service), source_(source) {}

HttpResponse ApiHandler::Handle(const HttpRequest& request) const {
  const Route route = MatchRoute(request.path);
  const bool read = request.method == "GET" || request.method == "HEAD";

  // Health and version are open to everyone (kubelet probes, kubectl's version dispatcher).
  switch (route.endpoint) {
    case Endpoint::kHealthz:
    case Endpoint::kLivez:
      return PlainText(200, "ok");
    case Endpoint::kReadyz: {
      std::string why;
      if (source_.Ready(&why)) return PlainText(200, "ok");
      return PlainText(503, "[-]source failed: " + why + "\nreadyz check failed\n");
    }
    case Endpoint::kVersion:
      return Json(VersionJson());
    default:
      break;
  }

  // Everything else needs an authenticated identity (decision 12: fail closed).
  if (!request.identity) return Unauthorized();

  if (route.endpoint == Endpoint::kNotFound) return NotFoundPath();
  if (!read) return MethodNotAllowed();
  if (!AcceptsJson(request.Header("accept"))) return NotAcceptable();

  switch (route.endpoint) {
    case Endpoint::kApis:
      return Json(ApiGroupListJson());
    case Endpoint::kApiGroup:
      return Json(ApiGroupJson());
    case Endpoint::kResourceList:
      return Json(ApiResourceListJson(route.version));
    default:
      break;
  }
  if (!IsApiEndpoint(route.endpoint)) return NotFoundPath();
  return HandleTraffic(request, route);
}

HttpResponse ApiHandler::HandleTraffic(const HttpRequest& request, const Route& route) const {
  const std::string resource(model::ResourcePlural(route.kind));
  if (const auto watch = request.Param("watch"); watch && (*watch == "true" || *watch == "1")) {
    return WatchNotSupported(resource);
  }
  if (route.invalid_name) {
    // Such a name cannot exist in Kubernetes, so the object is not there; it never reaches a query.
    return route.name.empty() ? NotFoundObject("namespaces", route.ns)
                              : NotFoundObject(resource, route.name);
  }
  for (const char* unsupported : {"labelSelector", "fieldSelector"}) {
    if (const auto v = request.Param(unsupported); v && !v->empty()) {
      return BadRequest(std::string(unsupported) +
                        " is not supported by this server yet; list without it and filter the "
                        "items on the client side");
    }
  }

  aggregation::MetricsQuery query;
  query.kind = route.kind;
  query.ns = route.ns;
  query.name = route.name;
  try {
    query.window = WindowParam(request, kDefaultWindow);
    service_.CheckWindow(query.window);
  } catch (const std::invalid_argument& e) {
    return BadRequest(e.what());
  }

  const std::string api_version = std::string(kGroup) + "/" + route.version;
  try {
    switch (route.endpoint) {
      case Endpoint::kGet:
        return Json(model::ToJson(service_.Get(query), api_version).dump());
      case Endpoint::kList:
        return Json(model::ToJson(service_.List(query), api_version).dump());
      case Endpoint::kEdges:
        return Json(model::ToJson(service_.Edges(query), api_version).dump());
      default:
        return NotFoundPath();
    }
  } catch (const aggregation::ObjectNotFound& e) {
    return NotFoundObject(resource, e.name());
  } catch (const sources::SourceUnavailable& e) {
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
