// Label selectors: parsing, matching and errors as apimachinery's labels.Parse has them.
#include "kube/label_selector.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace smi::kube {
namespace {

Labels L(std::initializer_list<std::pair<const std::string, std::string>> l) { return Labels(l); }

std::string ErrorOf(std::string_view s) {
  try {
    LabelSelector::Parse(s);
  } catch (const SelectorParseError& e) {
    return e.what();
  }
  return "(parsed)";
}

TEST(LabelSelector, EmptyMatchesEverything) {
  EXPECT_TRUE(LabelSelector::Parse("").Matches({}));
  EXPECT_TRUE(LabelSelector::Parse("  ").MatchesEverything());
  EXPECT_TRUE(LabelSelector().Matches(L({{"a", "b"}})));
  EXPECT_FALSE(LabelSelector::Nothing().Matches({}));
}

TEST(LabelSelector, Operators) {
  const Labels web = L({{"app", "web"}, {"tier", "front"}, {"replicas", "3"}});
  const Labels db = L({{"app", "db"}});
  struct Case {
    const char* selector;
    bool web, db;
  } cases[] = {
      {"app=web", true, false},
      {"app==web", true, false},
      {"app!=web", false, true},
      {"tier!=front", false, true},  // absent key: != matches
      {"app in (web,db)", true, true},
      {"app in (web)", true, false},
      {"app notin (web)", false, true},
      {"tier notin (front)", false, true},  // absent key: notin matches
      {"tier", true, false},
      {"!tier", false, true},
      {"app=web,tier=front", true, false},
      {"app in (db), !tier", false, true},
      {"replicas>2", true, false},
      {"replicas<2", false, false},
      {"  app = web  ", true, false},
      {"app=", false, false},          // the empty value
      {"app in (,web)", true, false},  // "" and web
      {"tier in ()", false, false},    // the set {""}
  };
  for (const auto& c : cases) {
    const LabelSelector s = LabelSelector::Parse(c.selector);
    EXPECT_EQ(s.Matches(web), c.web) << c.selector;
    EXPECT_EQ(s.Matches(db), c.db) << c.selector;
  }
}

TEST(LabelSelector, KeywordsAreValuesInValueContext) {
  EXPECT_TRUE(LabelSelector::Parse("in=notin").Matches(L({{"in", "notin"}})));
  EXPECT_TRUE(LabelSelector::Parse("x in (in,notin)").Matches(L({{"x", "in"}})));
}

TEST(LabelSelector, PrefixedKeys) {
  const auto s = LabelSelector::Parse("app.kubernetes.io/name=web");
  EXPECT_TRUE(s.Matches(L({{"app.kubernetes.io/name", "web"}})));
}

TEST(LabelSelector, CanonicalStringSortsByKeyAndValues) {
  EXPECT_EQ(LabelSelector::Parse("b=2,a in (y,x),!c,d").String(), "a in (x,y),b=2,!c,d");
  EXPECT_EQ(LabelSelector::Parse("x==1,y!=2,z notin (b,a)").String(), "x==1,y!=2,z notin (a,b)");
}

TEST(LabelSelector, ErrorsWordedAsApimachinery) {
  EXPECT_EQ(ErrorOf("app=web,"), "found '', expected: identifier after ','");
  EXPECT_EQ(ErrorOf("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
  EXPECT_EQ(ErrorOf("app in web"), "unable to parse requirement: found 'web' expected: '('");
  EXPECT_EQ(ErrorOf("a=b=c"), "found '=', expected: ',' or 'end of string'");
  EXPECT_EQ(ErrorOf("app=we b"), "found 'b', expected: ',' or 'end of string'");
  EXPECT_EQ(ErrorOf("=web"), "found '=', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(ErrorOf("!"), "unable to parse requirement: found '', expected: identifier");
  EXPECT_EQ(ErrorOf("a in (b c)"), "unable to parse requirement: found 'c', expected: ',' or ')'");
  EXPECT_EQ(ErrorOf("a in (b"), "unable to parse requirement: found '', expected: ',' or ')'");
  EXPECT_EQ(ErrorOf("a in (=)"),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier");
  EXPECT_EQ(ErrorOf("a=("), "unable to parse requirement: found '(', expected: identifier");
  EXPECT_EQ(ErrorOf("a===b"), "unable to parse requirement: found '=', expected: identifier");
  EXPECT_EQ(ErrorOf("a!b"),
            "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt");
  EXPECT_EQ(ErrorOf("!a=b"), "found '=', expected: ',' or 'end of string'");
  EXPECT_EQ(ErrorOf("a@b=c"),
            "unable to parse requirement: <nil>: Invalid value: \"a@b\": name part must consist "
            "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
            "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  EXPECT_EQ(ErrorOf("app=a@b"),
            "unable to parse requirement: values[0][app]: Invalid value: \"a@b\": a valid label "
            "must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
            "or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  EXPECT_EQ(ErrorOf("x>a"),
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
            "operators, the value must be an integer");
  EXPECT_EQ(ErrorOf("Example.com/a=b"),
            "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix part a "
            "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
            "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
            "regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  EXPECT_EQ(ErrorOf(std::string(64, 'k') + "=v"),
            "unable to parse requirement: <nil>: Invalid value: \"" + std::string(64, 'k') +
                "\": name part must be no more than 63 characters");
  // A prefix too long but of the right pattern: the length error alone.
  const std::string long_prefix = std::string(254, 'p') + "/a";
  EXPECT_EQ(ErrorOf(long_prefix + "=b"), "unable to parse requirement: <nil>: Invalid value: \"" +
                                             long_prefix +
                                             "\": prefix part must be no more than 253 characters");
  EXPECT_EQ(ErrorOf("a/b/c"),
            "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must "
            "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
            "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
            "subdomain prefix and '/' (e.g. 'example.com/MyName')");
}

TEST(LabelSelector, FromWorkloadSelector) {
  const auto s = LabelSelector::FromLabelSelectorJson(nlohmann::json::parse(
      R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"NotIn","values":["test"]},{"key":"track","operator":"Exists"}]})"));
  EXPECT_TRUE(s.Matches(L({{"app", "web"}, {"track", "stable"}})));
  EXPECT_FALSE(s.Matches(L({{"app", "web"}, {"track", "stable"}, {"tier", "test"}})));
  EXPECT_FALSE(s.Matches(L({{"app", "web"}})));
  EXPECT_TRUE(LabelSelector::FromLabelSelectorJson(nlohmann::json::object()).MatchesEverything());
  EXPECT_TRUE(LabelSelector::FromLabelSelectorJson(nullptr).MatchesNothing());
  EXPECT_THROW(LabelSelector::FromLabelSelectorJson(nlohmann::json::parse(
                   R"({"matchExpressions":[{"key":"a","operator":"Gt","values":["1"]}]})")),
               SelectorParseError);
}

}  // namespace
}  // namespace smi::kube
