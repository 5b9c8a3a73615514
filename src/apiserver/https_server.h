// The HTTPS listener, on one Boost.Asio event loop: TLS, authentication of every request (the
// chain in authentication.h: front proxy, client certificate, bearer token, anonymous), and the
// hand-off to ApiHandler, which authorizes. Credentials that were presented and refused are
// answered 401 here.
//
// A few I/O threads serve every connection; no thread belongs to a connection or a request.
// ApiHandler may block (a Prometheus query, a SubjectAccessReview), so requests run on a bounded
// pool of worker threads and their answers are written back by the event loop. A slow or idle
// client costs a socket and a timer: deadlines bound the TLS handshake, the request header, the
// idle time between keep-alive requests and the writing of an answer, and when the connection cap
// is reached the connection idle the longest is closed first (docs/serving.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apiserver/api_handler.h"
#include "apiserver/authentication.h"
#include "apiserver/pki.h"
#include "apiserver/serving_limits.h"

namespace prometheus {
class Registry;
}

namespace boost::asio {
class io_context;
}

namespace smi::apiserver {

// A file the server re-reads when it changes (a Secret's symlink swapped by the kubelet, a
// certificate renewed by cert-manager). `apply` gets the new contents of every file of the set
// (read together, so a certificate and its key change as one) and throws to refuse them: the old
// ones then stay in force and the error is logged.
struct ReloadableFiles {
  std::string what;  // "serving certificate", "client CA", ... for the log
  std::vector<std::string> paths;
  std::function<void(const std::vector<std::string>& contents)> apply;
};

struct ServingOptions {
  std::string bind_address = "0.0.0.0";
  int port = 8443;  // 0: any free port (BoundPort() tells which)
  PemPair serving;  // certificate (chain) and key, PEM
  // When set, the serving certificate and key are re-read from these files when they change.
  std::string cert_file;
  std::string key_file;
  // Other files re-read when they change (the client and request-header CAs).
  std::vector<ReloadableFiles> reloadable;
  std::chrono::milliseconds reload_interval{2000};  // how often their status is checked
  // Authenticates requests; must outlive the server. Unset: only client certificates of
  // `client_ca_pem` authenticate (no front proxy, tokens or anonymous).
  const Authenticator* authenticator = nullptr;
  // PEM bundle of CAs whose client certificates authenticate users (without an authenticator).
  std::string client_ca_pem;
  int io_threads = 2;       // event-loop threads
  // The event loop to serve on, shared with other work of the process (sidecar scraping); it must
  // outlive the server, and the server's I/O threads run it. Null: a loop of the server's own.
  boost::asio::io_context* io = nullptr;
  int worker_threads = 32;  // threads answering requests (they may wait on Prometheus)
  ServingLimits limits;
  // Where the serving metrics go (requests by verb, resource and code, latency, in flight, open
  // connections, connections closed by each limit); null: not recorded. Must outlive the server.
  prometheus::Registry* metrics = nullptr;
};

class HttpsServer {
 public:
  // Throws std::runtime_error when the certificate or key cannot be used.
  HttpsServer(const ServingOptions& options, const ApiHandler& handler);
  ~HttpsServer();  // stops
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Binds (throws std::runtime_error naming the address if it cannot) and starts serving on the
  // I/O threads; returns at once.
  void Start();
  // The port listened on, once started.
  int BoundPort() const;
  // Start(), then serves until Stop().
  void Run();
  // Closes the listener and every connection; waits for the threads. Safe from any thread and
  // more than once.
  void Stop();

 private:
  friend class Connection;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The ALPN protocol the server picks from a client's list: "http/1.1" when offered, else none.
bool OffersHttp11(const unsigned char* protocols, unsigned int length);

}  // namespace smi::apiserver
