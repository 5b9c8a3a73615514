#include "apiserver/authentication.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "base/pem.h"
#include "base/strings.h"

namespace smi::apiserver {

namespace {

using Outcome = AuthenticationResult::Outcome;

using base::Lower;
using base::X509Ptr;

std::string Hex(const unsigned char* d, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[d[i] >> 4];
    out += digits[d[i] & 15];
  }
  return out;
}

std::string Sha256Hex(const unsigned char* data, size_t n) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data, n, md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

// A CA bundle ready for verification.
struct CaPool {
  std::string pem;
  X509_STORE* store = nullptr;
  explicit CaPool(const std::string& bundle, const char* what) : pem(bundle) {
    auto certs = base::ReadCertificates(bundle);
    if (certs.empty()) {
      throw std::invalid_argument(std::string(what) + " holds no PEM certificate");
    }
    store = X509_STORE_new();
    for (auto& c : certs) X509_STORE_add_cert(store, c.get());
  }
  ~CaPool() { X509_STORE_free(store); }
  CaPool(const CaPool&) = delete;
  CaPool& operator=(const CaPool&) = delete;

  // x509.Verify with KeyUsages [ClientAuth] and the peer's intermediates. Empty: verified.
  std::string Verify(X509* leaf, const std::vector<X509Ptr>& intermediates) const {
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    for (const auto& c : intermediates) sk_X509_push(untrusted, c.get());
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    std::string error;
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
      error = "x509: cannot set up verification";
    } else {
      X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
      if (X509_verify_cert(ctx) != 1) {
        const int err = X509_STORE_CTX_get_error(ctx);
        error = err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                        err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
                        err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                        err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
                    ? "x509: certificate signed by unknown authority"
                    : std::string("x509: ") + X509_verify_cert_error_string(err);
      }
    }
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    ERR_clear_error();
    return error;
  }
};

// CN and O of a certificate's subject.
void SubjectOf(X509* cert, std::string* cn, std::vector<std::string>* orgs) {
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (len < 0) continue;
    std::string value(reinterpret_cast<char*>(utf8), len);
    OPENSSL_free(utf8);
    if (nid == NID_commonName && cn) *cn = value;
    if (nid == NID_organizationName && orgs) orgs->push_back(value);
  }
}

// group.AuthenticatedGroupAdder: every authenticated user is in system:authenticated.
void AddAuthenticatedGroup(Identity& id) {
  if (id.user == "system:anonymous") return;
  for (const auto& g : id.groups) {
    if (g == "system:authenticated" || g == "system:unauthenticated") return;
  }
  id.groups.push_back("system:authenticated");
}

using Headers = std::vector<std::pair<std::string, std::string>>;

// The first value of each header named (case-insensitively) `name`, in order.
std::vector<std::string> Values(const Headers& headers, const std::string& name) {
  std::vector<std::string> out;
  const std::string lower = Lower(name);
  for (const auto& [k, v] : headers) {
    if (Lower(k) == lower) out.push_back(v);
  }
  return out;
}

struct Peer {
  X509Ptr leaf;
  std::vector<X509Ptr> intermediates;
};

std::optional<Peer> PeerOf(const AuthenticationInput& in) {
  if (in.peer_certificates_pem.empty()) return std::nullopt;
  Peer p;
  for (size_t i = 0; i < in.peer_certificates_pem.size(); ++i) {
    auto certs = base::ReadCertificates(in.peer_certificates_pem[i]);
    for (auto& c : certs) {
      if (!p.leaf) {
        p.leaf = std::move(c);
      } else {
        p.intermediates.push_back(std::move(c));
      }
    }
  }
  if (!p.leaf) return std::nullopt;
  return p;
}

std::string JoinNames(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + v[i];
  return s + "]";
}

}  // namespace

struct Authenticator::State {
  std::unique_ptr<CaPool> client_ca;
  std::optional<kube::RequestHeaderConfig> request_header;
  std::unique_ptr<CaPool> request_header_ca;
};

kube::RequestHeaderConfig DefaultRequestHeaderConfig() {
  kube::RequestHeaderConfig c;
  c.username_headers = {"X-Remote-User"};
  c.group_headers = {"X-Remote-Group"};
  c.extra_headers_prefix = {"X-Remote-Extra-"};
  return c;
}

std::string UnescapeExtraKey(const std::string& key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] != '%') {
      out += key[i];
      continue;
    }
    if (i + 2 >= key.size() || !std::isxdigit(static_cast<unsigned char>(key[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(key[i + 2]))) {
      return key;  // url.PathUnescape failed: the key as it came
    }
    out += static_cast<char>(std::stoi(key.substr(i + 1, 2), nullptr, 16));
    i += 2;
  }
  return out;
}

Authenticator::Authenticator(AuthenticationOptions options, kube::AccessReviewer* reviewer,
                             const base::Clock& clock)
    : options_(std::move(options)),
      reviewer_(reviewer),
      token_cache_(options_.max_cached_tokens, clock) {
  flag_client_ca_ = options_.client_ca_pem;
  flag_request_header_ = options_.request_header;
  state_ = Build(options_.client_ca_pem.value_or(""), options_.request_header);
}

Authenticator::~Authenticator() = default;

std::shared_ptr<const Authenticator::State> Authenticator::Build(
    const std::string& client_ca, const std::optional<kube::RequestHeaderConfig>& rh) const {
  auto s = std::make_shared<State>();
  if (!client_ca.empty()) s->client_ca = std::make_unique<CaPool>(client_ca, "the client CA");
  if (rh && !rh->client_ca_pem.empty()) {
    s->request_header = rh;
    s->request_header_ca = std::make_unique<CaPool>(rh->client_ca_pem, "the request-header CA");
  }
  return s;
}

std::shared_ptr<const Authenticator::State> Authenticator::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

void Authenticator::UpdateFromConfigMap(const kube::ExtensionApiserverAuthentication& config) {
  std::lock_guard lock(mu_);
  const std::string client_ca = flag_client_ca_ ? *flag_client_ca_ : config.client_ca_pem;
  const auto rh = flag_request_header_ ? flag_request_header_ : config.request_header;
  state_ = Build(client_ca, rh);
  config_map_ = config;
}

void Authenticator::UpdateFlagCas(const std::optional<std::string>& client_ca_pem,
                                  const std::optional<std::string>& request_header_ca_pem) {
  std::lock_guard lock(mu_);
  auto client = flag_client_ca_;
  auto rh = flag_request_header_;
  if (client_ca_pem && client) client = client_ca_pem;
  if (request_header_ca_pem && rh) rh->client_ca_pem = *request_header_ca_pem;
  const std::string client_ca =
      client ? *client : (config_map_ ? config_map_->client_ca_pem : std::string());
  const auto effective_rh =
      rh ? rh
         : (config_map_ ? config_map_->request_header : std::optional<kube::RequestHeaderConfig>());
  state_ = Build(client_ca, effective_rh);  // throws before anything changes
  flag_client_ca_ = std::move(client);
  flag_request_header_ = std::move(rh);
}

std::string Authenticator::AcceptableCaPem() const {
  const auto s = state();
  std::string pem;
  if (s->client_ca) pem += s->client_ca->pem + "\n";
  if (s->request_header_ca) pem += s->request_header_ca->pem;
  return pem;
}

std::string Authenticator::Describe() const {
  const auto s = state();
  std::string d = "front proxy: ";
  if (s->request_header) {
    const auto& rh = *s->request_header;
    d += "request-header CA (" + std::to_string(base::ReadCertificates(rh.client_ca_pem).size()) +
         " certificates), allowed names " +
         (rh.allowed_names.empty() ? "any" : JoinNames(rh.allowed_names)) + ", user from " +
         JoinNames(rh.username_headers) + ", groups from " + JoinNames(rh.group_headers) +
         ", extra from " + JoinNames(rh.extra_headers_prefix);
  } else {
    d += "off (no request-header CA)";
  }
  d += "; client certificates: ";
  d += s->client_ca
           ? "client CA (" + std::to_string(base::ReadCertificates(s->client_ca->pem).size()) +
                 " certificates)"
           : "off (no client CA)";
  d += "; bearer tokens: ";
  d += reviewer_ ? "TokenReview" : "off (no Kubernetes access)";
  d += "; anonymous: ";
  d += options_.anonymous ? "on" : "off";
  return d;
}

std::optional<AuthenticationResult> Authenticator::FrontProxy(
    const State& s, const PeerVerdict& peer, const Headers& headers,
    std::vector<std::string>& errors) const {
  if (!s.request_header || !s.request_header_ca || !peer.present) return std::nullopt;
  const auto& rh = *s.request_header;
  if (!peer.front_proxy_ok) {
    errors.push_back(peer.front_proxy_error);
    return std::nullopt;
  }
  AuthenticationResult r;
  for (const auto& h : rh.username_headers) {
    const auto values = Values(headers, h);
    if (!values.empty() && !values.front().empty()) {
      r.identity.user = values.front();
      break;
    }
  }
  if (r.identity.user.empty()) return std::nullopt;  // not this authenticator
  for (const auto& h : rh.group_headers) {
    for (const auto& v : Values(headers, h)) {
      if (!v.empty()) r.identity.groups.push_back(v);
    }
  }
  for (const auto& [name, value] : headers) {
    const std::string lower = Lower(name);
    for (const auto& prefix : rh.extra_headers_prefix) {
      const std::string p = Lower(prefix);
      if (lower.size() <= p.size() || lower.rfind(p, 0) != 0) continue;
      r.identity.extra[UnescapeExtraKey(lower.substr(p.size()))].push_back(value);
    }
  }
  // The identity headers are cleared (ClearAuthenticationHeaders).
  for (const auto& list : {rh.username_headers, rh.uid_headers, rh.group_headers}) {
    for (const auto& h : list) r.consumed_headers.push_back(Lower(h));
  }
  for (const auto& [name, value] : headers) {
    const std::string lower = Lower(name);
    for (const auto& prefix : rh.extra_headers_prefix) {
      if (lower.rfind(Lower(prefix), 0) == 0) r.consumed_headers.push_back(lower);
    }
  }
  r.outcome = Outcome::kAuthenticated;
  r.method = "front-proxy";
  return r;
}

std::optional<AuthenticationResult> Authenticator::ClientCert(
    const PeerVerdict& peer, std::vector<std::string>& errors) const {
  if (!peer.present) return std::nullopt;
  if (!peer.client_ok) {
    errors.push_back(peer.client_error);
    return std::nullopt;
  }
  AuthenticationResult r;
  r.identity = peer.client_identity;
  r.outcome = Outcome::kAuthenticated;
  r.method = "x509";
  return r;
}

std::shared_ptr<const Authenticator::PeerVerdict> Authenticator::VerifyPeer(
    const std::vector<std::string>& peer_certificates_pem) const {
  auto v = std::make_shared<PeerVerdict>();
  v->made_with = state();
  const State& s = *v->made_with;
  AuthenticationInput in;
  in.peer_certificates_pem = peer_certificates_pem;
  const auto peer = PeerOf(in);
  if (!peer) return v;
  v->present = true;
  if (s.request_header && s.request_header_ca) {
    const auto& rh = *s.request_header;
    v->front_proxy_error = s.request_header_ca->Verify(peer->leaf.get(), peer->intermediates);
    if (v->front_proxy_error.empty() && !rh.allowed_names.empty()) {
      std::string cn;
      SubjectOf(peer->leaf.get(), &cn, nullptr);
      if (std::find(rh.allowed_names.begin(), rh.allowed_names.end(), cn) ==
          rh.allowed_names.end()) {
        v->front_proxy_error = "x509: subject with cn=" + cn + " is not in the allowed list";
      }
    }
    v->front_proxy_ok = v->front_proxy_error.empty();
  }
  if (!s.client_ca) {
    v->client_error = "x509: no client CA is configured";
    return v;
  }
  v->client_error = s.client_ca->Verify(peer->leaf.get(), peer->intermediates);
  if (!v->client_error.empty()) return v;
  SubjectOf(peer->leaf.get(), &v->client_identity.user, &v->client_identity.groups);
  if (v->client_identity.user.empty()) {
    v->client_error = "x509: the certificate has no common name";
    return v;
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509(peer->leaf.get(), &der);
  if (len > 0) {
    v->client_identity.extra["authentication.kubernetes.io/credential-id"] = {
        "X509SHA256=" + Sha256Hex(der, static_cast<size_t>(len))};
  }
  OPENSSL_free(der);
  v->client_ok = true;
  return v;
}

bool Authenticator::IsCurrent(const PeerVerdict& verdict) const {
  return verdict.made_with == state();
}

std::optional<AuthenticationResult> Authenticator::Token(const Headers& headers,
                                                         std::vector<std::string>& errors) const {
  const auto auth = Values(headers, "Authorization");
  if (auth.empty()) return std::nullopt;
  // bearertoken.go: "Bearer <token>", the scheme in any case; anything else is not a token.
  const std::string value = base::Trim(auth.front());
  const size_t space = value.find(' ');
  if (space == std::string::npos || Lower(value.substr(0, space)) != "bearer") return std::nullopt;
  std::string token = value.substr(space + 1);
  if (const size_t more = token.find(' '); more != std::string::npos) token.resize(more);
  if (token.empty()) return std::nullopt;
  if (!reviewer_) {
    errors.push_back("bearer tokens cannot be reviewed without Kubernetes access");
    return std::nullopt;
  }
  const std::string key =
      Sha256Hex(reinterpret_cast<const unsigned char*>(token.data()), token.size());
  std::optional<kube::TokenReviewResult> review;
  {
    std::lock_guard lock(mu_);
    review = token_cache_.Get(key);
  }
  if (!review) {
    try {
      review = reviewer_->ReviewToken(token, {});
    } catch (const std::exception& e) {
      errors.push_back(e.what());  // not cached: the next request asks again
      return std::nullopt;
    }
    const auto ttl = review->authenticated ? options_.token_authenticated_ttl
                                           : options_.token_unauthenticated_ttl;
    std::lock_guard lock(mu_);
    token_cache_.Put(key, *review, ttl);
  }
  if (!review->authenticated || review->user.username.empty()) {
    errors.push_back(review->error.empty() ? "invalid bearer token" : review->error);
    return std::nullopt;
  }
  AuthenticationResult r;
  r.identity.user = review->user.username;
  r.identity.uid = review->user.uid;
  r.identity.groups = review->user.groups;
  r.identity.extra = review->user.extra;
  r.consumed_headers.push_back("authorization");
  r.outcome = Outcome::kAuthenticated;
  r.method = "token";
  return r;
}

AuthenticationResult Authenticator::Authenticate(const AuthenticationInput& input) const {
  return Authenticate(*VerifyPeer(input.peer_certificates_pem), input.headers);
}

AuthenticationResult Authenticator::Authenticate(
    const PeerVerdict& peer,
    const std::vector<std::pair<std::string, std::string>>& headers) const {
  std::vector<std::string> errors;
  std::optional<AuthenticationResult> r = FrontProxy(*peer.made_with, peer, headers, errors);
  if (!r) r = ClientCert(peer, errors);
  if (!r) r = Token(headers, errors);
  if (r) {
    AddAuthenticatedGroup(r->identity);
    return *r;
  }
  AuthenticationResult out;
  if (!errors.empty()) {
    out.outcome = Outcome::kFailed;
    for (size_t i = 0; i < errors.size(); ++i) out.error += (i ? ", " : "") + errors[i];
    if (errors.size() > 1) out.error = "[" + out.error + "]";
    return out;
  }
  if (!options_.anonymous) return out;  // kUnauthenticated
  out.outcome = Outcome::kAnonymous;
  out.method = "anonymous";
  out.identity = Identity{"system:anonymous", {"system:unauthenticated"}, "", {}};
  return out;
}

}  // namespace smi::apiserver
