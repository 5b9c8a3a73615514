// Authentication of a request (docs/decisions.md, decision 12), in the generic apiserver's
// delegating order (k8s.io/apiserver authenticatorfactory/delegating.go; docs/kubernetes-api.md,
// "Identity and access"):
//   1. front proxy: a client certificate verified against the request-header CA, with a CN in
//      the allowed names (empty: any), names the user in X-Remote-User, the groups in repeated
//      X-Remote-Group, extras in X-Remote-Extra-<escaped key> (header names configurable).
//      Those headers mean nothing without such a certificate.
//   2. a client certificate verified against the client CA: CN is the user, each O a group.
//   3. a bearer token, reviewed by kube-apiserver (TokenReview), the answer cached briefly.
//   4. no credentials at all: anonymous (system:anonymous, system:unauthenticated), if enabled.
// Credentials that were presented but that no step accepted fail the request (401).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apiserver/http_types.h"
#include "base/clock.h"
#include "base/ttl_cache.h"
#include "kube/access_review.h"
#include "kube/authentication_config.h"

namespace smi::apiserver {

struct AuthenticationOptions {
  // Given by flags; unset: taken from the extension-apiserver-authentication ConfigMap (as the
  // generic apiserver does, each part separately) once UpdateFromConfigMap is called.
  std::optional<std::string> client_ca_pem;
  std::optional<kube::RequestHeaderConfig> request_header;
  bool anonymous = true;  // --anonymous-auth
  // TokenReview answers are reused this long (authenticated / not authenticated).
  std::chrono::milliseconds token_authenticated_ttl{10000};
  std::chrono::milliseconds token_unauthenticated_ttl{2000};
  // At most this many answers are kept, so that a burst of distinct tokens cannot grow the cache
  // without bound (the oldest answers go first).
  size_t max_cached_tokens = 4096;
};

// The header defaults of the generic apiserver's request-header options.
kube::RequestHeaderConfig DefaultRequestHeaderConfig();

struct AuthenticationInput {
  // The TLS peer's certificates, PEM, leaf first, then the intermediates it sent; empty: none.
  std::vector<std::string> peer_certificates_pem;
  // Every header line as received (names in any case), repeated ones in order.
  std::vector<std::pair<std::string, std::string>> headers;
};

struct AuthenticationResult {
  enum class Outcome { kAuthenticated, kAnonymous, kUnauthenticated, kFailed };
  // kAnonymous: no credentials and anonymous is enabled; kUnauthenticated: no credentials and it
  // is not; kFailed: credentials presented and refused (401).
  Outcome outcome = Outcome::kUnauthenticated;
  Identity identity;   // kAuthenticated, kAnonymous
  std::string method;  // "front-proxy", "x509", "token", "anonymous"
  std::string error;   // kFailed: why, for the log (the client only reads "Unauthorized")
  // Lower-cased names of headers that carried credentials (the front proxy's identity headers
  // and Authorization): the handler does not see them.
  std::vector<std::string> consumed_headers;
};

class Authenticator {
  struct State;

 public:
  // What a TLS peer's certificates prove against the CAs in force when it was made. The server
  // makes one per connection (the peer cannot change its certificate within one) and re-makes it
  // only when the CAs change, so a chain is verified once, not on every request.
  struct PeerVerdict {
    bool present = false;  // the peer sent a certificate
    // Front proxy: empty when the chain verified against the request-header CA with an allowed
    // CN; otherwise why not ("" and !front_proxy_ok when no request-header CA is configured).
    bool front_proxy_ok = false;
    std::string front_proxy_error;
    // Client CA: the identity the certificate names when it verified; otherwise why not.
    bool client_ok = false;
    Identity client_identity;
    std::string client_error;
    std::shared_ptr<const State> made_with;  // the CAs it was checked against
  };
  // `reviewer` may be null: bearer tokens then fail authentication. `clock` (monotonic time)
  // expires cached TokenReview answers; it must outlive this.
  Authenticator(AuthenticationOptions options, kube::AccessReviewer* reviewer,
                const base::Clock& clock = base::DefaultClock());
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  AuthenticationResult Authenticate(const AuthenticationInput& input) const;

  // The two halves of Authenticate: the peer's certificates (PEM, leaf first), once per
  // connection; then each request's headers with that verdict.
  std::shared_ptr<const PeerVerdict> VerifyPeer(
      const std::vector<std::string>& peer_certificates_pem) const;
  // Whether `verdict` was made against the CAs in force now; if not, verify the peer again.
  bool IsCurrent(const PeerVerdict& verdict) const;
  AuthenticationResult Authenticate(
      const PeerVerdict& peer,
      const std::vector<std::pair<std::string, std::string>>& headers) const;

  // The ConfigMap's client CA and request-header settings replace the current ones, for every
  // part not fixed by a flag. Throws std::invalid_argument if a CA bundle holds no certificate.
  void UpdateFromConfigMap(const kube::ExtensionApiserverAuthentication& config);

  // New contents of the CA files given by flags (--client-ca-file,
  // --requestheader-client-ca-file), re-read after they changed; nullopt leaves one as it is.
  // Throws std::invalid_argument (and changes nothing) if a bundle holds no certificate.
  void UpdateFlagCas(const std::optional<std::string>& client_ca_pem,
                     const std::optional<std::string>& request_header_ca_pem);

  // Both CA bundles (client and request-header), for the TLS handshake's list of acceptable
  // client-certificate issuers.
  std::string AcceptableCaPem() const;
  // One line for the start-up log.
  std::string Describe() const;

 private:
  std::shared_ptr<const State> state() const;
  std::shared_ptr<const State> Build(const std::string& client_ca,
                                     const std::optional<kube::RequestHeaderConfig>& rh) const;
  std::optional<AuthenticationResult> FrontProxy(
      const State& s, const PeerVerdict& peer,
      const std::vector<std::pair<std::string, std::string>>& headers,
      std::vector<std::string>& errors) const;
  std::optional<AuthenticationResult> ClientCert(const PeerVerdict& peer,
                                                 std::vector<std::string>& errors) const;
  std::optional<AuthenticationResult> Token(
      const std::vector<std::pair<std::string, std::string>>& headers,
      std::vector<std::string>& errors) const;

  AuthenticationOptions options_;
  kube::AccessReviewer* reviewer_;
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;
  // The ConfigMap's settings last applied (guarded by mu_), for rebuilding after a flag CA changes.
  std::optional<kube::ExtensionApiserverAuthentication> config_map_;
  // The CAs fixed by flags (their files may be re-read); guarded by mu_.
  std::optional<std::string> flag_client_ca_;
  std::optional<kube::RequestHeaderConfig> flag_request_header_;
  // Key: SHA-256 of the token. Guarded by mu_.
  mutable base::TtlCache<std::string, kube::TokenReviewResult> token_cache_;
};

// url.PathUnescape of an extra key ("%2f" -> "/"); the key itself if it does not unescape.
std::string UnescapeExtraKey(const std::string& key);

}  // namespace smi::apiserver
