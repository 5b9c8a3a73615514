#include "apiserver/https_server.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "apiserver/serving_metrics.h"
#include "apiserver/status.h"
#include "apiserver/tls_stream.h"
#include "base/pem.h"
#include "base/strings.h"
#include "base/url.h"

namespace smi::apiserver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

bool OffersHttp11(const unsigned char* protocols, unsigned int length) {
  for (unsigned int i = 0; i < length;) {
    const unsigned int n = protocols[i];
    if (i + 1 + n > length) return false;
    if (n == 8 && std::memcmp(protocols + i + 1, "http/1.1", 8) == 0) return true;
    i += 1 + n;
  }
  return false;
}

namespace {

void Log(const std::string& line) { std::cerr << "smi-metrics-server: " << line << "\n"; }

// The certificate_authorities of the CertificateRequest: the subjects of the authenticator's
// current client and request-header CAs (the ConfigMap may change them), read again only when the
// CAs change. Parsing certificates is costly (OpenSSL 3 decodes each public key through its
// provider machinery): done on every handshake, it made a burst of reconnecting clients hold the
// event loop (docs/measurements.md).
class AcceptableCaNames {
 public:
  explicit AcceptableCaNames(const Authenticator& authenticator) : authenticator_(authenticator) {}
  ~AcceptableCaNames() { sk_X509_NAME_pop_free(names_, X509_NAME_free); }
  AcceptableCaNames(const AcceptableCaNames&) = delete;
  AcceptableCaNames& operator=(const AcceptableCaNames&) = delete;

  // A copy of the current list, for SSL_set_client_CA_list (which takes ownership).
  STACK_OF(X509_NAME) * Current() {
    const std::string pem = authenticator_.AcceptableCaPem();
    std::lock_guard lock(mu_);
    if (!names_ || pem != pem_) {
      STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
      for (const base::X509Ptr& ca : base::ReadCertificates(pem)) {
        sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca.get())));
      }
      sk_X509_NAME_pop_free(names_, X509_NAME_free);
      names_ = names;
      pem_ = pem;
    }
    return SSL_dup_CA_list(names_);
  }

 private:
  const Authenticator& authenticator_;
  std::mutex mu_;
  std::string pem_;
  STACK_OF(X509_NAME) * names_ = nullptr;
};

int SetAcceptableCas(SSL* ssl, void* arg) {
  SSL_set_client_CA_list(ssl, static_cast<AcceptableCaNames*>(arg)->Current());
  return 1;
}

int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = "http/1.1";
  if (!OffersHttp11(in, inlen)) return SSL_TLSEXT_ERR_NOACK;
  *out = kHttp11;
  *outlen = 8;
  return SSL_TLSEXT_ERR_OK;
}

// A TLS context for one serving certificate. Throws std::runtime_error when the pair is unusable.
std::shared_ptr<ssl::context> MakeTlsContext(const PemPair& pair, AcceptableCaNames& ca_names) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION |
                             SSL_OP_NO_RENEGOTIATION);
  auto chain = base::ReadCertificates(pair.cert);
  if (chain.empty()) throw std::runtime_error("the certificate file holds no PEM certificate");
  bool ok = SSL_CTX_use_certificate(c, chain[0].get()) == 1;
  for (size_t i = 1; ok && i < chain.size(); ++i) {
    // SSL_CTX_add_extra_chain_cert takes ownership only when it succeeds.
    ok = SSL_CTX_add_extra_chain_cert(c, chain[i].get()) == 1;
    if (ok) chain[i].release();
  }
  const base::EvpPkeyPtr key = base::ReadPrivateKey(pair.key);
  if (!ok || !key || SSL_CTX_use_PrivateKey(c, key.get()) != 1 ||
      SSL_CTX_check_private_key(c) != 1) {
    const std::string why = base::OpenSslError();
    throw std::runtime_error("the TLS certificate or key cannot be used" +
                             (why.empty() ? "" : ": " + why));
  }
  // Ask for a client certificate and accept the handshake whatever comes (the peer still proves
  // it holds the key): the authenticator verifies it against the CA it is meant for (front proxy
  // or client CA), so that a refused certificate is a 401 Status, as kube-apiserver answers, and
  // CA changes need no new TLS context. Clients without one stay anonymous.
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  SSL_CTX_set_cert_cb(c, SetAcceptableCas, &ca_names);
  SSL_CTX_set_alpn_select_cb(c, SelectAlpn, nullptr);
  return ctx;
}

std::string CertPem(X509* cert) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(b);
  return pem;
}

// The peer's certificates, leaf first, then the intermediates it sent.
std::vector<std::string> PeerCertificates(SSL* ssl) {
  std::vector<std::string> pems;
  if (X509* leaf = SSL_get0_peer_certificate(ssl)) {
    pems.push_back(CertPem(leaf));
    // On the server side the peer's chain does not hold the leaf: the intermediates it sent.
    if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
      for (int i = 0; i < sk_X509_num(chain); ++i) {
        X509* c = sk_X509_value(chain, i);
        if (X509_cmp(c, leaf) != 0) pems.push_back(CertPem(c));
      }
    }
  }
  return pems;
}

AuthenticationOptions ClientCaOnly(const ServingOptions& o) {
  AuthenticationOptions a;
  if (!o.client_ca_pem.empty()) a.client_ca_pem = o.client_ca_pem;
  a.anonymous = false;
  return a;
}

// The request-target split into the decoded path and decoded query parameters.
void ParseTarget(std::string_view target, HttpRequest& request) {
  const size_t q = target.find('?');
  request.path = base::PercentDecode(target.substr(0, q), /*plus_as_space=*/false);
  if (q == std::string_view::npos) return;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      request.params.emplace(base::PercentDecode(pair.substr(0, eq), true),
                             eq == std::string_view::npos
                                 ? std::string()
                                 : base::PercentDecode(pair.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

// What identifies a file's version: a swapped symlink or a rewritten file changes one of these.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  timespec mtime{};
  bool operator==(const FileStamp& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

std::optional<FileStamp> StampOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileStamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

}  // namespace

class Connection;

struct HttpsServer::Impl {
  Impl(const ServingOptions& o, const ApiHandler& h)
      : options(o),
        handler(h),
        own_authenticator(
            o.authenticator ? nullptr : std::make_unique<Authenticator>(ClientCaOnly(o), nullptr)),
        authenticator(o.authenticator ? *o.authenticator : *own_authenticator),
        ca_names(authenticator),
        metrics(o.metrics),
        own_ioc(o.io ? nullptr : std::make_unique<asio::io_context>(std::max(1, o.io_threads))),
        ioc(o.io ? *o.io : *own_ioc),
        acceptor(ioc),
        reload_timer(ioc),
        workers(static_cast<size_t>(std::max(1, o.worker_threads))),
        handshakes(static_cast<size_t>(std::max(1, o.io_threads))) {
    tls = MakeTlsContext(options.serving, ca_names);
    if (!options.cert_file.empty()) {
      reloadable.push_back({"serving certificate",
                            {options.cert_file, options.key_file},
                            [this](const std::vector<std::string>& contents) {
                              auto next = MakeTlsContext({contents[0], contents[1]}, ca_names);
                              std::lock_guard lock(tls_mu);
                              tls = std::move(next);
                            }});
    }
    for (const auto& r : options.reloadable) reloadable.push_back(r);
    for (const auto& r : reloadable) {
      std::vector<std::optional<FileStamp>> stamps;
      for (const auto& p : r.paths) stamps.push_back(StampOf(p));
      reload_stamps.push_back(std::move(stamps));
    }
  }

  std::shared_ptr<ssl::context> CurrentTls() {
    std::lock_guard lock(tls_mu);
    return tls;
  }

  void Accept();
  void ScheduleReload();
  void CheckReloads();
  // Called with a newly accepted socket: false when the connection cap holds and no idle
  // connection could make room.
  bool Admit();

  // Connections idle the longest first; guarded by conn_mu.
  void MarkIdle(Connection* c);
  void MarkBusy(Connection* c);
  void Forget(Connection* c);

  ServingOptions options;
  const ApiHandler& handler;
  std::unique_ptr<Authenticator> own_authenticator;
  const Authenticator& authenticator;
  AcceptableCaNames ca_names;  // used by every TLS context below
  ServingMetrics metrics;

  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls;
  std::vector<ReloadableFiles> reloadable;
  std::vector<std::vector<std::optional<FileStamp>>> reload_stamps;

  std::mutex conn_mu;
  std::atomic<size_t> open{0};
  std::atomic<size_t> in_flight{0};
  std::list<Connection*> idle;  // oldest first; a connection removes itself before it is freed
  std::unordered_map<Connection*, std::weak_ptr<Connection>> all;

  // Destroyed in reverse order: the workers first (their jobs hold connections), then the event
  // loop (its handlers hold connections), before the registry above.
  std::unique_ptr<asio::io_context> own_ioc;
  asio::io_context& ioc;
  tcp::acceptor acceptor;
  asio::steady_timer reload_timer;
  asio::thread_pool workers;
  // TLS handshakes' OpenSSL work, as many threads as the event loop's: a burst of new
  // connections waits here instead of delaying the answers of established ones.
  asio::thread_pool handshakes;
  std::vector<std::thread> io_threads;

  std::mutex stop_mu;
  std::condition_variable stopped_cv;
  bool started = false;
  bool stopped = false;
};

// One client connection: TLS handshake, then requests one after another (pipelined ones too),
// each read with its deadlines, answered by a worker and written back here. Every step runs on
// the connection's strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpsServer::Impl& server, tcp::socket socket, std::shared_ptr<ssl::context> tls)
      : server_(server),
        tls_(std::move(tls)),
        stream_(std::move(socket), tls_->native_handle()),
        deadline_(stream_.get_executor()) {}

  ~Connection() {
    server_.Forget(this);
    server_.open.fetch_sub(1);
    server_.metrics.ConnectionsOpen(-1);
  }

  void Start() {
    {
      std::lock_guard lock(server_.conn_mu);
      server_.all.emplace(this, weak_from_this());
    }
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    Deadline(Phase::kHandshake, server_.options.limits.handshake_timeout);
    stream_.async_handshake(
        server_.handshakes.get_executor(),
        [self = shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
  }

  // Closes the connection from another thread (cap reached, server stopping).
  void CloseFromOutside(const char* reason) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), reason] {
      if (!self->close_reason_) self->close_reason_ = reason;
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.Abort(/*timeout=*/false);
    });
  }

 private:
  enum class Phase { kHandshake, kIdle, kHeader, kBody, kHandling, kWrite, kShutdown };

  // From now on, the operations of `phase` must end within `d`; past it the one in progress fails
  // with beast::error::timeout. A deadline that fired for an earlier phase does not count.
  void Deadline(Phase phase, std::chrono::milliseconds d) {
    phase_ = phase;
    stream_.ClearTimeout();
    const uint64_t generation = ++deadline_generation_;
    deadline_.expires_after(d);
    deadline_.async_wait([self = weak_from_this(), generation](beast::error_code ec) {
      if (ec) return;
      const auto c = self.lock();
      if (c && c->deadline_generation_ == generation) c->stream_.Abort(/*timeout=*/true);
    });
  }

  // Why the connection ends, for the metrics: a limit, or the peer.
  const char* ReasonFor(const beast::error_code& ec) const {
    if (close_reason_) return close_reason_;
    if (ec == beast::error::timeout) {
      switch (phase_) {
        case Phase::kHandshake:
          return "handshake_timeout";
        case Phase::kIdle:
          return "idle_timeout";
        case Phase::kHeader:
        case Phase::kBody:
          return "header_timeout";
        case Phase::kWrite:
          return "write_timeout";
        default:
          return "timeout";
      }
    }
    if (phase_ == Phase::kHandshake) return "tls_error";
    return "client_closed";
  }

  void End(const beast::error_code& ec) {
    server_.metrics.ConnectionClosed(ReasonFor(ec));
    server_.MarkBusy(this);
    ++deadline_generation_;
    deadline_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) return End(ec);
    WaitForRequest();
  }

  // Keep-alive: the idle deadline until the first byte of the next request, then the header
  // deadline for the rest of it, so that a client trickling bytes cannot hold the connection.
  void WaitForRequest() {
    if (buffer_.size() > 0) return ReadHeader();  // a pipelined request is already here
    // An idle connection keeps no read buffer: it waits for readability, then reads.
    buffer_.shrink_to_fit();
    server_.MarkIdle(this);
    Deadline(Phase::kIdle, server_.options.limits.idle_timeout);
    stream_.WaitReadable([self = shared_from_this()](beast::error_code ec) {
      self->server_.MarkBusy(self.get());
      if (ec) return self->End(ec);
      self->ReadHeader();
    });
  }

  void ReadHeader() {
    const auto& limits = server_.options.limits;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser_->body_limit(limits.max_body_bytes);
    Deadline(Phase::kHeader, limits.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return Refuse(431, "RequestHeaderFieldsTooLarge", "header_too_large",
                    "the request header is larger than the server accepts (" +
                        std::to_string(server_.options.limits.max_header_bytes) + " bytes)");
    }
    // The parser refuses a Content-Length above the limit as soon as it reads the header.
    if (ec == http::error::body_limit) return TooLarge();
    if (ec) return End(ec);
    const auto length = parser_->content_length();
    if (length && *length > server_.options.limits.max_body_bytes) return TooLarge();
    if (parser_->is_done()) return Dispatch();
    Deadline(Phase::kBody, server_.options.limits.header_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec == http::error::body_limit) return self->TooLarge();
                       if (ec) return self->End(ec);
                       self->Dispatch();
                     });
  }

  void TooLarge() {
    Refuse(413, "RequestEntityTooLarge", "body_too_large",
           "the request body is larger than the server accepts (" +
               std::to_string(server_.options.limits.max_body_bytes) + " bytes)");
  }

  // Answers with a Status and closes: what follows on the connection cannot be trusted.
  void Refuse(int code, const char* reason, const char* metric, const std::string& message) {
    close_reason_ = metric;
    HttpResponse r = StatusResponse(code, reason, message);
    Write(std::move(r), /*keep_alive=*/false, http::verb::get);
  }

  void Dispatch() {
    auto request = parser_->release();
    parser_.reset();
    const bool keep_alive = request.keep_alive();
    const http::verb verb = request.method();
    if (server_.in_flight.fetch_add(1) >= server_.options.limits.max_requests_in_flight) {
      server_.in_flight.fetch_sub(1);
      HttpResponse r = StatusResponse(429, "TooManyRequests",
                                      "the server has received too many requests and has asked "
                                      "us to try again later");
      r.headers.emplace_back("Retry-After", "1");
      server_.metrics.Request(std::string(request.method_string()), "", {}, 429, 0);
      return Write(std::move(r), keep_alive, verb);
    }
    Deadline(Phase::kHandling, std::chrono::hours(24 * 365));  // the handler has its own timeouts
    server_.metrics.InFlight(+1);
    Pending pending = Parse(request);
    // A kept answer that needs nothing which may wait is written from here, without the hand-off
    // to a worker and back (two thread wake-ups; about a fifth of the throughput of repeated
    // requests).
    if (auto response = AnswerWithoutWaiting(pending)) {
      Finished(pending, *response);
      return Write(std::move(*response), keep_alive, verb);
    }
    asio::post(server_.workers, [self = shared_from_this(), pending = std::move(pending),
                                 keep_alive, verb]() mutable {
      HttpResponse response = self->Handle(pending);
      self->Finished(pending, response);
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response), keep_alive, verb]() mutable {
                   self->Write(std::move(response), keep_alive, verb);
                 });
    });
  }

  // A request as the handler reads it, and the header lines as the authenticator reads them.
  struct Pending {
    std::chrono::steady_clock::time_point start;
    HttpRequest request;
    std::vector<std::pair<std::string, std::string>> headers;
    bool bearer = false;         // an Authorization header was sent (a token may need review)
    bool authenticated = false;  // request.identity and headers already final
  };

  static Pending Parse(const http::request<http::string_body>& req) {
    Pending p;
    p.start = std::chrono::steady_clock::now();
    HttpRequest& request = p.request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    ParseTarget(std::string_view(req.target().data(), req.target().size()), request);
    // The authenticator reads every header line as sent (repeated ones in order); the handler
    // the last value of each, by lower-cased name.
    p.headers.reserve(static_cast<size_t>(std::distance(req.begin(), req.end())));
    for (const auto& field : req) {
      const auto& [name, value] =
          p.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      request.headers.insert_or_assign(base::Lower(name), value);
    }
    p.bearer = req.find(http::field::authorization) != req.end();
    return p;
  }

  // Sets the request's identity from an authentication that did not fail.
  static void Apply(const AuthenticationResult& authn, HttpRequest& request) {
    if (authn.outcome != AuthenticationResult::Outcome::kUnauthenticated) {
      request.identity = authn.identity;
    }
    for (const auto& h : authn.consumed_headers) request.headers.erase(h);
  }

  // On the event loop: the handler's kept answer, when the peer's verdict is current, no token
  // needs a review and the handler has one (ApiHandler::KeptAnswer). nullopt: a worker answers.
  std::optional<HttpResponse> AnswerWithoutWaiting(Pending& p) {
    if (p.bearer || !verdict_ || !server_.authenticator.IsCurrent(*verdict_)) return std::nullopt;
    try {
      const AuthenticationResult authn = server_.authenticator.Authenticate(*verdict_, p.headers);
      if (authn.outcome == AuthenticationResult::Outcome::kFailed) return std::nullopt;
      Apply(authn, p.request);
      p.authenticated = true;
      return server_.handler.KeptAnswer(p.request);
    } catch (const std::exception&) {
      return std::nullopt;  // the worker answers it, and says why
    }
  }

  void Finished(const Pending& p, const HttpResponse& response) {
    server_.in_flight.fetch_sub(1);
    server_.metrics.InFlight(-1);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - p.start).count();
    server_.metrics.Request(p.request.method, p.request.path, p.request.params, response.status,
                            seconds);
  }

  // On a worker thread: authentication, then the API.
  HttpResponse Handle(Pending& p) {
    HttpRequest& request = p.request;
    try {
      if (p.authenticated) return server_.handler.Handle(request);
      // Requests on one connection come one at a time: only this worker touches the verdict.
      if (!verdict_ || !server_.authenticator.IsCurrent(*verdict_)) {
        // No I/O runs while a request is answered, so the TLS state can be read here.
        verdict_ = server_.authenticator.VerifyPeer(PeerCertificates(stream_.native_handle()));
      }
      const AuthenticationResult authn = server_.authenticator.Authenticate(*verdict_, p.headers);
      if (authn.outcome == AuthenticationResult::Outcome::kFailed) {
        // filters/authentication.go: credentials that were presented and refused are a 401.
        Log("unable to authenticate the request to " + request.path + ": " + authn.error);
        return Unauthorized();
      }
      Apply(authn, request);
      return server_.handler.Handle(request);
    } catch (const std::exception& e) {
      Log(std::string("request failed: ") + e.what());
      return InternalError(e.what());
    }
  }

  void Write(HttpResponse r, bool keep_alive, http::verb verb) {
    response_.emplace();
    response_->version(11);
    response_->result(static_cast<unsigned>(r.status));
    response_->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) response_->insert(k, v);
    response_->keep_alive(keep_alive && !close_reason_);
    if (verb == http::verb::head) {
      response_->content_length(r.body.size());
    } else {
      response_->body() = std::move(r.body);
      response_->prepare_payload();
    }
    Deadline(Phase::kWrite, server_.options.limits.write_timeout);
    http::async_write(
        stream_, *response_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    if (ec) return End(ec);
    const bool keep_alive = response_->keep_alive();
    response_.reset();
    if (keep_alive) return WaitForRequest();
    // Connection: close (asked, or after a refusal): a TLS close_notify, briefly waited for.
    Deadline(Phase::kShutdown, std::chrono::milliseconds(1000));
    stream_.async_shutdown(
        [self = shared_from_this()](beast::error_code) { self->End(beast::error_code{}); });
  }

  HttpsServer::Impl& server_;
  std::shared_ptr<ssl::context> tls_;  // kept for the life of the stream
  tls::TlsStream stream_;
  asio::steady_timer deadline_;
  uint64_t deadline_generation_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::shared_ptr<const Authenticator::PeerVerdict> verdict_;
  Phase phase_ = Phase::kHandshake;
  const char* close_reason_ = nullptr;

 public:
  std::list<Connection*>::iterator idle_position;
  bool idle = false;
};

void HttpsServer::Impl::MarkIdle(Connection* c) {
  std::lock_guard lock(conn_mu);
  if (c->idle) return;
  c->idle_position = idle.insert(idle.end(), c);
  c->idle = true;
  metrics.ConnectionsIdle(+1);
}

void HttpsServer::Impl::MarkBusy(Connection* c) {
  std::lock_guard lock(conn_mu);
  if (!c->idle) return;
  idle.erase(c->idle_position);
  c->idle = false;
  metrics.ConnectionsIdle(-1);
}

void HttpsServer::Impl::Forget(Connection* c) {
  std::lock_guard lock(conn_mu);
  if (c->idle) {
    idle.erase(c->idle_position);
    metrics.ConnectionsIdle(-1);
  }
  c->idle = false;
  all.erase(c);
}

bool HttpsServer::Impl::Admit() {
  if (open.load() < options.limits.max_connections) return true;
  std::shared_ptr<Connection> oldest;
  {
    std::lock_guard lock(conn_mu);
    while (!idle.empty() && !oldest) {
      Connection* c = idle.front();
      idle.pop_front();
      c->idle = false;
      metrics.ConnectionsIdle(-1);
      oldest = c->weak_from_this().lock();  // null while it is being destroyed
    }
  }
  if (!oldest) return false;
  oldest->CloseFromOutside("over_capacity");
  return true;
}

void HttpsServer::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (!Admit()) {
        metrics.ConnectionClosed("refused");
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        open.fetch_add(1);
        metrics.ConnectionsOpen(+1);
        std::make_shared<Connection>(*this, std::move(socket), CurrentTls())->Start();
      }
    } else if (ec == asio::error::no_descriptors) {
      // Out of file descriptors: pause briefly rather than spin.
      auto timer = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(50));
      timer->async_wait([this, timer](beast::error_code) { Accept(); });
      return;
    }
    Accept();
  });
}

void HttpsServer::Impl::ScheduleReload() {
  if (reloadable.empty()) return;
  reload_timer.expires_after(options.reload_interval);
  reload_timer.async_wait([this](beast::error_code ec) {
    if (ec) return;
    CheckReloads();
    ScheduleReload();
  });
}

void HttpsServer::Impl::CheckReloads() {
  for (size_t i = 0; i < reloadable.size(); ++i) {
    const auto& r = reloadable[i];
    std::vector<std::optional<FileStamp>> now;
    for (const auto& p : r.paths) now.push_back(StampOf(p));
    if (now == reload_stamps[i]) continue;
    // Mid-swap a file may be missing: wait for the next check.
    if (std::any_of(now.begin(), now.end(), [](const auto& s) { return !s; })) continue;
    reload_stamps[i] = now;
    try {
      std::vector<std::string> contents;
      for (const auto& p : r.paths) contents.push_back(base::ReadFile(p, r.what));
      r.apply(contents);
      metrics.Reload(r.what, true);
      Log("reloaded the " + r.what + " from " + r.paths.front());
    } catch (const std::exception& e) {
      metrics.Reload(r.what, false);
      Log("the new " + r.what + " in " + r.paths.front() +
          " is not used (the previous one stays): " + e.what());
    }
  }
}

HttpsServer::HttpsServer(const ServingOptions& options, const ApiHandler& handler)
    : impl_(std::make_unique<Impl>(options, handler)) {}

HttpsServer::~HttpsServer() { Stop(); }

void HttpsServer::Start() {
  auto& s = *impl_;
  beast::error_code ec;
  const auto address = asio::ip::make_address(s.options.bind_address, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + s.options.bind_address + ": not an IP address");
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(s.options.port));
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + s.options.bind_address + ":" +
                             std::to_string(s.options.port) + " (" + ec.message() +
                             "; in use, or not an address of this host?)");
  }
  s.Accept();
  s.ScheduleReload();
  {
    std::lock_guard lock(s.stop_mu);
    s.started = true;
  }
  for (int i = 0; i < std::max(1, s.options.io_threads); ++i) {
    s.io_threads.emplace_back([&s] { s.ioc.run(); });
  }
}

int HttpsServer::BoundPort() const {
  beast::error_code ec;
  const auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void HttpsServer::Run() {
  Start();
  std::unique_lock lock(impl_->stop_mu);
  impl_->stopped_cv.wait(lock, [this] { return impl_->stopped; });
}

void HttpsServer::Stop() {
  auto& s = *impl_;
  {
    std::lock_guard lock(s.stop_mu);
    if (s.stopped) return;
    if (!s.started) {
      s.stopped = true;
      s.stopped_cv.notify_all();
      return;
    }
  }
  asio::post(s.ioc, [&s] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    s.reload_timer.cancel();
  });
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(s.conn_mu);
    for (auto& [c, weak] : s.all) {
      if (auto conn = weak.lock()) open.push_back(std::move(conn));
    }
  }
  for (auto& c : open) c->CloseFromOutside("server_stopped");
  open.clear();
  s.workers.join();
  s.handshakes.join();
  s.ioc.stop();
  for (auto& t : s.io_threads) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
  std::lock_guard lock(s.stop_mu);
  s.stopped = true;
  s.stopped_cv.notify_all();
}

}  // namespace smi::apiserver
