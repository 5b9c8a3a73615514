// The server's command line.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace smi::apiserver {

struct ServerFlags {
  // Serving
  std::string bind_address = "0.0.0.0";
  int secure_port = 8443;
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string client_ca_file;
  int threads = 32;
  std::string write_kubeconfig;  // path; makes a client CA and an admin certificate for it

  // Source
  std::string mesh = "linkerd";
  std::string prometheus_url;
  std::chrono::milliseconds prometheus_timeout{10000};
  std::string prometheus_ca_file;
  std::string prometheus_bearer_token_file;
  bool prometheus_insecure_skip_tls_verify = false;
  std::string proxy_job = "linkerd-proxy";

  // Answers
  std::chrono::milliseconds evaluation_delay{1000};

  bool help = false;
};

// Parses `--name=value` and `--name value`. Throws std::invalid_argument with a message naming
// the flag and what is wrong.
ServerFlags ParseFlags(const std::vector<std::string>& args);

std::string FlagsUsage();

}  // namespace smi::apiserver
