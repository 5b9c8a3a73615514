// The keep-alive HTTP clients of one Prometheus server: made with the client's options (TLS,
// credentials, timeouts), handed out one per exchange and kept for reuse when idle.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "base/url.h"
#include "sources/prometheus/prometheus_client.h"

namespace httplib {
class Client;
}

namespace smi::sources::prometheus {

class ConnectionPool {
 public:
  // `options` and `url` (options.base_url parsed) must outlive the pool.
  ConnectionPool(const ClientOptions& options, const base::HttpUrl& url);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // An idle client (then `*reused` is true) or a new one.
  std::unique_ptr<httplib::Client> Acquire(bool* reused);
  // Keeps `cli` for reuse, up to options.max_idle_connections; a client whose exchange failed or
  // was stopped has lost its connection and is not given back.
  void Release(std::unique_ptr<httplib::Client> cli);

 private:
  std::unique_ptr<httplib::Client> NewClient() const;

  const ClientOptions& options_;
  const base::HttpUrl& url_;
  std::mutex mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;
};

}  // namespace smi::sources::prometheus
