// Checks of install manifests as kube-apiserver, the Pod Security admission and a cluster admin
// would judge them, written from the Kubernetes rules themselves (apiregistration validation,
// the "restricted" Pod Security Standard, RBAC matching), not from the product's code. Each
// defect found is named by its check, so that a test can say which rule caught what.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace smi::deploy_test {

struct Document {
  std::string source;  // "smi-metrics.yaml #3"
  YAML::Node node;
  std::string api_version, kind, name, ns;
};

// Documents in the order `kubectl apply -f` sends them: a file's documents in order; a
// directory's .yaml, .yml and .json files by name. Empty documents are skipped.
struct Manifests {
  std::vector<Document> docs;
  std::vector<std::string> parse_errors;
};
Manifests LoadManifests(const std::string& file_or_directory);
Manifests ParseManifests(const std::string& yaml_text, const std::string& source_name);

// One permission: a verb on a resource, cluster-wide (`ns` empty) or in one namespace, on every
// object (`name` empty) or one. Non-resource URLs have `path` set instead of group and resource.
struct Permission {
  std::string ns, group, resource, name, verb, path;
  auto operator<=>(const Permission&) const = default;
  std::string Describe() const;
};

// What the server's own Kubernetes client asks kube-apiserver for.
struct ServerAccess {
  std::set<Permission> used;
  std::string service_account_namespace = "smi-metrics";
  std::string service_account = "smi-metrics";
};

struct Defect {
  std::string check;  // "order", "apiservice", "pod-security", "rbac", "image", ...
  std::string message;
};

// Every defect of `m` as an install of the server, whose client makes `access`.
std::vector<Defect> CheckManifests(const Manifests& m, const ServerAccess& access);

// What a service account gets from the roles `m` binds to it, with the built-in roles it binds
// (system:auth-delegator, extension-apiserver-authentication-reader, system:discovery for every
// authenticated user) expanded as Kubernetes defines them. Unknown roles are reported in `errors`.
std::set<Permission> GrantedTo(const Manifests& m, const std::string& sa_namespace,
                               const std::string& sa_name, std::vector<std::string>* errors);

}  // namespace smi::deploy_test
