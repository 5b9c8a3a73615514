// The server's command line: every setting of every layer, as flags, over the configuration file
// (config_file.h) when --config names one.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "apiserver/serving_limits.h"
#include "sources/prometheus/mesh_profile.h"

namespace smi::config {

struct ServerFlags {
  // Serving
  std::string bind_address = "0.0.0.0";
  int secure_port = 8443;
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string client_ca_file;
  int threads = 32;    // worker threads answering requests
  int io_threads = 2;  // event-loop threads
  apiserver::ServingLimits limits;
  std::string write_kubeconfig;  // path; makes a client CA and an admin certificate for it

  // Delegated authentication (README "Identity and access"). Each request-header setting given
  // here wins over the kube-system/extension-apiserver-authentication ConfigMap's.
  std::string requestheader_client_ca_file;
  std::vector<std::string> requestheader_allowed_names;  // empty: any CN of that CA
  std::vector<std::string> requestheader_username_headers{"X-Remote-User"};
  std::vector<std::string> requestheader_group_headers{"X-Remote-Group"};
  std::vector<std::string> requestheader_extra_headers_prefix{"X-Remote-Extra-"};
  bool authentication_skip_lookup = false;  // do not read the ConfigMap
  bool anonymous_auth = true;
  std::chrono::milliseconds token_cache_ttl{10000};
  std::chrono::milliseconds token_unauthorized_cache_ttl{2000};
  // Authorization: "Delegated" (SubjectAccessReview) or "AlwaysAllowAuthenticated" (local);
  // empty: Delegated, or AlwaysAllowAuthenticated when --write-kubeconfig is given.
  std::string authorization_mode;
  std::chrono::milliseconds authorization_allowed_ttl{10000};
  std::chrono::milliseconds authorization_denied_ttl{10000};

  // The configuration file the values below were read from before the flags (empty: none).
  std::string config_file;

  // Source: "prometheus" (ask a Prometheus) or "sidecars" (scrape the proxies directly).
  std::string source = "prometheus";
  // Sidecar mode (source == "sidecars"): docs/sidecars.md.
  std::chrono::milliseconds sidecar_interval{10000};
  std::chrono::milliseconds sidecar_timeout{0};  // 0: the interval, at most 10s
  std::chrono::milliseconds sidecar_retention{300000};
  int sidecar_max_concurrent = 64;
  int64_t sidecar_max_body_bytes = 16 << 20;
  std::string mesh = "linkerd";   // a built-in profile (sources/prometheus/builtin_profiles.cpp)
  std::string mesh_profile_file;  // a profile in YAML; replaces `mesh`
  std::optional<sources::prometheus::MeshProfileSpec> inline_profile;  // config file mesh.profile
  // The profile in use, resolved by ParseFlags from (in order) an inline profile in the config
  // file, mesh_profile_file or mesh, with proxy_job applied; checked (MeshProfile's constructor).
  sources::prometheus::MeshProfileSpec profile;
  std::string prometheus_url;
  std::chrono::milliseconds prometheus_timeout{30000};  // docs/prometheus-scale.md, "The timeout"
  // The largest Prometheus answer accepted: bounds the memory one query may take.
  size_t prometheus_max_answer_bytes = size_t{256} << 20;
  std::string prometheus_ca_file;
  std::string prometheus_bearer_token_file;
  bool prometheus_insecure_skip_tls_verify = false;
  std::string prometheus_client_cert_file;
  std::string prometheus_client_key_file;
  std::string prometheus_basic_auth_username;
  std::string prometheus_basic_auth_password_file;
  std::string proxy_job;  // the profile's `job` parameter; empty: the profile's own default
  // How long answers from Prometheus are reused (the source's cache); nullopt: its default.
  std::optional<std::chrono::milliseconds> cache_ttl;
  // The answer cache of encoded metrics answers (docs/serving.md, "Answer cache"): at most this
  // many answers (0: off) and bytes.
  int answer_cache_entries = 1024;
  int answer_cache_max_bytes = 64 << 20;

  // Kubernetes knowledge (existence, labels, owners), at most one of: a kubeconfig, the pod's
  // service account, or a file of objects. None: existence from the metric series alone (main
  // falls back to in-cluster when KUBERNETES_SERVICE_HOST is set).
  std::string kubeconfig;
  std::string kube_context;  // with kubeconfig; empty: its current-context
  bool in_cluster = false;
  std::string kube_objects;  // a {"kind":"List","items":[...]} JSON file

  // Answers
  std::chrono::milliseconds evaluation_delay{1000};
  std::chrono::milliseconds default_window{30000};  // when a request has no ?window=

  bool help = false;
  bool version = false;  // print the version and exit
};

// Parses `--name=value` and `--name value`; with `--config FILE`, FILE's values first and the
// other flags over them. Throws std::invalid_argument with a message naming the flag, or the file
// and key ("config.yaml: prometheus.timeout: \"5x\" is not a duration: ..."), and what is wrong.
ServerFlags ParseFlags(const std::vector<std::string>& args);

std::string FlagsUsage();

}  // namespace smi::config
