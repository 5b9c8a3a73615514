// Request paths: the router and the authorization attributes kube-apiserver would derive. Any
// path maps to an endpoint (kNotFound included); an object route names its object.
#include <map>

#include "apiserver/request_info.h"
#include "apiserver/router.h"
#include "fuzz_input.h"

namespace api = smi::apiserver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto lines = smi::fuzz::Lines(smi::fuzz::Text(data, size));
  const std::string_view path = lines.empty() ? std::string_view() : lines[0];
  const api::Route route = api::MatchRoute(path);
  if ((route.endpoint == api::Endpoint::kGet || route.endpoint == api::Endpoint::kEdges) &&
      route.name.empty()) {
    smi::fuzz::Fail("an object route without a name", path);
  }
  std::multimap<std::string, std::string> params;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t eq = lines[i].find('=');
    params.emplace(std::string(lines[i].substr(0, eq)),
                   eq == std::string_view::npos ? "" : std::string(lines[i].substr(eq + 1)));
  }
  for (const char* method : {"GET", "HEAD", "POST", "DELETE", "PATCH"}) {
    api::NewRequestInfo(method, path, params);
  }
  return 0;
}
