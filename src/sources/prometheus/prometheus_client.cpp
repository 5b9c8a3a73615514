#include "sources/prometheus/prometheus_client.h"

#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include <httplib.h>

#include "base/process_memory.h"
#include "base/url.h"
#include "model/duration.h"
#include "sources/prometheus/api_decoding.h"
#include "sources/prometheus/connection_diagnosis.h"
#include "sources/prometheus/connection_pool.h"
#include "sources/prometheus/query_watchdog.h"

namespace smi::sources::prometheus {
namespace {

// Deadlines of exchanges are real monotonic time: they bound real socket waits (httplib's
// timeouts, the watchdog).
using Clock = std::chrono::steady_clock;

base::HttpUrl ParseBaseUrl(const std::string& url) {
  try {
    return base::ParseHttpUrl(url);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("Prometheus URL \"" + url + "\" " + e.what() +
                                "; expected http(s)://host[:port][/path-prefix]");
  }
}

// The URL without trailing slashes, for messages.
std::string Display(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Seconds for the API's `time` and `timeout` parameters.
std::string Seconds(std::chrono::milliseconds d) {
  const long long ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", ms / 1000, ms % 1000);
  return buf;
}

std::string OneLine(std::string_view text, size_t max) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() >= max) {
      out += "...";
      break;
    }
  }
  return out;
}

// Answers at least this large are followed by handing free memory back to the kernel.
constexpr size_t kLargeAnswerBytes = size_t{4} << 20;

std::chrono::milliseconds Remaining(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

}  // namespace

std::string_view ReasonLabel(ErrorReason reason) {
  switch (reason) {
    case ErrorReason::kUnreachable:
      return "unreachable";
    case ErrorReason::kTls:
      return "tls";
    case ErrorReason::kTimeout:
      return "timeout";
    case ErrorReason::kConnection:
      return "connection";
    case ErrorReason::kHttp4xx:
      return "http_4xx";
    case ErrorReason::kHttp5xx:
      return "http_5xx";
    case ErrorReason::kApiError:
      return "api_error";
    case ErrorReason::kMalformed:
      return "malformed";
    case ErrorReason::kTooLarge:
      return "too_large";
  }
  return "unknown";
}

struct PrometheusClient::Impl {
  explicit Impl(ClientOptions o)
      : options(std::move(o)),
        url(ParseBaseUrl(options.base_url)),
        display(Display(options.base_url)),
        backend("Prometheus at " + display),
        pool(options, url) {
    if (options.timeout <= std::chrono::milliseconds::zero()) {
      throw std::invalid_argument("Prometheus timeout must be positive");
    }
  }

  const ClientOptions options;
  const base::HttpUrl url;
  const std::string display;  // base URL without trailing slash, for messages
  const std::string backend;  // how messages name the server: "Prometheus at <display>"

  ConnectionPool pool;
  QueryWatchdog watchdog;

  [[noreturn]] void Fail(ErrorReason reason, const std::string& what) const {
    throw QueryError(reason, backend + " " + what);
  }

  std::string TimeoutMessage() const {
    return "did not answer within " + model::FormatGoDuration(options.timeout) +
           "; it may be overloaded: try a shorter window or a narrower request, or raise " +
           (options.timeout_setting.empty() ? std::string("the timeout") : options.timeout_setting);
  }

  std::string TooLargeMessage() const {
    return "answered more than " + std::to_string(options.max_answer_bytes) +
           " bytes; try a narrower request, or raise " +
           (options.max_answer_setting.empty() ? std::string("the limit")
                                               : options.max_answer_setting);
  }

  [[noreturn]] void FailExchange(httplib::Error err, Clock::time_point deadline,
                                 const httplib::Client& cli) const {
    const std::string within = model::FormatGoDuration(options.timeout);
    switch (err) {
      case httplib::Error::Connection:
        Fail(ErrorReason::kUnreachable,
             "is unreachable: " +
                 DiagnoseConnect(url.host, url.port,
                                 std::min(Remaining(deadline), std::chrono::milliseconds(1000))) +
                 "; check the Prometheus URL and that the server is running");
      case httplib::Error::ConnectionTimeout:
        Fail(ErrorReason::kUnreachable,
             "is unreachable: no connection within " + within +
                 "; check the Prometheus URL and the network path to it");
      case httplib::Error::Read:
        // httplib reports a read timeout and a closed connection alike; the clock tells them apart.
        if (Clock::now() + std::chrono::milliseconds(50) >= deadline) {
          Fail(ErrorReason::kTimeout, TimeoutMessage());
        }
        Fail(ErrorReason::kConnection, "closed the connection without a complete answer");
      case httplib::Error::Write:
        Fail(ErrorReason::kConnection, "closed the connection while the request was being sent");
      case httplib::Error::SSLConnection:
        Fail(ErrorReason::kTls,
             "is unreachable: the TLS handshake failed; check that the URL's scheme matches the "
             "server");
      case httplib::Error::SSLServerVerification:
        Fail(ErrorReason::kTls,
             std::string("presented a TLS certificate that could not be verified (") +
                 X509_verify_cert_error_string(cli.get_openssl_verify_result()) +
                 "); give the CA that signed it");
      case httplib::Error::Canceled:
        Fail(ErrorReason::kTooLarge, TooLargeMessage());
      case httplib::Error::SSLLoadingCerts:
        Fail(ErrorReason::kTls,
             "cannot be verified: the CA file \"" + options.ca_file + "\" could not be loaded");
      default:
        Fail(ErrorReason::kConnection, "could not be asked: " + httplib::to_string(err));
    }
  }

  // One HTTP exchange, over by `options.timeout` after the call at the latest. `query`: the
  // URL-encoded parameters, sent in the URL or (post) as a form. Throws QueryError when there is
  // no HTTP answer at all.
  HttpAnswer Send(bool post, const std::string& path, const std::string& query) {
    const auto deadline = Clock::now() + options.timeout;
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      auto cli = pool.Acquire(&reused);
      const auto left = Remaining(deadline);
      cli->set_connection_timeout(left);
      cli->set_read_timeout(left);
      cli->set_write_timeout(left);
      const auto start = Clock::now();
      const uint64_t armed = watchdog.Arm(cli.get(), deadline);
      httplib::Request req;
      req.method = post ? "POST" : "GET";
      req.path = post || query.empty() ? path : path + "?" + query;
      if (post) {
        req.body = query;
        req.set_header("Content-Type", "application/x-www-form-urlencoded");
      }
      // A body larger than the limit is cut off as it arrives (Error::Canceled), whatever its
      // Content-Length says.
      const uint64_t max_bytes = options.max_answer_bytes;
      req.progress = [max_bytes](uint64_t current, uint64_t total) {
        return current <= max_bytes && total <= max_bytes;
      };
      httplib::Result res = cli->send(req);
      const bool fired = watchdog.Disarm(armed);
      const auto elapsed = Clock::now() - start;
      // A stopped client has lost its connection: it is dropped, not kept for reuse.
      if (fired && !res) Fail(ErrorReason::kTimeout, TimeoutMessage());
      if (!res) {
        const httplib::Error err = res.error();
        // A kept-alive connection the server has closed meanwhile fails at once: retry on a new
        // one.
        if (reused && attempt == 0 && elapsed < options.timeout / 2 &&
            (err == httplib::Error::Read || err == httplib::Error::Write)) {
          continue;
        }
        FailExchange(err, deadline, *cli);
      }
      HttpAnswer answer{res->status, res->get_header_value("Content-Type"), std::move(res->body)};
      if (!fired) pool.Release(std::move(cli));
      return answer;
    }
  }
};

PrometheusClient::PrometheusClient(ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

PrometheusClient::~PrometheusClient() = default;

const std::string& PrometheusClient::base_url() const { return impl_->display; }

std::chrono::milliseconds PrometheusClient::timeout() const { return impl_->options.timeout; }

QueryError PrometheusClient::TimeoutError() const {
  return QueryError(ErrorReason::kTimeout, impl_->backend + " " + impl_->TimeoutMessage());
}

QueryResult PrometheusClient::Query(std::string_view promql,
                                    std::chrono::system_clock::time_point at) const {
  const auto secs = std::chrono::floor<std::chrono::seconds>(at.time_since_epoch());
  const httplib::Params params = {{"query", std::string(promql)},
                                  {"time", std::to_string(secs.count())},
                                  {"timeout", Seconds(impl_->options.timeout)}};
  // httplib's own encoding of the parameters, measured to choose between a URL and a form.
  const std::string query = httplib::detail::params_to_query_str(params);
  const bool post = query.size() > impl_->options.post_above_bytes;
  bool large = false;
  QueryResult result;
  {
    const HttpAnswer answer = impl_->Send(post, impl_->url.prefix + "/api/v1/query", query);
    large = answer.body.size() >= kLargeAnswerBytes;
    try {
      result = DecodeQueryAnswer(answer, impl_->backend);
    } catch (const QueryError& e) {
      // Prometheus gave up at the `timeout` this client sent (or its own, if lower).
      if (e.reason() != ErrorReason::kTimeout || impl_->options.timeout_setting.empty()) throw;
      throw QueryError(ErrorReason::kTimeout, std::string(e.what()) +
                                                  "; this server asks for at most " +
                                                  model::FormatGoDuration(impl_->options.timeout) +
                                                  ", raise " + impl_->options.timeout_setting);
    }
  }
  // The body and the decoder's temporaries are gone: hand what they left free back to the
  // kernel, so that memory follows what is held (cached answers), not the largest answer ever.
  if (large) base::ReturnFreeMemory();
  return result;
}

bool PrometheusClient::Ready(std::string* why) const {
  try {
    const HttpAnswer answer = impl_->Send(false, impl_->url.prefix + "/-/ready", "");
    if (answer.status >= 200 && answer.status < 300) return true;
    if (answer.status >= 500) {
      if (why) {
        *why = impl_->backend + " is not ready: HTTP " + std::to_string(answer.status);
        if (std::string body = OneLine(answer.body, 200); !body.empty()) *why += ": " + body;
      }
      return false;
    }
    // An API-compatible server without /-/ready: ready if it evaluates a trivial query.
    Query("vector(1)", std::chrono::system_clock::now());
    return true;
  } catch (const SourceUnavailable& e) {
    if (why) *why = e.what();
    return false;
  }
}

std::optional<std::chrono::milliseconds> PrometheusClient::Retention() const {
  return DecodeRetentionAnswer(
      impl_->Send(false, impl_->url.prefix + "/api/v1/status/runtimeinfo", ""), impl_->backend);
}

}  // namespace smi::sources::prometheus
