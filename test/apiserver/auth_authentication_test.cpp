// The authentication chain: front proxy, client certificates, bearer tokens, anonymous; its order
// and each way a credential is refused.
#include <gtest/gtest.h>

#include "apiserver/authentication.h"
#include "apiserver/pki.h"
#include "mocks/manual_clock.h"

namespace smi::apiserver {
namespace {

using namespace std::chrono_literals;
using Outcome = AuthenticationResult::Outcome;

class ScriptedTokens : public kube::AccessReviewer {
 public:
  kube::TokenReviewResult ReviewToken(const std::string& token,
                                      const std::vector<std::string>&) override {
    tokens.push_back(token);
    if (fail) throw kube::ReviewError("TokenReview failed: connection refused");
    kube::TokenReviewResult r;
    if (token == "good") {
      r.authenticated = true;
      r.user = {"system:serviceaccount:monitoring:prometheus",
                "uid-1",
                {"system:serviceaccounts", "system:serviceaccounts:monitoring"},
                {{"authentication.kubernetes.io/pod-name", {"prometheus-0"}}}};
    } else {
      r.error = "token expired";
    }
    return r;
  }
  kube::SubjectAccessReviewStatus ReviewAccess(const kube::SubjectAccessReviewSpec&) override {
    return {};
  }
  std::vector<std::string> tokens;
  bool fail = false;
};

PemPair ClientCert(const PemPair& ca, const std::string& cn, std::vector<std::string> orgs = {},
                   bool client_auth = true) {
  CertRequest r;
  r.common_name = cn;
  r.organizations = std::move(orgs);
  r.client_auth = client_auth;
  r.server_auth = !client_auth;
  return IssueCertificate(ca, r);
}

class AuthenticationTest : public ::testing::Test {
 protected:
  AuthenticationTest()
      : client_ca_(GenerateCa("client-ca")),
        front_proxy_ca_(GenerateCa("front-proxy-ca")),
        other_ca_(GenerateCa("someone-else")) {}

  AuthenticationOptions Options() {
    AuthenticationOptions o;
    o.client_ca_pem = client_ca_.cert;
    auto rh = DefaultRequestHeaderConfig();
    rh.client_ca_pem = front_proxy_ca_.cert;
    rh.allowed_names = {"front-proxy-client"};
    o.request_header = rh;
    return o;
  }
  std::unique_ptr<Authenticator> Make(AuthenticationOptions o) {
    return std::make_unique<Authenticator>(std::move(o), &tokens_, clock_);
  }
  static AuthenticationInput Input(const PemPair* cert,
                                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    AuthenticationInput in;
    if (cert) in.peer_certificates_pem = {cert->cert};
    in.headers = std::move(headers);
    return in;
  }
  static std::vector<std::pair<std::string, std::string>> ProxyHeaders() {
    return {{"X-Remote-User", "alice"},
            {"X-Remote-Group", "devs"},
            {"X-Remote-Group", "ops,qa"},
            {"X-Remote-Group", "system:authenticated"},
            {"X-Remote-Extra-Authentication.kubernetes.io%2fcredential-Id", "X509SHA256=ab"},
            {"X-Remote-Extra-Scopes", "a"},
            {"x-remote-extra-scopes", "b"},
            {"Accept", "application/json"}};
  }

  PemPair client_ca_, front_proxy_ca_, other_ca_;
  ScriptedTokens tokens_;
  testing::ManualClock clock_;
};

TEST_F(AuthenticationTest, FrontProxyIdentityFromHeaders) {
  const auto a = Make(Options());
  const auto proxy = ClientCert(front_proxy_ca_, "front-proxy-client");
  const auto r = a->Authenticate(Input(&proxy, ProxyHeaders()));
  ASSERT_EQ(r.outcome, Outcome::kAuthenticated) << r.error;
  EXPECT_EQ(r.method, "front-proxy");
  EXPECT_EQ(r.identity.user, "alice");
  // One group per header line, in order, not comma-split; system:authenticated not doubled.
  EXPECT_EQ(r.identity.groups,
            (std::vector<std::string>{"devs", "ops,qa", "system:authenticated"}));
  EXPECT_EQ(r.identity.extra, (std::map<std::string, std::vector<std::string>>{
                                  {"authentication.kubernetes.io/credential-id", {"X509SHA256=ab"}},
                                  {"scopes", {"a", "b"}}}));
  EXPECT_NE(std::find(r.consumed_headers.begin(), r.consumed_headers.end(), "x-remote-user"),
            r.consumed_headers.end());
}

TEST_F(AuthenticationTest, SystemAuthenticatedIsAdded) {
  const auto a = Make(Options());
  const auto proxy = ClientCert(front_proxy_ca_, "front-proxy-client");
  const auto r = a->Authenticate(Input(&proxy, {{"X-Remote-User", "bob"}}));
  ASSERT_EQ(r.outcome, Outcome::kAuthenticated);
  EXPECT_EQ(r.identity.groups, (std::vector<std::string>{"system:authenticated"}));
}

TEST_F(AuthenticationTest, ConfigurableHeaderNames) {
  auto o = Options();
  o.request_header->username_headers = {"X-Forwarded-User", "X-Remote-User"};
  o.request_header->group_headers = {"X-Forwarded-Groups"};
  o.request_header->extra_headers_prefix = {"X-Forwarded-Extra-"};
  const auto a = Make(o);
  const auto proxy = ClientCert(front_proxy_ca_, "front-proxy-client");
  const auto r = a->Authenticate(Input(&proxy, {{"x-forwarded-user", "carol"},
                                                {"X-Remote-User", "alice"},
                                                {"X-Remote-Group", "ignored"},
                                                {"X-Forwarded-Groups", "g"},
                                                {"X-Forwarded-Extra-K", "v"}}));
  ASSERT_EQ(r.outcome, Outcome::kAuthenticated);
  EXPECT_EQ(r.identity.user, "carol");
  EXPECT_EQ(r.identity.groups, (std::vector<std::string>{"g", "system:authenticated"}));
  EXPECT_EQ(r.identity.extra.at("k"), (std::vector<std::string>{"v"}));
}

TEST_F(AuthenticationTest, FrontProxyCertFromTheWrongCaIsRefused) {
  const auto a = Make(Options());
  const auto forged = ClientCert(other_ca_, "front-proxy-client");
  const auto r = a->Authenticate(Input(&forged, ProxyHeaders()));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.error.find("x509: certificate signed by unknown authority"), std::string::npos)
      << r.error;
}

TEST_F(AuthenticationTest, CommonNameNotAllowedIsRefused) {
  const auto a = Make(Options());
  const auto proxy = ClientCert(front_proxy_ca_, "not-the-proxy");
  const auto r = a->Authenticate(Input(&proxy, ProxyHeaders()));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.error.find("x509: subject with cn=not-the-proxy is not in the allowed list"),
            std::string::npos)
      << r.error;
}

TEST_F(AuthenticationTest, EmptyAllowedNamesAcceptAnyCertOfTheCa) {
  auto o = Options();
  o.request_header->allowed_names.clear();
  const auto a = Make(o);
  const auto proxy = ClientCert(front_proxy_ca_, "anything");
  EXPECT_EQ(a->Authenticate(Input(&proxy, ProxyHeaders())).identity.user, "alice");
}

TEST_F(AuthenticationTest, ACertWithoutClientAuthUsageIsRefused) {
  const auto a = Make(Options());
  const auto server_only = ClientCert(front_proxy_ca_, "front-proxy-client", {}, false);
  EXPECT_EQ(a->Authenticate(Input(&server_only, ProxyHeaders())).outcome, Outcome::kFailed);
}

TEST_F(AuthenticationTest, HeadersWithoutAFrontProxyCertAreIgnored) {
  const auto a = Make(Options());
  const auto r = a->Authenticate(Input(nullptr, ProxyHeaders()));
  EXPECT_EQ(r.outcome, Outcome::kAnonymous);
  EXPECT_EQ(r.identity.user, "system:anonymous");
  EXPECT_EQ(r.identity.groups, (std::vector<std::string>{"system:unauthenticated"}));
}

TEST_F(AuthenticationTest, AUserCertSpoofingHeadersIsThatUser) {
  const auto a = Make(Options());
  const auto bob = ClientCert(client_ca_, "bob", {"devs"});
  const auto r = a->Authenticate(Input(&bob, ProxyHeaders()));
  ASSERT_EQ(r.outcome, Outcome::kAuthenticated);
  EXPECT_EQ(r.method, "x509");
  EXPECT_EQ(r.identity.user, "bob");
  EXPECT_EQ(r.identity.groups, (std::vector<std::string>{"devs", "system:authenticated"}));
  ASSERT_EQ(r.identity.extra.count("authentication.kubernetes.io/credential-id"), 1u);
  EXPECT_EQ(
      r.identity.extra.at("authentication.kubernetes.io/credential-id")[0].rfind("X509SHA256=", 0),
      0u);
  EXPECT_TRUE(r.consumed_headers.empty());
}

TEST_F(AuthenticationTest, FrontProxyCertWithoutUserHeaderIsNotAUser) {
  const auto a = Make(Options());
  const auto proxy = ClientCert(front_proxy_ca_, "front-proxy-client");
  // Not this authenticator; then the x509 step refuses the cert (not from the client CA): 401.
  EXPECT_EQ(a->Authenticate(Input(&proxy, {{"X-Remote-Group", "devs"}})).outcome, Outcome::kFailed);
}

TEST_F(AuthenticationTest, ChainOrderFrontProxyBeforeClientCert) {
  // One CA for both: with the user header it is the front proxy, without it the cert's CN.
  auto o = Options();
  o.client_ca_pem = front_proxy_ca_.cert;
  const auto a = Make(o);
  const auto proxy = ClientCert(front_proxy_ca_, "front-proxy-client", {"proxies"});
  EXPECT_EQ(a->Authenticate(Input(&proxy, ProxyHeaders())).identity.user, "alice");
  const auto r = a->Authenticate(Input(&proxy));
  EXPECT_EQ(r.method, "x509");
  EXPECT_EQ(r.identity.user, "front-proxy-client");
}

TEST_F(AuthenticationTest, ClientCertFromTheWrongCaIsRefused) {
  const auto a = Make(Options());
  const auto mallory = ClientCert(other_ca_, "mallory");
  EXPECT_EQ(a->Authenticate(Input(&mallory)).outcome, Outcome::kFailed);
}

TEST_F(AuthenticationTest, ClientCertBeforeToken) {
  const auto a = Make(Options());
  const auto bob = ClientCert(client_ca_, "bob");
  EXPECT_EQ(a->Authenticate(Input(&bob, {{"Authorization", "Bearer good"}})).identity.user, "bob");
  EXPECT_TRUE(tokens_.tokens.empty());
}

TEST_F(AuthenticationTest, BearerTokensAreReviewedAndCached) {
  const auto a = Make(Options());
  auto r = a->Authenticate(Input(nullptr, {{"Authorization", "Bearer good"}}));
  ASSERT_EQ(r.outcome, Outcome::kAuthenticated);
  EXPECT_EQ(r.method, "token");
  EXPECT_EQ(r.identity.user, "system:serviceaccount:monitoring:prometheus");
  EXPECT_EQ(r.identity.uid, "uid-1");
  EXPECT_EQ(r.identity.groups,
            (std::vector<std::string>{"system:serviceaccounts", "system:serviceaccounts:monitoring",
                                      "system:authenticated"}));
  EXPECT_EQ(r.consumed_headers, (std::vector<std::string>{"authorization"}));
  clock_.Advance(9s);
  EXPECT_EQ(a->Authenticate(Input(nullptr, {{"authorization", "bearer good"}})).outcome,
            Outcome::kAuthenticated);
  EXPECT_EQ(tokens_.tokens.size(), 1u);
  clock_.Advance(2s);
  a->Authenticate(Input(nullptr, {{"Authorization", "Bearer good"}}));
  EXPECT_EQ(tokens_.tokens.size(), 2u);
}

TEST_F(AuthenticationTest, RefusedTokensAreUnauthorizedAndCachedBriefly) {
  const auto a = Make(Options());
  auto r = a->Authenticate(Input(nullptr, {{"Authorization", "Bearer stale"}}));
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.error, "token expired");
  clock_.Advance(1s);
  a->Authenticate(Input(nullptr, {{"Authorization", "Bearer stale"}}));
  EXPECT_EQ(tokens_.tokens.size(), 1u);
  clock_.Advance(2s);  // the denied TTL (2 s) is shorter than the allowed one
  a->Authenticate(Input(nullptr, {{"Authorization", "Bearer stale"}}));
  EXPECT_EQ(tokens_.tokens.size(), 2u);
}

TEST_F(AuthenticationTest, ABurstOfDistinctTokensDoesNotGrowTheCacheBeyondItsBound) {
  auto o = Options();
  o.max_cached_tokens = 4;
  const auto a = Make(o);
  auto bearer = [](int i) {
    return Input(nullptr, {{"Authorization", "Bearer t" + std::to_string(i)}});
  };
  for (int i = 0; i < 100; ++i) {
    a->Authenticate(bearer(i));
    clock_.Advance(1ms);  // well within the TTL: only the bound evicts
  }
  ASSERT_EQ(tokens_.tokens.size(), 100u);
  for (int i = 96; i < 100; ++i) a->Authenticate(bearer(i));
  EXPECT_EQ(tokens_.tokens.size(), 100u);  // the newest four are still cached
  a->Authenticate(bearer(95));
  EXPECT_EQ(tokens_.tokens.size(), 101u);  // an older one was dropped and is reviewed again
  EXPECT_EQ(tokens_.tokens.back(), "t95");
}

TEST_F(AuthenticationTest, ATokenReviewThatFailsIsUnauthorizedAndNotCached) {
  const auto a = Make(Options());
  tokens_.fail = true;
  EXPECT_EQ(a->Authenticate(Input(nullptr, {{"Authorization", "Bearer good"}})).outcome,
            Outcome::kFailed);
  tokens_.fail = false;
  EXPECT_EQ(a->Authenticate(Input(nullptr, {{"Authorization", "Bearer good"}})).outcome,
            Outcome::kAuthenticated);
  EXPECT_EQ(tokens_.tokens.size(), 2u);
}

TEST_F(AuthenticationTest, NotABearerTokenIsNoCredential) {
  const auto a = Make(Options());
  EXPECT_EQ(a->Authenticate(Input(nullptr, {{"Authorization", "Basic YTpi"}})).outcome,
            Outcome::kAnonymous);
  EXPECT_EQ(a->Authenticate(Input(nullptr, {{"Authorization", "Bearer "}})).outcome,
            Outcome::kAnonymous);
  EXPECT_TRUE(tokens_.tokens.empty());
}

TEST_F(AuthenticationTest, TokensWithoutKubernetesAccessFail) {
  Authenticator a(Options(), nullptr);
  EXPECT_EQ(a.Authenticate(Input(nullptr, {{"Authorization", "Bearer good"}})).outcome,
            Outcome::kFailed);
}

TEST_F(AuthenticationTest, AnonymousCanBeTurnedOff) {
  auto o = Options();
  o.anonymous = false;
  const auto a = Make(o);
  EXPECT_EQ(a->Authenticate(Input(nullptr)).outcome, Outcome::kUnauthenticated);
}

TEST_F(AuthenticationTest, TheConfigMapFillsWhatFlagsDoNotSet) {
  AuthenticationOptions o;  // nothing from flags
  const auto a = Make(o);
  const auto proxy = ClientCert(front_proxy_ca_, "front-proxy-client");
  const auto bob = ClientCert(client_ca_, "bob");
  EXPECT_EQ(a->Authenticate(Input(&proxy, ProxyHeaders())).outcome, Outcome::kFailed);

  kube::ExtensionApiserverAuthentication cm;
  cm.client_ca_pem = client_ca_.cert;
  auto rh = DefaultRequestHeaderConfig();
  rh.client_ca_pem = front_proxy_ca_.cert;
  rh.allowed_names = {"front-proxy-client"};
  cm.request_header = rh;
  a->UpdateFromConfigMap(cm);
  EXPECT_EQ(a->Authenticate(Input(&proxy, ProxyHeaders())).identity.user, "alice");
  EXPECT_EQ(a->Authenticate(Input(&bob)).identity.user, "bob");
  EXPECT_NE(a->AcceptableCaPem().find(front_proxy_ca_.cert), std::string::npos);

  // Flags win over the ConfigMap, part by part.
  auto flags = AuthenticationOptions{};
  flags.client_ca_pem = other_ca_.cert;
  const auto b = Make(flags);
  b->UpdateFromConfigMap(cm);
  EXPECT_EQ(b->Authenticate(Input(&bob)).outcome, Outcome::kFailed);
  EXPECT_EQ(b->Authenticate(Input(&proxy, ProxyHeaders())).identity.user, "alice");
}

TEST(UnescapeExtraKeyTest, PathUnescape) {
  EXPECT_EQ(UnescapeExtraKey("authentication.kubernetes.io%2fcredential-id"),
            "authentication.kubernetes.io/credential-id");
  EXPECT_EQ(UnescapeExtraKey("bad%zz"), "bad%zz");
}

}  // namespace
}  // namespace smi::apiserver
