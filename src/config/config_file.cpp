#include "config/config_file.h"

#include <charconv>
#include <filesystem>
#include <functional>
#include <set>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "base/yaml_keys.h"
#include "model/duration.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/profile_yaml.h"

namespace smi::config {
namespace {

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
    if (const auto unknown = base::UnknownKey(n, allowed)) {
      Fail(key.empty() ? *unknown : key + "." + *unknown, base::UnknownKeyMessage(allowed));
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

  void Int(const YAML::Node& n, const std::string& parent, const std::string& k, int min, int max,
           int* out) const {
    Scalar(n, parent, k, [&](const std::string& v) {
      int value = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
      if (ec != std::errc() || end != v.data() + v.size() || value < min || value > max) {
        Fail(parent.empty() ? k : parent + "." + k, "\"" + v + "\" is not a whole number from " +
                                                        std::to_string(min) + " to " +
                                                        std::to_string(max));
      }
      *out = value;
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
        {"source", "sidecars", "prometheus", "mesh", "cache", "kubernetes", "default_window",
         "evaluation_delay"});
    String(root, "", "source", &f.source);
    if (const YAML::Node sc = root["sidecars"]; sc && !sc.IsNull()) {
      Map(sc, "sidecars", {"interval", "timeout", "retention", "max_concurrent", "max_body_bytes"});
      Duration(sc, "sidecars", "interval",
               [&](std::chrono::milliseconds d) { f.sidecar_interval = d; });
      Duration(sc, "sidecars", "timeout",
               [&](std::chrono::milliseconds d) { f.sidecar_timeout = d; });
      Duration(sc, "sidecars", "retention",
               [&](std::chrono::milliseconds d) { f.sidecar_retention = d; });
      Int(sc, "sidecars", "max_concurrent", 1, 100000, &f.sidecar_max_concurrent);
      int max_body = static_cast<int>(f.sidecar_max_body_bytes);
      Int(sc, "sidecars", "max_body_bytes", 4096, 1 << 30, &max_body);
      f.sidecar_max_body_bytes = max_body;
    }
    if (const YAML::Node p = root["prometheus"]; p && !p.IsNull()) {
      Map(p, "prometheus",
          {"url", "timeout", "ca_file", "insecure_skip_tls_verify", "client_cert_file",
           "client_key_file", "bearer_token_file", "basic_auth", "max_answer_bytes"});
      String(p, "prometheus", "url", &f.prometheus_url);
      Duration(p, "prometheus", "timeout",
               [&](std::chrono::milliseconds d) { f.prometheus_timeout = d; });
      int max_answer = static_cast<int>(f.prometheus_max_answer_bytes);
      Int(p, "prometheus", "max_answer_bytes", 4096, 1 << 30, &max_answer);
      f.prometheus_max_answer_bytes = static_cast<size_t>(max_answer);
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

}  // namespace smi::config
