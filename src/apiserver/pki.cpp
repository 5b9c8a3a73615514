#include "apiserver/pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "base/pem.h"

namespace smi::apiserver {

namespace {

using KeyPtr = base::EvpPkeyPtr;
using CertPtr = base::X509Ptr;
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error(what + ": " + base::OpenSslError());
}

KeyPtr NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) Fail("generating an EC key");
  return key;
}

std::string ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) Fail("encoding a certificate");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

std::string ToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    Fail("encoding a private key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

CertPtr CertFromPem(const std::string& pem) {
  std::vector<CertPtr> certs = base::ReadCertificates(pem);
  if (certs.empty()) throw std::runtime_error("reading a PEM certificate: no certificate found");
  return std::move(certs.front());
}

KeyPtr KeyFromPem(const std::string& pem) {
  KeyPtr key = base::ReadPrivateKey(pem);
  if (!key) Fail("reading a PEM private key");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) Fail("building certificate extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

CertPtr NewCert(EVP_PKEY* key, const std::string& cn, const std::vector<std::string>& orgs,
                int days) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60 * 60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * days);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& o : orgs) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

}  // namespace

PemPair GenerateCa(const std::string& common_name, int valid_days) {
  KeyPtr key = NewKey();
  CertPtr cert = NewCert(key.get(), common_name, {}, valid_days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert.get(), cert.get(), NID_key_usage,
               "critical,keyCertSign,cRLSign,digitalSignature");
  AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) Fail("signing the CA certificate");
  return {ToPem(cert.get()), ToPem(key.get())};
}

PemPair IssueCertificate(const PemPair& ca, const CertRequest& request) {
  CertPtr ca_cert = CertFromPem(ca.cert);
  KeyPtr ca_key = KeyFromPem(ca.key);
  KeyPtr key = NewKey();
  CertPtr cert = NewCert(key.get(), request.common_name, request.organizations, request.valid_days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert.get(), ca_cert.get(), NID_key_usage,
               "critical,digitalSignature,keyEncipherment");
  std::string eku;
  if (request.server_auth) eku = "serverAuth";
  if (request.client_auth) eku += std::string(eku.empty() ? "" : ",") + "clientAuth";
  if (!eku.empty()) AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, eku);
  std::string san;
  auto add_san = [&san](std::string_view type, const std::string& value) {
    if (!san.empty()) san += ',';
    san.append(type).append(value);
  };
  for (const auto& d : request.dns_names) add_san("DNS:", d);
  for (const auto& ip : request.ip_addresses) add_san("IP:", ip);
  if (!san.empty()) AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, san);
  AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  if (!X509_sign(cert.get(), ca_key.get(), EVP_sha256())) Fail("signing a certificate");
  return {ToPem(cert.get()), ToPem(key.get())};
}

void WriteTextFile(const std::string& path, const std::string& content, bool secret) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << content;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
  if (secret) chmod(path.c_str(), 0600);
}

}  // namespace smi::apiserver
