// Field selectors: metadata.name and metadata.namespace only, as the generic apiserver allows.
#include "kube/field_selector.h"

#include <gtest/gtest.h>

namespace smi::kube {
namespace {

std::string ErrorOf(std::string_view s) {
  try {
    FieldSelector::Parse(s);
  } catch (const SelectorParseError& e) {
    return e.what();
  }
  return "(parsed)";
}

TEST(FieldSelector, MatchesNameAndNamespace) {
  EXPECT_TRUE(FieldSelector::Parse("").Matches("ns", "a"));
  const auto s = FieldSelector::Parse("metadata.name=web,metadata.namespace==emojivoto");
  EXPECT_TRUE(s.Matches("emojivoto", "web"));
  EXPECT_FALSE(s.Matches("default", "web"));
  EXPECT_FALSE(s.Matches("emojivoto", "emoji"));
  const auto n = FieldSelector::Parse("metadata.name!=web");
  EXPECT_FALSE(n.Matches("x", "web"));
  EXPECT_TRUE(n.Matches("x", "emoji"));
}

TEST(FieldSelector, EscapesAndCanonicalForm) {
  const auto s = FieldSelector::Parse("metadata.namespace=b,metadata.name=a\\,b");
  EXPECT_TRUE(s.Matches("b", "a,b"));
  EXPECT_EQ(s.String(), "metadata.name=a\\,b,metadata.namespace=b");
  EXPECT_TRUE(FieldSelector::Parse(",metadata.name=a,").Matches("", "a"));  // empty terms skipped
}

TEST(FieldSelector, RejectedAsKubeApiserverDoes) {
  EXPECT_EQ(ErrorOf("spec.nodeName=n1"),
            "\"spec.nodeName\" is not a known field selector: only \"metadata.name\", "
            "\"metadata.namespace\"");
  EXPECT_EQ(ErrorOf("status.phase=Running,metadata.name=a"),
            "\"status.phase\" is not a known field selector: only \"metadata.name\", "
            "\"metadata.namespace\"");
  EXPECT_EQ(ErrorOf("metadata.name"),
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'");
  EXPECT_EQ(ErrorOf("metadata.name=a\\b"), "invalid field selector: invalid escape sequence: \\b");
  EXPECT_EQ(ErrorOf("metadata.name=a=b"),
            "invalid field selector: unescaped character in value: 61");
  EXPECT_EQ(ErrorOf("metadata.name=a\\"), "invalid field selector: invalid escape sequence: \\");
  EXPECT_EQ(ErrorOf("metadata.name in (a)"),
            "invalid selector: 'metadata.name in (a)'; can't understand 'metadata.name in (a)'");
}

}  // namespace
}  // namespace smi::kube
