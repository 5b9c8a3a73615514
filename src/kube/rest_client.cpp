#include "kube/rest_client.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <mutex>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/pem.h"
#include "base/url.h"

namespace smi::kube {

namespace {

struct ParsedUrl {
  bool tls = true;
  std::string host;
  int port = 443;
  std::string prefix;  // path prefix without a trailing slash
};

ParsedUrl ParseServer(const std::string& url) {
  base::HttpUrl u;
  try {
    u = base::ParseHttpUrl(url);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("server URL " + url + " " + e.what());
  }
  return {u.scheme == "https", std::move(u.host), u.port, std::move(u.prefix)};
}

}  // namespace

struct RestClient::Impl {
  ParsedUrl url;
  std::unique_ptr<httplib::ClientImpl> client;
  std::mutex mu;  // guards client against Cancel() while it is being replaced
};

RestClient::RestClient(RestConfig config, Options options)
    : config_(std::move(config)), options_(options), impl_(std::make_unique<Impl>()) {
  impl_->url = ParseServer(config_.server);
  const ParsedUrl& u = impl_->url;
  if (!u.tls) {
    impl_->client = std::make_unique<httplib::ClientImpl>(u.host, u.port);
  } else {
    std::unique_ptr<httplib::SSLClient> ssl;
    if (!config_.client_cert_pem.empty()) {
      std::vector<base::X509Ptr> certs = base::ReadCertificates(config_.client_cert_pem);
      const base::EvpPkeyPtr key = base::ReadPrivateKey(config_.client_key_pem);
      if (certs.empty() || !key) {
        throw ConfigError(config_.description + ": unreadable client certificate or key: " +
                          (certs.empty() ? "no PEM certificate" : base::OpenSslError()));
      }
      // The TLS context takes its own references to both.
      ssl = std::make_unique<httplib::SSLClient>(u.host, u.port, certs.front().get(), key.get());
    } else {
      ssl = std::make_unique<httplib::SSLClient>(u.host, u.port);
    }
    if (!ssl->is_valid()) throw ConfigError(config_.description + ": cannot set up TLS");
    if (config_.insecure_skip_tls_verify) {
      ssl->enable_server_certificate_verification(false);
    } else {
      ssl->enable_server_certificate_verification(true);
      if (!config_.ca_pem.empty()) {
        const std::vector<base::X509Ptr> cas = base::ReadCertificates(config_.ca_pem);
        if (cas.empty()) {
          throw ConfigError(config_.description +
                            ": the certificate authority holds no PEM "
                            "certificate");
        }
        X509_STORE* store = X509_STORE_new();
        for (const auto& c : cas) X509_STORE_add_cert(store, c.get());  // adds a reference
        ssl->set_ca_cert_store(store);                                  // takes ownership
      } else {
        SSL_CTX_set_default_verify_paths(ssl->ssl_context());
      }
    }
    impl_->client = std::move(ssl);
  }
  auto& c = *impl_->client;
  const auto ct = options_.connect_timeout;
  c.set_connection_timeout(ct.count() / 1000, (ct.count() % 1000) * 1000);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  c.set_follow_location(false);
  c.set_decompress(true);
  if (!config_.username.empty()) c.set_basic_auth(config_.username, config_.password);
}

RestClient::~RestClient() = default;

namespace {

httplib::Headers RequestHeaders(const RestConfig& config) {
  httplib::Headers h{{"Accept", "application/json"},
                     {"User-Agent", "smi-metrics-server (kube client)"}};
  if (config.token) {
    const std::string t = config.token->Token();
    if (!t.empty()) h.emplace("Authorization", "Bearer " + t);
  }
  return h;
}

void SetReadTimeout(httplib::ClientImpl& c, std::chrono::milliseconds t) {
  c.set_read_timeout(t.count() / 1000, (t.count() % 1000) * 1000);
}

std::string DescribeTransport(httplib::ClientImpl& client, httplib::Error err,
                              const std::string& server) {
  std::string what = httplib::to_string(err);
  if (err == httplib::Error::SSLServerVerification || err == httplib::Error::SSLConnection) {
    if (auto* ssl = dynamic_cast<httplib::SSLClient*>(&client)) {
      const long r = ssl->get_openssl_verify_result();
      if (r != X509_V_OK) what += ": " + std::string(X509_verify_cert_error_string(r));
    }
  }
  return server + ": " + what;
}

}  // namespace

HttpResponse RestClient::Get(const std::string& path_and_query) {
  if (cancelled_) throw TransportError("cancelled");
  auto& c = *impl_->client;
  SetReadTimeout(c, options_.request_timeout);
  httplib::Result r = c.Get(impl_->url.prefix + path_and_query, RequestHeaders(config_));
  if (!r) {
    if (cancelled_) throw TransportError("cancelled");
    throw TransportError(DescribeTransport(c, r.error(), config_.server));
  }
  if (r->status == 401 && config_.token) config_.token->Invalidate();
  return {r->status, r->body};
}

HttpResponse RestClient::Post(const std::string& path, const std::string& body) {
  if (cancelled_) throw TransportError("cancelled");
  auto& c = *impl_->client;
  SetReadTimeout(c, options_.request_timeout);
  httplib::Result r =
      c.Post(impl_->url.prefix + path, RequestHeaders(config_), body, "application/json");
  if (!r) {
    if (cancelled_) throw TransportError("cancelled");
    throw TransportError(DescribeTransport(c, r.error(), config_.server));
  }
  if (r->status == 401 && config_.token) config_.token->Invalidate();
  return {r->status, r->body};
}

int RestClient::Stream(const std::string& path_and_query, std::chrono::milliseconds idle_timeout,
                       const std::function<bool(int, std::string_view)>& on_data) {
  if (cancelled_) throw TransportError("cancelled");
  auto& c = *impl_->client;
  SetReadTimeout(c, idle_timeout);
  int status = 0;
  bool stopped_by_receiver = false;
  httplib::Result r = c.Get(
      impl_->url.prefix + path_and_query, RequestHeaders(config_),
      [&](const httplib::Response& res) {
        status = res.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (cancelled_) return false;
        if (!on_data(status, std::string_view(data, len))) {
          stopped_by_receiver = true;
          return false;
        }
        return true;
      });
  if (!r) {
    if (stopped_by_receiver) return status;
    if (cancelled_) throw TransportError("cancelled");
    throw TransportError(DescribeTransport(c, r.error(), config_.server));
  }
  if (r->status == 401 && config_.token) config_.token->Invalidate();
  return r->status;
}

void RestClient::Cancel() {
  cancelled_ = true;
  impl_->client->stop();
}

void RestClient::Resume() { cancelled_ = false; }

std::string DescribeHttpError(const HttpResponse& response) {
  std::string reason;
  switch (response.status) {
    case 400:
      reason = "Bad Request";
      break;
    case 401:
      reason = "Unauthorized";
      break;
    case 403:
      reason = "Forbidden";
      break;
    case 404:
      reason = "Not Found";
      break;
    case 410:
      reason = "Gone";
      break;
    case 429:
      reason = "Too Many Requests";
      break;
    case 500:
      reason = "Internal Server Error";
      break;
    case 503:
      reason = "Service Unavailable";
      break;
    default:
      reason = "HTTP status";
  }
  std::string message;
  try {
    const auto j = nlohmann::json::parse(response.body);
    if (j.is_object() && j.value("kind", "") == "Status") message = j.value("message", "");
  } catch (const std::exception&) {
  }
  if (message.empty()) message = response.body.substr(0, 200);
  return std::to_string(response.status) + " " + reason + (message.empty() ? "" : ": " + message);
}

}  // namespace smi::kube
