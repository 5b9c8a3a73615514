#include "kube/credentials.h"

#include <sys/stat.h>

#include <cstdlib>
#include <optional>

#include <yaml-cpp/yaml.h>

#include "base/base64.h"
#include "base/strings.h"

namespace smi::kube {

namespace {

// base::ReadFile, failing as a configuration error.
std::string ReadFile(const std::string& path, const std::string& what) {
  try {
    return base::ReadFile(path, what);
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
}

std::string Base64Decode(const std::string& in, const std::string& what) {
  std::optional<std::string> out = base::Base64Decode(in);
  if (!out) throw ConfigError(what + " is not valid base64");
  return std::move(*out);
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

}  // namespace

std::string FileTokenSource::Token() {
  std::lock_guard lock(mu_);
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) {
    if (loaded_) return token_;  // mid-rotation (symlink being swapped): keep the last token
    throw ConfigError("cannot read token file " + path_);
  }
  const bool changed = !loaded_ || force_reload_ || st.st_ino != inode_ || st.st_dev != dev_ ||
                       st.st_mtim.tv_sec != mtime_.tv_sec || st.st_mtim.tv_nsec != mtime_.tv_nsec ||
                       st.st_size != size_;
  if (changed) {
    std::string t = base::Trim(ReadFile(path_, "token file"));
    if (t.empty() && loaded_) return token_;  // caught half-written: next call reads again
    token_ = std::move(t);
    loaded_ = true;
    force_reload_ = false;
    inode_ = st.st_ino;
    dev_ = st.st_dev;
    mtime_ = st.st_mtim;
    size_ = st.st_size;
  }
  return token_;
}

void FileTokenSource::Invalidate() {
  std::lock_guard lock(mu_);
  force_reload_ = true;
}

RestConfig InClusterConfig(const InClusterPaths& paths) {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  const std::string host = paths.host ? *paths.host : env("KUBERNETES_SERVICE_HOST");
  const std::string port = paths.port ? *paths.port : env("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    throw ConfigError(
        "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
        "KUBERNETES_SERVICE_PORT must be defined");
  }
  RestConfig c;
  const bool ipv6 = host.find(':') != std::string::npos;
  c.server = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;
  c.ca_pem = ReadFile(paths.ca_file, "service account CA");
  auto token = std::make_shared<FileTokenSource>(paths.token_file);
  token->Token();  // fail now, not at the first request, when there is no token
  c.token = std::move(token);
  c.description = "in-cluster configuration (" + c.server + ")";
  return c;
}

RestConfig LoadKubeconfig(const std::string& path, const std::string& context) {
  const std::string text = ReadFile(path, "kubeconfig");
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return ParseKubeconfig(text, dir, context, path);
}

namespace {

RestConfig FromKubeconfig(const YAML::Node& root, const std::string& where,
                          const std::string& base_dir, const std::string& context_name) {
  auto str = [](const YAML::Node& n, const char* key) -> std::string {
    if (!n || !n.IsMap() || !n[key] || !n[key].IsScalar()) return "";
    return n[key].as<std::string>();
  };
  // (A default YAML::Node is a defined null, so absence is an empty optional.) Items without a
  // name (a bare scalar, a map without `name`) are never found, not even by an empty name.
  auto find_named = [&](const char* list, const std::string& name) -> std::optional<YAML::Node> {
    const YAML::Node items = root[list];
    if (!name.empty() && items && items.IsSequence()) {
      for (const auto& item : items) {
        if (str(item, "name") == name) return item;
      }
    }
    return std::nullopt;
  };

  const std::string ctx_name = context_name.empty() ? str(root, "current-context") : context_name;
  if (ctx_name.empty()) throw ConfigError(where + " has no current-context and none was given");
  const auto ctx_item = find_named("contexts", ctx_name);
  if (!ctx_item) throw ConfigError(where + ": context \"" + ctx_name + "\" does not exist");
  const YAML::Node ctx = (*ctx_item)["context"];
  const std::string cluster_name = str(ctx, "cluster");
  const std::string user_name = str(ctx, "user");
  if (cluster_name.empty()) {
    throw ConfigError(where + ": context \"" + ctx_name + "\" names no cluster");
  }
  const auto cluster_item = find_named("clusters", cluster_name);
  if (!cluster_item) {
    throw ConfigError(where + ": cluster \"" + cluster_name + "\" of context \"" + ctx_name +
                      "\" does not exist");
  }
  const YAML::Node cluster = (*cluster_item)["cluster"];

  RestConfig c;
  c.description = where + " context " + ctx_name;
  c.server = str(cluster, "server");
  if (c.server.empty())
    throw ConfigError(where + ": cluster \"" + cluster_name + "\" has no server");
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
    c.server = "https://" + c.server;  // as client-go defaults a bare host:port
  }
  c.insecure_skip_tls_verify = str(cluster, "insecure-skip-tls-verify") == "true";
  if (const std::string data = str(cluster, "certificate-authority-data"); !data.empty()) {
    c.ca_pem = Base64Decode(data, where + ": certificate-authority-data");
  } else if (const std::string file = str(cluster, "certificate-authority"); !file.empty()) {
    c.ca_pem = ReadFile(Resolve(base_dir, file), "certificate authority");
  }
  if (c.insecure_skip_tls_verify && !c.ca_pem.empty()) {
    // client-go refuses this combination; so do we.
    throw ConfigError(where +
                      ": specifying a root certificates file with the insecure flag is "
                      "not allowed");
  }

  if (!user_name.empty()) {
    const auto user_item = find_named("users", user_name);
    if (!user_item) {
      throw ConfigError(where + ": user \"" + user_name + "\" of context \"" + ctx_name +
                        "\" does not exist");
    }
    const YAML::Node user = (*user_item)["user"];
    if (user && user.IsMap()) {
      if (user["exec"] || user["auth-provider"]) {
        throw ConfigError(where + ": user \"" + user_name +
                          "\" uses an exec or auth-provider plugin, which is not supported; use a "
                          "token, token file or client certificate");
      }
      if (const std::string d = str(user, "client-certificate-data"); !d.empty()) {
        c.client_cert_pem = Base64Decode(d, where + ": client-certificate-data");
      } else if (const std::string f = str(user, "client-certificate"); !f.empty()) {
        c.client_cert_pem = ReadFile(Resolve(base_dir, f), "client certificate");
      }
      if (const std::string d = str(user, "client-key-data"); !d.empty()) {
        c.client_key_pem = Base64Decode(d, where + ": client-key-data");
      } else if (const std::string f = str(user, "client-key"); !f.empty()) {
        c.client_key_pem = ReadFile(Resolve(base_dir, f), "client key");
      }
      if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
        throw ConfigError(where + ": user \"" + user_name +
                          "\" has a client certificate without a key, or a key without one");
      }
      if (const std::string t = str(user, "token"); !t.empty()) {
        c.token = std::make_shared<StaticTokenSource>(t);
      } else if (const std::string f = str(user, "tokenFile"); !f.empty()) {
        auto src = std::make_shared<FileTokenSource>(Resolve(base_dir, f));
        src->Token();
        c.token = std::move(src);
      }
      c.username = str(user, "username");
      c.password = str(user, "password");
    }
  }
  return c;
}

}  // namespace

RestConfig ParseKubeconfig(const std::string& yaml, const std::string& base_dir,
                           const std::string& context_name, const std::string& origin) {
  const std::string where = "kubeconfig" + (origin.empty() ? "" : " " + origin);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError(where + " is not valid YAML: " + e.what());
  }
  if (!root.IsMap()) throw ConfigError(where + " is not a YAML mapping");
  try {
    return FromKubeconfig(root, where, base_dir, context_name);
  } catch (const YAML::Exception& e) {
    // A shape the reading above did not foresee; still the documented error, naming the file.
    throw ConfigError(where + ": " + e.what());
  }
}

}  // namespace smi::kube
