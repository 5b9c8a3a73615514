// A client for the Prometheus HTTP API (instant queries, readiness, retention), for Prometheus and
// the servers that speak its API (Thanos, Mimir, VictoriaMetrics). Safe to use from several
// threads.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sources/traffic_source.h"

namespace smi::sources::prometheus {

// One element of an instant vector. Native-histogram samples are not returned.
struct VectorSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct QueryResult {
  std::vector<VectorSample> samples;  // NaN values dropped
  std::vector<std::string> warnings;  // the API's `warnings` and `infos`, in that order
};

// Why a query failed, for the server's own metrics (`smi_prometheus_query_errors_total{reason}`).
enum class ErrorReason {
  kUnreachable,  // no connection: refused, unresolvable, no route, connect timeout
  kTls,          // TLS handshake or certificate verification failed
  kTimeout,      // no complete answer within the timeout (ours or the server's `timeout` error)
  kConnection,   // the connection broke mid-exchange
  kHttp4xx,      // an HTTP 4xx answer (including the API's own 400/422 error envelopes)
  kHttp5xx,      // an HTTP 5xx answer
  kApiError,     // `"status": "error"` with a 2xx status
  kMalformed,    // not JSON, not an API envelope, or not an instant vector
  kTooLarge,     // an answer larger than ClientOptions::max_answer_bytes
};
// "unreachable", "tls", "timeout", "connection", "http_4xx", "http_5xx", "api_error", "malformed",
// "too_large".
std::string_view ReasonLabel(ErrorReason reason);

// A SourceUnavailable that also says why, in a form metrics can count.
class QueryError : public SourceUnavailable {
 public:
  QueryError(ErrorReason reason, const std::string& message)
      : SourceUnavailable(message), reason_(reason) {}
  ErrorReason reason() const { return reason_; }

 private:
  ErrorReason reason_;
};

struct ClientOptions {
  // http:// or https://, optionally with a port and a path prefix ("http://prom:9090/prom").
  std::string base_url = "http://127.0.0.1:9090";
  // Total time one call may take, from connecting to the last byte of the answer (a watchdog
  // aborts the exchange when it is reached, however slowly the server trickles bytes); also sent
  // to Prometheus as the query's `timeout` so that it gives up as well.
  std::chrono::milliseconds timeout{5000};
  // How an operator raises `timeout` ("--prometheus-timeout"), named in the timeout error.
  std::string timeout_setting;
  // The largest answer body accepted (bytes): a request's memory is bounded by it. Larger answers
  // are cut off and refused with an error naming `max_answer_setting`.
  size_t max_answer_bytes = size_t{256} << 20;
  std::string max_answer_setting;
  // HTTPS: a PEM bundle to verify the server with instead of the system store.
  std::string ca_file;
  bool insecure_skip_tls_verify = false;
  // Sent as `Authorization: Bearer <token>` when not empty.
  std::string bearer_token;
  // HTTPS: a client certificate (PEM) and its key presented to the server, when not empty.
  std::string client_cert_file;
  std::string client_key_file;
  // Sent as `Authorization: Basic ...` when the username is not empty (not with a bearer token).
  std::string basic_auth_username;
  std::string basic_auth_password;
  // Queries longer than this many bytes (URL-encoded) are POSTed as a form instead of a GET URL.
  size_t post_above_bytes = 1500;
  // Idle keep-alive connections kept for reuse.
  size_t max_idle_connections = 4;
};

class PrometheusClient {
 public:
  // Throws std::invalid_argument when the URL is not http(s)://host[:port][/prefix].
  explicit PrometheusClient(ClientOptions options);
  ~PrometheusClient();
  PrometheusClient(const PrometheusClient&) = delete;
  PrometheusClient& operator=(const PrometheusClient&) = delete;

  // Evaluates `promql` at `at` (whole seconds) via /api/v1/query. The result must be an instant
  // vector. Throws QueryError (a SourceUnavailable) naming the backend, the cause and what to do,
  // never later than the timeout after the call (plus a few milliseconds).
  // An answer with `warnings` (a Thanos/Mimir partial response, a PromQL annotation) is a
  // success: the warnings are returned for the caller to pass on.
  QueryResult Query(std::string_view promql, std::chrono::system_clock::time_point at) const;

  // GET /-/ready; servers without it (404 and other 4xx) are asked a trivial query instead.
  // On false `why` (if given) says what is wrong. Never throws SourceUnavailable.
  bool Ready(std::string* why) const;

  // storageRetention from /api/v1/status/runtimeinfo ("15d", "15d or 10GiB"); nullopt when the
  // server does not say (absent field, size-only retention, no such endpoint).
  // Throws SourceUnavailable when the server cannot be asked.
  std::optional<std::chrono::milliseconds> Retention() const;

  // The base URL as given, without a trailing slash; used in messages.
  const std::string& base_url() const;
  std::chrono::milliseconds timeout() const;
  // The error Query throws when the server does not answer within the timeout.
  QueryError TimeoutError() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smi::sources::prometheus
