#include "apiserver/https_server.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <iostream>
#include <stdexcept>

#include "apiserver/status.h"

namespace smi::apiserver {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<X509*> ReadCerts(const std::string& pem) {
  std::vector<X509*> certs;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) certs.push_back(cert);
  ERR_clear_error();  // the loop ends on "no start line"
  BIO_free(bio);
  return certs;
}

bool ConfigureTls(SSL_CTX& ctx, const ServingOptions& options) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  auto chain = ReadCerts(options.serving.cert);
  if (chain.empty()) return false;
  bool ok = SSL_CTX_use_certificate(&ctx, chain[0]) == 1;
  for (size_t i = 1; i < chain.size(); ++i) {
    ok = ok && SSL_CTX_add_extra_chain_cert(&ctx, chain[i]) == 1;  // takes ownership
  }
  X509_free(chain[0]);
  BIO* bio =
      BIO_new_mem_buf(options.serving.key.data(), static_cast<int>(options.serving.key.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ok = ok && key && SSL_CTX_use_PrivateKey(&ctx, key) == 1 && SSL_CTX_check_private_key(&ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) return false;

  if (!options.client_ca_pem.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(&ctx);
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (X509* ca : ReadCerts(options.client_ca_pem)) {
      X509_STORE_add_cert(store, ca);
      sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca)));
      X509_free(ca);
    }
    SSL_CTX_set_client_CA_list(&ctx, names);
    // Verify a client certificate when one is offered; clients without one stay anonymous
    // (health probes), as kube-apiserver's "verify if given" does.
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
  }
  return true;
}

std::optional<Identity> IdentityFromTls(const SSL* ssl) {
  if (!ssl) return std::nullopt;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  Identity id;
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (len < 0) continue;
    std::string value(reinterpret_cast<char*>(utf8), len);
    OPENSSL_free(utf8);
    if (nid == NID_commonName) id.user = value;
    if (nid == NID_organizationName) id.groups.push_back(value);
  }
  if (id.user.empty()) return std::nullopt;
  id.groups.push_back("system:authenticated");
  return id;
}

}  // namespace

struct HttpsServer::Impl {
  Impl(const ServingOptions& o, const ApiHandler& h)
      : options(o),
        handler(h),
        server([this](SSL_CTX& ctx) { return ConfigureTls(ctx, options); }) {}

  void Serve(const httplib::Request& req, httplib::Response& res) {
    HttpRequest request;
    request.method = req.method;
    request.path = req.path;
    for (const auto& [k, v] : req.params) request.params.emplace(k, v);
    for (const auto& [k, v] : req.headers) request.headers[Lower(k)] = v;
    request.identity = IdentityFromTls(req.ssl);
    const HttpResponse response = handler.Handle(request);
    res.status = response.status;
    for (const auto& [k, v] : response.headers) res.set_header(k, v);
    res.set_content(response.body, response.content_type);
  }

  ServingOptions options;
  const ApiHandler& handler;
  httplib::SSLServer server;
};

HttpsServer::HttpsServer(const ServingOptions& options, const ApiHandler& handler)
    : impl_(std::make_unique<Impl>(options, handler)) {
  auto& s = impl_->server;
  if (!s.is_valid()) {
    throw std::runtime_error(
        "the TLS certificate or key cannot be used (check --tls-cert-file, "
        "--tls-private-key-file and --client-ca-file)");
  }
  // Measured in DESIGN.md: Nagle's algorithm with delayed ACKs and short keep-alive cut
  // throughput by an order of magnitude; a pool smaller than the open connections queues them.
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(1000);
  s.set_keep_alive_timeout(60);
  s.set_read_timeout(30);
  s.set_payload_max_length(1 << 20);
  const int threads = std::max(2, options.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  const auto serve = [this](const httplib::Request& req, httplib::Response& res) {
    impl_->Serve(req, res);
  };
  s.Get(".*", serve);
  s.Post(".*", serve);
  s.Put(".*", serve);
  s.Patch(".*", serve);
  s.Delete(".*", serve);
  s.Options(".*", serve);
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        std::cerr << "smi-metrics-server: request failed: " << what << "\n";
        const HttpResponse r = InternalError(what);
        res.status = r.status;
        res.set_content(r.body, r.content_type);
      });
}

HttpsServer::~HttpsServer() = default;

void HttpsServer::Run() {
  auto& s = impl_->server;
  if (!s.bind_to_port(impl_->options.bind_address, impl_->options.port)) {
    throw std::runtime_error("cannot listen on " + impl_->options.bind_address + ":" +
                             std::to_string(impl_->options.port) +
                             " (in use, or not an address of this host?)");
  }
  s.listen_after_bind();
}

void HttpsServer::Stop() { impl_->server.stop(); }

}  // namespace smi::apiserver
