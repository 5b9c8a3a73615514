#include "config/server.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include <prometheus/registry.h>
#include <sys/resource.h>
#include <boost/asio/io_context.hpp>

#include "aggregation/traffic_metrics_service.h"
#include "apiserver/answer_cache.h"
#include "apiserver/api_handler.h"
#include "apiserver/authentication.h"
#include "apiserver/authorization.h"
#include "apiserver/https_server.h"
#include "apiserver/kubeconfig.h"
#include "apiserver/pki.h"
#include "base/clock.h"
#include "base/strings.h"
#include "config/process_metrics.h"
#include "config/readiness.h"
#include "kube/access_review.h"
#include "kube/authentication_config.h"
#include "kube/cluster_state.h"
#include "kube/credentials.h"
#include "kube/watched_cluster.h"
#include "model/duration.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/prometheus_source.h"
#include "sources/sidecars/sidecar_source.h"
#include "sources/source_metrics.h"

namespace smi::config {
namespace {

void Log(const std::string& line) { std::cerr << "smi-metrics-server: " << line << "\n"; }

// A secret read from a file, without the line break editors leave at its end.
std::string ReadSecretFile(const std::string& path, std::string_view what) {
  return base::Trim(base::ReadFile(path, what));
}

// The namespace of the pod the server runs in, when it runs in one.
std::optional<std::string> PodNamespace() {
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns && *ns) return std::string(ns);
  try {
    const std::string ns =
        base::Trim(base::ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"));
    if (!ns.empty()) return ns;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Many idle connections each hold a descriptor: lift the soft limit to the hard one, as Go
// programs do at start-up.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// The CA files given by flags are re-read when they change, like the serving certificate.
std::vector<apiserver::ReloadableFiles> ReloadableCas(const ServerFlags& flags,
                                                      apiserver::Authenticator& authenticator) {
  std::vector<apiserver::ReloadableFiles> files;
  if (!flags.client_ca_file.empty()) {
    files.push_back({"client CA",
                     {flags.client_ca_file},
                     [&authenticator](const std::vector<std::string>& contents) {
                       authenticator.UpdateFlagCas(contents[0], std::nullopt);
                     }});
  }
  if (!flags.requestheader_client_ca_file.empty()) {
    files.push_back({"request-header CA",
                     {flags.requestheader_client_ca_file},
                     [&authenticator](const std::vector<std::string>& contents) {
                       authenticator.UpdateFlagCas(std::nullopt, contents[0]);
                     }});
  }
  return files;
}

// The serving certificate: the files given, or a self-signed one for localhost. Also returns the
// CA a client verifies it with (for the kubeconfig --write-kubeconfig writes).
apiserver::PemPair ServingCertificate(const ServerFlags& flags, std::string* serving_ca_pem) {
  if (!flags.tls_cert_file.empty()) {
    apiserver::PemPair pair{base::ReadFile(flags.tls_cert_file, "serving certificate"),
                            base::ReadFile(flags.tls_private_key_file, "serving key")};
    *serving_ca_pem = pair.cert;
    return pair;
  }
  const auto ca = apiserver::GenerateCa("smi-metrics-server self-signed CA");
  apiserver::CertRequest request;
  request.common_name = "localhost";
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1"};
  // In a pod, also the names the Service of deploy/ gives it in the pod's namespace.
  if (const auto ns = PodNamespace()) {
    for (const char* suffix : {"", ".svc", ".svc.cluster.local"}) {
      request.dns_names.push_back("smi-metrics." + *ns + suffix);
    }
  }
  request.server_auth = true;
  *serving_ca_pem = ca.cert;
  std::string names;
  for (const auto& n : request.dns_names) names += (names.empty() ? "" : ", ") + n;
  Log("no --tls-cert-file given: serving with a self-signed certificate for " + names +
      " and 127.0.0.1");
  return apiserver::IssueCertificate(ca, request);
}

// The CAs whose client certificates authenticate callers: --client-ca-file, or (with
// --write-kubeconfig) a CA made here whose admin certificate goes into a kubeconfig.
std::string ClientCa(const ServerFlags& flags, const std::string& serving_ca_pem) {
  if (!flags.client_ca_file.empty()) return base::ReadFile(flags.client_ca_file, "client CA file");
  if (flags.write_kubeconfig.empty()) return "";
  const auto client_ca = apiserver::GenerateCa("smi-metrics-server client CA");
  apiserver::CertRequest request;
  request.common_name = "smi-metrics-admin";
  request.organizations = {"system:masters"};
  request.client_auth = true;
  const auto admin = apiserver::IssueCertificate(client_ca, request);
  const std::string host = flags.bind_address == "0.0.0.0" ? "127.0.0.1" : flags.bind_address;
  const std::string url = "https://" + host + ":" + std::to_string(flags.secure_port);
  apiserver::WriteTextFile(
      flags.write_kubeconfig,
      apiserver::KubeconfigYaml(url, serving_ca_pem, admin, "smi-metrics-admin"),
      /*secret=*/true);
  Log("wrote a kubeconfig for " + url + " to " + flags.write_kubeconfig);
  return client_ca.cert;
}

// How the server reaches kube-apiserver, if it does: its objects' caches, and the delegated
// authentication and authorization (TokenReview, SubjectAccessReview, the ConfigMap).
std::optional<kube::RestConfig> KubeAccess(const ServerFlags& flags) {
  if (!flags.kube_objects.empty()) return std::nullopt;
  if (!flags.kubeconfig.empty()) return kube::LoadKubeconfig(flags.kubeconfig, flags.kube_context);
  if (flags.in_cluster) return kube::InClusterConfig();
  if (const char* host = std::getenv("KUBERNETES_SERVICE_HOST"); host && *host) {
    Log("KUBERNETES_SERVICE_HOST is set and neither --kubeconfig nor --kube-objects was given: "
        "using the cluster as the pod's service account (--in-cluster)");
    return kube::InClusterConfig();
  }
  return std::nullopt;
}

sources::prometheus::ClientOptions PrometheusClientOptions(const ServerFlags& flags) {
  sources::prometheus::ClientOptions prom;
  prom.base_url = flags.prometheus_url;
  prom.timeout = flags.prometheus_timeout;
  prom.timeout_setting = "--prometheus-timeout (prometheus.timeout in the configuration file)";
  prom.max_answer_bytes = flags.prometheus_max_answer_bytes;
  prom.max_answer_setting =
      "--prometheus-max-answer-bytes (prometheus.max_answer_bytes in the configuration file)";
  prom.ca_file = flags.prometheus_ca_file;
  prom.insecure_skip_tls_verify = flags.prometheus_insecure_skip_tls_verify;
  if (!flags.prometheus_bearer_token_file.empty()) {
    prom.bearer_token = ReadSecretFile(flags.prometheus_bearer_token_file, "bearer token file");
  }
  prom.client_cert_file = flags.prometheus_client_cert_file;
  prom.client_key_file = flags.prometheus_client_key_file;
  if (!flags.prometheus_basic_auth_username.empty()) {
    prom.basic_auth_username = flags.prometheus_basic_auth_username;
    prom.basic_auth_password =
        ReadSecretFile(flags.prometheus_basic_auth_password_file, "basic auth password file");
  }
  return prom;
}

// The source of numbers (--source) and where its own metrics are.
struct Source {
  std::unique_ptr<sources::TrafficSource> source;
  std::shared_ptr<prometheus::Registry> registry;
  sources::sidecars::SidecarSource* sidecars = nullptr;  // in sidecar mode: to start and stop
  std::string description;                               // for the log
};

Source MakeSource(const ServerFlags& flags, const kube::ClusterState* cluster) {
  Source out;
  if (flags.source == "sidecars") {
    if (cluster == nullptr) {
      throw std::invalid_argument(
          "--source=sidecars finds the meshed pods through Kubernetes: give --kubeconfig, "
          "--in-cluster or --kube-objects");
    }
    sources::sidecars::SidecarOptions options;
    options.interval = flags.sidecar_interval;
    options.timeout = flags.sidecar_timeout;
    options.retention = flags.sidecar_retention;
    options.max_concurrent = static_cast<size_t>(flags.sidecar_max_concurrent);
    options.max_body_bytes = static_cast<size_t>(flags.sidecar_max_body_bytes);
    auto source = std::make_unique<sources::sidecars::SidecarSource>(
        *cluster, sources::prometheus::MeshProfile(flags.profile), std::move(options));
    out.sidecars = source.get();
    out.registry = source->metrics_registry();
    out.source = std::move(source);
    out.description = "from the mesh's sidecars, scraped every " +
                      model::FormatGoDuration(flags.sidecar_interval) + " (history " +
                      model::FormatGoDuration(flags.sidecar_retention) + ")";
    return out;
  }
  sources::prometheus::SourceOptions options;
  if (flags.cache_ttl) options.cache.ttl = *flags.cache_ttl;
  options.query_threads = std::max(options.query_threads, flags.threads);
  auto source = std::make_unique<sources::prometheus::PrometheusSource>(
      PrometheusClientOptions(flags), sources::prometheus::MeshProfile(flags.profile),
      std::move(options));
  out.registry = source->metrics_registry();
  out.source = std::move(source);
  out.description = "from Prometheus at " + flags.prometheus_url;
  return out;
}

// Where the server's Kubernetes knowledge comes from (null: none; answers rest on the series).
std::unique_ptr<kube::ClusterState> StartClusterState(
    const ServerFlags& flags, const std::optional<kube::RestConfig>& access) {
  if (!flags.kube_objects.empty()) {
    auto state = kube::StaticClusterState::FromFile(flags.kube_objects);
    const auto snapshot = state->Snapshot();
    Log("Kubernetes objects from " + flags.kube_objects + " (" +
        std::to_string(snapshot->Count(kube::Resource::kNamespaces)) + " namespaces, " +
        std::to_string(snapshot->Count(kube::Resource::kPods)) + " pods; no cluster is watched)");
    return state;
  }
  if (!access) {
    Log("no Kubernetes knowledge (no --kubeconfig, --in-cluster or --kube-objects): objects "
        "exist while the metric series show them, and labelSelector is refused");
    return nullptr;
  }
  Log("watching Kubernetes objects at " + access->server + " (" + access->description +
      "); /readyz is 503 until the caches have synced");
  auto state = std::make_unique<kube::WatchedClusterState>(*access);
  state->Start();
  return state;
}

// The authentication options the flags give (each part left unset is the ConfigMap's).
apiserver::AuthenticationOptions AuthenticationOptions(const ServerFlags& flags,
                                                       const std::string& client_ca_pem) {
  apiserver::AuthenticationOptions o;
  if (!client_ca_pem.empty()) o.client_ca_pem = client_ca_pem;
  if (!flags.requestheader_client_ca_file.empty()) {
    kube::RequestHeaderConfig rh;
    rh.client_ca_pem = base::ReadFile(flags.requestheader_client_ca_file, "request-header CA file");
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

// Keeps the authenticator's front-proxy and client-CA settings in step with
// kube-system/extension-apiserver-authentication (re-read every minute).
std::unique_ptr<kube::AuthenticationConfigMapPoller> StartAuthenticationConfig(
    const ServerFlags& flags, const std::optional<kube::RestConfig>& access,
    apiserver::Authenticator& authenticator) {
  if (!access || flags.authentication_skip_lookup) return nullptr;
  auto poller = std::make_unique<kube::AuthenticationConfigMapPoller>(
      *access, kube::AuthenticationConfigMapPoller::Options{},
      [&authenticator](const kube::ExtensionApiserverAuthentication& c) {
        try {
          authenticator.UpdateFromConfigMap(c);
          Log("authentication from kube-system/extension-apiserver-authentication: " +
              authenticator.Describe());
        } catch (const std::exception& e) {
          Log(std::string("kube-system/extension-apiserver-authentication not applied: ") +
              e.what());
        }
      },
      [](const std::string& error) {
        Log("warning: " + error +
            " (front-proxy and client-CA settings stay as they were; RBAC: the Role "
            "extension-apiserver-authentication-reader in kube-system)");
      });
  poller->Start();
  return poller;
}

// Delegated (SubjectAccessReview) unless AlwaysAllowAuthenticated is asked for, or implied by
// --write-kubeconfig (a local server without a cluster). Delegated needs Kubernetes access.
apiserver::AuthorizationOptions AuthorizationOptions(
    const ServerFlags& flags, const std::optional<kube::RestConfig>& access) {
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
  if (authz.mode == apiserver::AuthorizationMode::kDelegated) {
    Log("authorization: Delegated (SubjectAccessReview to " + access->server +
        "; system:masters and /healthz, /livez, /readyz, /version need none; decisions cached " +
        std::to_string(flags.authorization_allowed_ttl.count()) + "ms allowed, " +
        std::to_string(flags.authorization_denied_ttl.count()) + "ms denied)");
  } else {
    Log(std::string("authorization: AlwaysAllowAuthenticated") +
        (flags.authorization_mode.empty() ? " (implied by --write-kubeconfig)" : "") +
        ": EVERY AUTHENTICATED CALLER MAY READ EVERY METRIC; no RBAC is consulted");
  }
  return authz;
}

// SIGINT and SIGTERM are blocked in every thread and taken by a thread of their own, which stops
// the server.
void StopOnSignal(apiserver::HttpsServer& server) {
  std::thread signals([&server] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    Log("stopping on signal " + std::to_string(sig));
    server.Stop();
  });
  signals.detach();
}

}  // namespace

int RunServer(const ServerFlags& flags) {
  RaiseFileLimit();
  std::string serving_ca_pem;
  apiserver::ServingOptions serving;
  serving.bind_address = flags.bind_address;
  serving.port = flags.secure_port;
  serving.io_threads = flags.io_threads;
  serving.worker_threads = flags.threads;
  serving.limits = flags.limits;
  serving.serving = ServingCertificate(flags, &serving_ca_pem);
  serving.cert_file = flags.tls_cert_file;
  serving.key_file = flags.tls_private_key_file;
  const auto access = KubeAccess(flags);
  serving.client_ca_pem = ClientCa(flags, serving_ca_pem);

  // The event loop for serving (sidecar mode scrapes on a loop of its own: decision 23);
  // declared first, so that it outlives everything that has work queued on it.
  boost::asio::io_context io(std::max(1, flags.io_threads));
  serving.io = &io;
  const auto cluster = StartClusterState(flags, access);
  const Source made = MakeSource(flags, cluster.get());
  sources::TrafficSource* const source = made.source.get();

  // Identity and access: README "Identity and access", docs/decisions.md decision 12.
  std::unique_ptr<kube::RestAccessReviewer> reviewer;
  if (access) reviewer = std::make_unique<kube::RestAccessReviewer>(*access);
  apiserver::Authenticator authenticator(AuthenticationOptions(flags, serving.client_ca_pem),
                                         reviewer.get());
  const auto auth_config = StartAuthenticationConfig(flags, access, authenticator);
  const auto authorization = AuthorizationOptions(flags, access);
  apiserver::Authorizer authorizer(authorization, reviewer.get());
  Log("authentication: " + authenticator.Describe());

  aggregation::TrafficMetricsService::Options answers;
  answers.evaluation_delay = flags.evaluation_delay;
  answers.default_window = flags.default_window;
  aggregation::TrafficMetricsService service(*source, base::DefaultClock(), answers, cluster.get());
  // Ready means "can serve" (decision 14): the backend's health is asked in the background and
  // reported, never a reason to leave the Service.
  prometheus::Registry readiness_metrics;
  SourceHealth source_health(*source, readiness_metrics);
  source_health.Start();
  apiserver::HealthChecks checks = ReadinessChecks(cluster.get(), source_health);
  if (made.sidecars != nullptr) {
    // In sidecar mode the source is part of this process: until every meshed pod was scraped once
    // it has no numbers to serve, so the first round is required.
    checks.push_back({"sidecar-scrapes", [sidecars = made.sidecars](std::string* why) {
                        return sidecars->Ready(why);
                      }});
  }
  apiserver::ApiHandler handler(service, std::move(checks));
  handler.set_authorizer(&authorizer);
  prometheus::Registry serving_metrics;
  apiserver::AnswerCache answer_cache({static_cast<size_t>(flags.answer_cache_entries),
                                       static_cast<size_t>(flags.answer_cache_max_bytes)},
                                      base::DefaultClock(), &serving_metrics);
  handler.set_answer_cache(&answer_cache);
  // The process' memory, read when /metrics is asked (docs/prometheus-scale.md).
  ProcessMetrics process_metrics;
  handler.set_metrics_text([&made, &serving_metrics, &readiness_metrics, &process_metrics] {
    return sources::SerializeMetrics(serving_metrics) + sources::SerializeMetrics(*made.registry) +
           sources::SerializeMetrics(readiness_metrics) + process_metrics.Serialize();
  });
  serving.authenticator = &authenticator;
  serving.metrics = &serving_metrics;
  serving.reloadable = ReloadableCas(flags, authenticator);
  apiserver::HttpsServer server(serving, handler);
  StopOnSignal(server);

  if (made.sidecars != nullptr) made.sidecars->Start();
  Log("serving metrics.smi-spec.io on https://" + flags.bind_address + ":" +
      std::to_string(flags.secure_port) + " " + made.description + " (mesh profile " +
      flags.profile.name + ")");
  server.Run();
  if (made.sidecars != nullptr) made.sidecars->Stop();
  return 0;
}

}  // namespace smi::config
