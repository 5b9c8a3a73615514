#include "config/flags.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "apiserver/authorization.h"
#include "base/strings.h"
#include "config/config_file.h"
#include "config/profile_choice.h"
#include "model/duration.h"

namespace smi::config {

namespace {

struct FlagSpec {
  std::string help;
  std::function<void(ServerFlags&, const std::string&)> set;
  bool boolean = false;
};

int ParseInt(const std::string& name, const std::string& value, int min, int max) {
  int out = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || ptr != value.data() + value.size() || out < min || out > max) {
    throw std::invalid_argument("--" + name + "=" + value + ": expected a whole number from " +
                                std::to_string(min) + " to " + std::to_string(max));
  }
  return out;
}

std::chrono::milliseconds ParseDurationFlag(const std::string& name, const std::string& value,
                                            bool allow_zero = false) {
  std::string error;
  if (allow_zero && (value == "0" || value == "0s")) return std::chrono::milliseconds::zero();
  const auto d = model::ParseDuration(value, &error);
  if (!d) throw std::invalid_argument("--" + name + "=" + value + ": " + error);
  return *d;
}

bool ParseBool(const std::string& name, const std::string& value) {
  if (value.empty() || value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  throw std::invalid_argument("--" + name + "=" + value + ": expected true or false");
}

// The source and the settings that go with it, checked together.
void CheckSource(const ServerFlags& f) {
  if (f.source == "prometheus") {
    if (f.prometheus_url.empty()) {
      throw std::invalid_argument(
          "--prometheus-url is required with --source=prometheus (the default), e.g. "
          "--prometheus-url=http://prometheus:9090; or scrape the proxies directly with "
          "--source=sidecars");
    }
    return;
  }
  if (f.source != "sidecars") {
    throw std::invalid_argument("--source=" + f.source + ": expected prometheus or sidecars");
  }
  if (!f.prometheus_url.empty()) {
    throw std::invalid_argument(
        "--prometheus-url and --source=sidecars exclude each other (sidecar mode scrapes the "
        "proxies itself)");
  }
  if (f.kubeconfig.empty() && !f.in_cluster && f.kube_objects.empty() &&
      std::getenv("KUBERNETES_SERVICE_HOST") == nullptr) {
    throw std::invalid_argument(
        "--source=sidecars finds the meshed pods through Kubernetes: give --kubeconfig, "
        "--in-cluster or --kube-objects");
  }
  if (f.sidecar_interval < std::chrono::seconds(1)) {
    throw std::invalid_argument("--sidecar-interval must be at least 1s");
  }
  if (f.sidecar_timeout > f.sidecar_interval) {
    throw std::invalid_argument("--sidecar-timeout must not exceed --sidecar-interval");
  }
  if (f.sidecar_retention < 2 * f.sidecar_interval || f.sidecar_retention > std::chrono::hours(1)) {
    throw std::invalid_argument(
        "--sidecar-retention must be at least two --sidecar-interval and at most 1h");
  }
}

// A comma-separated list (as pflag's StringSlice), empty items dropped.
std::vector<std::string> ParseList(const std::string& value) {
  std::vector<std::string> out;
  std::stringstream in(value);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

const std::map<std::string, FlagSpec>& Specs() {
  static const std::map<std::string, FlagSpec> specs = {
      {"bind-address",
       {"address to listen on (default 0.0.0.0)",
        [](ServerFlags& f, const std::string& v) { f.bind_address = v; }}},
      {"secure-port",
       {"HTTPS port (default 8443)",
        [](ServerFlags& f, const std::string& v) {
          f.secure_port = ParseInt("secure-port", v, 1, 65535);
        }}},
      {"tls-cert-file",
       {"serving certificate (PEM, may include the chain); without it a self-signed one is made",
        [](ServerFlags& f, const std::string& v) { f.tls_cert_file = v; }}},
      {"tls-private-key-file",
       {"key of --tls-cert-file (PEM)",
        [](ServerFlags& f, const std::string& v) { f.tls_private_key_file = v; }}},
      {"client-ca-file",
       {"CA bundle (PEM) whose client certificates authenticate users (CN = user, O = groups)",
        [](ServerFlags& f, const std::string& v) { f.client_ca_file = v; }}},
      {"requestheader-client-ca-file",
       {"CA bundle (PEM) of the front proxy (kube-apiserver's --proxy-client-cert-file): its "
        "client certificates may name the user in the request headers; default: the "
        "extension-apiserver-authentication ConfigMap's",
        [](ServerFlags& f, const std::string& v) { f.requestheader_client_ca_file = v; }}},
      {"requestheader-allowed-names",
       {"common names the front proxy's certificate may have (comma-separated; empty: any "
        "certificate of --requestheader-client-ca-file)",
        [](ServerFlags& f, const std::string& v) {
          f.requestheader_allowed_names = ParseList(v);
        }}},
      {"requestheader-username-headers",
       {"request headers naming the user, first non-empty wins (default X-Remote-User)",
        [](ServerFlags& f, const std::string& v) {
          f.requestheader_username_headers = ParseList(v);
        }}},
      {"requestheader-group-headers",
       {"request headers naming groups, one per line (default X-Remote-Group)",
        [](ServerFlags& f, const std::string& v) {
          f.requestheader_group_headers = ParseList(v);
        }}},
      {"requestheader-extra-headers-prefix",
       {"prefixes of request headers carrying extra user information (default X-Remote-Extra-)",
        [](ServerFlags& f, const std::string& v) {
          f.requestheader_extra_headers_prefix = ParseList(v);
        }}},
      {"authentication-skip-lookup",
       {"do not read kube-system/extension-apiserver-authentication (only the flags' CAs count)",
        [](ServerFlags& f, const std::string& v) {
          f.authentication_skip_lookup = ParseBool("authentication-skip-lookup", v);
        },
        true}},
      {"anonymous-auth",
       {"requests without credentials are system:anonymous, then authorized like anyone "
        "(default true; false: they are 401 except the health paths)",
        [](ServerFlags& f, const std::string& v) {
          f.anonymous_auth = ParseBool("anonymous-auth", v);
        },
        true}},
      {"authentication-token-webhook-cache-ttl",
       {"how long a TokenReview that authenticated is reused (default 10s)",
        [](ServerFlags& f, const std::string& v) {
          f.token_cache_ttl =
              ParseDurationFlag("authentication-token-webhook-cache-ttl", v, /*allow_zero=*/true);
        }}},
      {"authentication-token-webhook-cache-unauthorized-ttl",
       {"how long a TokenReview that refused a token is reused (default 2s)",
        [](ServerFlags& f, const std::string& v) {
          f.token_unauthorized_cache_ttl = ParseDurationFlag(
              "authentication-token-webhook-cache-unauthorized-ttl", v, /*allow_zero=*/true);
        }}},
      {"authorization-mode",
       {"Delegated (every request but the health paths and /version is decided by a "
        "SubjectAccessReview to kube-apiserver; needs --kubeconfig or --in-cluster) or "
        "AlwaysAllowAuthenticated (no Kubernetes: every authenticated caller may read); default "
        "Delegated, AlwaysAllowAuthenticated with --write-kubeconfig",
        [](ServerFlags& f, const std::string& v) {
          apiserver::ParseAuthorizationMode(v);
          f.authorization_mode = v;
        }}},
      {"authorization-webhook-cache-authorized-ttl",
       {"how long an allowing SubjectAccessReview is reused (default 10s)",
        [](ServerFlags& f, const std::string& v) {
          f.authorization_allowed_ttl = ParseDurationFlag(
              "authorization-webhook-cache-authorized-ttl", v, /*allow_zero=*/true);
        }}},
      {"authorization-webhook-cache-unauthorized-ttl",
       {"how long a refusing SubjectAccessReview is reused (default 10s)",
        [](ServerFlags& f, const std::string& v) {
          f.authorization_denied_ttl = ParseDurationFlag(
              "authorization-webhook-cache-unauthorized-ttl", v, /*allow_zero=*/true);
        }}},
      {"threads",
       {"worker threads answering requests (they may wait on Prometheus or a review); idle or "
        "slow connections hold none (default 32)",
        [](ServerFlags& f, const std::string& v) { f.threads = ParseInt("threads", v, 1, 4096); }}},
      {"io-threads",
       {"event-loop threads doing TLS and HTTP for every connection (default 2)",
        [](ServerFlags& f, const std::string& v) {
          f.io_threads = ParseInt("io-threads", v, 1, 256);
        }}},
      {"serving-handshake-timeout",
       {"longest a client may take to complete the TLS handshake (default 10s)",
        [](ServerFlags& f, const std::string& v) {
          f.limits.handshake_timeout = ParseDurationFlag("serving-handshake-timeout", v);
        }}},
      {"serving-header-timeout",
       {"longest a request's header (and body) may take to arrive once it has begun (default 10s)",
        [](ServerFlags& f, const std::string& v) {
          f.limits.header_timeout = ParseDurationFlag("serving-header-timeout", v);
        }}},
      {"serving-idle-timeout",
       {"how long a keep-alive connection may wait idle for its next request (default 90s)",
        [](ServerFlags& f, const std::string& v) {
          f.limits.idle_timeout = ParseDurationFlag("serving-idle-timeout", v);
        }}},
      {"serving-write-timeout",
       {"longest the client may take to read one answer (default 60s)",
        [](ServerFlags& f, const std::string& v) {
          f.limits.write_timeout = ParseDurationFlag("serving-write-timeout", v);
        }}},
      {"serving-max-header-bytes",
       {"largest request line and headers accepted; larger is a 431 (default 65536)",
        [](ServerFlags& f, const std::string& v) {
          f.limits.max_header_bytes =
              static_cast<size_t>(ParseInt("serving-max-header-bytes", v, 1024, 16 << 20));
        }}},
      {"serving-max-body-bytes",
       {"largest request body accepted; larger is a 413 (default 1048576)",
        [](ServerFlags& f, const std::string& v) {
          f.limits.max_body_bytes =
              static_cast<size_t>(ParseInt("serving-max-body-bytes", v, 0, 1 << 30));
        }}},
      {"max-connections",
       {"client connections open at once; past it the connection idle the longest is closed, "
        "and a new one is refused when none is idle (default 20000)",
        [](ServerFlags& f, const std::string& v) {
          f.limits.max_connections =
              static_cast<size_t>(ParseInt("max-connections", v, 1, 1 << 24));
        }}},
      {"max-requests-inflight",
       {"requests answered at once; more are a 429 with Retry-After (default 400)",
        [](ServerFlags& f, const std::string& v) {
          f.limits.max_requests_in_flight =
              static_cast<size_t>(ParseInt("max-requests-inflight", v, 1, 1 << 20));
        }}},
      {"write-kubeconfig",
       {"make a client CA and an admin client certificate, and write a kubeconfig for them here",
        [](ServerFlags& f, const std::string& v) { f.write_kubeconfig = v; }}},
      {"config",
       {"configuration file (YAML): Prometheus, its authentication, timeouts, mesh profile, "
        "default window, cache; the other flags override its values",
        [](ServerFlags& f, const std::string& v) { f.config_file = v; }}},
      {"mesh",
       {"built-in mesh profile for the proxy metrics Prometheus holds: linkerd (default), istio",
        [](ServerFlags& f, const std::string& v) {
          f.mesh = v;
          f.mesh_profile_file.clear();
          f.inline_profile.reset();
        }}},
      {"mesh-profile-file",
       {"a mesh profile in YAML (see README.md, \"Mesh profiles\"), instead of --mesh",
        [](ServerFlags& f, const std::string& v) {
          f.mesh_profile_file = v;
          f.inline_profile.reset();
        }}},
      {"prometheus-client-cert-file",
       {"client certificate (PEM) presented to an https:// Prometheus",
        [](ServerFlags& f, const std::string& v) { f.prometheus_client_cert_file = v; }}},
      {"prometheus-client-key-file",
       {"key of --prometheus-client-cert-file (PEM)",
        [](ServerFlags& f, const std::string& v) { f.prometheus_client_key_file = v; }}},
      {"prometheus-basic-auth-username",
       {"user name for HTTP basic authentication to Prometheus",
        [](ServerFlags& f, const std::string& v) { f.prometheus_basic_auth_username = v; }}},
      {"prometheus-basic-auth-password-file",
       {"file holding the basic authentication password",
        [](ServerFlags& f, const std::string& v) { f.prometheus_basic_auth_password_file = v; }}},
      {"cache-ttl",
       {"how long an answer from Prometheus is reused for identical queries (0s: never)",
        [](ServerFlags& f, const std::string& v) {
          f.cache_ttl = ParseDurationFlag("cache-ttl", v, /*allow_zero=*/true);
        }}},
      {"answer-cache-entries",
       {"encoded metrics answers kept for requests that would get the same bytes in the same "
        "evaluation second (0: compute every answer; default 1024)",
        [](ServerFlags& f, const std::string& v) {
          f.answer_cache_entries = ParseInt("answer-cache-entries", v, 0, 1 << 20);
        }}},
      {"answer-cache-max-bytes",
       {"bytes of encoded answers the answer cache may hold (default 67108864)",
        [](ServerFlags& f, const std::string& v) {
          f.answer_cache_max_bytes = ParseInt("answer-cache-max-bytes", v, 0, 1 << 30);
        }}},
      {"default-window",
       {"window of requests without ?window= (default 30s)",
        [](ServerFlags& f, const std::string& v) {
          f.default_window = ParseDurationFlag("default-window", v);
        }}},
      {"source",
       {"where the numbers come from: prometheus (default; needs --prometheus-url) or sidecars "
        "(the server scrapes every meshed pod's proxy itself; needs a Kubernetes source of pods)",
        [](ServerFlags& f, const std::string& v) { f.source = v; }}},
      {"sidecar-interval",
       {"sidecar mode: how often each proxy is scraped (default 10s, at least 1s)",
        [](ServerFlags& f, const std::string& v) {
          f.sidecar_interval = ParseDurationFlag("sidecar-interval", v);
        }}},
      {"sidecar-timeout",
       {"sidecar mode: how long one scrape may take (default: the interval, at most 10s)",
        [](ServerFlags& f, const std::string& v) {
          f.sidecar_timeout = ParseDurationFlag("sidecar-timeout", v);
        }}},
      {"sidecar-retention",
       {"sidecar mode: how much history is kept, the longest window served (default 5m, at "
        "most 1h)",
        [](ServerFlags& f, const std::string& v) {
          f.sidecar_retention = ParseDurationFlag("sidecar-retention", v);
        }}},
      {"sidecar-max-concurrent",
       {"sidecar mode: scrapes in flight at once (default 64)",
        [](ServerFlags& f, const std::string& v) {
          f.sidecar_max_concurrent = ParseInt("sidecar-max-concurrent", v, 1, 100000);
        }}},
      {"sidecar-max-body-bytes",
       {"sidecar mode: the largest scrape accepted, decompressed (default 16777216); larger ones "
        "are cut off and counted as errors",
        [](ServerFlags& f, const std::string& v) {
          f.sidecar_max_body_bytes = ParseInt("sidecar-max-body-bytes", v, 4096, 1 << 30);
        }}},
      {"prometheus-url",
       {"base URL of the Prometheus HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics)",
        [](ServerFlags& f, const std::string& v) { f.prometheus_url = v; }}},
      {"prometheus-timeout",
       {"how long one Prometheus query may take (default 30s)",
        [](ServerFlags& f, const std::string& v) {
          f.prometheus_timeout = ParseDurationFlag("prometheus-timeout", v);
        }}},
      {"prometheus-max-answer-bytes",
       {"the largest Prometheus answer accepted, in bytes (default 268435456); larger ones are "
        "refused with a 503, so that one query's memory stays bounded",
        [](ServerFlags& f, const std::string& v) {
          f.prometheus_max_answer_bytes = ParseInt("prometheus-max-answer-bytes", v, 4096, 1 << 30);
        }}},
      {"prometheus-ca-file",
       {"CA bundle (PEM) to verify an https:// Prometheus with",
        [](ServerFlags& f, const std::string& v) { f.prometheus_ca_file = v; }}},
      {"prometheus-bearer-token-file",
       {"file holding a bearer token sent to Prometheus",
        [](ServerFlags& f, const std::string& v) { f.prometheus_bearer_token_file = v; }}},
      {"prometheus-insecure-skip-tls-verify",
       {"do not verify an https:// Prometheus' certificate",
        [](ServerFlags& f, const std::string& v) {
          f.prometheus_insecure_skip_tls_verify =
              ParseBool("prometheus-insecure-skip-tls-verify", v);
        },
        true}},
      {"proxy-job",
       {"Prometheus job that scrapes the mesh proxies (default: the profile's; linkerd-proxy as "
        "linkerd-viz names it, kubernetes-pods for istio)",
        [](ServerFlags& f, const std::string& v) { f.proxy_job = v; }}},
      {"evaluation-delay",
       {"answer at the whole second at least this far in the past, so in-flight scrapes cannot "
        "change "
        "an answer once given (default 1s)",
        [](ServerFlags& f, const std::string& v) {
          f.evaluation_delay = ParseDurationFlag("evaluation-delay", v);
        }}},
      {"kubeconfig",
       {"kubeconfig whose current context reaches the cluster: the server watches its pods, "
        "workloads and namespaces for existence, labels and owners",
        [](ServerFlags& f, const std::string& v) {
          f.kubeconfig = v;
          f.in_cluster = false;
          f.kube_objects.clear();
        }}},
      {"kube-context",
       {"context of --kubeconfig to use (default: its current-context)",
        [](ServerFlags& f, const std::string& v) { f.kube_context = v; }}},
      {"in-cluster",
       {"watch the cluster the server runs in, as its service account (the default when "
        "KUBERNETES_SERVICE_HOST is set and neither --kubeconfig nor --kube-objects is given)",
        [](ServerFlags& f, const std::string& v) {
          f.in_cluster = ParseBool("in-cluster", v);
          if (f.in_cluster) f.kubeconfig.clear(), f.kube_context.clear(), f.kube_objects.clear();
        },
        true}},
      {"kube-objects",
       {"no cluster: take the Kubernetes objects from this JSON file ({\"kind\":\"List\","
        "\"items\":[...]}, as kubectl get -o json or meshsim --write-kube-objects write it)",
        [](ServerFlags& f, const std::string& v) {
          f.kube_objects = v;
          f.kubeconfig.clear();
          f.kube_context.clear();
          f.in_cluster = false;
        }}},
      {"help",
       {"print this help", [](ServerFlags& f, const std::string&) { f.help = true; }, true}},
      {"version",
       {"print the version and exit", [](ServerFlags& f, const std::string&) { f.version = true; },
        true}},
  };
  return specs;
}

}  // namespace

ServerFlags ParseFlags(const std::vector<std::string>& args) {
  ServerFlags flags;
  // The configuration file first, so that every other flag overrides it.
  for (size_t i = 0; i < args.size(); ++i) {
    std::string path;
    if (args[i].rfind("--config=", 0) == 0) {
      path = args[i].substr(9);
    } else if (args[i] == "--config") {
      if (i + 1 >= args.size()) throw std::invalid_argument("flag --config needs a value");
      path = args[i + 1];
    } else {
      continue;
    }
    std::string text;
    try {
      text = base::ReadFile(path, "configuration file");
    } catch (const std::runtime_error&) {
      throw std::invalid_argument("--config=" + path + ": the file cannot be read");
    }
    ApplyConfigYaml(text, path, flags);
    flags.config_file = path;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      throw std::invalid_argument("unexpected argument " + arg + " (flags start with --)");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto it = Specs().find(name);
    if (it == Specs().end())
      throw std::invalid_argument("unknown flag --" + name + " (see --help)");
    if (!value && !it->second.boolean) {
      if (i + 1 >= args.size()) throw std::invalid_argument("flag --" + name + " needs a value");
      value = args[++i];
    }
    if (name == "config") continue;  // read above
    it->second.set(flags, value.value_or(""));
  }
  if (flags.help || flags.version) return flags;
  CheckSource(flags);
  ResolveProfile(flags);
  if (flags.source == "sidecars" && !flags.profile.sidecars) {
    throw std::invalid_argument("--source=sidecars: the mesh profile " + flags.profile.name +
                                " has no `sidecars` section saying how to find and scrape its "
                                "proxies");
  }
  if (flags.prometheus_client_cert_file.empty() != flags.prometheus_client_key_file.empty()) {
    throw std::invalid_argument(
        "--prometheus-client-cert-file and --prometheus-client-key-file go together");
  }
  if (!flags.prometheus_basic_auth_username.empty() &&
      !flags.prometheus_bearer_token_file.empty()) {
    throw std::invalid_argument(
        "--prometheus-basic-auth-username and --prometheus-bearer-token-file exclude each other "
        "(both are the Authorization header)");
  }
  if (flags.prometheus_basic_auth_username.empty() !=
      flags.prometheus_basic_auth_password_file.empty()) {
    throw std::invalid_argument(
        "--prometheus-basic-auth-username and --prometheus-basic-auth-password-file go together");
  }
  if (flags.tls_cert_file.empty() != flags.tls_private_key_file.empty()) {
    throw std::invalid_argument("--tls-cert-file and --tls-private-key-file go together");
  }
  // One source of Kubernetes objects; on the command line over the configuration file's.
  int kube_sources = 0;
  for (const auto& arg : args) {
    for (const char* name : {"--kubeconfig", "--in-cluster", "--kube-objects"}) {
      const std::string n(name);
      if (arg == n || arg.rfind(n + "=", 0) == 0) ++kube_sources;
    }
  }
  if (kube_sources > 1) {
    throw std::invalid_argument(
        "--kubeconfig, --in-cluster and --kube-objects exclude each other (each is where the "
        "server's Kubernetes objects come from)");
  }
  if (!flags.kube_context.empty() && flags.kubeconfig.empty()) {
    throw std::invalid_argument("--kube-context needs --kubeconfig");
  }
  if (!flags.write_kubeconfig.empty() && !flags.client_ca_file.empty()) {
    throw std::invalid_argument(
        "--write-kubeconfig makes its own client CA and cannot be combined with --client-ca-file");
  }
  return flags;
}

std::string FlagsUsage() {
  std::ostringstream out;
  out << "Usage: smi-metrics-server --prometheus-url=URL [flags]\n\n"
         "Serves the SMI Traffic Metrics API (metrics.smi-spec.io) over HTTPS from mesh proxy "
         "metrics "
         "held by Prometheus.\n\nFlags:\n";
  for (const auto& [name, spec] : Specs()) out << "  --" << name << "\n      " << spec.help << "\n";
  return out.str();
}

}  // namespace smi::config
