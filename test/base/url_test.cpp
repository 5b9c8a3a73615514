// ParseHttpUrl: every part it returns, and every error it names; PercentEncode.
#include "base/url.h"

#include <string>

#include <gtest/gtest.h>

namespace smi::base {
namespace {

struct Parsed {
  std::string scheme, host;
  int port;
  std::string prefix;
  bool operator==(const Parsed&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Parsed& p) {
  return os << p.scheme << " " << p.host << " " << p.port << " '" << p.prefix << "'";
}

Parsed Parse(std::string_view url) {
  const HttpUrl u = ParseHttpUrl(url);
  return {u.scheme, u.host, u.port, u.prefix};
}

// The message of the error ParseHttpUrl throws, or "no error".
std::string Error(std::string_view url) {
  try {
    ParseHttpUrl(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(ParseHttpUrl, HostPortAndPrefix) {
  EXPECT_EQ(Parse("http://prometheus:9090"), (Parsed{"http", "prometheus", 9090, ""}));
  EXPECT_EQ(Parse("https://prom.example:8443/prom"),
            (Parsed{"https", "prom.example", 8443, "/prom"}));
  EXPECT_EQ(Parse("http://10.0.0.1:9090/a/b"), (Parsed{"http", "10.0.0.1", 9090, "/a/b"}));
  EXPECT_EQ(Parse("http://127.0.0.1:1"), (Parsed{"http", "127.0.0.1", 1, ""}));
  EXPECT_EQ(Parse("http://h:65535"), (Parsed{"http", "h", 65535, ""}));
}

TEST(ParseHttpUrl, DefaultPortsOfTheScheme) {
  EXPECT_EQ(Parse("http://prometheus"), (Parsed{"http", "prometheus", 80, ""}));
  EXPECT_EQ(Parse("https://prometheus"), (Parsed{"https", "prometheus", 443, ""}));
  EXPECT_EQ(Parse("https://kubernetes.default.svc/"),
            (Parsed{"https", "kubernetes.default.svc", 443, ""}));
  // An empty port is no port, as Go's url.Parse reads it.
  EXPECT_EQ(Parse("http://prometheus:"), (Parsed{"http", "prometheus", 80, ""}));
  EXPECT_EQ(Parse("https://prometheus:/x"), (Parsed{"https", "prometheus", 443, "/x"}));
}

TEST(ParseHttpUrl, SchemeIsCaseInsensitiveAndLowered) {
  EXPECT_EQ(Parse("HTTPS://Prom:9090"), (Parsed{"https", "Prom", 9090, ""}));
  EXPECT_EQ(Parse("Http://prom"), (Parsed{"http", "prom", 80, ""}));
}

TEST(ParseHttpUrl, TrailingSlashesLeaveThePrefix) {
  EXPECT_EQ(Parse("http://prom:9090/"), (Parsed{"http", "prom", 9090, ""}));
  EXPECT_EQ(Parse("http://prom:9090/prom/"), (Parsed{"http", "prom", 9090, "/prom"}));
  EXPECT_EQ(Parse("http://prom:9090/prom///"), (Parsed{"http", "prom", 9090, "/prom"}));
  EXPECT_EQ(Parse("http://prom/a/b/"), (Parsed{"http", "prom", 80, "/a/b"}));
}

TEST(ParseHttpUrl, Ipv6HostsInBrackets) {
  EXPECT_EQ(Parse("http://[::1]:9090"), (Parsed{"http", "::1", 9090, ""}));
  EXPECT_EQ(Parse("https://[::1]"), (Parsed{"https", "::1", 443, ""}));
  EXPECT_EQ(Parse("https://[fd00:10:96::1]:443/api"),
            (Parsed{"https", "fd00:10:96::1", 443, "/api"}));
  EXPECT_EQ(Parse("http://[::1]:/p/"), (Parsed{"http", "::1", 80, "/p"}));
}

TEST(ParseHttpUrl, EachErrorSaysWhatIsWrong) {
  struct Case {
    const char* url;
    const char* error;
  };
  for (const Case& c : {
           Case{"127.0.0.1:9090", "has no scheme"},
           Case{"prometheus", "has no scheme"},
           Case{"http:/prometheus", "has no scheme"},
           Case{"", "has no scheme"},
           Case{"ftp://host", "has an unsupported scheme"},
           Case{"://host", "has an unsupported scheme"},
           Case{"httpx://host", "has an unsupported scheme"},
           Case{"http://", "has no host"},
           Case{"http:///prom", "has no host"},
           Case{"http://:9090", "has no host"},
           Case{"http://[]:9090", "has no host"},
           Case{"http://user:pw@host", "must not carry credentials"},
           Case{"http://user@host/p", "must not carry credentials"},
           Case{"http://host/?x=1", "must not have a query"},
           Case{"http://host?x=1", "must not have a query"},
           Case{"http://host/p#frag", "must not have a query"},
           Case{"http://[::1", "has an unterminated IPv6 address"},
           Case{"http://[::1]x", "has garbage after the host"},
           Case{"http://[::1]9090", "has garbage after the host"},
           Case{"http://host:port", "has an invalid port"},
           Case{"http://host:99999", "has an invalid port"},
           Case{"http://host:65536", "has an invalid port"},
           Case{"http://host:0", "has an invalid port"},
           Case{"http://host:-1", "has an invalid port"},
           Case{"http://host:+80", "has an invalid port"},
           Case{"http://host:80x", "has an invalid port"},
           Case{"http://host:8 0", "has an invalid port"},
           Case{"http://host:99999999999999999999", "has an invalid port"},
           Case{"http://::1", "has no host"},
           Case{"http://[::1]:abc", "has an invalid port"},
       }) {
    EXPECT_EQ(Error(c.url), c.error) << c.url;
  }
}

TEST(ParseHttpUrl, ErrorsLeaveTheUrlToTheCaller) {
  // The caller prefixes the URL (it may be a flag's or a kubeconfig's); the message must not
  // repeat it, nor leak what was in it.
  EXPECT_EQ(std::string(Error("http://user:secret@host")).find("secret"), std::string::npos);
}

TEST(PercentEncode, UnreservedCharactersStayAsTheyAre) {
  EXPECT_EQ(PercentEncode(""), "");
  EXPECT_EQ(PercentEncode("AZaz09-_.~"), "AZaz09-_.~");
}

TEST(PercentEncode, EveryOtherByteIsUpperCaseHex) {
  EXPECT_EQ(PercentEncode(" "), "%20");
  EXPECT_EQ(PercentEncode("a b"), "a%20b");
  EXPECT_EQ(PercentEncode("+"), "%2B");
  EXPECT_EQ(PercentEncode("sum(rate(x{a=\"b\"}[1m]))"),
            "sum%28rate%28x%7Ba%3D%22b%22%7D%5B1m%5D%29%29");
  EXPECT_EQ(PercentEncode("/?#&=%"), "%2F%3F%23%26%3D%25");
  EXPECT_EQ(PercentEncode("\xc3\xa9"), "%C3%A9");  // UTF-8 bytes one by one
  EXPECT_EQ(PercentEncode(std::string_view("\0\x7f\xff", 3)), "%00%7F%FF");
}

}  // namespace
}  // namespace smi::base
