#include "sources/prometheus/prometheus_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "model/duration.h"
#include "sources/traffic_source.h"

namespace smi::sources::prometheus {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct ParsedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without IPv6 brackets
  int port = 0;
  std::string prefix;  // "" or "/prom" (no trailing slash)
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

ParsedUrl ParseBaseUrl(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("Prometheus URL \"" + url + "\" " + why +
                                 "; expected http(s)://host[:port][/path-prefix]");
  };
  ParsedUrl out;
  const size_t sep = url.find("://");
  if (sep == std::string::npos) throw bad("has no scheme");
  out.scheme = Lower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") throw bad("has an unsupported scheme");
  std::string_view rest = std::string_view(url).substr(sep + 3);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) throw bad("must not carry credentials");
  if (path.find_first_of("?#") != std::string_view::npos) throw bad("must not have a query");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) throw bad("has an unterminated IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw bad("has garbage after the host");
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) throw bad("has no host");
  if (port_text.empty()) {
    out.port = out.scheme == "https" ? 443 : 80;
  } else {
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || out.port <= 0 ||
        out.port > 65535) {
      throw bad("has an invalid port");
    }
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.prefix = std::string(path);
  return out;
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

// Why a TCP connection to host:port fails, found by trying once more with plain sockets: httplib
// only says "Connection", and "connection refused" and "cannot resolve" call for different fixes.
std::string DiagnoseConnect(const std::string& host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addrs = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &addrs); rc != 0) {
    return "cannot resolve host \"" + host + "\": " + Lower(gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(addrs, &freeaddrinfo);
  std::string cause = "connection failed";
  for (addrinfo* ai = addrs; ai != nullptr; ai = ai->ai_next) {
    const int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd pfd{fd, POLLOUT, 0};
        const int ready = poll(&pfd, 1, static_cast<int>(timeout.count()));
        if (ready == 0) {
          err = ETIMEDOUT;
        } else {
          socklen_t len = sizeof err;
          if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        }
      }
    }
    close(fd);
    if (err == 0) return "connection failed (it accepts connections again now)";
    cause = err == ETIMEDOUT ? "no connection within " + model::FormatGoDuration(timeout)
                             : Lower(std::strerror(err));
  }
  return cause;
}

const char* HintForErrorType(const std::string& type) {
  if (type == "bad_data") return "this server built a query Prometheus does not accept; report it";
  if (type == "timeout" || type == "canceled") {
    return "try a shorter window or raise Prometheus' query timeout";
  }
  if (type == "execution") return "the query may have hit a limit; try a narrower request";
  if (type == "unavailable" || type == "internal") return "retry shortly";
  return nullptr;
}

// Aborts HTTP exchanges that outlive their deadline. httplib's timeouts bound each connect, read
// and write, not the whole exchange: a server that sends a byte every few seconds would hold a
// request forever. At the deadline this thread calls httplib's stop(), which shuts the socket down
// under the request (the documented way to cancel from another thread), and repeats that every
// 20ms in case the request was between connecting and using its socket.
class Watchdog {
 public:
  Watchdog() : thread_([this] { Loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  uint64_t Arm(httplib::Client* cli, Clock::time_point deadline) {
    std::lock_guard lock(mu_);
    const uint64_t id = ++next_id_;
    armed_.emplace(id, Armed{cli, deadline, false});
    cv_.notify_all();
    return id;
  }

  // After this returns the watchdog no longer touches the client. True if it fired.
  bool Disarm(uint64_t id) {
    std::lock_guard lock(mu_);
    auto it = armed_.find(id);
    const bool fired = it->second.fired;
    armed_.erase(it);
    return fired;
  }

 private:
  struct Armed {
    httplib::Client* cli;
    Clock::time_point next;  // the deadline, then the next repeat
    bool fired;
  };

  void Loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      Clock::time_point wake = Clock::time_point::max();
      const auto now = Clock::now();
      for (auto& [id, a] : armed_) {
        if (a.next <= now) {
          a.cli->stop();
          a.fired = true;
          a.next = now + std::chrono::milliseconds(20);
        }
        wake = std::min(wake, a.next);
      }
      if (wake == Clock::time_point::max()) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, wake);
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Armed> armed_;
  uint64_t next_id_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

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
  }
  return "unknown";
}

std::string FormEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool ParseSampleValue(std::string_view text, double* value) {
  std::string_view t = text;
  // from_chars: locale-independent, but it rejects the '+' Go writes in "+Inf".
  const bool plus = !t.empty() && t.front() == '+';
  if (plus) t.remove_prefix(1);
  if (t.empty() || (plus && (t.front() == '+' || t.front() == '-'))) return false;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), *value);
  return ec == std::errc() && p == t.data() + t.size();
}

std::optional<std::chrono::milliseconds> ParseRetention(std::string_view text) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(" or ", start);
    std::string_view part = text.substr(start, end == std::string_view::npos ? end : end - start);
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.front()))) {
      part.remove_prefix(1);
    }
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.back()))) {
      part.remove_suffix(1);
    }
    std::string error;
    if (auto d = model::ParseDuration(part, &error); d && d->count() > 0) return d;
    if (end == std::string_view::npos) break;
    start = end + 4;
  }
  return std::nullopt;
}

struct PrometheusClient::Impl {
  ClientOptions options;
  ParsedUrl url;
  std::string display;  // base URL without trailing slash, for messages

  mutable std::mutex mu;
  mutable std::vector<std::unique_ptr<httplib::Client>> idle;
  mutable Watchdog watchdog;

  struct Answer {
    int status = 0;
    std::string content_type;
    std::string body;
  };

  [[noreturn]] void Fail(ErrorReason reason, const std::string& what) const {
    throw QueryError(reason, "Prometheus at " + display + " " + what);
  }

  std::string TimeoutMessage() const {
    return "did not answer within " + model::FormatGoDuration(options.timeout) +
           "; it may be overloaded: try a shorter window or raise the timeout";
  }

  std::unique_ptr<httplib::Client> NewClient() const {
    std::string origin = url.scheme + "://";
    origin += url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    origin += ":" + std::to_string(url.port);
    auto cli = options.client_cert_file.empty()
                   ? std::make_unique<httplib::Client>(origin)
                   : std::make_unique<httplib::Client>(origin, options.client_cert_file,
                                                       options.client_key_file);
    cli->set_connection_timeout(options.timeout);
    cli->set_read_timeout(options.timeout);
    cli->set_write_timeout(options.timeout);
    cli->set_keep_alive(true);
    cli->set_tcp_nodelay(true);
    if (!options.bearer_token.empty()) cli->set_bearer_token_auth(options.bearer_token);
    if (!options.basic_auth_username.empty()) {
      cli->set_basic_auth(options.basic_auth_username, options.basic_auth_password);
    }
    if (url.scheme == "https") {
      cli->enable_server_certificate_verification(!options.insecure_skip_tls_verify);
      if (!options.ca_file.empty()) cli->set_ca_cert_path(options.ca_file);
    }
    return cli;
  }

  std::unique_ptr<httplib::Client> Acquire(bool* reused) const {
    std::lock_guard lock(mu);
    *reused = !idle.empty();
    if (idle.empty()) return NewClient();
    auto cli = std::move(idle.back());
    idle.pop_back();
    return cli;
  }

  void Release(std::unique_ptr<httplib::Client> cli) const {
    std::lock_guard lock(mu);
    if (idle.size() < options.max_idle_connections) idle.push_back(std::move(cli));
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
      case httplib::Error::SSLLoadingCerts:
        Fail(ErrorReason::kTls,
             "cannot be verified: the CA file \"" + options.ca_file + "\" could not be loaded");
      default:
        Fail(ErrorReason::kConnection, "could not be asked: " + httplib::to_string(err));
    }
  }

  // One HTTP exchange, over by `options.timeout` after the call at the latest. Throws QueryError
  // when there is no HTTP answer at all.
  Answer Send(bool post, const std::string& path, const std::string& form) const {
    const auto deadline = Clock::now() + options.timeout;
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      auto cli = Acquire(&reused);
      const auto left = Remaining(deadline);
      cli->set_connection_timeout(left);
      cli->set_read_timeout(left);
      cli->set_write_timeout(left);
      const auto start = Clock::now();
      const uint64_t armed = watchdog.Arm(cli.get(), deadline);
      httplib::Result res = post ? cli->Post(path, form, "application/x-www-form-urlencoded")
                                 : cli->Get(form.empty() ? path : path + "?" + form);
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
      Answer answer{res->status, res->get_header_value("Content-Type"), std::move(res->body)};
      if (!fired) Release(std::move(cli));
      return answer;
    }
  }

  // The API envelope's `data`, with warnings and infos appended to `warnings`.
  json Envelope(const Answer& answer, std::vector<std::string>* warnings) const {
    const bool ok_status = answer.status >= 200 && answer.status < 300;
    const std::string status_text = "HTTP " + std::to_string(answer.status);
    const bool json_type = Lower(answer.content_type).find("json") != std::string::npos;
    const size_t first = answer.body.find_first_not_of(" \t\r\n");
    const bool looks_json =
        first != std::string::npos && (answer.body[first] == '{' || answer.body[first] == '[');
    const char* where_hint =
        answer.status == 404                           ? "; check the URL and its path prefix"
        : answer.status == 401 || answer.status == 403 ? "; check the credentials it is given"
        : answer.status >= 500 ? "; a proxy in front of Prometheus may be failing"
        : ok_status            ? "; check that the URL points at a Prometheus API"
                               : "";
    const ErrorReason http_reason = answer.status >= 500   ? ErrorReason::kHttp5xx
                                    : answer.status >= 400 ? ErrorReason::kHttp4xx
                                                           : ErrorReason::kMalformed;
    if (!json_type && !looks_json) {
      Fail(http_reason, "answered " + status_text + " with a non-JSON body (" +
                            (answer.content_type.empty() ? std::string("no content type")
                                                         : answer.content_type) +
                            ")" + where_hint);
    }
    json doc;
    try {
      doc = json::parse(answer.body);
    } catch (const json::exception& e) {
      std::string what = e.what();
      if (const size_t bracket = what.find("] ");
          what.starts_with("[json.") && bracket != what.npos) {
        what = what.substr(bracket + 2);
      }
      Fail(http_reason, (ok_status ? "answered malformed JSON: "
                                   : "answered " + status_text + " with malformed JSON: ") +
                            what);
    }
    if (!doc.is_object() || !doc.contains("status") || !doc["status"].is_string()) {
      Fail(http_reason, "answered " + status_text +
                            " with JSON that is not a Prometheus API response" + where_hint);
    }
    for (const char* key : {"warnings", "infos"}) {
      if (auto it = doc.find(key); it != doc.end() && it->is_array()) {
        for (const auto& w : *it) {
          if (w.is_string()) warnings->push_back(w.get<std::string>());
        }
      }
    }
    const std::string status = doc["status"].get<std::string>();
    if (status != "success") {
      const std::string type = doc.contains("errorType") && doc["errorType"].is_string()
                                   ? doc["errorType"].get<std::string>()
                                   : "unknown";
      const std::string error = doc.contains("error") && doc["error"].is_string()
                                    ? doc["error"].get<std::string>()
                                    : "no error message";
      const bool rejected = type == "bad_data" || type == "not_acceptable" || type == "not_found";
      std::string what =
          (rejected ? "rejected the query (" : "failed to answer (") + type + "): " + error;
      if (const char* hint = HintForErrorType(type)) what += std::string("; ") + hint;
      const ErrorReason reason = type == "timeout" || type == "canceled" ? ErrorReason::kTimeout
                                 : ok_status                             ? ErrorReason::kApiError
                                                                         : http_reason;
      Fail(reason, what);
    }
    if (!doc.contains("data"))
      Fail(ErrorReason::kMalformed, "answered malformed JSON: a success without \"data\"");
    return std::move(doc["data"]);
  }
};

PrometheusClient::PrometheusClient(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->url = ParseBaseUrl(options.base_url);
  impl_->display = options.base_url;
  while (!impl_->display.empty() && impl_->display.back() == '/') impl_->display.pop_back();
  if (options.timeout <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("Prometheus timeout must be positive");
  }
  impl_->options = std::move(options);
}

PrometheusClient::~PrometheusClient() = default;

const std::string& PrometheusClient::base_url() const { return impl_->display; }

std::chrono::milliseconds PrometheusClient::timeout() const { return impl_->options.timeout; }

QueryError PrometheusClient::TimeoutError() const {
  return QueryError(ErrorReason::kTimeout,
                    "Prometheus at " + impl_->display + " " + impl_->TimeoutMessage());
}

QueryResult PrometheusClient::Query(std::string_view promql,
                                    std::chrono::system_clock::time_point at) const {
  const auto secs = std::chrono::floor<std::chrono::seconds>(at.time_since_epoch());
  const std::string form = "query=" + FormEncode(promql) + "&time=" + std::to_string(secs.count()) +
                           "&timeout=" + Seconds(impl_->options.timeout);
  const bool post = form.size() > impl_->options.post_above_bytes;
  const Impl::Answer answer = impl_->Send(post, impl_->url.prefix + "/api/v1/query", form);

  QueryResult out;
  json data = impl_->Envelope(answer, &out.warnings);
  auto malformed = [&](const std::string& what) {
    impl_->Fail(ErrorReason::kMalformed, "answered malformed JSON: " + what);
  };
  if (!data.is_object() || !data.contains("resultType") || !data["resultType"].is_string()) {
    malformed("query data without a resultType");
  }
  const std::string type = data["resultType"].get<std::string>();
  if (type != "vector") {
    impl_->Fail(
        ErrorReason::kMalformed,
        "answered a " + type +
            " result where an instant vector was expected; is it a Prometheus-compatible API?");
  }
  const auto& result = data["result"];
  if (!result.is_array()) malformed("\"result\" is not an array");
  bool skipped_histograms = false;
  out.samples.reserve(result.size());
  for (const auto& item : result) {
    if (!item.is_object()) malformed("a vector element is not an object");
    auto value_it = item.find("value");
    if (value_it == item.end()) {
      if (item.contains("histogram")) {
        skipped_histograms = true;
        continue;
      }
      malformed("a vector element without \"value\"");
    }
    if (!value_it->is_array() || value_it->size() != 2 || !(*value_it)[1].is_string()) {
      malformed("a sample value is not [time, \"value\"]");
    }
    const std::string& text = (*value_it)[1].get_ref<const std::string&>();
    VectorSample sample;
    if (!ParseSampleValue(text, &sample.value)) malformed("sample value \"" + text + "\"");
    if (std::isnan(sample.value)) continue;
    if (auto metric = item.find("metric"); metric != item.end()) {
      if (!metric->is_object()) malformed("\"metric\" is not an object");
      for (const auto& [k, v] : metric->items()) {
        if (!v.is_string()) malformed("label \"" + k + "\" is not a string");
        sample.labels.emplace(k, v.get<std::string>());
      }
    }
    out.samples.push_back(std::move(sample));
  }
  if (skipped_histograms) {
    out.warnings.push_back("native histogram samples in the answer were ignored");
  }
  return out;
}

bool PrometheusClient::Ready(std::string* why) const {
  try {
    const Impl::Answer answer = impl_->Send(false, impl_->url.prefix + "/-/ready", "");
    if (answer.status >= 200 && answer.status < 300) return true;
    if (answer.status >= 500) {
      if (why) {
        *why = "Prometheus at " + impl_->display + " is not ready: HTTP " +
               std::to_string(answer.status);
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
  const Impl::Answer answer =
      impl_->Send(false, impl_->url.prefix + "/api/v1/status/runtimeinfo", "");
  // Thanos, Mimir and others may not have it.
  if (answer.status == 404 || answer.status == 405 || answer.status == 501) return std::nullopt;
  std::vector<std::string> ignored;
  const json data = impl_->Envelope(answer, &ignored);
  if (!data.is_object()) return std::nullopt;
  auto it = data.find("storageRetention");
  if (it == data.end() || !it->is_string()) return std::nullopt;
  return ParseRetention(it->get<std::string>());
}

}  // namespace smi::sources::prometheus
