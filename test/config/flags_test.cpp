#include "config/flags.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config_file.h"
#include "sources/prometheus/builtin_profiles.h"
#include "support/temp_dir.h"

namespace smi::config {
namespace {

using namespace std::chrono_literals;

TEST(FlagsTest, ParsesBothForms) {
  const auto f = ParseFlags({"--prometheus-url=http://prom:9090", "--secure-port", "9443",
                             "--prometheus-timeout=2s", "--prometheus-insecure-skip-tls-verify"});
  EXPECT_EQ(f.prometheus_url, "http://prom:9090");
  EXPECT_EQ(f.secure_port, 9443);
  EXPECT_EQ(f.prometheus_timeout, 2s);
  EXPECT_TRUE(f.prometheus_insecure_skip_tls_verify);
  EXPECT_EQ(f.mesh, "linkerd");
}

// One query's memory is bounded: by default, by the flag, or by the configuration file.
TEST(FlagsTest, MaxAnswerBytes) {
  EXPECT_EQ(ParseFlags({"--prometheus-url=x"}).prometheus_max_answer_bytes, size_t{256} << 20);
  EXPECT_EQ(ParseFlags({"--prometheus-url=x", "--prometheus-max-answer-bytes=1048576"})
                .prometheus_max_answer_bytes,
            size_t{1} << 20);
  try {
    ParseFlags({"--prometheus-url=x", "--prometheus-max-answer-bytes=10"});
    ADD_FAILURE() << "a limit below 4096 bytes accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--prometheus-max-answer-bytes"), std::string::npos)
        << e.what();
  }
  test_support::TempDir dir("flags_test");
  const std::string path =
      dir.Write("config.yaml", "prometheus:\n  url: http://prom:9090\n  max_answer_bytes: 65536\n");
  EXPECT_EQ(ParseFlags({"--config", path}).prometheus_max_answer_bytes, 65536u);
}

TEST(FlagsTest, VersionNeedsNothingElse) {
  // The image's self-test runs --version alone, with no Prometheus to name.
  EXPECT_TRUE(ParseFlags({"--version"}).version);
  EXPECT_FALSE(ParseFlags({"--prometheus-url=http://prom:9090"}).version);
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  auto message = [](std::vector<std::string> args) {
    try {
      ParseFlags(args);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({}).find("--prometheus-url is required"), std::string::npos);
  EXPECT_NE(message({"--prometheus-url=x", "--secure-port=http"}).find("--secure-port=http"),
            std::string::npos);
  EXPECT_NE(message({"--prometheus-url=x", "--bogus=1"}).find("unknown flag --bogus"),
            std::string::npos);
  EXPECT_NE(
      message({"--prometheus-url=x", "--mesh=consul"}).find("supported meshes are: linkerd, istio"),
      std::string::npos);
  EXPECT_NE(message({"--prometheus-url=x", "--tls-cert-file=a"}).find("go together"),
            std::string::npos);
  EXPECT_NE(
      message({"--prometheus-url=x", "--prometheus-timeout=soon"}).find("--prometheus-timeout"),
      std::string::npos);
}

std::string Message(const std::vector<std::string>& args) {
  try {
    ParseFlags(args);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

// A configuration file in the test's temporary directory, removed at the end.
// A directory of this process's own (ctest runs each test in a process of its own, in parallel).
const std::string& TestDir() {
  static const test_support::TempDir dir("flags_test");
  return dir.path();
}

class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text, const std::string& name = "config.yaml")
      : path_(TestDir() + "/" + name) {
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ConfigError(const std::string& text) {
  ServerFlags f;
  try {
    ApplyConfigYaml(text, "config.yaml", f);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(FlagsTest, MeshSelectsABuiltinProfile) {
  const auto linkerd = ParseFlags({"--prometheus-url=x"});
  EXPECT_EQ(linkerd.profile.name, "linkerd");
  EXPECT_EQ(linkerd.profile.parameters.at("job"), "linkerd-proxy");
  const auto istio = ParseFlags({"--prometheus-url=x", "--mesh", "istio"});
  EXPECT_EQ(istio.profile.name, "istio");
  EXPECT_EQ(istio.profile.parameters.at("job"), "kubernetes-pods");
  EXPECT_EQ(istio.profile.requests_metric, "istio_requests_total");
  const auto job = ParseFlags({"--prometheus-url=x", "--mesh=istio", "--proxy-job=envoy-stats"});
  EXPECT_EQ(job.profile.parameters.at("job"), "envoy-stats");
}

TEST(FlagsTest, ConfigFileValuesAndFlagsOverThem) {
  ConfigFile token("secret\n", "token");
  ConfigFile config(R"(
prometheus:
  url: https://prom.example:9090/prom
  timeout: 3s
  ca_file: /etc/ca.pem
  insecure_skip_tls_verify: false
  client_cert_file: client.crt
  client_key_file: client.key
  bearer_token_file: /var/token
mesh:
  profile: istio
  proxy_job: envoy-stats
cache:
  ttl: 2s
default_window: 1m
evaluation_delay: 2s
)");
  const auto f = ParseFlags({"--config", config.path()});
  EXPECT_EQ(f.config_file, config.path());
  EXPECT_EQ(f.prometheus_url, "https://prom.example:9090/prom");
  EXPECT_EQ(f.prometheus_timeout, 3s);
  EXPECT_EQ(f.prometheus_ca_file, "/etc/ca.pem");
  // Relative paths are relative to the configuration file.
  EXPECT_EQ(f.prometheus_client_cert_file,
            std::filesystem::path(TestDir() + "/client.crt").lexically_normal());
  EXPECT_EQ(f.prometheus_client_key_file,
            std::filesystem::path(TestDir() + "/client.key").lexically_normal());
  EXPECT_EQ(f.prometheus_bearer_token_file, "/var/token");
  EXPECT_EQ(f.profile.name, "istio");
  EXPECT_EQ(f.profile.parameters.at("job"), "envoy-stats");
  EXPECT_EQ(f.cache_ttl, 2s);
  EXPECT_EQ(f.default_window, 60s);
  EXPECT_EQ(f.evaluation_delay, 2s);

  // Flags win, wherever they are on the command line.
  const auto g =
      ParseFlags({"--prometheus-timeout=7s", "--config=" + config.path(), "--prometheus-url",
                  "http://other:9090", "--mesh", "linkerd", "--proxy-job", "linkerd-proxy",
                  "--cache-ttl=0s", "--default-window=45s"});
  EXPECT_EQ(g.prometheus_url, "http://other:9090");
  EXPECT_EQ(g.prometheus_timeout, 7s);
  EXPECT_EQ(g.profile.name, "linkerd");
  EXPECT_EQ(g.profile.parameters.at("job"), "linkerd-proxy");
  EXPECT_EQ(g.cache_ttl, 0s);
  EXPECT_EQ(g.default_window, 45s);
  EXPECT_EQ(g.prometheus_ca_file, "/etc/ca.pem");  // not overridden: the file's
}

TEST(FlagsTest, KubernetesKnowledgeFromOneSource) {
  const auto none = ParseFlags({"--prometheus-url=x"});
  EXPECT_TRUE(none.kubeconfig.empty());
  EXPECT_FALSE(none.in_cluster);
  EXPECT_TRUE(none.kube_objects.empty());
  EXPECT_EQ(ParseFlags({"--prometheus-url=x", "--kubeconfig", "/k"}).kubeconfig, "/k");
  EXPECT_TRUE(ParseFlags({"--prometheus-url=x", "--in-cluster"}).in_cluster);
  EXPECT_EQ(ParseFlags({"--prometheus-url=x", "--kube-objects=o.json"}).kube_objects, "o.json");
  const auto both = [](std::vector<std::string> args) {
    try {
      ParseFlags(args);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(both({"--prometheus-url=x", "--kubeconfig=/k", "--in-cluster"}).find("exclude"),
            std::string::npos);
  EXPECT_NE(both({"--prometheus-url=x", "--kube-context=a"}).find("--kube-context needs"),
            std::string::npos);

  ConfigFile config(R"(
prometheus: {url: http://p:9090}
kubernetes:
  kubeconfig: kube/config
  context: prod
)");
  const auto f = ParseFlags({"--config", config.path()});
  EXPECT_EQ(f.kubeconfig, std::filesystem::path(TestDir() + "/kube/config").lexically_normal());
  EXPECT_EQ(f.kube_context, "prod");
  // A flag replaces the file's choice.
  const auto g = ParseFlags({"--config", config.path(), "--kube-objects=o.json"});
  EXPECT_TRUE(g.kubeconfig.empty());
  EXPECT_EQ(g.kube_objects, "o.json");
  ConfigFile two("prometheus: {url: x}\nkubernetes: {in_cluster: true, objects_file: o.json}\n",
                 "two.yaml");
  EXPECT_NE(both({"--config", two.path()}).find("kubernetes: give one of"), std::string::npos);
}

TEST(FlagsTest, ProfilesInlineOrFromAFile) {
  const std::string istio = *sources::prometheus::BuiltinProfileYaml("istio");
  ConfigFile profile(istio, "profile.yaml");
  ConfigFile by_file("prometheus: {url: http://p:9090}\nmesh: {profile_file: profile.yaml}\n");
  EXPECT_EQ(ParseFlags({"--config", by_file.path()}).profile.name, "istio");
  EXPECT_EQ(ParseFlags({"--prometheus-url=x", "--mesh-profile-file", profile.path()}).profile.name,
            "istio");

  // Inline: the profile YAML under mesh.profile, renamed to show it is the inline one.
  std::string inline_profile = "prometheus: {url: http://p:9090}\nmesh:\n  profile:\n";
  std::istringstream lines(istio);
  for (std::string line; std::getline(lines, line);) {
    if (line == "name: istio") line = "name: my-istio";
    inline_profile += "    " + line + "\n";
  }
  ConfigFile by_inline(inline_profile);
  EXPECT_EQ(ParseFlags({"--config", by_inline.path()}).profile.name, "my-istio");
  // --mesh replaces the file's profile.
  EXPECT_EQ(ParseFlags({"--config", by_inline.path(), "--mesh=linkerd"}).profile.name, "linkerd");
}

TEST(FlagsTest, ConfigErrorsNameTheKey) {
  EXPECT_EQ(ConfigError("prometheus:\n  timeout: 5x\n")
                .rfind("config.yaml: prometheus.timeout: \"5x\" is not a duration", 0),
            0u);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"prometheus: [", "config.yaml: not valid YAML"},
      {"prometheus:\n  uri: http://x\n", "config.yaml: prometheus.uri: unknown key"},
      {"promethus: {}\n", "config.yaml: promethus: unknown key"},
      {"prometheus: http://x\n", "config.yaml: prometheus: expected a mapping"},
      {"prometheus: {url: [a, b]}\n", "config.yaml: prometheus.url: expected a single value"},
      {"prometheus: {insecure_skip_tls_verify: yes please}\n",
       "config.yaml: prometheus.insecure_skip_tls_verify: \"yes please\" is not true or false"},
      {"prometheus: {basic_auth: {user: a}}\n",
       "config.yaml: prometheus.basic_auth.user: unknown key"},
      {"mesh: {profile: consul}\n", "config.yaml: mesh.profile: \"consul\" is not a built-in"},
      {"mesh: {profile: istio, profile_file: x.yaml}\n",
       "config.yaml: mesh: give either profile or profile_file"},
      {"mesh: {profile_file: /nonexistent/p.yaml}\n",
       "config.yaml: mesh.profile_file: /nonexistent/p.yaml: cannot be read"},
      {"mesh:\n  profile: {name: x}\n", "config.yaml: mesh.profile: metrics: is required"},
      {"cache: {ttl: soon}\n", "config.yaml: cache.ttl: \"soon\" is not a duration"},
      {"default_window: -5s\n", "config.yaml: default_window: \"-5s\" is not a duration"},
  };
  for (const auto& [text, message] : cases) {
    SCOPED_TRACE(text);
    const std::string e = ConfigError(text);
    EXPECT_EQ(e.rfind(message, 0), 0u) << e;
  }
  EXPECT_EQ(ConfigError(""), "no error");  // an empty file changes nothing
  // Through ParseFlags, a bad file stops with the same message; a missing one names the flag.
  ConfigFile bad("prometheus:\n  timeout: 5x\n");
  EXPECT_NE(Message({"--config", bad.path()}).find(": prometheus.timeout: \"5x\""),
            std::string::npos);
  EXPECT_EQ(Message({"--config=/nonexistent.yaml"}),
            "--config=/nonexistent.yaml: the file cannot be read");
}

TEST(FlagsTest, AuthenticationFlagsGoTogether) {
  EXPECT_NE(Message({"--prometheus-url=x", "--prometheus-client-cert-file=a"}).find("go together"),
            std::string::npos);
  EXPECT_NE(Message({"--prometheus-url=x", "--prometheus-basic-auth-username=u",
                     "--prometheus-basic-auth-password-file=p", "--prometheus-bearer-token-file=t"})
                .find("exclude each other"),
            std::string::npos);
  EXPECT_NE(
      Message({"--prometheus-url=x", "--prometheus-basic-auth-username=u"}).find("go together"),
      std::string::npos);
  const auto f = ParseFlags({"--prometheus-url=x", "--prometheus-basic-auth-username=u",
                             "--prometheus-basic-auth-password-file=p"});
  EXPECT_EQ(f.prometheus_basic_auth_username, "u");
}

}  // namespace
}  // namespace smi::config
