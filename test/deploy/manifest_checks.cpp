#include "deploy/manifest_checks.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>

#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "config/flags.h"

namespace smi::deploy_test {
namespace {

namespace fs = std::filesystem;

// ---- YAML access
// ---------------------------------------------------------------------------------

// The node at a dotted path ("spec.template.spec"), or an undefined node.
// (Read through const nodes and moved with reset(): yaml-cpp's non-const operator[] adds the key,
// and assigning one Node to another writes into the tree.)
YAML::Node At(const YAML::Node& n, const std::string& path) {
  const YAML::Node undefined(YAML::NodeType::Undefined);
  if (!n) return undefined;
  YAML::Node cur;
  cur.reset(n);
  std::stringstream in(path);
  for (std::string key; std::getline(in, key, '.');) {
    const YAML::Node& parent = cur;
    if (!parent.IsMap()) return undefined;
    const YAML::Node next = parent[key];
    if (!next) return undefined;
    cur.reset(next);
  }
  return cur;
}

std::string Str(const YAML::Node& n, const std::string& path) {
  const YAML::Node v = At(n, path);
  return v && v.IsScalar() ? v.Scalar() : "";
}

std::optional<long> Int(const YAML::Node& n, const std::string& path) {
  const YAML::Node v = At(n, path);
  if (!v || !v.IsScalar()) return std::nullopt;
  try {
    size_t used = 0;
    const long value = std::stol(v.Scalar(), &used);
    if (used == v.Scalar().size()) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// true / false / unset, as YAML 1.1 booleans Kubernetes accepts.
std::optional<bool> Bool(const YAML::Node& n, const std::string& path) {
  const std::string s = Str(n, path);
  if (s == "true") return true;
  if (s == "false") return false;
  return std::nullopt;
}

std::vector<std::string> Strings(const YAML::Node& n, const std::string& path) {
  std::vector<std::string> out;
  const YAML::Node v = At(n, path);
  if (v && v.IsSequence()) {
    for (const auto& item : v) {
      if (item.IsScalar()) out.push_back(item.Scalar());
    }
  }
  return out;
}

std::map<std::string, std::string> StringMap(const YAML::Node& n, const std::string& path) {
  std::map<std::string, std::string> out;
  const YAML::Node v = At(n, path);
  if (v && v.IsMap()) {
    for (const auto& kv : v) {
      if (kv.second.IsScalar()) out[kv.first.Scalar()] = kv.second.Scalar();
    }
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Whether every label of `selector` is among `labels` with the same value (a non-empty selector).
bool Selects(const std::map<std::string, std::string>& selector,
             const std::map<std::string, std::string>& labels) {
  if (selector.empty()) return false;
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

// ---- Kubernetes names (apimachinery's validation rules) ----------------------------------------

bool IsDns1123Label(const std::string& s) {
  static const std::regex re("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return !s.empty() && s.size() <= 63 && std::regex_match(s, re);
}
bool IsDns1123Subdomain(const std::string& s) {
  static const std::regex re("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  return !s.empty() && s.size() <= 253 && std::regex_match(s, re);
}
bool IsDns1035Label(const std::string& s) {
  static const std::regex re("[a-z]([-a-z0-9]*[a-z0-9])?");
  return !s.empty() && s.size() <= 63 && std::regex_match(s, re);
}
// RBAC objects only need to be a valid path segment.
bool IsPathSegmentName(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('%') == std::string::npos;
}

// An image reference as the container runtimes parse it (distribution/reference), with a tag or a
// digest: an implicit "latest" is not a release anyone can roll back to.
bool IsImageReference(const std::string& s) {
  static const std::string component = "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*";
  static const std::string host =
      "[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)"
      "?";
  static const std::string tag = ":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
  static const std::string digest = "@sha256:[0-9a-f]{64}";
  static const std::regex re("((" + host + ")/)?" + component + "(/" + component + ")*((" + tag +
                             ")(" + digest + ")?|" + digest + ")");
  return std::regex_match(s, re);
}

struct KindRule {
  std::string api_version;
  bool namespaced;
  std::function<bool(const std::string&)> valid_name;
  const char* name_rule;
};

const std::map<std::string, KindRule>& KnownKinds() {
  static const std::map<std::string, KindRule> kinds = {
      {"Namespace", {"v1", false, IsDns1123Label, "a DNS-1123 label"}},
      {"ServiceAccount", {"v1", true, IsDns1123Subdomain, "a DNS-1123 subdomain"}},
      {"ConfigMap", {"v1", true, IsDns1123Subdomain, "a DNS-1123 subdomain"}},
      {"Secret", {"v1", true, IsDns1123Subdomain, "a DNS-1123 subdomain"}},
      {"Service", {"v1", true, IsDns1035Label, "a DNS-1035 label"}},
      {"ClusterRole", {"rbac.authorization.k8s.io/v1", false, IsPathSegmentName, "a path segment"}},
      {"ClusterRoleBinding",
       {"rbac.authorization.k8s.io/v1", false, IsPathSegmentName, "a path segment"}},
      {"Role", {"rbac.authorization.k8s.io/v1", true, IsPathSegmentName, "a path segment"}},
      {"RoleBinding", {"rbac.authorization.k8s.io/v1", true, IsPathSegmentName, "a path segment"}},
      {"Deployment", {"apps/v1", true, IsDns1123Subdomain, "a DNS-1123 subdomain"}},
      {"PodDisruptionBudget", {"policy/v1", true, IsDns1123Subdomain, "a DNS-1123 subdomain"}},
      {"APIService",
       {"apiregistration.k8s.io/v1", false, IsDns1123Subdomain, "a DNS-1123 subdomain"}},
      {"Issuer", {"cert-manager.io/v1", true, IsDns1123Subdomain, "a DNS-1123 subdomain"}},
      {"Certificate", {"cert-manager.io/v1", true, IsDns1123Subdomain, "a DNS-1123 subdomain"}},
  };
  return kinds;
}

// ---- certificates -------------------------------------------------------------------------------

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

std::optional<std::string> Base64Decode(const std::string& in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  static const std::regex re("[A-Za-z0-9+/]*={0,2}");
  if (!std::regex_match(in, re)) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  if (in.ends_with("=="))
    len -= 2;
  else if (in.ends_with("="))
    len -= 1;
  out.resize(len);
  return out;
}

std::vector<X509Ptr> ParseCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                BIO_free);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(cert, X509_free);
  }
  return out;
}

// Whether `leaf_pem`'s first certificate chains to `ca_pem` for serving `host`.
std::string VerifyServing(const std::string& leaf_pem, const std::string& ca_pem,
                          const std::string& host) {
  auto leaves = ParseCertificates(leaf_pem);
  auto cas = ParseCertificates(ca_pem);
  if (leaves.empty()) return "tls.crt holds no PEM certificate";
  if (cas.empty()) return "the CA holds no PEM certificate";
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  for (auto& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), leaves[0].get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), host.c_str(), host.size());
  if (X509_verify_cert(ctx.get()) != 1) {
    return std::string("does not verify for ") + host + ": " +
           X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  }
  return "";
}

// ---- the checks ---------------------------------------------------------------------------------

class Checker {
 public:
  Checker(const Manifests& m, const ServerAccess& access) : m_(m), access_(access) {
    for (size_t i = 0; i < m.docs.size(); ++i) index_[Key(m.docs[i])] = i;
  }

  std::vector<Defect> Run() {
    for (const auto& e : m_.parse_errors) Add("parse", e);
    Names();
    Order();
    for (const auto& d : m_.docs) {
      if (d.kind == "APIService") ApiService(d);
      if (d.kind == "Deployment") Deployment(d);
    }
    ApiServicesOfTheGroup();
    Rbac();
    Placeholders();
    return std::move(defects_);
  }

 private:
  static std::string Key(const Document& d) { return d.kind + "/" + d.ns + "/" + d.name; }
  const Document* Find(const std::string& kind, const std::string& ns,
                       const std::string& name) const {
    auto it = index_.find(kind + "/" + ns + "/" + name);
    return it == index_.end() ? nullptr : &m_.docs[it->second];
  }
  size_t Position(const Document& d) const { return index_.at(Key(d)); }
  void Add(std::string check, std::string message) {
    defects_.push_back({std::move(check), std::move(message)});
  }
  // `dep` must be applied before `d` (when both are here).
  void Before(const Document* dep, const Document& d, const std::string& why) {
    if (dep && Position(*dep) > Position(d)) {
      Add("order", d.source + " " + d.kind + " " + d.name + " comes before " + dep->kind + " " +
                       dep->name + " (" + dep->source + "), which " + why);
    }
  }

  void Names() {
    std::set<std::string> seen;
    for (const auto& d : m_.docs) {
      const std::string what = d.source + " " + (d.kind.empty() ? "(no kind)" : d.kind);
      auto rule = KnownKinds().find(d.kind);
      if (rule == KnownKinds().end()) {
        Add("names", what + ": not a kind this install should hold");
        continue;
      }
      if (d.api_version != rule->second.api_version) {
        Add("names", what + ": apiVersion \"" + d.api_version + "\", expected \"" +
                         rule->second.api_version + "\"");
      }
      if (!rule->second.valid_name(d.name)) {
        Add("names", what + ": name \"" + d.name + "\" is not " + rule->second.name_rule);
      }
      if (rule->second.namespaced) {
        if (d.ns.empty()) {
          Add("names", what + " " + d.name + ": namespaced, but no metadata.namespace");
        } else if (!IsDns1123Label(d.ns)) {
          Add("names", what + " " + d.name + ": namespace \"" + d.ns + "\" is not valid");
        } else if (d.ns != "kube-system" && d.ns != "default" && !Find("Namespace", "", d.ns)) {
          Add("names", what + " " + d.name + ": its namespace " + d.ns + " is not created here");
        }
      } else if (!d.ns.empty()) {
        Add("names", what + " " + d.name + ": cluster-scoped, but has metadata.namespace");
      }
      if (!seen.insert(Key(d)).second) Add("names", what + " " + d.name + ": defined twice");
      // Uninstalling finds the cluster-wide objects and those in kube-system by this label.
      if (StringMap(d.node, "metadata.labels")["app.kubernetes.io/name"] != "smi-metrics") {
        Add("labels", what + " " + d.name + ": no label app.kubernetes.io/name: smi-metrics");
      }
    }
  }

  // Everything an object needs exists when it is applied; the Namespace and RBAC come first.
  void Order() {
    if (!m_.docs.empty() && m_.docs.front().kind != "Namespace") {
      Add("order", "the first object is " + m_.docs.front().kind + " " + m_.docs.front().name +
                       ", not the Namespace");
    }
    for (const auto& d : m_.docs) {
      if (!d.ns.empty()) Before(Find("Namespace", "", d.ns), d, "creates its namespace");
      if (d.kind == "RoleBinding" || d.kind == "ClusterRoleBinding") {
        const std::string ref_kind = Str(d.node, "roleRef.kind");
        Before(Find(ref_kind, ref_kind == "Role" ? d.ns : "", Str(d.node, "roleRef.name")), d,
               "it binds");
        for (const auto& s : At(d.node, "subjects")) {
          if (Str(s, "kind") == "ServiceAccount") {
            Before(Find("ServiceAccount", Str(s, "namespace"), Str(s, "name")), d, "it binds");
          }
        }
      }
      if (d.kind == "Deployment") {
        const YAML::Node pod = At(d.node, "spec.template.spec");
        const std::string sa = Str(pod, "serviceAccountName");
        Before(Find("ServiceAccount", d.ns, sa), d, "its pods run as");
        // Every RBAC object: the pods must not start without their permissions.
        for (const auto& other : m_.docs) {
          if (other.api_version.starts_with("rbac.authorization.k8s.io/")) {
            Before(&other, d, "is RBAC, applied before the pods");
          }
        }
        for (const auto& v : At(pod, "volumes")) {
          if (v["configMap"])
            Before(Find("ConfigMap", d.ns, Str(v, "configMap.name")), d, "it mounts");
          if (v["secret"])
            Before(Find("Secret", d.ns, Str(v, "secret.secretName")), d, "it mounts");
        }
      }
      if (d.kind == "APIService") {
        const std::string svc_ns = Str(d.node, "spec.service.namespace");
        const Document* svc = Find("Service", svc_ns, Str(d.node, "spec.service.name"));
        Before(svc, d, "it sends requests to");
        for (const auto& other : m_.docs) {
          if (other.kind == "Deployment" && other.ns == svc_ns) {
            Before(&other, d, "serves it (register the API last)");
          }
        }
      }
      if (d.kind == "Certificate") {
        Before(Find(Str(d.node, "spec.issuerRef.kind").empty() ? "Issuer"
                                                               : Str(d.node, "spec.issuerRef.kind"),
                    d.ns, Str(d.node, "spec.issuerRef.name")),
               d, "issues it");
      }
      if (d.kind == "Issuer" && At(d.node, "spec.ca")) {
        for (const auto& other : m_.docs) {
          if (other.kind == "Certificate" && other.ns == d.ns &&
              Str(other.node, "spec.secretName") == Str(d.node, "spec.ca.secretName")) {
            Before(&other, d, "makes its CA");
          }
        }
      }
    }
  }

  // kube-aggregator's validation of apiregistration.k8s.io/v1, and what makes it Available.
  void ApiService(const Document& d) {
    const std::string what = d.source + " APIService " + d.name;
    const std::string group = Str(d.node, "spec.group");
    const std::string version = Str(d.node, "spec.version");
    if (d.name != version + "." + group) {
      Add("apiservice",
          what + ": the name must be <version>.<group> (\"" + version + "." + group + "\")");
    }
    if (!IsDns1123Subdomain(group)) {
      Add("apiservice", what + ": spec.group \"" + group + "\" is not a DNS-1123 subdomain");
    }
    if (!IsDns1035Label(version)) {
      Add("apiservice", what + ": spec.version \"" + version + "\" is not a DNS-1035 label");
    }
    const auto gpm = Int(d.node, "spec.groupPriorityMinimum");
    if (!gpm || *gpm <= 0 || *gpm > 20000) {
      Add("apiservice", what + ": spec.groupPriorityMinimum must be in 1..20000");
    }
    const auto vp = Int(d.node, "spec.versionPriority");
    if (!vp || *vp <= 0 || *vp > 1000) {
      Add("apiservice", what + ": spec.versionPriority must be in 1..1000");
    }
    const std::string svc_name = Str(d.node, "spec.service.name");
    const std::string svc_ns = Str(d.node, "spec.service.namespace");
    if (svc_name.empty() || svc_ns.empty()) {
      Add("apiservice", what + ": spec.service needs a name and a namespace");
      return;
    }
    const long port = Int(d.node, "spec.service.port").value_or(443);
    if (port <= 0 || port > 65535) Add("apiservice", what + ": spec.service.port out of range");

    const std::string ca_bundle = Str(d.node, "spec.caBundle");
    const bool insecure = Bool(d.node, "spec.insecureSkipTLSVerify").value_or(false);
    if (insecure && !ca_bundle.empty()) {
      Add("apiservice", what + ": caBundle and insecureSkipTLSVerify exclude each other");
    }
    if (insecure) {
      Add("certificate", what +
                             ": insecureSkipTLSVerify: kube-apiserver would not verify the "
                             "server it sends users' requests to");
    }
    const std::string host = svc_name + "." + svc_ns + ".svc";
    const std::string injected =
        StringMap(d.node, "metadata.annotations")["cert-manager.io/inject-ca-from"];
    if (!ca_bundle.empty()) {
      const auto pem = Base64Decode(ca_bundle);
      if (!pem) {
        Add("certificate", what + ": caBundle \"" + ca_bundle.substr(0, 40) +
                               "\" is not base64, so kube-apiserver rejects the object");
      } else if (ParseCertificates(*pem).empty()) {
        Add("certificate", what + ": caBundle decodes to no PEM certificate");
      } else {
        ServingCertificateFromSecret(d, *pem, svc_ns, host);
      }
    } else if (!injected.empty()) {
      const size_t slash = injected.find('/');
      const Document* cert =
          slash == std::string::npos
              ? nullptr
              : Find("Certificate", injected.substr(0, slash), injected.substr(slash + 1));
      if (!cert) {
        Add("certificate", what + ": cert-manager.io/inject-ca-from names \"" + injected +
                               "\", a Certificate not made here");
      } else if (!Contains(Strings(cert->node, "spec.dnsNames"), host)) {
        Add("certificate", what + ": the Certificate " + cert->name + " is not for " + host +
                               ", the name kube-apiserver verifies");
      }
    } else if (!insecure) {
      Add("certificate", what +
                             ": no caBundle and no cert-manager.io/inject-ca-from: nothing "
                             "lets kube-apiserver verify the server");
    }

    // The Service it names exists, has the port, and selects the server's pods.
    const Document* svc = Find("Service", svc_ns, svc_name);
    if (!svc) {
      Add("apiservice", what + ": its Service " + svc_ns + "/" + svc_name + " is not made here");
      return;
    }
    bool has_port = false;
    for (const auto& p : At(svc->node, "spec.ports")) {
      if (Int(p, "port").value_or(0) == port) has_port = true;
    }
    if (!has_port) {
      Add("apiservice", what + ": its Service has no port " + std::to_string(port));
    }
    const auto selector = StringMap(svc->node, "spec.selector");
    bool selected = false;
    for (const auto& other : m_.docs) {
      if (other.kind == "Deployment" && other.ns == svc_ns &&
          Selects(selector, StringMap(other.node, "spec.template.metadata.labels"))) {
        selected = true;
      }
    }
    if (!selected) {
      Add("apiservice", what + ": its Service selects no pods of a Deployment made here");
    }
  }

  // With a caBundle, the serving certificate is a Secret here that it verifies.
  void ServingCertificateFromSecret(const Document& api, const std::string& ca_pem,
                                    const std::string& ns, const std::string& host) {
    for (const auto& d : m_.docs) {
      if (d.kind != "Secret" || d.ns != ns) continue;
      const std::string crt = StringMap(d.node, "data")["tls.crt"];
      if (crt.empty()) continue;
      const auto pem = Base64Decode(crt);
      if (!pem) {
        Add("certificate", d.source + " Secret " + d.name + ": tls.crt is not base64");
        continue;
      }
      const std::string problem = VerifyServing(*pem, ca_pem, host);
      if (!problem.empty()) {
        Add("certificate", d.source + " Secret " + d.name + ": tls.crt " + problem +
                               " against the caBundle of " + api.name);
      }
    }
  }

  void ApiServicesOfTheGroup() {
    for (const char* version : {"v1alpha1", "v1alpha2"}) {
      if (!Find("APIService", "", std::string(version) + ".metrics.smi-spec.io")) {
        Add("apiservice", std::string("no APIService ") + version +
                              ".metrics.smi-spec.io: the server serves that version");
      }
    }
  }

  void Deployment(const Document& d) {
    const std::string what = d.source + " Deployment " + d.name;
    const YAML::Node pod = At(d.node, "spec.template.spec");
    const auto labels = StringMap(d.node, "spec.template.metadata.labels");
    const long replicas = Int(d.node, "spec.replicas").value_or(1);
    if (replicas < 2) {
      Add("deployment", what + ": " + std::to_string(replicas) +
                            " replica(s); two keep the API "
                            "served through a restart or a drain");
    }
    if (!Selects(StringMap(d.node, "spec.selector.matchLabels"), labels)) {
      Add("deployment", what + ": spec.selector does not select its own pod template");
    }
    const std::string sa = Str(pod, "serviceAccountName");
    if (sa.empty() || !Find("ServiceAccount", d.ns, sa)) {
      Add("deployment", what + ": its service account \"" + sa + "\" is not made here");
    }
    PodSecurityRestricted(what, pod);

    // Spread over nodes.
    bool spread_over_nodes = false;
    for (const auto& c : At(pod, "topologySpreadConstraints")) {
      if (!Selects(StringMap(c, "labelSelector.matchLabels"), labels)) {
        Add("deployment", what + ": a topology spread constraint does not select its own pods");
      }
      if (Str(c, "topologyKey") == "kubernetes.io/hostname") spread_over_nodes = true;
    }
    if (!spread_over_nodes) {
      Add("deployment", what +
                            ": no topology spread over nodes (kubernetes.io/hostname): both "
                            "replicas may land on one node");
    }

    // Volumes that something here makes.
    for (const auto& v : At(pod, "volumes")) {
      if (v["secret"]) {
        const std::string secret = Str(v, "secret.secretName");
        bool made = Find("Secret", d.ns, secret) != nullptr;
        for (const auto& other : m_.docs) {
          if (other.kind == "Certificate" && other.ns == d.ns &&
              Str(other.node, "spec.secretName") == secret) {
            made = true;
          }
        }
        if (!made && !Bool(v, "secret.optional").value_or(false)) {
          Add("certificate", what + ": mounts the Secret " + secret +
                                 ", which nothing here makes (no Secret, no Certificate): the "
                                 "pods cannot start");
        }
      }
      if (v["configMap"] && !Find("ConfigMap", d.ns, Str(v, "configMap.name"))) {
        Add("deployment", what + ": mounts the ConfigMap " + Str(v, "configMap.name") +
                              ", which is not made here");
      }
    }

    for (const auto& c : At(pod, "containers")) {
      const std::string cwhat = what + " container " + Str(c, "name");
      const std::string image = Str(c, "image");
      if (!IsImageReference(image)) {
        Add("image",
            cwhat + ": image \"" + image + "\" is not an image reference with a tag or a digest");
      }
      for (const char* kind : {"requests", "limits"}) {
        for (const char* res : {"cpu", "memory"}) {
          if (Str(c, std::string("resources.") + kind + "." + res).empty()) {
            Add("deployment", cwhat + ": no " + res + " " + kind);
          }
        }
      }
      std::set<std::string> port_names, port_numbers;
      for (const auto& p : At(c, "ports")) {
        port_names.insert(Str(p, "name"));
        port_numbers.insert(Str(p, "containerPort"));
      }
      for (const auto& [probe, path] :
           {std::pair{"readinessProbe", "/readyz"}, std::pair{"livenessProbe", "/livez"}}) {
        const YAML::Node p = c[probe];
        if (!p) {
          Add("deployment", cwhat + ": no " + probe);
          continue;
        }
        const std::string port = Str(p, "httpGet.port");
        if (Str(p, "httpGet.path") != path || Str(p, "httpGet.scheme") != "HTTPS" ||
            (!port_names.count(port) && !port_numbers.count(port))) {
          Add("deployment", cwhat + ": " + probe + " should be an HTTPS GET of " + path +
                                " on a declared container port");
        }
      }
    }

    for (const auto& c : At(pod, "containers")) Configuration(d, pod, c);

    // A PodDisruptionBudget for these pods.
    bool budget = false;
    for (const auto& other : m_.docs) {
      if (other.kind != "PodDisruptionBudget" || other.ns != d.ns) continue;
      if (!Selects(StringMap(other.node, "spec.selector.matchLabels"), labels)) continue;
      budget = true;
      const auto min = Int(other.node, "spec.minAvailable");
      const auto max = Int(other.node, "spec.maxUnavailable");
      if (!((min && *min >= 1 && *min < replicas) || (max && *max >= 1 && *max < replicas))) {
        Add("disruption-budget", other.source + " PodDisruptionBudget " + other.name +
                                     ": must keep one replica and let one go");
      }
    }
    if (!budget) Add("disruption-budget", what + ": no PodDisruptionBudget selects its pods");
  }

  // The container's arguments are flags the server takes, and its --config file is a ConfigMap
  // here that the server accepts, naming a Prometheus and a mesh (the one place for them).
  void Configuration(const Document& d, const YAML::Node& pod, const YAML::Node& c) {
    const std::string what = d.source + " Deployment " + d.name + " container " + Str(c, "name");
    std::vector<std::string> args = Strings(c, "command");
    if (!args.empty()) args.erase(args.begin());  // a command replaces the entrypoint
    for (const auto& a : Strings(c, "args")) args.push_back(a);
    std::string config_path;
    for (const auto& a : args) {
      if (a.starts_with("--config=")) config_path = a.substr(9);
    }
    if (config_path.empty()) {
      Add("config", what + ": no --config: the settings are not in one ConfigMap");
      return;
    }
    // The ConfigMap key mounted at that path.
    std::string content;
    bool found = false;
    for (const auto& mount : At(c, "volumeMounts")) {
      const std::string dir = Str(mount, "mountPath");
      if (!config_path.starts_with(dir + "/")) continue;
      const std::string key = config_path.substr(dir.size() + 1);
      for (const auto& v : At(pod, "volumes")) {
        if (Str(v, "name") != Str(mount, "name") || !v["configMap"]) continue;
        if (const Document* cm = Find("ConfigMap", d.ns, Str(v, "configMap.name"))) {
          auto data = StringMap(cm->node, "data");
          if (data.count(key)) {
            content = data[key];
            found = true;
          }
        }
      }
    }
    if (!found) {
      Add("config", what + ": --config=" + config_path + " is not a ConfigMap key made here");
      return;
    }
    const fs::path dir =
        fs::temp_directory_path() / ("smi-manifest-config-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(reinterpret_cast<uintptr_t>(&c)));
    fs::create_directories(dir);
    const fs::path file = dir / "config.yaml";
    std::ofstream(file) << content;
    for (auto& a : args) {
      if (a.starts_with("--config=")) a = "--config=" + file.string();
    }
    try {
      const config::ServerFlags flags = config::ParseFlags(args);
      if (flags.prometheus_url.empty()) Add("config", what + ": no Prometheus URL");
      if (flags.profile.name.empty()) Add("config", what + ": no mesh profile");
    } catch (const std::exception& e) {
      Add("config", what + ": the server refuses its flags or configuration: " + e.what());
    }
    fs::remove_all(dir);
  }

  // The "restricted" Pod Security Standard (which includes "baseline"), as the admission plugin
  // applies it to a pod template.
  void PodSecurityRestricted(const std::string& what, const YAML::Node& pod) {
    auto fail = [&](const std::string& m) { Add("pod-security", what + ": " + m); };
    for (const char* host : {"hostNetwork", "hostPID", "hostIPC"}) {
      if (Bool(pod, host).value_or(false)) fail(std::string(host) + " must not be true");
    }
    static const std::set<std::string> allowed_volumes = {
        "configMap", "csi",    "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
        "projected", "secret", "name"};
    for (const auto& v : At(pod, "volumes")) {
      for (const auto& kv : v) {
        if (!allowed_volumes.count(kv.first.Scalar())) {
          fail("volume " + Str(v, "name") + " is of type " + kv.first.Scalar() +
               ", not allowed by restricted");
        }
      }
    }
    const auto pod_non_root = Bool(pod, "securityContext.runAsNonRoot");
    const std::string pod_seccomp = Str(pod, "securityContext.seccompProfile.type");
    if (Int(pod, "securityContext.runAsUser") == 0L)
      fail("securityContext.runAsUser must not be 0");
    if (pod_seccomp == "Unconfined") fail("seccompProfile must not be Unconfined");
    for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
      for (const auto& c : At(pod, list)) {
        const std::string cname = std::string(list) + " " + Str(c, "name");
        const YAML::Node sc = c["securityContext"];
        if (Bool(sc, "privileged").value_or(false)) fail(cname + ": privileged");
        if (Bool(sc, "allowPrivilegeEscalation") != std::optional<bool>(false)) {
          fail(cname + ": securityContext.allowPrivilegeEscalation must be false");
        }
        const auto non_root = Bool(sc, "runAsNonRoot");
        if (non_root == std::optional<bool>(false) ||
            (!non_root && pod_non_root != std::optional<bool>(true))) {
          fail(cname + ": runAsNonRoot must be true (in the pod or the container)");
        }
        if (Int(sc, "runAsUser") == 0L) fail(cname + ": runAsUser must not be 0");
        const std::string seccomp = Str(sc, "seccompProfile.type");
        const std::string effective = seccomp.empty() ? pod_seccomp : seccomp;
        if (effective != "RuntimeDefault" && effective != "Localhost") {
          fail(cname +
               ": seccompProfile.type must be RuntimeDefault or Localhost (in the pod or "
               "the container)");
        }
        if (!Contains(Strings(sc, "capabilities.drop"), "ALL")) {
          fail(cname + ": capabilities must drop ALL");
        }
        for (const auto& cap : Strings(sc, "capabilities.add")) {
          if (cap != "NET_BIND_SERVICE") fail(cname + ": adds capability " + cap);
        }
        for (const auto& p : At(c, "ports")) {
          if (Int(p, "hostPort").value_or(0) != 0) fail(cname + ": hostPort");
        }
        const std::string proc = Str(sc, "procMount");
        if (!proc.empty() && proc != "Default") fail(cname + ": procMount " + proc);
      }
    }
  }

  // The service account may do exactly what the server's client does, nothing more or less;
  // users get read access through an aggregated role.
  void Rbac() {
    std::vector<std::string> errors;
    const auto granted =
        GrantedTo(m_, access_.service_account_namespace, access_.service_account, &errors);
    for (const auto& e : errors) Add("rbac", e);
    auto covers = [](const Permission& g, const Permission& u) {
      if (!g.path.empty() || !u.path.empty()) {
        if (g.path.empty() || u.path.empty() || g.verb != u.verb) return false;
        return g.path == u.path ||
               (g.path.ends_with("*") && u.path.starts_with(g.path.substr(0, g.path.size() - 1)));
      }
      auto eq = [](const std::string& rule, const std::string& v) {
        return rule == "*" || rule == v;
      };
      return (g.ns.empty() || g.ns == u.ns) && eq(g.group, u.group) && eq(g.resource, u.resource) &&
             (g.name.empty() || g.name == u.name) && eq(g.verb, u.verb);
    };
    for (const auto& u : access_.used) {
      bool ok = std::any_of(granted.begin(), granted.end(),
                            [&](const Permission& g) { return covers(g, u); });
      // Discovery documents are open to every authenticated user (system:discovery).
      if (!ok && !u.path.empty() && u.verb == "get" &&
          (u.path == "/api" || u.path == "/apis" || u.path.starts_with("/api/") ||
           u.path.starts_with("/apis/"))) {
        ok = true;
      }
      if (!ok) Add("rbac", "missing: the server " + u.Describe() + ", which nothing grants");
    }
    for (const auto& g : granted) {
      if (g.group == "*" || g.resource == "*" || g.verb == "*") {
        Add("rbac", "a wildcard grant: " + g.Describe());
        continue;
      }
      const bool used = std::any_of(access_.used.begin(), access_.used.end(),
                                    [&](const Permission& u) { return covers(g, u); });
      if (!used) Add("rbac", "more than the server uses: it may " + g.Describe());
    }

    // Readers: view, edit and admin include reading metrics.smi-spec.io.
    bool reader = false;
    for (const auto& d : m_.docs) {
      if (d.kind != "ClusterRole") continue;
      const auto labels = StringMap(d.node, "metadata.labels");
      if (labels.count("rbac.authorization.k8s.io/aggregate-to-view") == 0 ||
          labels.at("rbac.authorization.k8s.io/aggregate-to-view") != "true") {
        continue;
      }
      for (const auto& rule : At(d.node, "rules")) {
        const auto verbs = Strings(rule, "verbs");
        if (Contains(Strings(rule, "apiGroups"), "metrics.smi-spec.io") && Contains(verbs, "get") &&
            Contains(verbs, "list")) {
          reader = true;
        }
      }
    }
    if (!reader) {
      Add("rbac", "no ClusterRole aggregated to view grants get and list on metrics.smi-spec.io");
    }
  }

  // Template markers left in: "${X}", "{{ x }}", "<something to fill in>".
  void Placeholders() {
    static const std::regex marker("\\$\\{[^}]*\\}|\\{\\{.*\\}\\}|<[^<>]*>|REPLACE_?ME|CHANGE_?ME");
    std::function<void(const Document&, const YAML::Node&, const std::string&)> walk =
        [&](const Document& d, const YAML::Node& n, const std::string& path) {
          if (n.IsScalar()) {
            if (std::regex_search(n.Scalar(), marker)) {
              Add("placeholders", d.source + " " + d.kind + " " + d.name + ": " + path + " is \"" +
                                      n.Scalar().substr(0, 60) + "\"");
            }
          } else if (n.IsMap()) {
            for (const auto& kv : n) walk(d, kv.second, path + "." + kv.first.Scalar());
          } else if (n.IsSequence()) {
            for (size_t i = 0; i < n.size(); ++i) {
              walk(d, n[i], path + "[" + std::to_string(i) + "]");
            }
          }
        };
    for (const auto& d : m_.docs) walk(d, d.node, "");
  }

  const Manifests& m_;
  const ServerAccess& access_;
  std::map<std::string, size_t> index_;
  std::vector<Defect> defects_;
};

// The rules of a role as permissions, in the binding's scope (`ns` empty: cluster-wide).
void Expand(const YAML::Node& rules, const std::string& ns, std::set<Permission>& out) {
  for (const auto& rule : rules) {
    for (const auto& verb : Strings(rule, "verbs")) {
      for (const auto& url : Strings(rule, "nonResourceURLs")) {
        out.insert({"", "", "", "", verb, url});
      }
      for (const auto& group : Strings(rule, "apiGroups")) {
        for (const auto& resource : Strings(rule, "resources")) {
          auto names = Strings(rule, "resourceNames");
          if (names.empty()) names.push_back("");
          for (const auto& name : names) out.insert({ns, group, resource, name, verb, ""});
        }
      }
    }
  }
}

// Kubernetes' built-in roles that an install may bind, with their rules.
std::optional<YAML::Node> BuiltinRole(const std::string& kind, const std::string& name) {
  if (kind == "ClusterRole" && name == "system:auth-delegator") {
    return YAML::Load(R"(
- {apiGroups: [authentication.k8s.io], resources: [tokenreviews], verbs: [create]}
- {apiGroups: [authorization.k8s.io], resources: [subjectaccessreviews], verbs: [create]}
)");
  }
  if (kind == "Role" && name == "extension-apiserver-authentication-reader") {
    return YAML::Load(R"(
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [extension-apiserver-authentication]
  verbs: [get, list, watch]
)");
  }
  return std::nullopt;
}

}  // namespace

std::string Permission::Describe() const {
  if (!path.empty()) return verb + " " + path;
  std::string s = verb + " " + (group.empty() ? "" : group + "/") + resource;
  if (!name.empty()) s += " " + name;
  s += ns.empty() ? " (cluster-wide)" : " in " + ns;
  return s;
}

Manifests ParseManifests(const std::string& yaml_text, const std::string& source_name) {
  Manifests m;
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(yaml_text);
  } catch (const YAML::Exception& e) {
    m.parse_errors.push_back(source_name + ": not valid YAML: " + e.what());
    return m;
  }
  int i = 0;
  for (const auto& n : nodes) {
    ++i;
    if (!n || n.IsNull()) continue;
    const std::string source = source_name + " #" + std::to_string(i);
    if (!n.IsMap()) {
      m.parse_errors.push_back(source + ": not a mapping");
      continue;
    }
    Document d{source,
               n,
               Str(n, "apiVersion"),
               Str(n, "kind"),
               Str(n, "metadata.name"),
               Str(n, "metadata.namespace")};
    if (d.api_version.empty() || d.kind.empty() || d.name.empty()) {
      m.parse_errors.push_back(source + ": apiVersion, kind and metadata.name are required");
    }
    m.docs.push_back(std::move(d));
  }
  return m;
}

Manifests LoadManifests(const std::string& file_or_directory) {
  auto read = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  if (!fs::is_directory(file_or_directory)) {
    return ParseManifests(read(file_or_directory), fs::path(file_or_directory).filename());
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(file_or_directory)) {
    const std::string ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  Manifests all;
  for (const auto& f : files) {
    Manifests one = ParseManifests(read(f), f.filename());
    for (auto& d : one.docs) all.docs.push_back(std::move(d));
    for (auto& e : one.parse_errors) all.parse_errors.push_back(std::move(e));
  }
  return all;
}

std::set<Permission> GrantedTo(const Manifests& m, const std::string& sa_namespace,
                               const std::string& sa_name, std::vector<std::string>* errors) {
  std::set<Permission> out;
  for (const auto& d : m.docs) {
    if (d.kind != "RoleBinding" && d.kind != "ClusterRoleBinding") continue;
    bool bound = false;
    for (const auto& s : At(d.node, "subjects")) {
      if (Str(s, "kind") == "ServiceAccount" && Str(s, "name") == sa_name &&
          Str(s, "namespace") == sa_namespace) {
        bound = true;
      }
    }
    if (!bound) continue;
    const std::string ref_kind = Str(d.node, "roleRef.kind");
    const std::string ref_name = Str(d.node, "roleRef.name");
    const std::string scope = d.kind == "RoleBinding" ? d.ns : "";
    const Document* role = nullptr;
    for (const auto& r : m.docs) {
      if (r.kind == ref_kind && r.name == ref_name && (ref_kind != "Role" || r.ns == d.ns)) {
        role = &r;
      }
    }
    if (role) {
      Expand(At(role->node, "rules"), scope, out);
    } else if (auto builtin = BuiltinRole(ref_kind, ref_name)) {
      Expand(*builtin, scope, out);
    } else if (errors) {
      errors->push_back(d.source + " " + d.kind + " " + d.name + " binds " + ref_kind + " " +
                        ref_name + ", which is neither made here nor a known built-in role");
    }
  }
  return out;
}

std::vector<Defect> CheckManifests(const Manifests& m, const ServerAccess& access) {
  return Checker(m, access).Run();
}

}  // namespace smi::deploy_test
