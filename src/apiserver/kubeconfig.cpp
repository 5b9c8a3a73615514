#include "apiserver/kubeconfig.h"

#include <openssl/evp.h>

#include <vector>

namespace smi::apiserver {

namespace {

std::string Base64(const std::string& data) {
  std::vector<unsigned char> out(4 * ((data.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  return std::string(reinterpret_cast<char*>(out.data()), n);
}

}  // namespace

std::string KubeconfigYaml(const std::string& server_url, const std::string& ca_pem,
                           const PemPair& client, const std::string& user_name) {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "clusters:\n"
         "- name: smi-metrics\n"
         "  cluster:\n"
         "    server: " +
         server_url +
         "\n"
         "    certificate-authority-data: " +
         Base64(ca_pem) +
         "\n"
         "users:\n"
         "- name: " +
         user_name +
         "\n"
         "  user:\n"
         "    client-certificate-data: " +
         Base64(client.cert) +
         "\n"
         "    client-key-data: " +
         Base64(client.key) +
         "\n"
         "contexts:\n"
         "- name: smi-metrics\n"
         "  context:\n"
         "    cluster: smi-metrics\n"
         "    user: " +
         user_name +
         "\n"
         "    namespace: default\n"
         "current-context: smi-metrics\n";
}

}  // namespace smi::apiserver
