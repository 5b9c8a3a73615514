// UnknownKey and its message: a misspelt key in a YAML mapping is named, not ignored.
#include "base/yaml_keys.h"

#include <gtest/gtest.h>

namespace smi::base {
namespace {

TEST(UnknownKey, NoneWhenEveryKeyIsKnown) {
  EXPECT_EQ(UnknownKey(YAML::Load("{a: 1, b: 2}"), {"a", "b", "c"}), std::nullopt);
  EXPECT_EQ(UnknownKey(YAML::Load("{}"), {"a"}), std::nullopt);
  EXPECT_EQ(UnknownKey(YAML::Load("{}"), {}), std::nullopt);
}

TEST(UnknownKey, TheFirstUnknownInDocumentOrder) {
  EXPECT_EQ(UnknownKey(YAML::Load("{a: 1, zz: 2, bb: 3}"), {"a"}), "zz");
  EXPECT_EQ(UnknownKey(YAML::Load("url: x\nprofle: y\n"), {"url", "profile"}), "profle");
  EXPECT_EQ(UnknownKey(YAML::Load("{a: 1}"), {}), "a");
}

TEST(UnknownKey, KeysAreCaseSensitive) {
  EXPECT_EQ(UnknownKey(YAML::Load("{URL: x}"), {"url"}), "URL");
}

TEST(UnknownKey, OnlyTheMappingItselfNotNestedOnes) {
  EXPECT_EQ(UnknownKey(YAML::Load("{a: {anything: 1}}"), {"a"}), std::nullopt);
}

TEST(UnknownKey, NothingToCheckInANullOrScalarNode) {
  EXPECT_EQ(UnknownKey(YAML::Node(), {"a"}), std::nullopt);
  EXPECT_EQ(UnknownKey(YAML::Load("just text"), {"a"}), std::nullopt);
}

TEST(UnknownKeyMessage, ListsTheKnownKeysSorted) {
  EXPECT_EQ(UnknownKeyMessage({"url", "timeout", "ca_file"}),
            "unknown key (expected one of: ca_file, timeout, url)");
  EXPECT_EQ(UnknownKeyMessage({"only"}), "unknown key (expected one of: only)");
  EXPECT_EQ(UnknownKeyMessage({}), "unknown key (expected one of: )");
}

}  // namespace
}  // namespace smi::base
