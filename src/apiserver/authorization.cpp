#include "apiserver/authorization.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "apiserver/status.h"

namespace smi::apiserver {

namespace {

bool IsAnonymous(const Identity& who) {
  return who.user == "system:anonymous" || std::find(who.groups.begin(), who.groups.end(),
                                                     "system:unauthenticated") != who.groups.end();
}

// responsewriters' sanitizer: & < > as HTML entities.
std::string Sanitize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

bool PathAllowed(const std::vector<std::string>& patterns, const std::string& path) {
  // authorizerfactory path authorizer: compared without the leading '/'.
  const std::string p = path.rfind('/', 0) == 0 ? path.substr(1) : path;
  for (std::string pattern : patterns) {
    if (pattern.rfind('/', 0) == 0) pattern = pattern.substr(1);
    if (!pattern.empty() && pattern.back() == '*') {
      if (p.rfind(pattern.substr(0, pattern.size() - 1), 0) == 0) return true;
    } else if (p == pattern) {
      return true;
    }
  }
  return false;
}

}  // namespace

AuthorizationMode ParseAuthorizationMode(const std::string& text) {
  if (text == "Delegated") return AuthorizationMode::kDelegated;
  if (text == "AlwaysAllowAuthenticated") return AuthorizationMode::kAlwaysAllowAuthenticated;
  throw std::invalid_argument("--authorization-mode: \"" + text +
                              "\" is neither Delegated nor AlwaysAllowAuthenticated");
}

std::string ToString(AuthorizationMode mode) {
  return mode == AuthorizationMode::kDelegated ? "Delegated" : "AlwaysAllowAuthenticated";
}

std::string ForbiddenMessage(const RequestInfo& info, const std::string& user) {
  if (!info.is_resource_request) {
    return "User " + GoQuote(user) + " cannot " + info.verb + " path " + GoQuote(info.path);
  }
  std::string resource = info.resource;
  if (!info.subresource.empty()) resource += "/" + info.subresource;
  std::string m = "User " + GoQuote(user) + " cannot " + info.verb + " resource " +
                  GoQuote(resource) + " in API group " + GoQuote(info.api_group);
  if (!info.ns.empty()) return m + " in the namespace " + GoQuote(info.ns);
  return m + " at the cluster scope";
}

HttpResponse ForbiddenResponse(const RequestInfo& info, const std::string& user,
                               const std::string& reason) {
  std::string err = Sanitize(ForbiddenMessage(info, user));
  if (!reason.empty()) err += ": " + reason;
  // apierrors.NewForbidden(GroupResource{group, resource}, name, err)
  const std::string& group = info.is_resource_request ? info.api_group : "";
  const std::string& resource = info.is_resource_request ? info.resource : "";
  const std::string& name = info.is_resource_request ? info.name : "";
  std::string message;
  if (group.empty() && resource.empty()) {
    message = "forbidden: " + err;
  } else {
    const std::string gr = group.empty() ? resource : resource + "." + group;
    message = name.empty() ? gr + " is forbidden: " + err
                           : gr + " " + GoQuote(name) + " is forbidden: " + err;
  }
  HttpResponse r = StatusResponse(403, "Forbidden", message, {name, group, resource});
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

Authorizer::Authorizer(AuthorizationOptions options, kube::AccessReviewer* reviewer,
                       const base::Clock& clock)
    : options_(std::move(options)),
      reviewer_(reviewer),
      cache_(options_.max_cached_decisions, clock) {}

kube::SubjectAccessReviewSpec Authorizer::ReviewSpec(const RequestInfo& info, const Identity& who) {
  kube::SubjectAccessReviewSpec spec;
  spec.user.username = who.user;
  spec.user.uid = who.uid;
  spec.user.groups = who.groups;
  spec.user.extra = who.extra;
  if (info.is_resource_request) {
    spec.resource =
        kube::ResourceAttributes{info.ns,       info.verb,        info.api_group, info.api_version,
                                 info.resource, info.subresource, info.name};
  } else {
    spec.non_resource = kube::NonResourceAttributes{info.path, info.verb};
  }
  return spec;
}

namespace {

Decision DecisionOf(const kube::SubjectAccessReviewStatus& status, std::string* reason) {
  if (reason) *reason = status.reason;
  if (status.allowed && status.denied) {
    throw kube::ReviewError("webhook subject access review returned both allow and deny response");
  }
  if (status.denied) return Decision::kDeny;
  if (status.allowed) return Decision::kAllow;
  return Decision::kNoOpinion;
}

}  // namespace

std::optional<Decision> Authorizer::KnownDecision(const RequestInfo& info, const Identity& who,
                                                  std::string* reason,
                                                  std::string* review_key) const {
  for (const auto& g : who.groups) {
    if (std::find(options_.always_allow_groups.begin(), options_.always_allow_groups.end(), g) !=
        options_.always_allow_groups.end()) {
      return Decision::kAllow;
    }
  }
  if (!info.is_resource_request && PathAllowed(options_.always_allow_paths, info.path)) {
    return Decision::kAllow;
  }
  if (options_.mode == AuthorizationMode::kAlwaysAllowAuthenticated) {
    return IsAnonymous(who) ? Decision::kNoOpinion : Decision::kAllow;
  }
  if (!reviewer_) throw kube::ReviewError("no SubjectAccessReview client (no Kubernetes access)");
  *review_key = kube::ToJson(ReviewSpec(info, who)).dump();
  std::optional<kube::SubjectAccessReviewStatus> status;
  {
    std::lock_guard lock(mu_);
    status = cache_.Get(*review_key);
  }
  if (!status) return std::nullopt;
  return DecisionOf(*status, reason);
}

Decision Authorizer::Decide(const RequestInfo& info, const Identity& who,
                            std::string* reason) const {
  std::string key;
  if (const auto known = KnownDecision(info, who, reason, &key)) return *known;
  const auto status = reviewer_->ReviewAccess(ReviewSpec(info, who));  // throws: not cached
  {
    std::lock_guard lock(mu_);
    cache_.Put(key, status, status.allowed ? options_.allowed_ttl : options_.denied_ttl);
  }
  return DecisionOf(status, reason);
}

bool Authorizer::AllowsWithoutAsking(const HttpRequest& request) const {
  if (!request.identity) return false;
  const Identity& who = *request.identity;
  if (options_.mode == AuthorizationMode::kAlwaysAllowAuthenticated) return !IsAnonymous(who);
  const RequestInfo info = NewRequestInfo(request.method, request.path, request.params);
  try {
    std::string key;
    return KnownDecision(info, who, nullptr, &key) == Decision::kAllow;
  } catch (const std::exception&) {
    return false;  // Authorize answers it (a 500)
  }
}

std::optional<HttpResponse> Authorizer::Authorize(const HttpRequest& request) const {
  if (!request.identity) return Unauthorized();
  const Identity& who = *request.identity;
  // The local mode allows every authenticated caller everything (Decide): no attributes needed.
  if (options_.mode == AuthorizationMode::kAlwaysAllowAuthenticated && !IsAnonymous(who)) {
    return std::nullopt;
  }
  const RequestInfo info = NewRequestInfo(request.method, request.path, request.params);
  if (options_.mode == AuthorizationMode::kAlwaysAllowAuthenticated && IsAnonymous(who) &&
      !(!info.is_resource_request && PathAllowed(options_.always_allow_paths, info.path))) {
    // The local mode has no rules for anonymous callers: they must authenticate.
    return Unauthorized();
  }
  std::string reason;
  Decision decision;
  try {
    decision = Decide(info, who, &reason);
  } catch (const std::exception& e) {
    // filters/authorization.go: an error without an Allow is a 500 (fail closed, not a 403).
    HttpResponse r;
    r.status = 500;
    r.content_type = "text/plain; charset=utf-8";
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    const std::string uri = request.target.empty() ? request.path : request.target;
    r.body = Sanitize("Internal Server Error: " + GoQuote(uri) + ": " + e.what()) + "\n";
    return r;
  }
  if (decision == Decision::kAllow) return std::nullopt;
  return ForbiddenResponse(info, who.user, reason);
}

}  // namespace smi::apiserver
