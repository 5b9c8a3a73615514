// metav1.Status errors with the reasons, codes and wording of the generic Kubernetes apiserver,
// so kubectl prints its familiar lines ("Error from server (NotFound): ...").
#pragma once

#include <string>
#include <string_view>

#include "apiserver/http_types.h"

namespace smi::apiserver {

struct StatusDetails {
  std::string name;
  std::string group;
  std::string kind;  // the resource plural, as the generic apiserver puts it
};

HttpResponse StatusResponse(int code, std::string_view reason, std::string_view message,
                            const StatusDetails& details = {});

// `<resource>.<group> "<name>" not found`
HttpResponse NotFoundObject(std::string_view resource, std::string_view name);
// Unknown path or resource.
HttpResponse NotFoundPath();
HttpResponse BadRequest(std::string_view message);
HttpResponse MethodNotAllowed();
HttpResponse WatchNotSupported(std::string_view resource);
HttpResponse NotAcceptable();
HttpResponse Unauthorized();
HttpResponse Forbidden(std::string_view message);
HttpResponse ServiceUnavailable(std::string_view message);
HttpResponse InternalError(std::string_view message);

}  // namespace smi::apiserver
