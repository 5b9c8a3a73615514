// Authorization: the bypasses, the SubjectAccessReview asked, its cache, the 403 wording of the
// generic apiserver, failing closed, and the explicit local mode.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "apiserver/authorization.h"
#include "mocks/manual_clock.h"

namespace smi::apiserver {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kB = "/apis/metrics.smi-spec.io/v1alpha1";

class ScriptedReviewer : public kube::AccessReviewer {
 public:
  kube::TokenReviewResult ReviewToken(const std::string&,
                                      const std::vector<std::string>&) override {
    return {};
  }
  kube::SubjectAccessReviewStatus ReviewAccess(const kube::SubjectAccessReviewSpec& spec) override {
    specs.push_back(kube::ToJson(spec));
    if (fail) throw kube::ReviewError("Post \"https://k8s/apis/...\": connection refused");
    return answer;
  }
  kube::SubjectAccessReviewStatus answer;
  bool fail = false;
  std::vector<nlohmann::ordered_json> specs;
};

class AuthorizationTest : public ::testing::Test {
 protected:
  AuthorizationTest() : authorizer_({}, &reviewer_, clock_) {}

  HttpRequest Request(const std::string& path, Identity who,
                      std::multimap<std::string, std::string> params = {}) {
    HttpRequest r;
    r.path = path;
    r.params = std::move(params);
    r.identity = std::move(who);
    return r;
  }
  static Identity Alice() { return {"alice", {"devs", "system:authenticated"}, "", {}}; }

  ScriptedReviewer reviewer_;
  testing::ManualClock clock_;
  Authorizer authorizer_;
};

TEST_F(AuthorizationTest, AsksWithRequestInfoAttributes) {
  reviewer_.answer.allowed = true;
  Identity who = Alice();
  who.extra["authentication.kubernetes.io/credential-id"] = {"X509SHA256=ab"};
  EXPECT_FALSE(
      authorizer_.Authorize(Request(std::string(kB) + "/namespaces/default/deployments/foo", who)));
  ASSERT_EQ(reviewer_.specs.size(), 1u);
  EXPECT_EQ(
      reviewer_.specs[0].dump(),
      R"({"resourceAttributes":{"namespace":"default","verb":"get","group":"metrics.smi-spec.io",)"
      R"("version":"v1alpha1","resource":"deployments","name":"foo"},"user":"alice",)"
      R"("groups":["devs","system:authenticated"],)"
      R"("extra":{"authentication.kubernetes.io/credential-id":["X509SHA256=ab"]}})");
  EXPECT_FALSE(authorizer_.Authorize(Request(std::string(kB) + "/namespaces/foo/edges", Alice())));
  EXPECT_EQ(json::parse(reviewer_.specs[1]["resourceAttributes"].dump()),
            (json{{"namespace", "foo"},
                  {"verb", "list"},
                  {"group", "metrics.smi-spec.io"},
                  {"version", "v1alpha1"},
                  {"resource", "edges"}}));
  EXPECT_FALSE(authorizer_.Authorize(Request("/openapi/v2", Alice())));
  EXPECT_EQ(json::parse(reviewer_.specs[2]["nonResourceAttributes"].dump()),
            (json{{"path", "/openapi/v2"}, {"verb", "get"}}));
  EXPECT_FALSE(reviewer_.specs[2].contains("resourceAttributes"));
}

TEST_F(AuthorizationTest, MastersAndHealthPathsNeedNoReview) {
  reviewer_.fail = true;
  EXPECT_FALSE(authorizer_.Authorize(
      Request(kB, {"system:kube-aggregator", {"system:masters", "system:authenticated"}, "", {}})));
  for (const char* p : {"/healthz", "/livez", "/readyz"}) {
    EXPECT_FALSE(authorizer_.Authorize(
        Request(p, {"system:anonymous", {"system:unauthenticated"}, "", {}})));
  }
  EXPECT_TRUE(reviewer_.specs.empty());
}

TEST_F(AuthorizationTest, ForbiddenWordingAsTheGenericApiserver) {
  reviewer_.answer = {false, false, "", ""};
  auto message = [&](const std::string& path, std::multimap<std::string, std::string> params = {}) {
    const auto r = authorizer_.Authorize(Request(path, Alice(), std::move(params)));
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 403);
    return json::parse(r->body);
  };
  auto body = message(std::string(kB) + "/namespaces/default/deployments/foo");
  EXPECT_EQ(body["message"],
            "deployments.metrics.smi-spec.io \"foo\" is forbidden: User \"alice\" cannot get "
            "resource \"deployments\" in API group \"metrics.smi-spec.io\" in the namespace "
            "\"default\"");
  EXPECT_EQ(body["reason"], "Forbidden");
  EXPECT_EQ(body["code"], 403);
  EXPECT_EQ(body["kind"], "Status");
  EXPECT_EQ(body["details"],
            (json{{"name", "foo"}, {"group", "metrics.smi-spec.io"}, {"kind", "deployments"}}));

  EXPECT_EQ(message(std::string(kB) + "/namespaces/default/deployments")["message"],
            "deployments.metrics.smi-spec.io is forbidden: User \"alice\" cannot list resource "
            "\"deployments\" in API group \"metrics.smi-spec.io\" in the namespace \"default\"");
  EXPECT_EQ(message(std::string(kB) + "/pods")["message"],
            "pods.metrics.smi-spec.io is forbidden: User \"alice\" cannot list resource \"pods\" "
            "in API group \"metrics.smi-spec.io\" at the cluster scope");
  EXPECT_EQ(message(std::string(kB) + "/namespaces/default/deployments/foo/edges")["message"],
            "deployments.metrics.smi-spec.io \"foo\" is forbidden: User \"alice\" cannot get "
            "resource \"deployments/edges\" in API group \"metrics.smi-spec.io\" in the namespace "
            "\"default\"");
  EXPECT_EQ(message(std::string(kB) + "/namespaces/foo/edges")["message"],
            "edges.metrics.smi-spec.io is forbidden: User \"alice\" cannot list resource \"edges\" "
            "in API group \"metrics.smi-spec.io\" in the namespace \"foo\"");
  EXPECT_EQ(
      message(std::string(kB) + "/namespaces/foo")["message"],
      "namespaces.metrics.smi-spec.io \"foo\" is forbidden: User \"alice\" cannot get "
      "resource \"namespaces\" in API group \"metrics.smi-spec.io\" in the namespace \"foo\"");
  body = message("/metrics");
  EXPECT_EQ(body["message"], "forbidden: User \"alice\" cannot get path \"/metrics\"");
  EXPECT_FALSE(body.contains("details"));
  EXPECT_EQ(message("/api/v1/namespaces/foo")["message"],
            "namespaces \"foo\" is forbidden: User \"alice\" cannot get resource \"namespaces\" in "
            "API group \"\" in the namespace \"foo\"");
}

TEST_F(AuthorizationTest, TheReviewReasonIsAppended) {
  reviewer_.answer = {false, true, "no RBAC policy matched", ""};
  const auto r = authorizer_.Authorize(Request(std::string(kB) + "/namespaces/d/pods/p", Alice()));
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["message"],
            "pods.metrics.smi-spec.io \"p\" is forbidden: User \"alice\" cannot get resource "
            "\"pods\" in API group \"metrics.smi-spec.io\" in the namespace \"d\": no RBAC policy "
            "matched");
}

TEST_F(AuthorizationTest, DecisionsAreCachedForTheirTtl) {
  const std::string path = std::string(kB) + "/namespaces/d/pods/p";
  reviewer_.answer.allowed = true;
  EXPECT_FALSE(authorizer_.Authorize(Request(path, Alice())));
  clock_.Advance(9s);
  EXPECT_FALSE(authorizer_.Authorize(Request(path, Alice())));
  EXPECT_EQ(reviewer_.specs.size(), 1u);  // within 10 s: not asked again
  // Another user, or another object, is another question.
  EXPECT_FALSE(authorizer_.Authorize(Request(path, {"bob", {"system:authenticated"}, "", {}})));
  EXPECT_EQ(reviewer_.specs.size(), 2u);
  clock_.Advance(2s);  // 11 s after the first answer: asked again
  reviewer_.answer.allowed = false;
  EXPECT_TRUE(authorizer_.Authorize(Request(path, Alice())));
  EXPECT_EQ(reviewer_.specs.size(), 3u);
  // Denials are cached too.
  clock_.Advance(5s);
  EXPECT_TRUE(authorizer_.Authorize(Request(path, Alice())));
  EXPECT_EQ(reviewer_.specs.size(), 3u);
  clock_.Advance(6s);
  EXPECT_TRUE(authorizer_.Authorize(Request(path, Alice())));
  EXPECT_EQ(reviewer_.specs.size(), 4u);
}

TEST(AuthorizationCacheTest, ABurstOfDistinctRequestsDoesNotGrowTheCacheBeyondItsBound) {
  ScriptedReviewer reviewer;
  reviewer.answer.allowed = true;
  testing::ManualClock clock;
  AuthorizationOptions o;
  o.max_cached_decisions = 4;
  const Authorizer authorizer(o, &reviewer, clock);
  const Identity alice{"alice", {"system:authenticated"}, "", {}};
  auto get = [&](int i) {
    HttpRequest r;
    r.path = std::string(kB) + "/namespaces/d/pods/p" + std::to_string(i);
    r.identity = alice;
    return authorizer.Authorize(r);
  };
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(get(i));
    clock.Advance(1ms);  // well within the TTL: only the bound evicts
  }
  ASSERT_EQ(reviewer.specs.size(), 100u);
  for (int i = 96; i < 100; ++i) EXPECT_FALSE(get(i));
  EXPECT_EQ(reviewer.specs.size(), 100u);  // the newest four are still cached
  EXPECT_FALSE(get(95));
  EXPECT_EQ(reviewer.specs.size(), 101u);  // an older one was dropped and is asked again
  EXPECT_EQ(reviewer.specs.back()["resourceAttributes"]["name"], "p95");
}

TEST_F(AuthorizationTest, FailsClosedWhenTheReviewFails) {
  reviewer_.fail = true;
  HttpRequest req = Request(std::string(kB) + "/namespaces/d/pods", Alice());
  req.target = std::string(kB) + "/namespaces/d/pods?window=1m";
  auto r = authorizer_.Authorize(req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r->body,
            "Internal Server Error: \"/apis/metrics.smi-spec.io/v1alpha1/namespaces/d/"
            "pods?window=1m\": Post \"https://k8s/apis/...\": connection refused\n");
  // An error is not cached: the next request asks again, and gets in once it is answered.
  reviewer_.fail = false;
  reviewer_.answer.allowed = true;
  EXPECT_FALSE(authorizer_.Authorize(req));
  EXPECT_EQ(reviewer_.specs.size(), 2u);
  // Both allowed and denied: an error, as the webhook authorizer says.
  const std::string other = std::string(kB) + "/namespaces/e/pods";
  reviewer_.answer = {true, true, "", ""};
  r = authorizer_.Authorize(Request(other, Alice()));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST_F(AuthorizationTest, WithoutAnIdentityIsUnauthorized) {
  HttpRequest r;
  r.path = kB;
  const auto a = authorizer_.Authorize(r);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 401);
  EXPECT_TRUE(reviewer_.specs.empty());
}

TEST_F(AuthorizationTest, AnonymousIsReviewedLikeAnyone) {
  reviewer_.answer.allowed = false;
  const auto r = authorizer_.Authorize(
      Request("/apis", {"system:anonymous", {"system:unauthenticated"}, "", {}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["message"],
            "forbidden: User \"system:anonymous\" cannot get path \"/apis\"");
}

TEST(AuthorizationLocalModeTest, AuthenticatedCallersOnly) {
  AuthorizationOptions o;
  o.mode = AuthorizationMode::kAlwaysAllowAuthenticated;
  Authorizer a(o, nullptr);
  HttpRequest r;
  r.path = std::string(kB) + "/namespaces/d/pods";
  r.identity = Identity{"alice", {"system:authenticated"}, "", {}};
  EXPECT_FALSE(a.Authorize(r));
  r.identity = Identity{"system:anonymous", {"system:unauthenticated"}, "", {}};
  ASSERT_TRUE(a.Authorize(r));
  EXPECT_EQ(a.Authorize(r)->status, 401);
  r.identity.reset();
  EXPECT_EQ(a.Authorize(r)->status, 401);
}

TEST(AuthorizationLocalModeTest, DelegatedWithoutAReviewerFailsClosed) {
  Authorizer a({}, nullptr);
  HttpRequest r;
  r.path = std::string(kB) + "/namespaces/d/pods";
  r.identity = Identity{"alice", {"system:authenticated"}, "", {}};
  ASSERT_TRUE(a.Authorize(r));
  EXPECT_EQ(a.Authorize(r)->status, 500);
}

TEST(AuthorizationModeTest, Parses) {
  EXPECT_EQ(ParseAuthorizationMode("Delegated"), AuthorizationMode::kDelegated);
  EXPECT_EQ(ParseAuthorizationMode("AlwaysAllowAuthenticated"),
            AuthorizationMode::kAlwaysAllowAuthenticated);
  EXPECT_THROW(ParseAuthorizationMode("AlwaysAllow"), std::invalid_argument);
}

TEST(GoQuoteTest, EscapesAsGo) { EXPECT_EQ(GoQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\x01\""); }

}  // namespace
}  // namespace smi::apiserver
