// How to reach and authenticate to kube-apiserver: in-cluster (service account) or a kubeconfig.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace smi::kube {

// The configuration is missing, unreadable or unsupported; the message says which and where.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bearer token. File-backed tokens are re-read when the file changes (service-account tokens are
// projected and rotated by the kubelet, which swaps a symlink), and after the server answered 401.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual std::string Token() = 0;  // throws ConfigError when a token file cannot be read
  virtual void Invalidate() {}      // the server refused the token: read it again next time
};

class StaticTokenSource : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  std::string Token() override { return token_; }

 private:
  std::string token_;
};

class FileTokenSource : public TokenSource {
 public:
  explicit FileTokenSource(std::string path) : path_(std::move(path)) {}
  std::string Token() override;
  void Invalidate() override;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mu_;
  bool loaded_ = false;
  bool force_reload_ = false;
  // What the file looked like when read: any change (a new inode behind the symlink, a new
  // mtime or size) means a new token.
  ino_t inode_ = 0;
  dev_t dev_ = 0;
  timespec mtime_{};
  off_t size_ = 0;
  std::string token_;
};

struct RestConfig {
  std::string server;  // https://host:port[/prefix] (http:// is accepted too, e.g. kubectl proxy)
  std::string ca_pem;  // empty: the system's trust store
  bool insecure_skip_tls_verify = false;
  std::string client_cert_pem;  // client certificate authentication (both or neither)
  std::string client_key_pem;
  std::shared_ptr<TokenSource> token;  // bearer token; may be null
  std::string username, password;      // basic authentication (rare; kubeconfig only)
  std::string description;             // "in-cluster" or "kubeconfig <path> context <name>"
};

// Where the in-cluster configuration lives; tests point these elsewhere.
struct InClusterPaths {
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  // Unset: read KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT from the environment.
  std::optional<std::string> host;
  std::optional<std::string> port;
};

// rest.InClusterConfig. Throws ConfigError (not in a cluster, unreadable token or CA).
RestConfig InClusterConfig(const InClusterPaths& paths = {});

// The kubeconfig at `path`, using `context` (empty: current-context). Relative file paths in it
// are relative to the kubeconfig's folder, as client-go resolves them. Throws ConfigError naming
// the file and what is wrong (no such context, a context naming no cluster, exec plugins,
// unreadable files...), whatever the shape of the YAML.
RestConfig LoadKubeconfig(const std::string& path, const std::string& context = "");
// The same from YAML text; `base_dir` resolves relative paths.
RestConfig ParseKubeconfig(const std::string& yaml, const std::string& base_dir,
                           const std::string& context = "", const std::string& origin = "");

}  // namespace smi::kube
