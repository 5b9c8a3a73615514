#include "kube/rest_client.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <mutex>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace smi::kube {

namespace {

struct ParsedUrl {
  bool tls = true;
  std::string host;
  int port = 443;
  std::string prefix;  // path prefix without a trailing slash
};

ParsedUrl ParseServer(const std::string& url) {
  ParsedUrl u;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    u.tls = false;
    u.port = 80;
    rest = url.substr(7);
  } else {
    throw ConfigError("server URL " + url + " is neither http:// nor https://");
  }
  const size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) u.prefix = rest.substr(slash);
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  size_t colon = std::string::npos;
  if (!hostport.empty() && hostport[0] == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string::npos) throw ConfigError("server URL " + url + " has a bad host");
    u.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') colon = close + 1;
  } else {
    colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
  }
  if (colon != std::string::npos) {
    try {
      u.port = std::stoi(hostport.substr(colon + 1));
    } catch (const std::exception&) {
      throw ConfigError("server URL " + url + " has a bad port");
    }
  }
  if (u.host.empty()) throw ConfigError("server URL " + url + " has no host");
  return u;
}

std::string OpenSslError() {
  char buf[256] = {0};
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  return buf;
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
      BIO* cb = BIO_new_mem_buf(config_.client_cert_pem.data(),
                                static_cast<int>(config_.client_cert_pem.size()));
      X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
      BIO_free(cb);
      BIO* kb = BIO_new_mem_buf(config_.client_key_pem.data(),
                                static_cast<int>(config_.client_key_pem.size()));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
      BIO_free(kb);
      if (!cert || !key) {
        X509_free(cert);
        EVP_PKEY_free(key);
        throw ConfigError(config_.description +
                          ": unreadable client certificate or key: " + OpenSslError());
      }
      ssl = std::make_unique<httplib::SSLClient>(u.host, u.port, cert, key);
      X509_free(cert);
      EVP_PKEY_free(key);
    } else {
      ssl = std::make_unique<httplib::SSLClient>(u.host, u.port);
    }
    if (!ssl->is_valid()) throw ConfigError(config_.description + ": cannot set up TLS");
    if (config_.insecure_skip_tls_verify) {
      ssl->enable_server_certificate_verification(false);
    } else {
      ssl->enable_server_certificate_verification(true);
      if (!config_.ca_pem.empty()) {
        X509_STORE* store = X509_STORE_new();
        BIO* bio = BIO_new_mem_buf(config_.ca_pem.data(), static_cast<int>(config_.ca_pem.size()));
        int added = 0;
        while (X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
          X509_STORE_add_cert(store, c);
          X509_free(c);
          ++added;
        }
        ERR_clear_error();
        BIO_free(bio);
        if (added == 0) {
          X509_STORE_free(store);
          throw ConfigError(config_.description +
                            ": the certificate authority holds no PEM "
                            "certificate");
        }
        ssl->set_ca_cert_store(store);  // takes ownership
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
