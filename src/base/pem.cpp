#include "base/pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace smi::base {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemoryBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace

std::vector<X509Ptr> ReadCertificates(std::string_view pem) {
  std::vector<X509Ptr> certs;
  const BioPtr bio = MemoryBio(pem);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(c);
  ERR_clear_error();  // the end of the bundle reads as a "no start line" error
  return certs;
}

EvpPkeyPtr ReadPrivateKey(std::string_view pem) {
  const BioPtr bio = MemoryBio(pem);
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  return key;
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  char buf[256] = {0};
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

}  // namespace smi::base
