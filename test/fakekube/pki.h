// Certificates for the fake API server (its own code, independent of the product's PKI).
#pragma once

#include <string>
#include <vector>

#include "fakekube/fake_kube_api.h"

namespace smi::fakekube {

PemPair MakeCa(const std::string& cn);
PemPair IssueCert(const PemPair& ca, const std::string& cn, const std::vector<std::string>& orgs,
                  const std::vector<std::string>& ips, const std::vector<std::string>& dns,
                  bool server);
std::string Base64(const std::string& data);

}  // namespace smi::fakekube
