// ReadCertificates and ReadPrivateKey: bundles, text around the blocks, garbage; OpenSslError.
#include "base/pem.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <string>

#include <gtest/gtest.h>

#include "fakekube/pki.h"

namespace smi::base {
namespace {

std::string CommonName(X509* cert) {
  char buf[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

TEST(ReadCertificates, EveryCertificateOfABundleInOrder) {
  const auto a = fakekube::MakeCa("first-ca");
  const auto b = fakekube::MakeCa("second-ca");
  const auto certs = ReadCertificates(a.cert + b.cert);
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(CommonName(certs[0].get()), "first-ca");
  EXPECT_EQ(CommonName(certs[1].get()), "second-ca");
  EXPECT_EQ(ERR_peek_error(), 0u) << "the end of the bundle must not leave an error queued";
}

TEST(ReadCertificates, TextAroundAndBetweenBlocksIsIgnored) {
  const auto a = fakekube::MakeCa("first-ca");
  const auto b = fakekube::MakeCa("second-ca");
  const auto certs =
      ReadCertificates("# the client CAs\n" + a.cert + "\nsome comment\n\n" + b.cert + "trailer");
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(CommonName(certs[1].get()), "second-ca");
}

TEST(ReadCertificates, NoneInGarbageOrEmptyText) {
  EXPECT_TRUE(ReadCertificates("").empty());
  EXPECT_TRUE(ReadCertificates("not a certificate at all").empty());
  EXPECT_TRUE(
      ReadCertificates("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").empty());
  EXPECT_TRUE(ReadCertificates(fakekube::MakeCa("ca").key).empty());  // a key is no certificate
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(ReadCertificates, StopsAtABrokenBlock) {
  const auto a = fakekube::MakeCa("first-ca");
  const auto b = fakekube::MakeCa("second-ca");
  const auto certs = ReadCertificates(
      a.cert + "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" + b.cert);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(CommonName(certs[0].get()), "first-ca");
}

TEST(ReadPrivateKey, TheKeyOfAPair) {
  const auto ca = fakekube::MakeCa("ca");
  const EvpPkeyPtr key = ReadPrivateKey(ca.key);
  ASSERT_NE(key, nullptr);
  const auto certs = ReadCertificates(ca.cert);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(X509_check_private_key(certs[0].get(), key.get()), 1) << "not the certificate's key";
  EXPECT_NE(ReadPrivateKey(ca.cert + ca.key), nullptr);  // after a certificate, too
}

TEST(ReadPrivateKey, NullWithoutAKey) {
  EXPECT_EQ(ReadPrivateKey(""), nullptr);
  EXPECT_EQ(ReadPrivateKey("garbage"), nullptr);
  EXPECT_EQ(ReadPrivateKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            nullptr);
  ERR_clear_error();
}

TEST(OpenSslError, TheLastErrorThenNothing) {
  ERR_clear_error();
  EXPECT_EQ(OpenSslError(), "");
  EXPECT_EQ(ReadPrivateKey("garbage"), nullptr);  // queues "no start line"
  const std::string e = OpenSslError();
  EXPECT_NE(e, "");
  EXPECT_NE(e.find("error:"), std::string::npos) << e;
  EXPECT_EQ(OpenSslError(), "") << "the queue is cleared";
}

}  // namespace
}  // namespace smi::base
