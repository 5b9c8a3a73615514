#include "apiserver/kubeconfig.h"

#include "base/base64.h"

namespace smi::apiserver {

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
         base::Base64Encode(ca_pem) +
         "\n"
         "users:\n"
         "- name: " +
         user_name +
         "\n"
         "  user:\n"
         "    client-certificate-data: " +
         base::Base64Encode(client.cert) +
         "\n"
         "    client-key-data: " +
         base::Base64Encode(client.key) +
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
