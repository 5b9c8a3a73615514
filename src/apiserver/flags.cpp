#include "apiserver/flags.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "apiserver/authorization.h"
#include "model/duration.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/profile_yaml.h"

namespace smi::apiserver {

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
          ParseAuthorizationMode(v);
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
       {"request threads; keep it at least the number of concurrent keep-alive clients (default "
        "32)",
        [](ServerFlags& f, const std::string& v) { f.threads = ParseInt("threads", v, 2, 4096); }}},
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
      {"default-window",
       {"window of requests without ?window= (default 30s)",
        [](ServerFlags& f, const std::string& v) {
          f.default_window = ParseDurationFlag("default-window", v);
        }}},
      {"prometheus-url",
       {"base URL of the Prometheus HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics)",
        [](ServerFlags& f, const std::string& v) { f.prometheus_url = v; }}},
      {"prometheus-timeout",
       {"how long one Prometheus query may take (default 10s)",
        [](ServerFlags& f, const std::string& v) {
          f.prometheus_timeout = ParseDurationFlag("prometheus-timeout", v);
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
  };
  return specs;
}

// The profile in use: an inline one from the config file, a profile file, or a built-in one;
// then --proxy-job. Errors name where the profile came from.
void ResolveProfile(ServerFlags& flags) {
  namespace prom = sources::prometheus;
  if (flags.inline_profile) {
    flags.profile = *flags.inline_profile;
  } else if (!flags.mesh_profile_file.empty()) {
    flags.profile = prom::LoadProfileFile(flags.mesh_profile_file);
  } else if (prom::BuiltinProfileYaml(flags.mesh)) {
    flags.profile = prom::BuiltinProfileSpec(flags.mesh);
  } else {
    std::string names;
    for (const auto& n : prom::BuiltinProfileNames()) names += (names.empty() ? "" : ", ") + n;
    throw std::invalid_argument("--mesh=" + flags.mesh + ": supported meshes are: " + names +
                                " (or a profile of your own: --mesh-profile-file)");
  }
  if (!flags.proxy_job.empty()) flags.profile.parameters["job"] = flags.proxy_job;
  try {
    prom::MeshProfile check(flags.profile);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("mesh profile " + flags.profile.name + ": " + e.what());
  }
}

// Reads the configuration file's keys into ServerFlags; every error names the file and the key.
class ConfigReader {
 public:
  ConfigReader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void Fail(const std::string& key, const std::string& what) const {
    throw std::invalid_argument(path_ + ": " + (key.empty() ? "" : key + ": ") + what);
  }

  void Map(const YAML::Node& n, const std::string& key,
           const std::set<std::string>& allowed) const {
    if (!n.IsMap()) Fail(key, "expected a mapping");
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      if (!allowed.contains(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        Fail(key.empty() ? k : key + "." + k, "unknown key (expected one of: " + list + ")");
      }
    }
  }

  // Calls `set` with the scalar at n[k] when present.
  void Scalar(const YAML::Node& n, const std::string& parent, const std::string& k,
              const std::function<void(const std::string&)>& set) const {
    const YAML::Node v = n[k];
    if (!v || v.IsNull()) return;
    const std::string key = parent.empty() ? k : parent + "." + k;
    if (!v.IsScalar()) Fail(key, "expected a single value");
    set(v.Scalar());
  }

  void String(const YAML::Node& n, const std::string& parent, const std::string& k,
              std::string* out) const {
    Scalar(n, parent, k, [&](const std::string& v) { *out = v; });
  }

  // A file path; relative ones are relative to the configuration file.
  void Path(const YAML::Node& n, const std::string& parent, const std::string& k,
            std::string* out) const {
    Scalar(n, parent, k, [&](const std::string& v) {
      const std::filesystem::path p(v);
      *out = p.is_absolute() || v.empty()
                 ? v
                 : (std::filesystem::path(path_).parent_path() / p).lexically_normal().string();
    });
  }

  void Duration(const YAML::Node& n, const std::string& parent, const std::string& k,
                const std::function<void(std::chrono::milliseconds)>& set,
                bool allow_zero = false) const {
    Scalar(n, parent, k, [&](const std::string& v) {
      if (allow_zero && (v == "0" || v == "0s")) return set(std::chrono::milliseconds::zero());
      std::string error;
      const auto d = model::ParseDuration(v, &error);
      if (!d)
        Fail(parent.empty() ? k : parent + "." + k, "\"" + v + "\" is not a duration: " + error);
      set(*d);
    });
  }

  void Bool(const YAML::Node& n, const std::string& parent, const std::string& k, bool* out) const {
    Scalar(n, parent, k, [&](const std::string& v) {
      if (v == "true") {
        *out = true;
      } else if (v == "false") {
        *out = false;
      } else {
        Fail(parent.empty() ? k : parent + "." + k, "\"" + v + "\" is not true or false");
      }
    });
  }

  void Apply(const YAML::Node& root, ServerFlags& f) const {
    if (!root || root.IsNull()) return;  // an empty file changes nothing
    Map(root, "",
        {"prometheus", "mesh", "cache", "kubernetes", "default_window", "evaluation_delay"});
    if (const YAML::Node p = root["prometheus"]; p && !p.IsNull()) {
      Map(p, "prometheus",
          {"url", "timeout", "ca_file", "insecure_skip_tls_verify", "client_cert_file",
           "client_key_file", "bearer_token_file", "basic_auth"});
      String(p, "prometheus", "url", &f.prometheus_url);
      Duration(p, "prometheus", "timeout",
               [&](std::chrono::milliseconds d) { f.prometheus_timeout = d; });
      Path(p, "prometheus", "ca_file", &f.prometheus_ca_file);
      Bool(p, "prometheus", "insecure_skip_tls_verify", &f.prometheus_insecure_skip_tls_verify);
      Path(p, "prometheus", "client_cert_file", &f.prometheus_client_cert_file);
      Path(p, "prometheus", "client_key_file", &f.prometheus_client_key_file);
      Path(p, "prometheus", "bearer_token_file", &f.prometheus_bearer_token_file);
      if (const YAML::Node b = p["basic_auth"]; b && !b.IsNull()) {
        Map(b, "prometheus.basic_auth", {"username", "password_file"});
        String(b, "prometheus.basic_auth", "username", &f.prometheus_basic_auth_username);
        Path(b, "prometheus.basic_auth", "password_file", &f.prometheus_basic_auth_password_file);
      }
    }
    if (const YAML::Node m = root["mesh"]; m && !m.IsNull()) {
      Map(m, "mesh", {"profile", "profile_file", "proxy_job"});
      if (m["profile"] && m["profile_file"]) {
        Fail("mesh", "give either profile or profile_file, not both");
      }
      if (const YAML::Node prof = m["profile"]; prof && prof.IsMap()) {
        // An inline profile: the same YAML as a profile file, errors prefixed with its key.
        YAML::Emitter out;
        out << prof;
        f.inline_profile =
            sources::prometheus::ParseProfileYaml(out.c_str(), path_ + ": mesh.profile");
      } else if (prof) {
        Scalar(m, "mesh", "profile", [&](const std::string& v) {
          if (!sources::prometheus::BuiltinProfileYaml(v)) {
            std::string names;
            for (const auto& n : sources::prometheus::BuiltinProfileNames()) {
              names += (names.empty() ? "" : ", ") + n;
            }
            Fail("mesh.profile", "\"" + v + "\" is not a built-in profile (" + names +
                                     "); give a profile inline or with mesh.profile_file");
          }
          f.mesh = v;
        });
      }
      Path(m, "mesh", "profile_file", &f.mesh_profile_file);
      if (!f.mesh_profile_file.empty()) {
        try {
          sources::prometheus::LoadProfileFile(f.mesh_profile_file);
        } catch (const std::invalid_argument& e) {
          Fail("mesh.profile_file", e.what());
        }
      }
      String(m, "mesh", "proxy_job", &f.proxy_job);
    }
    if (const YAML::Node k = root["kubernetes"]; k && !k.IsNull()) {
      Map(k, "kubernetes", {"kubeconfig", "context", "in_cluster", "objects_file"});
      Path(k, "kubernetes", "kubeconfig", &f.kubeconfig);
      String(k, "kubernetes", "context", &f.kube_context);
      Bool(k, "kubernetes", "in_cluster", &f.in_cluster);
      Path(k, "kubernetes", "objects_file", &f.kube_objects);
      if (int(!f.kubeconfig.empty()) + int(f.in_cluster) + int(!f.kube_objects.empty()) > 1) {
        Fail("kubernetes", "give one of kubeconfig, in_cluster, objects_file");
      }
    }
    if (const YAML::Node c = root["cache"]; c && !c.IsNull()) {
      Map(c, "cache", {"ttl"});
      Duration(
          c, "cache", "ttl", [&](std::chrono::milliseconds d) { f.cache_ttl = d; }, true);
    }
    Duration(root, "", "default_window",
             [&](std::chrono::milliseconds d) { f.default_window = d; });
    Duration(root, "", "evaluation_delay",
             [&](std::chrono::milliseconds d) { f.evaluation_delay = d; });
  }

 private:
  std::string path_;
};
}  // namespace

void ApplyConfigYaml(const std::string& yaml_text, const std::string& path, ServerFlags& flags) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(path + ": not valid YAML: " + e.what());
  }
  ConfigReader(path).Apply(root, flags);
}

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
    std::ifstream in(path);
    if (!in) throw std::invalid_argument("--config=" + path + ": the file cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    ApplyConfigYaml(text.str(), path, flags);
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
  if (flags.help) return flags;
  if (flags.prometheus_url.empty()) {
    throw std::invalid_argument(
        "--prometheus-url is required, e.g. --prometheus-url=http://prometheus:9090");
  }
  ResolveProfile(flags);
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

}  // namespace smi::apiserver
