// Reading PEM into OpenSSL objects, owned (RAII): certificates and private keys.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace smi::base {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// Every certificate of a PEM bundle, in order; empty when there is none. Text around and between
// the blocks is ignored, as OpenSSL does.
std::vector<X509Ptr> ReadCertificates(std::string_view pem);

// The first private key of `pem`; null when there is none.
EvpPkeyPtr ReadPrivateKey(std::string_view pem);

// OpenSSL's most recent error as text, cleared from its queue ("" when there is none).
std::string OpenSslError();

}  // namespace smi::base
