// End to end over HTTPS: the server (HttpsServer + ApiHandler) with the delegated authentication
// and authorization against the fake Kubernetes API server (TokenReview and SubjectAccessReview
// scripted, the extension-apiserver-authentication ConfigMap served), called as kube-apiserver's
// front proxy, as a bearer-token client, and as the aggregator itself.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "apiserver/api_handler.h"
#include "apiserver/authentication.h"
#include "apiserver/authorization.h"
#include "apiserver/https_server.h"
#include "apiserver/pki.h"
#include "fakekube/fake_kube_api.h"
#include "kube/access_review.h"
#include "kube/authentication_config.h"
#include "mocks/fake_source.h"
#include "support/free_port.h"

namespace smi::apiserver {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kB = "/apis/metrics.smi-spec.io/v1alpha1";

class AuthE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    front_proxy_ca_ = GenerateCa("front-proxy-ca");
    client_ca_ = GenerateCa("kubernetes-ca");
    serving_ca_ = GenerateCa("serving-ca");
    CertRequest s;
    s.common_name = "localhost";
    s.ip_addresses = {"127.0.0.1"};
    s.server_auth = true;
    serving_ = IssueCertificate(serving_ca_, s);

    // The fake kube-apiserver: the ConfigMap as kube-apiserver writes it, scripted reviews.
    api_.SetAuthenticationConfigMap(
        {{"client-ca-file", client_ca_.cert},
         {"requestheader-client-ca-file", front_proxy_ca_.cert},
         {"requestheader-allowed-names", "[\"front-proxy-client\"]"},
         {"requestheader-username-headers", "[\"X-Remote-User\"]"},
         {"requestheader-group-headers", "[\"X-Remote-Group\"]"},
         {"requestheader-extra-headers-prefix", "[\"X-Remote-Extra-\"]"}});
    api_.SetTokenReview("prom-token",
                        {{"authenticated", true},
                         {"user",
                          {{"username", "system:serviceaccount:monitoring:prometheus"},
                           {"groups", {"system:serviceaccounts", "system:authenticated"}}}}});
    api_.SetAccessDecider([](const json& spec) {
      const std::string user = spec.value("user", "");
      if (user == "alice") return json{{"allowed", true}, {"reason", "RBAC: allowed"}};
      if (user == "system:serviceaccount:monitoring:prometheus" &&
          spec.contains("nonResourceAttributes")) {
        return json{{"allowed", true}};
      }
      if (user == "system:aggregator" && spec.contains("nonResourceAttributes")) {
        return json{{"allowed", true}};  // system:discovery
      }
      return json{{"allowed", false}};
    });
    api_.Start();
    const auto kube = kube::ParseKubeconfig(api_.Kubeconfig("fake-token"), "");

    kube::RestAccessReviewer::Options ro;
    ro.attempts = 1;
    reviewer_ = std::make_unique<kube::RestAccessReviewer>(kube, ro);
    authenticator_ = std::make_unique<Authenticator>(AuthenticationOptions{}, reviewer_.get());
    kube::AuthenticationConfigMapPoller poller(kube, {}, nullptr, nullptr);
    authenticator_->UpdateFromConfigMap(poller.ReadOnce());
    authorizer_ = std::make_unique<Authorizer>(AuthorizationOptions{}, reviewer_.get());

    auto& rs = source_.resource_samples;
    rs.known_objects = {{"Deployment", "default", "foo", ""}};
    sources::TrafficCounts c;
    c.success = 10;
    c.latency_buckets = {{0.01, 10}, {std::numeric_limits<double>::infinity(), 10}};
    rs.resources = {{{"Deployment", "default", "foo", ""}, c}};
    service_ = std::make_unique<aggregation::TrafficMetricsService>(
        source_, clock_, aggregation::TrafficMetricsService::Options{});
    handler_ = std::make_unique<ApiHandler>(*service_);
    handler_->set_authorizer(authorizer_.get());
    handler_->set_metrics_text([] { return std::string("x 1\n"); });

    ServingOptions o;
    o.bind_address = "127.0.0.1";
    o.serving = serving_;
    o.worker_threads = 4;
    o.authenticator = authenticator_.get();
    o.port = 0;  // any free port: no other test can take it first
    server_ = std::make_unique<HttpsServer>(o, *handler_);
    server_->Start();
    port_ = server_->BoundPort();
    bool up = false;
    for (int i = 0; i < 500 && !up; ++i) {
      httplib::SSLClient probe("127.0.0.1", port_);
      probe.enable_server_certificate_verification(false);
      up = static_cast<bool>(probe.Get("/healthz"));
      if (!up) std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(up) << "the server did not come up";
  }
  void TearDown() override {
    if (server_) server_->Stop();
    // The reviewer's keep-alive connections first, or the fake waits for them to time out.
    authorizer_.reset();
    authenticator_.reset();
    reviewer_.reset();
    api_.Stop();
  }

  std::unique_ptr<httplib::SSLClient> Client(const PemPair* cert) {
    std::unique_ptr<httplib::SSLClient> c;
    if (cert) {
      BIO* b = BIO_new_mem_buf(cert->cert.data(), static_cast<int>(cert->cert.size()));
      X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
      BIO_free(b);
      b = BIO_new_mem_buf(cert->key.data(), static_cast<int>(cert->key.size()));
      EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
      BIO_free(b);
      c = std::make_unique<httplib::SSLClient>("127.0.0.1", port_, x, k);
      X509_free(x);
      EVP_PKEY_free(k);
    } else {
      c = std::make_unique<httplib::SSLClient>("127.0.0.1", port_);
    }
    X509_STORE* store = X509_STORE_new();
    BIO* b = BIO_new_mem_buf(serving_ca_.cert.data(), static_cast<int>(serving_ca_.cert.size()));
    X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    X509_STORE_add_cert(store, ca);
    X509_free(ca);
    c->set_ca_cert_store(store);
    c->enable_server_certificate_verification(true);
    return c;
  }
  PemPair Cert(const PemPair& ca, const std::string& cn, std::vector<std::string> orgs = {}) {
    CertRequest r;
    r.common_name = cn;
    r.organizations = std::move(orgs);
    r.client_auth = true;
    return IssueCertificate(ca, r);
  }
  PemPair FrontProxy() { return Cert(front_proxy_ca_, "front-proxy-client"); }

  PemPair front_proxy_ca_, client_ca_, serving_ca_, serving_;
  fakekube::FakeKubeApi api_;
  std::unique_ptr<kube::RestAccessReviewer> reviewer_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<Authorizer> authorizer_;
  testing::FakeSource source_;
  testing::FakeClock clock_{std::chrono::system_clock::time_point(1700000000500ms)};
  std::unique_ptr<aggregation::TrafficMetricsService> service_;
  std::unique_ptr<ApiHandler> handler_;
  std::unique_ptr<HttpsServer> server_;
  int port_ = 0;
};

TEST_F(AuthE2eTest, FrontProxyAllowedAndDenied) {
  const auto proxy = FrontProxy();
  auto c = Client(&proxy);
  httplib::Headers alice{{"X-Remote-User", "alice"},
                         {"X-Remote-Group", "devs"},
                         {"X-Remote-Group", "system:authenticated"}};
  auto r = c->Get((std::string(kB) + "/namespaces/default/deployments/foo").c_str(), alice);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(api_.access_reviews().size(), 1u);
  EXPECT_EQ(api_.access_reviews()[0], (json{{"resourceAttributes",
                                             {{"namespace", "default"},
                                              {"verb", "get"},
                                              {"group", "metrics.smi-spec.io"},
                                              {"version", "v1alpha1"},
                                              {"resource", "deployments"},
                                              {"name", "foo"}}},
                                            {"user", "alice"},
                                            {"groups", {"devs", "system:authenticated"}}}));
  // The same question within 10 s is not asked again.
  r = c->Get((std::string(kB) + "/namespaces/default/deployments/foo").c_str(), alice);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(api_.access_reviews().size(), 1u);

  httplib::Headers bob{{"X-Remote-User", "bob"}, {"X-Remote-Group", "system:authenticated"}};
  r = c->Get((std::string(kB) + "/namespaces/default/deployments/foo").c_str(), bob);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  const auto status = json::parse(r->body);
  EXPECT_EQ(status["message"],
            "deployments.metrics.smi-spec.io \"foo\" is forbidden: User \"bob\" cannot get "
            "resource \"deployments\" in API group \"metrics.smi-spec.io\" in the namespace "
            "\"default\"");
  EXPECT_EQ(status["reason"], "Forbidden");
  r = c->Get((std::string(kB) + "/namespaces/default/edges").c_str(), bob);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json::parse(r->body)["message"],
            "edges.metrics.smi-spec.io is forbidden: User \"bob\" cannot list resource \"edges\" "
            "in API group \"metrics.smi-spec.io\" in the namespace \"default\"");
}

TEST_F(AuthE2eTest, TheAggregatorsOwnCalls) {
  const auto proxy = FrontProxy();
  auto c = Client(&proxy);
  // Availability and discovery: system:kube-aggregator in system:masters, no Accept header.
  auto r = c->Get(kB, {{"X-Remote-User", "system:kube-aggregator"},
                       {"X-Remote-Group", "system:masters"},
                       {"X-Remote-Group", "system:authenticated"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["kind"], "APIResourceList");
  EXPECT_TRUE(api_.access_reviews().empty());  // system:masters needs no review
  // OpenAPI as system:aggregator (reviewed as a non-resource path).
  r = c->Get("/openapi/v2",
             {{"X-Remote-User", "system:aggregator"}, {"X-Remote-Group", "system:authenticated"}});
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(api_.access_reviews().size(), 1u);
  EXPECT_EQ(api_.access_reviews()[0]["nonResourceAttributes"],
            (json{{"path", "/openapi/v2"}, {"verb", "get"}}));
}

TEST_F(AuthE2eTest, BearerTokens) {
  auto c = Client(nullptr);
  auto r = c->Get("/metrics", {{"Authorization", "Bearer prom-token"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(api_.token_reviews().size(), 1u);
  EXPECT_EQ(api_.token_reviews()[0], (json{{"token", "prom-token"}}));
  r = c->Get("/metrics", {{"Authorization", "Bearer prom-token"}});
  EXPECT_EQ(api_.token_reviews().size(), 1u);  // cached
  r = c->Get((std::string(kB) + "/pods").c_str(), {{"Authorization", "Bearer prom-token"}});
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json::parse(r->body)["message"],
            "pods.metrics.smi-spec.io is forbidden: User "
            "\"system:serviceaccount:monitoring:prometheus\" cannot list resource \"pods\" in API "
            "group \"metrics.smi-spec.io\" at the cluster scope");
  r = c->Get("/metrics", {{"Authorization", "Bearer wrong"}});
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(json::parse(r->body)["reason"], "Unauthorized");
}

TEST_F(AuthE2eTest, RefusedCredentials) {
  // A front-proxy certificate from another CA: 401, whatever the headers say.
  const auto forged = Cert(GenerateCa("evil"), "front-proxy-client");
  auto r = Client(&forged)->Get(kB, {{"X-Remote-User", "alice"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  // A certificate of the right CA with a CN not allowed: 401.
  const auto other = Cert(front_proxy_ca_, "someone");
  r = Client(&other)->Get(kB, {{"X-Remote-User", "alice"}});
  EXPECT_EQ(r->status, 401);
  // Headers without any certificate: ignored, the caller is anonymous and reviewed as such.
  r = Client(nullptr)->Get(kB, {{"X-Remote-User", "alice"}, {"X-Remote-Group", "system:masters"}});
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json::parse(r->body)["message"],
            "forbidden: User \"system:anonymous\" cannot get path "
            "\"/apis/metrics.smi-spec.io/v1alpha1\"");
  // A user's certificate (client CA) spoofing the headers: it is that user.
  const auto carol = Cert(client_ca_, "carol", {"system:authenticated"});
  r = Client(&carol)->Get((std::string(kB) + "/namespaces/default/deployments/foo").c_str(),
                          {{"X-Remote-User", "alice"}});
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(json::parse(r->body)["message"].get<std::string>().find("User \"carol\""),
            std::string::npos);
  // Health stays open to anyone.
  r = Client(nullptr)->Get("/healthz");
  EXPECT_EQ(r->status, 200);
}

TEST_F(AuthE2eTest, FailsClosedWhenKubeApiserverFails) {
  api_.FailReviews(500);
  const auto proxy = FrontProxy();
  auto r = Client(&proxy)->Get((std::string(kB) + "/namespaces/default/deployments/foo").c_str(),
                               {{"X-Remote-User", "dave"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.rfind("Internal Server Error: \"/apis/metrics.smi-spec.io/v1alpha1/namespaces/"
                          "default/deployments/foo\": SubjectAccessReview failed: 500",
                          0),
            0u)
      << r->body;
}

}  // namespace
}  // namespace smi::apiserver
