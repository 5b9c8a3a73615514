#include "apiserver/status.h"

#include "model/go_quote.h"

#include <nlohmann/json.hpp>

#include "apiserver/router.h"

namespace smi::apiserver {

HttpResponse StatusResponse(int code, std::string_view reason, std::string_view message,
                            const StatusDetails& details) {
  nlohmann::json status = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}};
  nlohmann::json d = nlohmann::json::object();
  if (!details.name.empty()) d["name"] = details.name;
  if (!details.group.empty()) d["group"] = details.group;
  if (!details.kind.empty()) d["kind"] = details.kind;
  if (!d.empty()) status["details"] = d;
  HttpResponse r;
  r.status = code;
  // Invalid UTF-8 from a request (a name, a parameter) becomes U+FFFD, as Go's encoding/json
  // writes it; it never makes the answer fail.
  r.body = status.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse NotFoundObject(std::string_view resource, std::string_view name) {
  std::string message =
      std::string(resource) + "." + std::string(kGroup) + " " + model::GoQuote(name) + " not found";
  return StatusResponse(404, "NotFound", message,
                        {std::string(name), std::string(kGroup), std::string(resource)});
}

HttpResponse NotFoundPath() {
  return StatusResponse(404, "NotFound", "the server could not find the requested resource");
}

HttpResponse BadRequest(std::string_view message) {
  return StatusResponse(400, "BadRequest", message);
}

HttpResponse MethodNotAllowed() {
  return StatusResponse(405, "MethodNotAllowed",
                        "the server does not allow this method on the requested resource");
}

HttpResponse WatchNotSupported(std::string_view resource) {
  const std::string gr = std::string(resource) + "." + std::string(kGroup);
  return StatusResponse(405, "MethodNotAllowed",
                        "watch is not supported on resources of kind " + nlohmann::json(gr).dump(),
                        {"", std::string(kGroup), std::string(resource)});
}

HttpResponse NotAcceptable() {
  return StatusResponse(406, "NotAcceptable",
                        "only the following media types are accepted: application/json, "
                        "application/json;as=Table;v=v1;g=meta.k8s.io, "
                        "application/json;as=Table;v=v1beta1;g=meta.k8s.io");
}

HttpResponse Unauthorized() { return StatusResponse(401, "Unauthorized", "Unauthorized"); }

HttpResponse Forbidden(std::string_view message) {
  return StatusResponse(403, "Forbidden", message);
}

HttpResponse ServiceUnavailable(std::string_view message) {
  return StatusResponse(503, "ServiceUnavailable", message);
}

HttpResponse InternalError(std::string_view message) {
  return StatusResponse(500, "InternalError", "Internal error occurred: " + std::string(message));
}

}  // namespace smi::apiserver
