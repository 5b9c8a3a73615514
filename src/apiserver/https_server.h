// The HTTPS listener: TLS, authentication of every request (the chain in authentication.h: front
// proxy, client certificate, bearer token, anonymous), and the hand-off to ApiHandler, which
// authorizes. Credentials that were presented and refused are answered 401 here.
#pragma once

#include <memory>
#include <string>

#include "apiserver/api_handler.h"
#include "apiserver/authentication.h"
#include "apiserver/pki.h"

namespace smi::apiserver {

struct ServingOptions {
  std::string bind_address = "0.0.0.0";
  int port = 8443;
  PemPair serving;  // certificate (chain) and key, PEM
  // Authenticates requests; must outlive the server. Unset: only client certificates of
  // `client_ca_pem` authenticate (no front proxy, tokens or anonymous).
  const Authenticator* authenticator = nullptr;
  // PEM bundle of CAs whose client certificates authenticate users (without an authenticator).
  std::string client_ca_pem;
  int threads = 32;  // at least the number of keep-alive connections expected at once
};

class HttpsServer {
 public:
  HttpsServer(const ServingOptions& options, const ApiHandler& handler);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Binds (throws std::runtime_error naming the address if it cannot), then serves until Stop().
  void Run();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smi::apiserver
