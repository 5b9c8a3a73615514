// Kubeconfig variants and in-cluster configuration, including token rotation.
#include "kube/credentials.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "fakekube/pki.h"
#include "support/temp_dir.h"

namespace smi::kube {
namespace {

namespace fs = std::filesystem;

using test_support::TempDir;

constexpr const char* kCa = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

std::string Kubeconfig(const std::string& cluster, const std::string& user,
                       const std::string& extra = "") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
         "clusters:\n- name: c1\n  cluster:\n" +
         cluster + "contexts:\n- name: dev\n  context:\n    cluster: c1\n    user: u1\n" + extra +
         "users:\n- name: u1\n  user:\n" + user;
}

TEST(Kubeconfig, CaDataAndToken) {
  const RestConfig c = ParseKubeconfig(
      Kubeconfig("    server: https://10.0.0.1:6443\n    certificate-authority-data: " +
                     fakekube::Base64(kCa) + "\n",
                 "    token: abc123\n"),
      "/nowhere");
  EXPECT_EQ(c.server, "https://10.0.0.1:6443");
  EXPECT_EQ(c.ca_pem, kCa);
  ASSERT_TRUE(c.token);
  EXPECT_EQ(c.token->Token(), "abc123");
  EXPECT_FALSE(c.insecure_skip_tls_verify);
  EXPECT_NE(c.description.find("context dev"), std::string::npos);
}

TEST(Kubeconfig, FilesRelativeToTheKubeconfig) {
  TempDir d;
  d.Write("ca.crt", kCa);
  d.Write("client.crt", "CERT");
  d.Write("client.key", "KEY");
  d.Write("token", "from-file\n");
  const std::string path =
      d.Write("config",
              Kubeconfig("    server: https://k8s.example:443\n    certificate-authority: ca.crt\n",
                         "    client-certificate: client.crt\n    client-key: " + d.path() +
                             "/client.key\n    tokenFile: token\n"));
  const RestConfig c = LoadKubeconfig(path);
  EXPECT_EQ(c.ca_pem, kCa);
  EXPECT_EQ(c.client_cert_pem, "CERT");
  EXPECT_EQ(c.client_key_pem, "KEY");
  ASSERT_TRUE(c.token);
  EXPECT_EQ(c.token->Token(), "from-file");
}

TEST(Kubeconfig, ClientCertificateDataAndInsecure) {
  const RestConfig c = ParseKubeconfig(
      Kubeconfig("    server: https://127.0.0.1:6443/\n    insecure-skip-tls-verify: true\n",
                 "    client-certificate-data: " + fakekube::Base64("CERT") +
                     "\n    client-key-data: " + fakekube::Base64("KEY") + "\n"),
      "");
  EXPECT_EQ(c.server, "https://127.0.0.1:6443");  // trailing slash dropped
  EXPECT_TRUE(c.insecure_skip_tls_verify);
  EXPECT_EQ(c.client_cert_pem, "CERT");
  EXPECT_EQ(c.client_key_pem, "KEY");
  EXPECT_FALSE(c.token);
}

TEST(Kubeconfig, ExplicitContextOverridesCurrent) {
  const std::string y =
      "current-context: a\nclusters:\n- name: ca\n  cluster: {server: 'https://a:1'}\n"
      "- name: cb\n  cluster: {server: 'https://b:2'}\n"
      "contexts:\n- name: a\n  context: {cluster: ca, user: ua}\n"
      "- name: b\n  context: {cluster: cb, user: ub}\n"
      "users:\n- name: ua\n  user: {token: ta}\n- name: ub\n  user: {token: tb}\n";
  EXPECT_EQ(ParseKubeconfig(y, "").server, "https://a:1");
  const RestConfig b = ParseKubeconfig(y, "", "b");
  EXPECT_EQ(b.server, "https://b:2");
  EXPECT_EQ(b.token->Token(), "tb");
}

TEST(Kubeconfig, ErrorsNameTheProblem) {
  auto error = [](const std::string& yaml, const std::string& ctx = "") -> std::string {
    try {
      ParseKubeconfig(yaml, "", ctx, "/k/config");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(parsed)";
  };
  EXPECT_NE(error("clusters: []\n").find("no current-context"), std::string::npos);
  EXPECT_NE(error(Kubeconfig("    server: https://x\n", "    token: t\n"), "nope")
                .find("context \"nope\" does not exist"),
            std::string::npos);
  EXPECT_NE(error(Kubeconfig("    server: https://x\n",
                             "    exec:\n      command: aws\n      apiVersion: "
                             "client.authentication.k8s.io/v1beta1\n"))
                .find("exec or auth-provider plugin"),
            std::string::npos);
  EXPECT_NE(error(Kubeconfig("    server: https://x\n    insecure-skip-tls-verify: true\n"
                             "    certificate-authority-data: " +
                                 fakekube::Base64(kCa) + "\n",
                             "    token: t\n"))
                .find("insecure flag is not allowed"),
            std::string::npos);
  EXPECT_NE(error(Kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t\n"))
                .find("has no server"),
            std::string::npos);
  EXPECT_NE(error("{{{").find("/k/config"), std::string::npos);
  EXPECT_NE(error(Kubeconfig("    server: https://x\n",
                             "    client-certificate-data: " + fakekube::Base64("C") + "\n"))
                .find("without a key"),
            std::string::npos);
}

// Found by fuzzing: a context without a cluster threw YAML::BadSubscript, because the empty
// cluster name matched the bare list item `- foo`, which was then subscripted.
TEST(Kubeconfig, ContextWithoutClusterIsAConfigError) {
  auto error = [](const std::string& yaml) -> std::string {
    try {
      ParseKubeconfig(yaml, "", "", "/k/config");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(parsed)";
  };
  const std::string bare_item =
      "current-context: dev\ncontexts:\n- name: dev\n  context: {}\nclusters:\n- foo\n";
  EXPECT_EQ(error(bare_item), "kubeconfig /k/config: context \"dev\" names no cluster");
  EXPECT_EQ(error("current-context: dev\ncontexts:\n- name: dev\nclusters:\n- foo\n"),
            "kubeconfig /k/config: context \"dev\" names no cluster");
  EXPECT_EQ(error("current-context: dev\ncontexts:\n- name: dev\n  context: x\n"),
            "kubeconfig /k/config: context \"dev\" names no cluster");
  // Nameless items are not found by name: not the cluster, nor the user.
  EXPECT_EQ(error("current-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c}\n"
                  "clusters:\n- foo\n- cluster: {server: https://x}\n"),
            "kubeconfig /k/config: cluster \"c\" of context \"dev\" does not exist");
  EXPECT_EQ(error("current-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c, user: u}\n"
                  "clusters:\n- {name: c, cluster: {server: https://x}}\nusers:\n- u\n"),
            "kubeconfig /k/config: user \"u\" of context \"dev\" does not exist");
  // A list item that is a scalar where a map is expected.
  EXPECT_EQ(error("current-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c}\n"
                  "clusters:\n- {name: c, cluster: [1]}\n"),
            "kubeconfig /k/config: cluster \"c\" has no server");
}

TEST(InCluster, ReadsServiceAccountAndEnvironment) {
  TempDir d;
  InClusterPaths p;
  p.token_file = d.Write("token", "sa-token-1");
  p.ca_file = d.Write("ca.crt", kCa);
  p.host = "10.96.0.1";
  p.port = "443";
  const RestConfig c = InClusterConfig(p);
  EXPECT_EQ(c.server, "https://10.96.0.1:443");
  EXPECT_EQ(c.ca_pem, kCa);
  EXPECT_EQ(c.token->Token(), "sa-token-1");
  p.host = "fd00::1";
  EXPECT_EQ(InClusterConfig(p).server, "https://[fd00::1]:443");
}

TEST(InCluster, NotInAClusterSaysSo) {
  InClusterPaths p;
  p.host = "";
  p.port = "";
  try {
    InClusterConfig(p);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
                 "KUBERNETES_SERVICE_PORT must be defined");
  }
}

TEST(InCluster, RotatedTokenIsReadAgain) {
  TempDir d;
  // The kubelet's layout: token -> ..data/token, ..data -> a timestamped folder swapped atomically.
  fs::create_directory(d.path() + "/v1");
  std::ofstream(d.path() + "/v1/token") << "token-one";
  fs::create_directory_symlink("v1", d.path() + "/..data");
  fs::create_symlink("..data/token", d.path() + "/token");
  FileTokenSource src(d.path() + "/token");
  EXPECT_EQ(src.Token(), "token-one");
  fs::create_directory(d.path() + "/v2");
  std::ofstream(d.path() + "/v2/token") << "token-two";
  fs::create_directory_symlink("v2", d.path() + "/..data_tmp");
  fs::rename(d.path() + "/..data_tmp", d.path() + "/..data");
  EXPECT_EQ(src.Token(), "token-two");
  // Rewritten in place with the same size within the same mtime tick: a 401 forces a re-read.
  std::ofstream(d.path() + "/v2/token") << "token-333";
  src.Invalidate();
  EXPECT_EQ(src.Token(), "token-333");
}

}  // namespace
}  // namespace smi::kube
