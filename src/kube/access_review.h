// Delegated authentication and authorization against kube-apiserver: TokenReview
// (authentication.k8s.io/v1) and SubjectAccessReview (authorization.k8s.io/v1), as the generic
// apiserver's webhook token authenticator and webhook authorizer send them. No caching here: the
// callers (src/apiserver/authentication, authorization) cache decisions.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/credentials.h"

namespace smi::kube {

// A review could not be had: kube-apiserver unreachable, an error answer, a garbled body. The
// caller fails closed (authentication: 401; authorization: 500, as the generic apiserver).
class ReviewError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// user.Info: who a request is from.
struct UserInfo {
  std::string username;
  std::string uid;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;
  friend bool operator==(const UserInfo&, const UserInfo&) = default;
};

struct TokenReviewResult {
  bool authenticated = false;
  UserInfo user;
  std::vector<std::string> audiences;
  std::string error;  // status.error: why the token was not accepted
};

// authorization.k8s.io/v1 ResourceAttributes (selectors are not sent; RBAC ignores them).
struct ResourceAttributes {
  std::string ns, verb, group, version, resource, subresource, name;
};

struct NonResourceAttributes {
  std::string path, verb;
};

struct SubjectAccessReviewSpec {
  std::optional<ResourceAttributes> resource;         // exactly one of resource and
  std::optional<NonResourceAttributes> non_resource;  // non_resource is set
  UserInfo user;
};

struct SubjectAccessReviewStatus {
  bool allowed = false;
  bool denied = false;
  std::string reason;
  std::string evaluation_error;
};

// The spec as Go's encoding/json writes authorizationv1.SubjectAccessReviewSpec (field order,
// omitempty); its dump() is also the webhook authorizer's cache key.
nlohmann::ordered_json ToJson(const SubjectAccessReviewSpec& spec);

class AccessReviewer {
 public:
  virtual ~AccessReviewer() = default;
  // Throws ReviewError when no answer could be had (after the retries).
  virtual TokenReviewResult ReviewToken(const std::string& token,
                                        const std::vector<std::string>& audiences) = 0;
  virtual SubjectAccessReviewStatus ReviewAccess(const SubjectAccessReviewSpec& spec) = 0;
};

// The reviews POSTed to kube-apiserver with the server's own credentials (RBAC: create
// tokenreviews.authentication.k8s.io and subjectaccessreviews.authorization.k8s.io, i.e. the
// ClusterRole system:auth-delegator). Thread-safe: a small pool of connections.
class RestAccessReviewer : public AccessReviewer {
 public:
  struct Options {
    std::chrono::milliseconds timeout{10000};  // per attempt, as the webhooks' 10 s
    // Transport errors and 5xx/429 answers are retried: `attempts` in all, waiting `backoff`,
    // then ×1.5 each time (DefaultAuthWebhookRetryBackoff: 500 ms, 1.5, 5 steps).
    int attempts = 5;
    std::chrono::milliseconds backoff{500};
  };
  RestAccessReviewer(RestConfig config, Options options);
  explicit RestAccessReviewer(RestConfig config) : RestAccessReviewer(std::move(config), {}) {}
  ~RestAccessReviewer() override;

  TokenReviewResult ReviewToken(const std::string& token,
                                const std::vector<std::string>& audiences) override;
  SubjectAccessReviewStatus ReviewAccess(const SubjectAccessReviewSpec& spec) override;

  // For tests and logs: the JSON body of a request (TokenReview or SubjectAccessReview).
  static std::string TokenReviewBody(const std::string& token,
                                     const std::vector<std::string>& audiences);
  static std::string SubjectAccessReviewBody(const SubjectAccessReviewSpec& spec);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Decoding of the answers (exposed for tests). Throw ReviewError on a malformed body.
TokenReviewResult ParseTokenReview(const std::string& body);
SubjectAccessReviewStatus ParseSubjectAccessReview(const std::string& body);

}  // namespace smi::kube
