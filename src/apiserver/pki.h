// Certificates the server makes for itself when none are given: a serving certificate for
// localhost, and (for the demo) a client CA and an admin client certificate.
#pragma once

#include <string>
#include <vector>

namespace smi::apiserver {

struct PemPair {
  std::string cert;
  std::string key;
};

struct CertRequest {
  std::string common_name;
  std::vector<std::string> organizations;  // Kubernetes reads these as groups
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  bool server_auth = false;
  bool client_auth = false;
  int valid_days = 365;
};

// A self-signed CA (ECDSA P-256). Throws std::runtime_error with OpenSSL's reason.
PemPair GenerateCa(const std::string& common_name, int valid_days = 3650);
// A leaf certificate signed by `ca`.
PemPair IssueCertificate(const PemPair& ca, const CertRequest& request);

void WriteTextFile(const std::string& path, const std::string& content, bool secret);

}  // namespace smi::apiserver
