#include "apiserver/https_server.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <iostream>
#include <stdexcept>

#include "apiserver/status.h"
#include "base/pem.h"
#include "base/strings.h"

namespace smi::apiserver {

namespace {

// The certificate_authorities of the CertificateRequest: the authenticator's current client and
// request-header CAs (the ConfigMap may change them), set per handshake.
int SetAcceptableCas(SSL* ssl, void* arg) {
  const auto* authenticator = static_cast<const Authenticator*>(arg);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  for (const base::X509Ptr& ca : base::ReadCertificates(authenticator->AcceptableCaPem())) {
    sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca.get())));
  }
  SSL_set_client_CA_list(ssl, names);  // takes ownership
  return 1;
}

bool ConfigureTls(SSL_CTX& ctx, const ServingOptions& options, const Authenticator& authenticator) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  auto chain = base::ReadCertificates(options.serving.cert);
  if (chain.empty()) return false;
  bool ok = SSL_CTX_use_certificate(&ctx, chain[0].get()) == 1;
  for (size_t i = 1; i < chain.size(); ++i) {
    // SSL_CTX_add_extra_chain_cert takes ownership only when it succeeds.
    if (!ok || SSL_CTX_add_extra_chain_cert(&ctx, chain[i].get()) != 1) {
      ok = false;
      break;
    }
    chain[i].release();
  }
  const base::EvpPkeyPtr key = base::ReadPrivateKey(options.serving.key);
  ok = ok && key && SSL_CTX_use_PrivateKey(&ctx, key.get()) == 1 &&
       SSL_CTX_check_private_key(&ctx) == 1;
  if (!ok) return false;

  // Ask for a client certificate and accept the handshake whatever comes (the peer still proves
  // it holds the key): the authenticator verifies it per request against the CA it is meant for
  // (front proxy or client CA), so that a refused certificate is a 401 Status, as kube-apiserver
  // answers, and CA changes need no new TLS context. Clients without one stay anonymous.
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  SSL_CTX_set_cert_cb(&ctx, SetAcceptableCas,
                      const_cast<void*>(static_cast<const void*>(&authenticator)));
  return true;
}

std::string CertPem(X509* cert) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string pem(data, n);
  BIO_free(b);
  return pem;
}

AuthenticationInput InputOf(const httplib::Request& req) {
  AuthenticationInput in;
  if (req.ssl) {
    if (X509* leaf = SSL_get0_peer_certificate(req.ssl)) {
      in.peer_certificates_pem.push_back(CertPem(leaf));
      // On the server side the peer's chain does not hold the leaf: the intermediates it sent.
      if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(req.ssl)) {
        for (int i = 0; i < sk_X509_num(chain); ++i) {
          X509* c = sk_X509_value(chain, i);
          if (X509_cmp(c, leaf) != 0) in.peer_certificates_pem.push_back(CertPem(c));
        }
      }
    }
  }
  for (const auto& [k, v] : req.headers) in.headers.emplace_back(k, v);
  return in;
}

AuthenticationOptions ClientCaOnly(const ServingOptions& o) {
  AuthenticationOptions a;
  if (!o.client_ca_pem.empty()) a.client_ca_pem = o.client_ca_pem;
  a.anonymous = false;
  return a;
}

}  // namespace

struct HttpsServer::Impl {
  Impl(const ServingOptions& o, const ApiHandler& h)
      : options(o),
        handler(h),
        own_authenticator(
            o.authenticator ? nullptr : std::make_unique<Authenticator>(ClientCaOnly(o), nullptr)),
        authenticator(o.authenticator ? *o.authenticator : *own_authenticator),
        server([this](SSL_CTX& ctx) { return ConfigureTls(ctx, options, authenticator); }) {}

  void Serve(const httplib::Request& req, httplib::Response& res) {
    HttpRequest request;
    request.method = req.method;
    request.path = req.path;
    for (const auto& [k, v] : req.params) request.params.emplace(k, v);
    request.target = req.target;
    for (const auto& [k, v] : req.headers) request.headers[base::Lower(k)] = v;
    const AuthenticationResult authn = authenticator.Authenticate(InputOf(req));
    HttpResponse response;
    if (authn.outcome == AuthenticationResult::Outcome::kFailed) {
      // filters/authentication.go: credentials that were presented and refused are a 401.
      std::cerr << "smi-metrics-server: unable to authenticate the request to " << req.path << ": "
                << authn.error << "\n";
      response = Unauthorized();
    } else {
      if (authn.outcome != AuthenticationResult::Outcome::kUnauthenticated) {
        request.identity = authn.identity;
      }
      for (const auto& h : authn.consumed_headers) request.headers.erase(h);
      response = handler.Handle(request);
    }
    res.status = response.status;
    for (const auto& [k, v] : response.headers) res.set_header(k, v);
    res.set_content(response.body, response.content_type);
  }

  ServingOptions options;
  const ApiHandler& handler;
  std::unique_ptr<Authenticator> own_authenticator;
  const Authenticator& authenticator;
  httplib::SSLServer server;
};

HttpsServer::HttpsServer(const ServingOptions& options, const ApiHandler& handler)
    : impl_(std::make_unique<Impl>(options, handler)) {
  auto& s = impl_->server;
  if (!s.is_valid()) {
    throw std::runtime_error(
        "the TLS certificate or key cannot be used (check --tls-cert-file and "
        "--tls-private-key-file)");
  }
  // Measured (docs/measurements.md, "Serving over TLS with cpp-httplib"): Nagle's algorithm with
  // delayed ACKs and short keep-alive cut throughput by an order of magnitude; a pool smaller than
  // the open connections queues them.
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
