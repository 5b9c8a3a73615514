// Authorization of a request (docs/decisions.md, decision 12; docs/kubernetes-api.md,
// "Authorization"), as the generic apiserver's delegating authorizer: members of system:masters
// may do anything; /healthz, /livez and /readyz are open; everything else is decided by a
// SubjectAccessReview to kube-apiserver with the attributes its RequestInfo gives the request, the
// decision cached briefly, failing closed.
// Without Kubernetes access, the local mode AlwaysAllowAuthenticated lets every authenticated
// caller read (it must be asked for; the server says so when it starts).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "apiserver/http_types.h"
#include "apiserver/request_info.h"
#include "base/clock.h"
#include "base/ttl_cache.h"
#include "kube/access_review.h"
#include "model/go_quote.h"

namespace smi::apiserver {

enum class AuthorizationMode {
  kDelegated,                 // SubjectAccessReview (needs Kubernetes access)
  kAlwaysAllowAuthenticated,  // local mode: any authenticated caller may read
};

// "Delegated" / "AlwaysAllowAuthenticated"; throws std::invalid_argument for anything else.
AuthorizationMode ParseAuthorizationMode(const std::string& text);
std::string ToString(AuthorizationMode mode);

struct AuthorizationOptions {
  AuthorizationMode mode = AuthorizationMode::kDelegated;
  std::vector<std::string> always_allow_groups{"system:masters"};
  // Exact paths, or prefixes ending in '*' (as --authorization-always-allow-paths).
  std::vector<std::string> always_allow_paths{"/healthz", "/readyz", "/livez"};
  std::chrono::milliseconds allowed_ttl{10000};  // --authorization-webhook-cache-authorized-ttl
  std::chrono::milliseconds denied_ttl{10000};   // --authorization-webhook-cache-unauthorized-ttl
  // At most this many decisions are kept, so that a burst of distinct requests cannot grow the
  // cache without bound (the oldest decisions go first).
  size_t max_cached_decisions = 4096;
};

enum class Decision { kAllow, kDeny, kNoOpinion };

class Authorizer {
 public:
  // `reviewer` is required in kDelegated mode (and unused otherwise); it must outlive this.
  // `clock` (monotonic time) expires cached decisions; it must outlive this too.
  Authorizer(AuthorizationOptions options, kube::AccessReviewer* reviewer,
             const base::Clock& clock = base::DefaultClock());

  // The request may go on (nullopt), or the answer to send instead: 401 Unauthorized without an
  // identity (or anonymous in the local mode), 403 Forbidden with the generic apiserver's
  // message, or 500 when the review could not be had.
  std::optional<HttpResponse> Authorize(const HttpRequest& request) const;

  // The decision alone; `reason` gets the SubjectAccessReview's reason. Throws kube::ReviewError
  // when no decision could be had.
  Decision Decide(const RequestInfo& info, const Identity& who, std::string* reason) const;

  // Whether Authorize lets the request go on, known without asking kube-apiserver (the local
  // mode, an always-allowed group or path, or a review's answer still cached). False: not allowed,
  // or not known without asking; Authorize then says which.
  bool AllowsWithoutAsking(const HttpRequest& request) const;

  // The review this server sends for a request (for tests and logs).
  static kube::SubjectAccessReviewSpec ReviewSpec(const RequestInfo& info, const Identity& who);

  const AuthorizationOptions& options() const { return options_; }

 private:
  // The decision when it needs no review, or the review's answer is cached; nullopt: a
  // SubjectAccessReview must be asked, and `review_key` is its cache key.
  std::optional<Decision> KnownDecision(const RequestInfo& info, const Identity& who,
                                        std::string* reason, std::string* review_key) const;

  AuthorizationOptions options_;
  kube::AccessReviewer* reviewer_;
  mutable std::mutex mu_;
  // Key: the spec's JSON. Guarded by mu_.
  mutable base::TtlCache<std::string, kube::SubjectAccessReviewStatus> cache_;
};

// The 403 the generic apiserver answers (responsewriters.Forbidden + apierrors.NewForbidden):
//   deployments.metrics.smi-spec.io "foo" is forbidden: User "alice" cannot get resource
//   "deployments" in API group "metrics.smi-spec.io" in the namespace "default"[: <reason>]
HttpResponse ForbiddenResponse(const RequestInfo& info, const std::string& user,
                               const std::string& reason);
// Just the text after "is forbidden: " (forbiddenMessage).
std::string ForbiddenMessage(const RequestInfo& info, const std::string& user);

using model::GoQuote;  // model/go_quote.h

}  // namespace smi::apiserver
