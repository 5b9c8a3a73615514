// TokenReview and SubjectAccessReview against the fake API server over HTTPS, and the
// extension-apiserver-authentication ConfigMap.
#include "kube/access_review.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fakekube/fake_kube_api.h"
#include "kube/authentication_config.h"

namespace smi::kube {
namespace {

using fakekube::FakeKubeApi;
using nlohmann::json;

RestAccessReviewer::Options Fast() {
  RestAccessReviewer::Options o;
  o.attempts = 2;
  o.backoff = std::chrono::milliseconds(10);
  o.timeout = std::chrono::milliseconds(5000);
  return o;
}

class AccessReviewTest : public ::testing::Test {
 protected:
  void SetUp() override { api_.Start(); }
  RestConfig Config() { return ParseKubeconfig(api_.Kubeconfig("fake-token"), ""); }
  FakeKubeApi api_;
};

TEST_F(AccessReviewTest, TokenReview) {
  api_.SetTokenReview("t1", {{"authenticated", true},
                             {"user",
                              {{"username", "system:serviceaccount:ns:sa"},
                               {"uid", "u1"},
                               {"groups", {"system:serviceaccounts", "system:authenticated"}},
                               {"extra", {{"authentication.kubernetes.io/pod-name", {"p"}}}}}},
                             {"audiences", {"https://kubernetes.default.svc"}}});
  RestAccessReviewer reviewer(Config(), Fast());
  const auto r = reviewer.ReviewToken("t1", {});
  EXPECT_TRUE(r.authenticated);
  EXPECT_EQ(r.user.username, "system:serviceaccount:ns:sa");
  EXPECT_EQ(r.user.uid, "u1");
  EXPECT_EQ(r.user.groups,
            (std::vector<std::string>{"system:serviceaccounts", "system:authenticated"}));
  EXPECT_EQ(r.user.extra.at("authentication.kubernetes.io/pod-name"),
            (std::vector<std::string>{"p"}));
  const auto bad = reviewer.ReviewToken("nope", {});
  EXPECT_FALSE(bad.authenticated);
  EXPECT_EQ(bad.error, "invalid bearer token");
  ASSERT_EQ(api_.token_reviews().size(), 2u);
  EXPECT_EQ(api_.token_reviews()[0], (json{{"token", "t1"}}));
  EXPECT_TRUE(api_.access_log().count("create authentication.k8s.io/tokenreviews"));
}

TEST_F(AccessReviewTest, SubjectAccessReviewSendsTheExactSpec) {
  api_.SetAccessDecider([](const json& spec) {
    if (spec.value("user", "") == "alice") return json{{"allowed", true}, {"reason", "RBAC: ok"}};
    return json{{"allowed", false}, {"denied", true}, {"reason", "nope"}};
  });
  RestAccessReviewer reviewer(Config(), Fast());
  SubjectAccessReviewSpec spec;
  spec.resource = ResourceAttributes{
      "default", "get", "metrics.smi-spec.io", "v1alpha1", "deployments", "edges", "foo"};
  spec.user = {"alice", "", {"devs", "system:authenticated"}, {{"k", {"v"}}}};
  auto s = reviewer.ReviewAccess(spec);
  EXPECT_TRUE(s.allowed);
  EXPECT_EQ(s.reason, "RBAC: ok");
  ASSERT_EQ(api_.access_reviews().size(), 1u);
  EXPECT_EQ(api_.access_reviews()[0], (json{{"resourceAttributes",
                                             {{"namespace", "default"},
                                              {"verb", "get"},
                                              {"group", "metrics.smi-spec.io"},
                                              {"version", "v1alpha1"},
                                              {"resource", "deployments"},
                                              {"subresource", "edges"},
                                              {"name", "foo"}}},
                                            {"user", "alice"},
                                            {"groups", {"devs", "system:authenticated"}},
                                            {"extra", {{"k", {"v"}}}}}));
  spec = {};
  spec.non_resource = NonResourceAttributes{"/metrics", "get"};
  spec.user.username = "bob";
  s = reviewer.ReviewAccess(spec);
  EXPECT_FALSE(s.allowed);
  EXPECT_TRUE(s.denied);
  EXPECT_EQ(s.reason, "nope");
  EXPECT_EQ(
      api_.access_reviews()[1],
      (json{{"nonResourceAttributes", {{"path", "/metrics"}, {"verb", "get"}}}, {"user", "bob"}}));
}

TEST_F(AccessReviewTest, FailuresAreRetriedThenReported) {
  api_.FailReviews(500);
  RestAccessReviewer reviewer(Config(), Fast());
  SubjectAccessReviewSpec spec;
  spec.non_resource = NonResourceAttributes{"/apis", "get"};
  EXPECT_THROW(reviewer.ReviewAccess(spec), ReviewError);
  EXPECT_EQ(api_.access_reviews().size(), 2u);  // two attempts
  api_.FailReviews(403);                        // not retried
  EXPECT_THROW(reviewer.ReviewToken("t", {}), ReviewError);
  EXPECT_EQ(api_.token_reviews().size(), 1u);
}

TEST_F(AccessReviewTest, UnreachableIsAReviewError) {
  RestConfig c = Config();
  api_.Stop();
  RestAccessReviewer reviewer(c, Fast());
  SubjectAccessReviewSpec spec;
  spec.non_resource = NonResourceAttributes{"/apis", "get"};
  EXPECT_THROW(reviewer.ReviewAccess(spec), ReviewError);
}

TEST_F(AccessReviewTest, ConcurrentReviews) {
  api_.SetAccessDecider([](const json&) { return json{{"allowed", true}}; });
  RestAccessReviewer reviewer(Config(), Fast());
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      SubjectAccessReviewSpec spec;
      spec.non_resource = NonResourceAttributes{"/apis", "get"};
      for (int j = 0; j < 5; ++j) allowed += reviewer.ReviewAccess(spec).allowed ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed, 40);
}

TEST(AuthenticationConfigMapTest, Parses) {
  const json cm = {{"kind", "ConfigMap"},
                   {"data",
                    {{"client-ca-file", "CA1"},
                     {"requestheader-client-ca-file", "CA2"},
                     {"requestheader-allowed-names", "[\"front-proxy-client\"]"},
                     {"requestheader-username-headers", "[\"X-Remote-User\"]"},
                     {"requestheader-group-headers", "[\"X-Remote-Group\"]"},
                     {"requestheader-extra-headers-prefix", "[\"X-Remote-Extra-\"]"},
                     {"requestheader-uid-headers", "[]"}}}};
  const auto c = ParseAuthenticationConfigMap(cm);
  EXPECT_EQ(c.client_ca_pem, "CA1");
  ASSERT_TRUE(c.request_header);
  EXPECT_EQ(c.request_header->client_ca_pem, "CA2");
  EXPECT_EQ(c.request_header->allowed_names, (std::vector<std::string>{"front-proxy-client"}));
  EXPECT_EQ(c.request_header->username_headers, (std::vector<std::string>{"X-Remote-User"}));
  EXPECT_EQ(c.request_header->group_headers, (std::vector<std::string>{"X-Remote-Group"}));
  EXPECT_EQ(c.request_header->extra_headers_prefix, (std::vector<std::string>{"X-Remote-Extra-"}));
  EXPECT_TRUE(c.request_header->uid_headers.empty());
  // Without a request-header CA there is no request-header configuration.
  EXPECT_FALSE(
      ParseAuthenticationConfigMap({{"data", {{"client-ca-file", "CA1"}}}}).request_header);
  EXPECT_THROW(
      ParseAuthenticationConfigMap({{"data",
                                     {{"requestheader-client-ca-file", "CA2"},
                                      {"requestheader-allowed-names", "front-proxy-client"}}}}),
      ConfigError);
}

// Found by fuzzing: a non-string `kind` threw json::type_error from outside the block that turned
// type errors into ConfigError. Every value of the wrong type is a ConfigError naming its key.
TEST(AuthenticationConfigMapTest, ValuesOfTheWrongTypeAreConfigErrors) {
  auto error = [](const std::string& text) -> std::string {
    try {
      ParseAuthenticationConfigMap(json::parse(text));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(parsed)";
  };
  EXPECT_EQ(error(R"({"kind": 1, "data": {}})"),
            "extension-apiserver-authentication: not a ConfigMap");
  EXPECT_EQ(error(R"({"kind": null})"), "extension-apiserver-authentication: not a ConfigMap");
  EXPECT_EQ(error(R"({"kind": ["ConfigMap"]})"),
            "extension-apiserver-authentication: not a ConfigMap");
  EXPECT_EQ(error(R"({"kind": "Secret"})"), "extension-apiserver-authentication: not a ConfigMap");
  EXPECT_EQ(error(R"({"data": {"client-ca-file": 7}})"),
            "extension-apiserver-authentication: client-ca-file is not a string");
  EXPECT_EQ(error(R"({"data": {"requestheader-client-ca-file": {}}})"),
            "extension-apiserver-authentication: requestheader-client-ca-file is not a string");
  EXPECT_EQ(error(R"({"data": {"requestheader-client-ca-file": "CA",
                               "requestheader-group-headers": ["X"]}})"),
            "extension-apiserver-authentication: requestheader-group-headers is not a string");
  EXPECT_EQ(
      error(R"({"data": {"requestheader-client-ca-file": "CA",
                         "requestheader-allowed-names": "[\"a\", 1]"}})"),
      "extension-apiserver-authentication: requestheader-allowed-names is not a JSON array of "
      "strings: [\"a\", 1]");
  EXPECT_EQ(error(R"({"data": {"requestheader-client-ca-file": "CA",
                               "requestheader-allowed-names": "{\"a\": \"b\"}"}})"),
            "extension-apiserver-authentication: requestheader-allowed-names is not a JSON array "
            "of strings: {\"a\": \"b\"}");
  // Absent and null are the same: nothing configured.
  EXPECT_EQ(error(R"({"data": {"client-ca-file": null,
                               "requestheader-client-ca-file": "CA",
                               "requestheader-allowed-names": "null"}})"),
            "(parsed)");
  EXPECT_EQ(error(R"({"data": 5})"), "(parsed)");
}

TEST_F(AccessReviewTest, ConfigMapIsPolledAndChangesReported) {
  std::mutex mu;
  std::vector<ExtensionApiserverAuthentication> seen;
  std::vector<std::string> errors;
  AuthenticationConfigMapPoller::Options o;
  o.interval = std::chrono::milliseconds(50);
  AuthenticationConfigMapPoller poller(
      Config(), o,
      [&](const ExtensionApiserverAuthentication& c) {
        std::lock_guard lock(mu);
        seen.push_back(c);
      },
      [&](const std::string& e) {
        std::lock_guard lock(mu);
        errors.push_back(e);
      });
  EXPECT_FALSE(poller.Start());  // 404 at first
  {
    std::lock_guard lock(mu);
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(errors[0].find("404"), std::string::npos) << errors[0];
  }
  api_.SetAuthenticationConfigMap({{"client-ca-file", "CA1"}});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mu);
      if (!seen.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // A few more reads of the unchanged ConfigMap. The poller reads one at a time, so once read
  // `reads + 3` has reached the fake, reads `reads + 1` and `reads + 2` have been handled.
  const int reads = api_.configmap_reads();
  while (api_.configmap_reads() < reads + 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  poller.Stop();
  ASSERT_GE(api_.configmap_reads(), reads + 3) << "the poller stopped reading";
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 1u);  // unchanged re-reads are not reported again
  EXPECT_EQ(seen[0].client_ca_pem, "CA1");
}

}  // namespace
}  // namespace smi::kube
