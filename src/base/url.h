// The one parser of http(s) base URLs (the Prometheus URL, a kubeconfig's server) and the one
// percent-encoder for the query strings the server builds itself.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace smi::base {

struct HttpUrl {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // without IPv6 brackets
  int port = 0;        // the scheme's default when the URL has none
  std::string prefix;  // the path, "" or "/prom" (no trailing slash)
};

// Parses http(s)://host[:port][/path-prefix]. Throws std::invalid_argument saying what is wrong
// ("has no scheme", "has an invalid port", ...), without the URL itself: callers prefix it.
// Rejected: other schemes, credentials in the authority, a query or fragment, an empty host.
HttpUrl ParseHttpUrl(std::string_view url);

// RFC 3986 percent-encoding of one query value: unreserved characters (A-Z a-z 0-9 - _ . ~)
// as they are, every other byte as %XX (upper-case hex).
std::string PercentEncode(std::string_view text);

// Decodes %XX escapes (either case); with `plus_as_space`, '+' is a space (query strings). An
// escape that is not two hex digits stays as it is.
std::string PercentDecode(std::string_view text, bool plus_as_space);

}  // namespace smi::base
