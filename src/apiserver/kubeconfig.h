// A kubeconfig that lets kubectl talk to this server directly (the demo's, and the tests').
#pragma once

#include <string>

#include "apiserver/pki.h"

namespace smi::apiserver {

// `server_url` like https://127.0.0.1:8443; `ca_pem` verifies the server; `client` authenticates.
std::string KubeconfigYaml(const std::string& server_url, const std::string& ca_pem,
                           const PemPair& client, const std::string& user_name);

}  // namespace smi::apiserver
