#include "model/kube_names.h"

#include <gtest/gtest.h>

#include <string>

namespace smi::model {
namespace {

TEST(Dns1123, LabelsAreNamespaceNames) {
  EXPECT_TRUE(IsDns1123Label("emojivoto"));
  EXPECT_TRUE(IsDns1123Label("a"));
  EXPECT_TRUE(IsDns1123Label("kube-system"));
  EXPECT_TRUE(IsDns1123Label("0abc9"));
  EXPECT_TRUE(IsDns1123Label(std::string(63, 'a')));
  EXPECT_FALSE(IsDns1123Label(std::string(64, 'a')));
  EXPECT_FALSE(IsDns1123Label(""));
  EXPECT_FALSE(IsDns1123Label("Emojivoto"));
  EXPECT_FALSE(IsDns1123Label("-a"));
  EXPECT_FALSE(IsDns1123Label("a-"));
  EXPECT_FALSE(IsDns1123Label("a.b"));
  EXPECT_FALSE(IsDns1123Label("a_b"));
  EXPECT_FALSE(IsDns1123Label("a\"b"));
}

TEST(Dns1123, SubdomainsAreObjectNames) {
  EXPECT_TRUE(IsDns1123Subdomain("web"));
  EXPECT_TRUE(IsDns1123Subdomain("web-5f86686c4d-abcde"));
  EXPECT_TRUE(IsDns1123Subdomain("my.app.v2"));
  EXPECT_TRUE(IsDns1123Subdomain(std::string(253, 'a')));
  EXPECT_FALSE(IsDns1123Subdomain(std::string(254, 'a')));
  EXPECT_FALSE(IsDns1123Subdomain(""));
  EXPECT_FALSE(IsDns1123Subdomain("a..b"));
  EXPECT_FALSE(IsDns1123Subdomain(".a"));
  EXPECT_FALSE(IsDns1123Subdomain("a."));
  EXPECT_FALSE(IsDns1123Subdomain("a.-b"));
  EXPECT_FALSE(IsDns1123Subdomain("Web"));
  EXPECT_FALSE(IsDns1123Subdomain("web\""));
  EXPECT_FALSE(IsDns1123Subdomain("web\n"));
  EXPECT_FALSE(IsDns1123Subdomain(".*"));
  EXPECT_FALSE(IsDns1123Subdomain("web|emoji"));
}

}  // namespace
}  // namespace smi::model
