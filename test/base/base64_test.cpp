// Base64Encode / Base64Decode: RFC 4648 test vectors, round trips of every byte, and what is
// not base64.
#include "base/base64.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace smi::base {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded) << plain;
    EXPECT_EQ(Base64Decode(encoded), std::optional<std::string>(plain)) << encoded;
  }
}

TEST(Base64, EveryByteRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 1) {
    const std::string data = all.substr(0, n);
    const std::string encoded = Base64Encode(data);
    EXPECT_EQ(encoded.size(), 4 * ((n + 2) / 3)) << n;
    EXPECT_EQ(Base64Decode(encoded), data) << n;
  }
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");  // the standard alphabet, not the URL one
}

TEST(Base64, WhiteSpaceAnywhereIsIgnored) {
  // PEM and YAML wrap long values; kubeconfigs indent them.
  EXPECT_EQ(Base64Decode("Zm9v\nYmFy\n"), "foobar");
  EXPECT_EQ(Base64Decode("  Zm9v YmFy  "), "foobar");
  EXPECT_EQ(Base64Decode("Z\tm\r\n9\nv"), "foo");
  EXPECT_EQ(Base64Decode("Zm8=\n"), "fo");
  EXPECT_EQ(Base64Decode(" \n\t"), "");
}

TEST(Base64, PaddingMayBeLeftOut) {
  EXPECT_EQ(Base64Decode("Zg"), "f");
  EXPECT_EQ(Base64Decode("Zm8"), "fo");
  EXPECT_EQ(Base64Decode("Zg="), "f");  // or half of it
  EXPECT_EQ(Base64Decode("Zm9vYg"), "foob");
  EXPECT_EQ(Base64Decode("Zm9vYmE"), "fooba");
}

TEST(Base64, WhatIsNotBase64) {
  for (const char* bad : {
           "Z",         // one character cannot hold a byte
           "Zm9vY",     // nor can 4n + 1
           "=",         // padding alone
           "==",        //
           "Zg===",     // too much padding
           "Zm9v====",  //
           "Zm9v!",     // outside the alphabet
           "Zm-v",      // the URL alphabet's 62
           "Zm_v",      // and 63
           "Zm9\x80",   // not ASCII
           "Zg==Zg==",  // padding inside
           "Z=g=",      //
           "Zm9=v",     //
       }) {
    EXPECT_EQ(Base64Decode(bad), std::nullopt) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace smi::base
