// Plain request/response values, so routing and handlers are testable without a socket.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace smi::apiserver {

// Who is calling, as established by authentication.
struct Identity {
  std::string user;
  std::vector<std::string> groups;
  std::string uid;
  std::map<std::string, std::vector<std::string>> extra;  // e.g. authentication.kubernetes.io/...
};

struct HttpRequest {
  std::string method = "GET";
  std::string path;
  std::multimap<std::string, std::string> params;  // decoded query parameters
  std::map<std::string, std::string> headers;      // names lower-cased
  std::optional<Identity> identity;                // unset: not authenticated
  std::string target;  // the request-target as sent ("/apis/...?a=b"); empty: path

  std::optional<std::string> Param(const std::string& name) const;
  std::string Header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace smi::apiserver
