#include "sources/prometheus/connection_pool.h"

#include <httplib.h>

namespace smi::sources::prometheus {

ConnectionPool::ConnectionPool(const ClientOptions& options, const base::HttpUrl& url)
    : options_(options), url_(url) {}

ConnectionPool::~ConnectionPool() = default;

std::unique_ptr<httplib::Client> ConnectionPool::NewClient() const {
  const bool ipv6 = url_.host.find(':') != std::string::npos;
  std::string origin = url_.scheme + "://";
  if (ipv6) origin += '[';
  origin += url_.host;
  if (ipv6) origin += ']';
  origin += ':';
  origin += std::to_string(url_.port);
  auto cli = options_.client_cert_file.empty()
                 ? std::make_unique<httplib::Client>(origin)
                 : std::make_unique<httplib::Client>(origin, options_.client_cert_file,
                                                     options_.client_key_file);
  cli->set_connection_timeout(options_.timeout);
  cli->set_read_timeout(options_.timeout);
  cli->set_write_timeout(options_.timeout);
  cli->set_keep_alive(true);
  cli->set_tcp_nodelay(true);
  if (!options_.bearer_token.empty()) cli->set_bearer_token_auth(options_.bearer_token);
  if (!options_.basic_auth_username.empty()) {
    cli->set_basic_auth(options_.basic_auth_username, options_.basic_auth_password);
  }
  if (url_.scheme == "https") {
    cli->enable_server_certificate_verification(!options_.insecure_skip_tls_verify);
    if (!options_.ca_file.empty()) cli->set_ca_cert_path(options_.ca_file);
  }
  return cli;
}

std::unique_ptr<httplib::Client> ConnectionPool::Acquire(bool* reused) {
  std::lock_guard lock(mu_);
  *reused = !idle_.empty();
  if (idle_.empty()) return NewClient();
  auto cli = std::move(idle_.back());
  idle_.pop_back();
  return cli;
}

void ConnectionPool::Release(std::unique_ptr<httplib::Client> cli) {
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(cli));
}

}  // namespace smi::sources::prometheus
