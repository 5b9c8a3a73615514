#include "fakekube/pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace smi::fakekube {

namespace {

[[noreturn]] void Fail(const std::string& what) {
  char buf[256] = {0};
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  throw std::runtime_error("fakekube pki: " + what + ": " + buf);
}

std::string Pem(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* d = nullptr;
  long n = BIO_get_mem_data(b, &d);
  std::string s(d, n);
  BIO_free(b);
  return s;
}

std::string Pem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* d = nullptr;
  long n = BIO_get_mem_data(b, &d);
  std::string s(d, n);
  BIO_free(b);
  return s;
}

void Ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!e) Fail("extension " + value);
  X509_add_ext(cert, e, -1);
  X509_EXTENSION_free(e);
}

X509* NewCert(EVP_PKEY* key, const std::string& cn, const std::vector<std::string>& orgs) {
  X509* c = X509_new();
  X509_set_version(c, 2);
  unsigned char serial[12];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 3600L * 24 * 30);
  X509_set_pubkey(c, key);
  X509_NAME* name = X509_get_subject_name(c);
  for (const auto& o : orgs) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return c;
}

}  // namespace

PemPair MakeCa(const std::string& cn) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) Fail("key");
  X509* c = NewCert(key, cn, {});
  X509_set_issuer_name(c, X509_get_subject_name(c));
  Ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
  Ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  Ext(c, c, NID_subject_key_identifier, "hash");
  if (!X509_sign(c, key, EVP_sha256())) Fail("sign CA");
  PemPair p{Pem(c), Pem(key)};
  X509_free(c);
  EVP_PKEY_free(key);
  return p;
}

PemPair IssueCert(const PemPair& ca, const std::string& cn, const std::vector<std::string>& orgs,
                  const std::vector<std::string>& ips, const std::vector<std::string>& dns,
                  bool server) {
  BIO* b = BIO_new_mem_buf(ca.cert.data(), static_cast<int>(ca.cert.size()));
  X509* ca_cert = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  b = BIO_new_mem_buf(ca.key.data(), static_cast<int>(ca.key.size()));
  EVP_PKEY* ca_key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (!ca_cert || !ca_key) Fail("read CA");
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* c = NewCert(key, cn, orgs);
  X509_set_issuer_name(c, X509_get_subject_name(ca_cert));
  Ext(c, ca_cert, NID_basic_constraints, "critical,CA:FALSE");
  Ext(c, ca_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  Ext(c, ca_cert, NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
  std::string san;
  for (const auto& d : dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  if (!san.empty()) Ext(c, ca_cert, NID_subject_alt_name, san);
  Ext(c, ca_cert, NID_authority_key_identifier, "keyid:always");
  if (!X509_sign(c, ca_key, EVP_sha256())) Fail("sign");
  PemPair p{Pem(c), Pem(key)};
  X509_free(c);
  EVP_PKEY_free(key);
  X509_free(ca_cert);
  EVP_PKEY_free(ca_key);
  return p;
}

std::string Base64(const std::string& data) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t n =
        (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += k[(n >> 18) & 63];
    out += k[(n >> 12) & 63];
    out += k[(n >> 6) & 63];
    out += k[n & 63];
  }
  if (i + 1 == data.size()) {
    const uint32_t n = uint8_t(data[i]) << 16;
    out += k[(n >> 18) & 63];
    out += k[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    const uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += k[(n >> 18) & 63];
    out += k[(n >> 12) & 63];
    out += k[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace smi::fakekube
