#include "sources/prometheus/promql_escape.h"

#include <string>

#include <gtest/gtest.h>

namespace smi::sources::prometheus {
namespace {

TEST(EscapeLabelValue, EscapesWhatEndsOrBendsAPromQLString) {
  EXPECT_EQ(EscapeLabelValue("web"), "web");
  EXPECT_EQ(EscapeLabelValue("a\"b"), "a\\\"b");
  EXPECT_EQ(EscapeLabelValue("a\\b"), "a\\\\b");
  EXPECT_EQ(EscapeLabelValue("a\nb"), "a\\nb");
  // The classic injection attempt stays inside the string.
  EXPECT_EQ(EscapeLabelValue("x\"} or vector(1) or up{a=\""), "x\\\"} or vector(1) or up{a=\\\"");
  // Backslash first: an escaped quote must not turn into an unescaped one.
  EXPECT_EQ(EscapeLabelValue("\\\""), "\\\\\\\"");
}

TEST(EqualMatcher, IsAnExactMatchNeverARegex) {
  EXPECT_EQ(EqualMatcher("deployment", "web"), "deployment=\"web\"");
  EXPECT_EQ(EqualMatcher("pod", ".*"), "pod=\".*\"");
  EXPECT_EQ(EqualMatcher("pod", "a\"b"), "pod=\"a\\\"b\"");
}

}  // namespace
}  // namespace smi::sources::prometheus
