// smi-metrics-server: wires the stages together. Behaviour lives in the libraries.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "aggregation/traffic_metrics_service.h"
#include "apiserver/api_handler.h"
#include "apiserver/authentication.h"
#include "apiserver/authorization.h"
#include "apiserver/flags.h"
#include "apiserver/https_server.h"
#include "apiserver/kubeconfig.h"
#include "apiserver/pki.h"
#include "kube/access_review.h"
#include "kube/authentication_config.h"
#include "kube/cluster_state.h"
#include "kube/credentials.h"
#include "kube/watched_cluster.h"
#include "base/clock.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/prometheus_source.h"
#include "sources/source_metrics.h"

namespace {

using namespace smi;

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// How the server reaches kube-apiserver, if it does: its objects' caches, and the delegated
// authentication and authorization (TokenReview, SubjectAccessReview, the ConfigMap).
std::optional<kube::RestConfig> KubeAccess(const apiserver::ServerFlags& flags) {
  if (!flags.kube_objects.empty()) return std::nullopt;
  if (!flags.kubeconfig.empty()) return kube::LoadKubeconfig(flags.kubeconfig, flags.kube_context);
  if (flags.in_cluster) return kube::InClusterConfig();
  if (const char* host = std::getenv("KUBERNETES_SERVICE_HOST"); host && *host) {
    std::cerr << "smi-metrics-server: KUBERNETES_SERVICE_HOST is set and neither --kubeconfig "
                 "nor --kube-objects was given: using the cluster as the pod's service "
                 "account (--in-cluster)\n";
    return kube::InClusterConfig();
  }
  return std::nullopt;
}

// Where the server's Kubernetes knowledge comes from (null: none; answers rest on the series).
std::unique_ptr<kube::ClusterState> StartClusterState(
    const apiserver::ServerFlags& flags, const std::optional<kube::RestConfig>& access) {
  if (!flags.kube_objects.empty()) {
    auto state = kube::StaticClusterState::FromFile(flags.kube_objects);
    const auto snapshot = state->Snapshot();
    std::cerr << "smi-metrics-server: Kubernetes objects from " << flags.kube_objects << " ("
              << snapshot->Count(kube::Resource::kNamespaces) << " namespaces, "
              << snapshot->Count(kube::Resource::kPods) << " pods; no cluster is watched)\n";
    return state;
  }
  if (!access) {
    std::cerr << "smi-metrics-server: no Kubernetes knowledge (no --kubeconfig, --in-cluster or "
                 "--kube-objects): objects exist while the metric series show them, and "
                 "labelSelector is refused\n";
    return nullptr;
  }
  std::cerr << "smi-metrics-server: watching Kubernetes objects at " << access->server << " ("
            << access->description << "); /readyz is 503 until the caches have synced\n";
  auto state = std::make_unique<kube::WatchedClusterState>(*access);
  state->Start();
  return state;
}

// The authentication options the flags give (each part left unset is the ConfigMap's).
apiserver::AuthenticationOptions AuthenticationFromFlags(const apiserver::ServerFlags& flags,
                                                         const std::string& client_ca_pem) {
  apiserver::AuthenticationOptions o;
  if (!client_ca_pem.empty()) o.client_ca_pem = client_ca_pem;
  if (!flags.requestheader_client_ca_file.empty()) {
    kube::RequestHeaderConfig rh;
    rh.client_ca_pem = apiserver::ReadTextFile(flags.requestheader_client_ca_file);
    rh.allowed_names = flags.requestheader_allowed_names;
    rh.username_headers = flags.requestheader_username_headers;
    rh.group_headers = flags.requestheader_group_headers;
    rh.extra_headers_prefix = flags.requestheader_extra_headers_prefix;
    o.request_header = rh;
  }
  o.anonymous = flags.anonymous_auth;
  o.token_authenticated_ttl = flags.token_cache_ttl;
  o.token_unauthenticated_ttl = flags.token_unauthorized_cache_ttl;
  return o;
}

int Run(const apiserver::ServerFlags& flags) {
  apiserver::ServingOptions serving;
  serving.bind_address = flags.bind_address;
  serving.port = flags.secure_port;
  serving.threads = flags.threads;
  std::string serving_ca_pem;
  if (!flags.tls_cert_file.empty()) {
    serving.serving = {apiserver::ReadTextFile(flags.tls_cert_file),
                       apiserver::ReadTextFile(flags.tls_private_key_file)};
    serving_ca_pem = serving.serving.cert;
  } else {
    const auto ca = apiserver::GenerateCa("smi-metrics-server self-signed CA");
    apiserver::CertRequest request;
    request.common_name = "localhost";
    request.dns_names = {"localhost"};
    request.ip_addresses = {"127.0.0.1"};
    request.server_auth = true;
    serving.serving = apiserver::IssueCertificate(ca, request);
    serving_ca_pem = ca.cert;
    std::cerr << "smi-metrics-server: no --tls-cert-file given: serving with a self-signed "
                 "certificate for localhost and 127.0.0.1\n";
  }

  const auto access = KubeAccess(flags);
  if (!flags.client_ca_file.empty()) {
    serving.client_ca_pem = apiserver::ReadTextFile(flags.client_ca_file);
  } else if (!flags.write_kubeconfig.empty()) {
    const auto client_ca = apiserver::GenerateCa("smi-metrics-server client CA");
    apiserver::CertRequest request;
    request.common_name = "smi-metrics-admin";
    request.organizations = {"system:masters"};
    request.client_auth = true;
    const auto admin = apiserver::IssueCertificate(client_ca, request);
    serving.client_ca_pem = client_ca.cert;
    const std::string host = flags.bind_address == "0.0.0.0" ? "127.0.0.1" : flags.bind_address;
    const std::string url = "https://" + host + ":" + std::to_string(flags.secure_port);
    apiserver::WriteTextFile(
        flags.write_kubeconfig,
        apiserver::KubeconfigYaml(url, serving_ca_pem, admin, "smi-metrics-admin"),
        /*secret=*/true);
    std::cerr << "smi-metrics-server: wrote a kubeconfig for " << url << " to "
              << flags.write_kubeconfig << "\n";
  }

  sources::prometheus::ClientOptions prom;
  prom.base_url = flags.prometheus_url;
  prom.timeout = flags.prometheus_timeout;
  prom.ca_file = flags.prometheus_ca_file;
  prom.insecure_skip_tls_verify = flags.prometheus_insecure_skip_tls_verify;
  if (!flags.prometheus_bearer_token_file.empty()) {
    prom.bearer_token = Trimmed(apiserver::ReadTextFile(flags.prometheus_bearer_token_file));
  }
  prom.client_cert_file = flags.prometheus_client_cert_file;
  prom.client_key_file = flags.prometheus_client_key_file;
  if (!flags.prometheus_basic_auth_username.empty()) {
    prom.basic_auth_username = flags.prometheus_basic_auth_username;
    prom.basic_auth_password =
        Trimmed(apiserver::ReadTextFile(flags.prometheus_basic_auth_password_file));
  }
  sources::prometheus::SourceOptions source_options;
  if (flags.cache_ttl) source_options.cache.ttl = *flags.cache_ttl;
  sources::prometheus::PrometheusSource source(
      prom, sources::prometheus::MeshProfile(flags.profile), std::move(source_options));

  const auto cluster = StartClusterState(flags, access);

  // Identity and access (DESIGN.md decision 12; README "Identity and access").
  std::unique_ptr<kube::RestAccessReviewer> reviewer;
  if (access) reviewer = std::make_unique<kube::RestAccessReviewer>(*access);
  apiserver::Authenticator authenticator(AuthenticationFromFlags(flags, serving.client_ca_pem),
                                         reviewer.get());
  std::unique_ptr<kube::AuthenticationConfigMapPoller> auth_config;
  if (access && !flags.authentication_skip_lookup) {
    auth_config = std::make_unique<kube::AuthenticationConfigMapPoller>(
        *access, kube::AuthenticationConfigMapPoller::Options{},
        [&authenticator](const kube::ExtensionApiserverAuthentication& c) {
          try {
            authenticator.UpdateFromConfigMap(c);
            std::cerr << "smi-metrics-server: authentication from "
                         "kube-system/extension-apiserver-authentication: "
                      << authenticator.Describe() << "\n";
          } catch (const std::exception& e) {
            std::cerr << "smi-metrics-server: kube-system/extension-apiserver-authentication "
                         "not applied: "
                      << e.what() << "\n";
          }
        },
        [](const std::string& error) {
          std::cerr << "smi-metrics-server: warning: " << error
                    << " (front-proxy and client-CA settings stay as they were; RBAC: the Role "
                       "extension-apiserver-authentication-reader in kube-system)\n";
        });
    auth_config->Start();
  }
  apiserver::AuthorizationOptions authz;
  authz.mode = !flags.authorization_mode.empty()
                   ? apiserver::ParseAuthorizationMode(flags.authorization_mode)
               : !flags.write_kubeconfig.empty()
                   ? apiserver::AuthorizationMode::kAlwaysAllowAuthenticated
                   : apiserver::AuthorizationMode::kDelegated;
  authz.allowed_ttl = flags.authorization_allowed_ttl;
  authz.denied_ttl = flags.authorization_denied_ttl;
  if (authz.mode == apiserver::AuthorizationMode::kDelegated && !access) {
    throw std::runtime_error(
        "--authorization-mode=Delegated asks kube-apiserver (SubjectAccessReview) who may read, "
        "but there is no Kubernetes access: give --kubeconfig or --in-cluster, or "
        "--authorization-mode=AlwaysAllowAuthenticated to let every authenticated caller read");
  }
  apiserver::Authorizer authorizer(authz, reviewer.get());
  std::cerr << "smi-metrics-server: authentication: " << authenticator.Describe() << "\n";
  if (authz.mode == apiserver::AuthorizationMode::kDelegated) {
    std::cerr << "smi-metrics-server: authorization: Delegated (SubjectAccessReview to "
              << access->server << "; system:masters and /healthz, /livez, /readyz, /version "
              << "need none; decisions cached " << flags.authorization_allowed_ttl.count()
              << "ms allowed, " << flags.authorization_denied_ttl.count() << "ms denied)\n";
  } else {
    std::cerr << "smi-metrics-server: authorization: AlwaysAllowAuthenticated"
              << (flags.authorization_mode.empty() ? " (implied by --write-kubeconfig)" : "")
              << ": EVERY AUTHENTICATED CALLER MAY READ EVERY METRIC; no RBAC is consulted\n";
  }

  base::SystemClock clock;
  aggregation::TrafficMetricsService::Options answer_options;
  answer_options.evaluation_delay = flags.evaluation_delay;
  answer_options.default_window = flags.default_window;
  aggregation::TrafficMetricsService service(source, clock, answer_options, cluster.get());
  apiserver::ApiHandler handler(service, source);
  handler.set_cluster(cluster.get());
  handler.set_authorizer(&authorizer);
  handler.set_metrics_text(
      [&source] { return sources::SerializeMetrics(*source.metrics_registry()); });
  serving.authenticator = &authenticator;
  apiserver::HttpsServer server(serving, handler);

  // SIGINT/SIGTERM are blocked in every thread and taken by this one, which stops the server.
  std::thread signals([&server] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    std::cerr << "smi-metrics-server: stopping on signal " << sig << "\n";
    server.Stop();
  });
  signals.detach();

  std::cerr << "smi-metrics-server: serving metrics.smi-spec.io on https://" << flags.bind_address
            << ":" << flags.secure_port << " from Prometheus at " << flags.prometheus_url
            << " (mesh profile " << flags.profile.name << ")\n";
  server.Run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  apiserver::ServerFlags flags;
  try {
    flags = apiserver::ParseFlags(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "smi-metrics-server: " << e.what() << "\n";
    return 2;
  }
  if (flags.help) {
    std::cout << apiserver::FlagsUsage();
    return 0;
  }
  try {
    return Run(flags);
  } catch (const std::exception& e) {
    std::cerr << "smi-metrics-server: " << e.what() << "\n";
    return 1;
  }
}
