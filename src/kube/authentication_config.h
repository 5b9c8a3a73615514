// The kube-system/extension-apiserver-authentication ConfigMap that kube-apiserver keeps for
// extension apiservers (docs/kubernetes-api.md): the client CA, and the front-proxy
// (request-header) CA, allowed names and header names. Read with a GET and re-read periodically
// (RBAC: the Role extension-apiserver-authentication-reader in kube-system).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/credentials.h"

namespace smi::kube {

inline constexpr const char* kAuthenticationConfigMapPath =
    "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication";

struct RequestHeaderConfig {
  std::string client_ca_pem;  // requestheader-client-ca-file
  std::vector<std::string> allowed_names;
  std::vector<std::string> username_headers;
  std::vector<std::string> uid_headers;
  std::vector<std::string> group_headers;
  std::vector<std::string> extra_headers_prefix;
  friend bool operator==(const RequestHeaderConfig&, const RequestHeaderConfig&) = default;
};

struct ExtensionApiserverAuthentication {
  std::string client_ca_pem;  // client-ca-file; empty when absent
  std::optional<RequestHeaderConfig>
      request_header;  // only when requestheader-client-ca-file is set
  friend bool operator==(const ExtensionApiserverAuthentication&,
                         const ExtensionApiserverAuthentication&) = default;
};

// Decodes the ConfigMap object (the JSON kube-apiserver answers). The requestheader-* list keys
// are JSON arrays in strings ("[\"X-Remote-User\"]"). Throws ConfigError naming the key.
ExtensionApiserverAuthentication ParseAuthenticationConfigMap(const nlohmann::json& configmap);

// GETs and re-GETs the ConfigMap. Each successful read that differs from the last is handed to
// `on_change`; failures to `on_error` (the last good configuration stays in force).
class AuthenticationConfigMapPoller {
 public:
  struct Options {
    std::chrono::milliseconds interval{60000};
    std::chrono::milliseconds timeout{10000};
  };
  AuthenticationConfigMapPoller(
      RestConfig config, Options options,
      std::function<void(const ExtensionApiserverAuthentication&)> on_change,
      std::function<void(const std::string&)> on_error);
  ~AuthenticationConfigMapPoller();  // stops

  // Reads once now (synchronously; false and on_error when that failed), then keeps re-reading in
  // the background every interval.
  bool Start();
  void Stop();
  // One read now. Throws ConfigError (unreadable, undecodable) or std::runtime_error (transport).
  ExtensionApiserverAuthentication ReadOnce();

 private:
  void Poll();
  RestConfig config_;
  Options options_;
  std::function<void(const ExtensionApiserverAuthentication&)> on_change_;
  std::function<void(const std::string&)> on_error_;
  std::optional<ExtensionApiserverAuthentication> last_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace smi::kube
