// The install manifests, judged as a cluster would judge them (test/deploy/manifest_checks.h):
// the shipped deploy/smi-metrics.yaml and the output of scripts/render-manifests.sh have no
// defect; the deploy/ this project had before (test/deploy/fixtures/deploy-before) fails on each
// defect it had; and each check catches the defect it is for, one change at a time. The RBAC is
// compared with what the server's client is observed to ask kube-apiserver for.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "deploy/manifest_checks.h"
#include "deploy/server_access.h"
#include "kube/objects.h"
#include "support/temp_dir.h"

namespace smi::deploy_test {
namespace {

const std::string kSource = SMI_SOURCE_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// What the server's client uses, observed once per test process.
const ServerAccess& Observed() {
  static const ServerAccess access = [] {
    std::vector<std::string> log;
    ServerAccess a = ObserveServerAccess(SMI_SERVER_BINARY, &log);
    std::string seen;
    for (const auto& l : log) seen += "  " + l + "\n";
    std::cout << "[ observed ] the server's Kubernetes client:\n" << seen;
    return a;
  }();
  return access;
}

std::string Describe(const std::vector<Defect>& defects) {
  std::string s;
  for (const auto& d : defects) s += "  [" + d.check + "] " + d.message + "\n";
  return s;
}

bool HasDefect(const std::vector<Defect>& defects, const std::string& check,
               const std::string& text) {
  for (const auto& d : defects) {
    if (d.check == check && d.message.find(text) != std::string::npos) return true;
  }
  return false;
}

// Runs a shell command; returns its exit status and standard output.
int Shell(const std::string& command, std::string* out = nullptr) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return -1;
  std::string text;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) text.append(buf, n);
  const int status = pclose(p);
  if (out) *out = std::move(text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ObservedAccess, IsWhatTheCachesAndTheDelegationDeclare) {
  const auto& used = Observed().used;
  // Every resource the caches hold is listed and watched, across namespaces.
  for (kube::Resource r : kube::kAllResources) {
    for (const char* verb : {"list", "watch"}) {
      const Permission p{
          "", std::string(kube::ResourceGroup(r)), std::string(kube::ResourceName(r)), "", verb,
          ""};
      EXPECT_TRUE(used.count(p)) << p.Describe();
    }
  }
  EXPECT_TRUE(used.count({"", "authentication.k8s.io", "tokenreviews", "", "create", ""}));
  EXPECT_TRUE(used.count({"", "authorization.k8s.io", "subjectaccessreviews", "", "create", ""}));
  EXPECT_TRUE(used.count(
      {"kube-system", "", "configmaps", "extension-apiserver-authentication", "get", ""}));
}

TEST(ShippedManifest, HasNoDefect) {
  const auto m = LoadManifests(kSource + "/deploy/smi-metrics.yaml");
  ASSERT_GE(m.docs.size(), 10u);
  const auto defects = CheckManifests(m, Observed());
  EXPECT_TRUE(defects.empty()) << Describe(defects);
}

TEST(ShippedManifest, IsWhatTheRenderScriptWritesWithoutOptions) {
  // The same documents (the header comment aside): the script starts from the shipped file.
  std::string rendered;
  ASSERT_EQ(Shell("bash " + kSource + "/scripts/render-manifests.sh", &rendered), 0);
  const auto a = ParseManifests(rendered, "rendered");
  const auto b = LoadManifests(kSource + "/deploy/smi-metrics.yaml");
  ASSERT_EQ(a.docs.size(), b.docs.size());
  for (size_t i = 0; i < a.docs.size(); ++i) {
    EXPECT_EQ(YAML::Dump(a.docs[i].node), YAML::Dump(b.docs[i].node)) << b.docs[i].source;
  }
}

TEST(RenderedManifest, WithTheScriptsCertificateAndAnImageHasNoDefect) {
  test_support::TempDir dir("smi-render");
  const std::string certs = dir.File("certs");
  ASSERT_EQ(Shell("bash " + kSource + "/scripts/serving-cert.sh --out " + certs + " >" +
                  dir.File("secret.yaml") + " 2>" + dir.File("cert.log")),
            0)
      << ReadFile(dir.File("cert.log"));
  const std::string image = "registry.example.com/platform/smi-metrics-server:0.1.0";
  std::string rendered;
  ASSERT_EQ(Shell("bash " + kSource + "/scripts/render-manifests.sh --serving-cert " + certs +
                      " --image " + image +
                      " --prometheus-url http://prometheus.monitoring.svc:9090 --mesh istio",
                  &rendered),
            0);
  const auto m = ParseManifests(rendered, "rendered");
  const auto defects = CheckManifests(m, Observed());
  EXPECT_TRUE(defects.empty()) << Describe(defects);

  int secrets = 0, cert_manager = 0, bundles = 0;
  for (const auto& d : m.docs) {
    if (d.kind == "Secret" && d.name == "smi-metrics-tls") ++secrets;
    if (d.api_version.starts_with("cert-manager.io/")) ++cert_manager;
    if (d.kind == "APIService" && d.node["spec"]["caBundle"]) ++bundles;
    if (d.kind == "Deployment") {
      EXPECT_EQ(d.node["spec"]["template"]["spec"]["containers"][0]["image"].as<std::string>(),
                image);
    }
    if (d.kind == "ConfigMap") {
      const auto config = YAML::Load(d.node["data"]["config.yaml"].as<std::string>());
      EXPECT_EQ(config["prometheus"]["url"].as<std::string>(),
                "http://prometheus.monitoring.svc:9090");
      EXPECT_EQ(config["mesh"]["profile"].as<std::string>(), "istio");
    }
  }
  EXPECT_EQ(secrets, 1);
  EXPECT_EQ(cert_manager, 0);
  EXPECT_EQ(bundles, 2);
  // The Secret serving-cert.sh printed is the one the manifest holds.
  const auto printed = ParseManifests(ReadFile(dir.File("secret.yaml")), "secret.yaml");
  ASSERT_EQ(printed.docs.size(), 1u);
  EXPECT_EQ(printed.docs[0].kind, "Secret");
  EXPECT_EQ(printed.docs[0].name, "smi-metrics-tls");
}

TEST(RenderedManifest, RefusesWhatIsNotAnImageOrACertificate) {
  test_support::TempDir dir("smi-render");
  const std::string render = "bash " + kSource + "/scripts/render-manifests.sh";
  for (const char* bad : {"IMAGE", "registry.example.com/smi-metrics-server",
                          "Registry.example.com/Smi:1", "smi metrics:1"}) {
    EXPECT_EQ(Shell(render + " --image '" + std::string(bad) + "' 2>/dev/null >/dev/null"), 2)
        << bad;
  }
  EXPECT_EQ(Shell(render + " --serving-cert " + dir.path() + " 2>/dev/null >/dev/null"), 2);
  // A certificate for another name than the one kube-apiserver dials.
  ASSERT_EQ(Shell("bash " + kSource + "/scripts/serving-cert.sh --service other --out " +
                  dir.File("other") + " >/dev/null 2>&1"),
            0);
  EXPECT_EQ(Shell(render + " --serving-cert " + dir.File("other") + " 2>/dev/null >/dev/null"), 2);
}

TEST(ServingCertScript, RenewsUnderTheSameCa) {
  test_support::TempDir dir("smi-cert");
  const std::string cmd =
      "bash " + kSource + "/scripts/serving-cert.sh --out " + dir.path() + " >/dev/null 2>&1";
  ASSERT_EQ(Shell(cmd), 0);
  const std::string ca = ReadFile(dir.File("ca.crt"));
  const std::string first = ReadFile(dir.File("tls.crt"));
  ASSERT_EQ(Shell(cmd), 0);
  EXPECT_EQ(ReadFile(dir.File("ca.crt")), ca);
  EXPECT_NE(ReadFile(dir.File("tls.crt")), first);
  // openssl, not the product, says what the certificate is for.
  std::string text;
  ASSERT_EQ(Shell("openssl x509 -in " + dir.File("tls.crt") +
                      " -noout -ext subjectAltName,extendedKeyUsage",
                  &text),
            0);
  EXPECT_NE(text.find("DNS:smi-metrics.smi-metrics.svc,"), std::string::npos) << text;
  EXPECT_NE(text.find("TLS Web Server Authentication"), std::string::npos) << text;
  EXPECT_EQ(Shell("openssl verify -CAfile " + dir.File("ca.crt") + " -purpose sslserver " +
                  dir.File("tls.crt") + " >/dev/null 2>&1"),
            0);
}

TEST(ServingCertScript, AppliesTheSecretAndPatchesBothApiServices) {
  // A kubectl that records what it is asked (and has both APIServices).
  test_support::TempDir dir("smi-cert");
  const std::string kubectl = dir.Write("kubectl", R"(#!/usr/bin/env bash
log=")" + dir.File("calls") + R"("
echo "$*" >>"$log"
if [[ $1 == apply ]]; then cat >>"$log"; fi
exit 0
)");
  ASSERT_EQ(Shell("chmod +x " + kubectl), 0);
  ASSERT_EQ(Shell("bash " + kSource + "/scripts/serving-cert.sh --out " + dir.File("certs") +
                  " --apply --kubectl " + kubectl + " >/dev/null 2>&1"),
            0);
  const std::string calls = ReadFile(dir.File("calls"));
  EXPECT_NE(calls.find("apply -f -\napiVersion: v1\nkind: Secret\n"), std::string::npos) << calls;
  EXPECT_NE(calls.find("name: smi-metrics-tls"), std::string::npos) << calls;
  for (const char* version : {"v1alpha1", "v1alpha2"}) {
    EXPECT_NE(calls.find(std::string("patch apiservice ") + version +
                         ".metrics.smi-spec.io --type=merge -p {\"spec\":{\"caBundle\":\""),
              std::string::npos)
        << calls;
  }
}

// The deploy/ this project shipped before: `kubectl apply -f deploy/` applies its files by name.
TEST(TodaysDeploy, FailsOnEachDefectItHad) {
  const auto m = LoadManifests(kSource + "/test/deploy/fixtures/deploy-before");
  const auto defects = CheckManifests(m, Observed());
  std::cout << "[ defects  ] test/deploy/fixtures/deploy-before:\n" << Describe(defects);
  // caBundle: CA_BUNDLE is not base64: both APIServices are rejected.
  EXPECT_TRUE(
      HasDefect(defects, "certificate", "v1alpha1.metrics.smi-spec.io: caBundle \"CA_BUNDLE\""));
  EXPECT_TRUE(
      HasDefect(defects, "certificate", "v1alpha2.metrics.smi-spec.io: caBundle \"CA_BUNDLE\""));
  // image: IMAGE is not an image name.
  EXPECT_TRUE(HasDefect(defects, "image", "image \"IMAGE\""));
  // Files apply by name: the Service and the Deployment before rbac.yaml's Namespace.
  EXPECT_TRUE(
      HasDefect(defects, "order", "Service smi-metrics comes before Namespace smi-metrics"));
  EXPECT_TRUE(HasDefect(defects, "order", "Deployment smi-metrics comes before Namespace"));
  EXPECT_TRUE(HasDefect(defects, "order", "Deployment smi-metrics comes before ServiceAccount"));
  EXPECT_TRUE(
      HasDefect(defects, "order", "APIService v1alpha1.metrics.smi-spec.io comes before Service"));
  // The Secret smi-metrics-tls is referenced but nothing makes it.
  EXPECT_TRUE(
      HasDefect(defects, "certificate", "mounts the Secret smi-metrics-tls, which nothing"));
  // Pod Security "restricted".
  EXPECT_TRUE(HasDefect(defects, "pod-security", "capabilities must drop ALL"));
  EXPECT_TRUE(HasDefect(defects, "pod-security", "seccompProfile.type must be RuntimeDefault"));
  // No limits, no PodDisruptionBudget, no spread of the two replicas.
  EXPECT_TRUE(HasDefect(defects, "deployment", "no cpu limits"));
  EXPECT_TRUE(HasDefect(defects, "deployment", "no memory limits"));
  EXPECT_TRUE(HasDefect(defects, "disruption-budget", "no PodDisruptionBudget"));
  EXPECT_TRUE(HasDefect(defects, "deployment", "no topology spread over nodes"));
  // The settings are flags, not one ConfigMap.
  EXPECT_TRUE(HasDefect(defects, "config", "no --config"));
  // The built-in reader role grants list and watch on the ConfigMap, which the server never uses.
  EXPECT_TRUE(HasDefect(defects, "rbac", "more than the server uses: it may list configmaps"));
}

// One change to the shipped manifest at a time; each must be caught by its check.
struct Mutation {
  const char* what;
  std::function<std::string(std::string)> change;
  const char* check;
  const char* text;
};

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  if (at == std::string::npos) return s;  // unchanged: the test below fails on it
  return s.replace(at, from.size(), to);
}
std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}
// The document (between "---" lines) holding `marker`, removed.
std::string DropDocument(const std::string& s, const std::string& marker) {
  const size_t at = s.find(marker);
  if (at == std::string::npos) return s;
  size_t begin = s.rfind("\n---\n", at);
  size_t end = s.find("\n---\n", at);
  if (begin == std::string::npos) return s;
  return s.substr(0, begin) + (end == std::string::npos ? "\n" : s.substr(end));
}

TEST(ManifestChecks, EachCatchesItsDefect) {
  const std::string shipped = ReadFile(kSource + "/deploy/smi-metrics.yaml");
  const std::vector<Mutation> mutations = {
      {"no PodDisruptionBudget",
       [](std::string s) { return DropDocument(s, "kind: PodDisruptionBudget"); },
       "disruption-budget", "no PodDisruptionBudget"},
      {"one replica", [](std::string s) { return Replace(s, "replicas: 2", "replicas: 1"); },
       "deployment", "1 replica(s)"},
      {"privilege escalation",
       [](std::string s) {
         return Replace(s, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true");
       },
       "pod-security", "allowPrivilegeEscalation must be false"},
      {"capabilities kept",
       [](std::string s) {
         return Replace(s, "capabilities: {drop: [ALL]}", "capabilities: {drop: [NET_RAW]}");
       },
       "pod-security", "capabilities must drop ALL"},
      {"a capability added",
       [](std::string s) {
         return Replace(s, "capabilities: {drop: [ALL]}",
                        "capabilities: {drop: [ALL], add: [NET_ADMIN]}");
       },
       "pod-security", "adds capability NET_ADMIN"},
      {"host network",
       [](std::string s) {
         return Replace(s, "      serviceAccountName: smi-metrics\n",
                        "      serviceAccountName: smi-metrics\n      hostNetwork: true\n");
       },
       "pod-security", "hostNetwork"},
      {"a hostPath volume",
       [](std::string s) {
         return Replace(s, "      - name: config\n        configMap: {name: smi-metrics-config}\n",
                        "      - name: config\n        configMap: {name: smi-metrics-config}\n"
                        "      - name: host\n        hostPath: {path: /}\n");
       },
       "pod-security", "of type hostPath"},
      {"seccomp unconfined",
       [](std::string s) {
         return ReplaceAll(s, "seccompProfile: {type: RuntimeDefault}",
                           "seccompProfile: {type: Unconfined}");
       },
       "pod-security", "seccompProfile"},
      {"root allowed",
       [](std::string s) { return ReplaceAll(s, "runAsNonRoot: true", "runAsNonRoot: false"); },
       "pod-security", "runAsNonRoot must be true"},
      {"no limits",
       [](std::string s) {
         return Replace(s, "          limits: {cpu: \"1\", memory: 512Mi}\n", "");
       },
       "deployment", "no memory limits"},
      {"no spread",
       [](std::string s) {
         return Replace(s, "topologyKey: kubernetes.io/hostname", "topologyKey: example.com/rack");
       },
       "deployment", "no topology spread over nodes"},
      {"readiness over HTTP",
       [](std::string s) {
         return Replace(s, "path: /readyz, port: https, scheme: HTTPS",
                        "path: /readyz, port: https, scheme: HTTP");
       },
       "deployment", "readinessProbe should be an HTTPS GET of /readyz"},
      {"a placeholder image",
       [](std::string s) {
         return Replace(s, "image: localhost/smi-metrics-server:0.1.0", "image: IMAGE");
       },
       "image", "image \"IMAGE\""},
      {"an image without a tag",
       [](std::string s) {
         return Replace(s, "image: localhost/smi-metrics-server:0.1.0",
                        "image: registry.example.com/smi-metrics-server");
       },
       "image", "not an image reference with a tag"},
      {"the spec's invalid APIService group",
       [](std::string s) {
         return Replace(s, "group: metrics.smi-spec.io\n  version: v1alpha1",
                        "group: metrics.smi-spec.io/v1alpha1\n  version: v1alpha1");
       },
       "apiservice", "is not a DNS-1123 subdomain"},
      {"a version priority of 0",
       [](std::string s) { return Replace(s, "versionPriority: 100", "versionPriority: 0"); },
       "apiservice", "versionPriority must be in 1..1000"},
      {"an APIService for a Service not made here",
       [](std::string s) {
         return Replace(s, "  service: {name: smi-metrics, namespace: smi-metrics, port: 443}\n---",
                        "  service: {name: metrics, namespace: smi-metrics, port: 443}\n---");
       },
       "apiservice", "its Service smi-metrics/metrics is not made here"},
      {"a placeholder caBundle",
       [](std::string s) {
         return Replace(s, "  service: {name: smi-metrics, namespace: smi-metrics, port: 443}\n---",
                        "  service: {name: smi-metrics, namespace: smi-metrics, port: 443}\n"
                        "  caBundle: CA_BUNDLE\n---");
       },
       "certificate", "caBundle \"CA_BUNDLE\" is not base64"},
      {"TLS not verified",
       [](std::string s) {
         return Replace(s, "  versionPriority: 90\n",
                        "  versionPriority: 90\n  insecureSkipTLSVerify: true\n");
       },
       "certificate", "insecureSkipTLSVerify"},
      {"a certificate for another name",
       [](std::string s) {
         return ReplaceAll(s, "  - smi-metrics.smi-metrics.svc\n", "  - smi-metrics.default.svc\n");
       },
       "certificate", "is not for smi-metrics.smi-metrics.svc"},
      {"the serving Secret not made",
       [](std::string s) { return Replace(s, "secretName: smi-metrics-tls", "secretName: other"); },
       "certificate", "mounts the Secret smi-metrics-tls, which nothing here makes"},
      {"the Namespace last",
       [](std::string s) {
         const std::string ns = s.substr(0, s.find("\n---\n"));
         return s.substr(s.find("\n---\n") + 5) + "\n---\n" + ns.substr(ns.find("apiVersion:"));
       },
       "order", "comes before Namespace smi-metrics"},
      {"the APIServices first",
       [](std::string s) {
         const size_t at = s.find("# Registration with kube-apiserver");
         return s.substr(at) + "\n---\n" + s.substr(0, s.rfind("\n---\n", at));
       },
       "order", "APIService v1alpha1.metrics.smi-spec.io comes before"},
      {"RBAC after the pods",
       [](std::string s) {
         const std::string rbac =
             "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
             "metadata:\n  name: extra\nrules: []\n";
         return Replace(s, "# Voluntary disruptions", rbac + "---\n# Voluntary disruptions");
       },
       "order", "comes before ClusterRole extra"},
      {"a verb the server does not use",
       [](std::string s) {
         return Replace(s, "  resources: [pods, namespaces]\n  verbs: [list, watch]",
                        "  resources: [pods, namespaces]\n  verbs: [get, list, watch]");
       },
       "rbac", "more than the server uses: it may get pods"},
      {"a resource the server watches, not granted",
       [](std::string s) {
         return Replace(s, "  resources: [trafficsplits]\n  verbs: [list, watch]",
                        "  resources: [trafficsplits]\n  verbs: [list]");
       },
       "rbac", "missing: the server watch split.smi-spec.io/trafficsplits"},
      {"the built-in authentication reader",
       [](std::string s) {
         return Replace(s,
                        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "
                        "\"smi-metrics:authentication-reader\"}",
                        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "
                        "extension-apiserver-authentication-reader}");
       },
       "rbac", "more than the server uses: it may watch configmaps"},
      {"cluster-admin",
       [](std::string s) {
         return Replace(s, "name: \"system:auth-delegator\"", "name: cluster-admin");
       },
       "rbac", "binds ClusterRole cluster-admin"},
      {"no aggregated reader role",
       [](std::string s) {
         return Replace(s, "    rbac.authorization.k8s.io/aggregate-to-view: \"true\"\n", "");
       },
       "rbac", "no ClusterRole aggregated to view"},
      {"a configuration key the server does not know",
       [](std::string s) { return Replace(s, "      timeout: 30s\n", "      timeout_s: 30\n"); },
       "config", "the server refuses its flags or configuration"},
      {"a flag the server does not know",
       [](std::string s) {
         return Replace(s, "- --in-cluster\n", "- --in-cluster\n        - --tls-port=6443\n");
       },
       "config", "unknown flag --tls-port"},
      {"a template placeholder",
       [](std::string s) {
         return Replace(s, "url: http://prometheus.linkerd-viz.svc.cluster.local:9090",
                        "url: ${PROMETHEUS_URL}");
       },
       "placeholders", "${PROMETHEUS_URL}"},
      {"an object without the install's label",
       [](std::string s) {
         return Replace(s,
                        "  name: smi-metrics:authentication-reader\n  namespace: kube-system\n  "
                        "labels: {app.kubernetes.io/name: smi-metrics}\n",
                        "  name: smi-metrics:authentication-reader\n  namespace: kube-system\n");
       },
       "labels", "Role smi-metrics:authentication-reader: no label"},
      {"an invalid name",
       [](std::string s) {
         return Replace(s, "name: smi-metrics-config\n  namespace",
                        "name: Smi_Config\n  namespace");
       },
       "names", "is not a DNS-1123 subdomain"},
  };
  for (const auto& m : mutations) {
    SCOPED_TRACE(m.what);
    const std::string changed = m.change(shipped);
    ASSERT_NE(changed, shipped) << "the change did not apply";
    const auto defects = CheckManifests(ParseManifests(changed, "changed.yaml"), Observed());
    EXPECT_TRUE(HasDefect(defects, m.check, m.text))
        << "expected [" << m.check << "] " << m.text << "; found:\n"
        << Describe(defects);
  }
}

}  // namespace
}  // namespace smi::deploy_test
