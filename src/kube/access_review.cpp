#include "kube/access_review.h"

#include <thread>
#include <vector>

#include "kube/rest_client.h"

namespace smi::kube {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr const char* kTokenReviewPath = "/apis/authentication.k8s.io/v1/tokenreviews";
constexpr const char* kSubjectAccessReviewPath =
    "/apis/authorization.k8s.io/v1/subjectaccessreviews";

void PutIfNotEmpty(ordered_json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  for (const auto& v : j.at(key)) out.push_back(v.get<std::string>());
  return out;
}

}  // namespace

ordered_json ToJson(const SubjectAccessReviewSpec& spec) {
  ordered_json j = ordered_json::object();
  if (spec.resource) {
    const auto& r = *spec.resource;
    ordered_json a = ordered_json::object();
    PutIfNotEmpty(a, "namespace", r.ns);
    PutIfNotEmpty(a, "verb", r.verb);
    PutIfNotEmpty(a, "group", r.group);
    PutIfNotEmpty(a, "version", r.version);
    PutIfNotEmpty(a, "resource", r.resource);
    PutIfNotEmpty(a, "subresource", r.subresource);
    PutIfNotEmpty(a, "name", r.name);
    j["resourceAttributes"] = a;
  }
  if (spec.non_resource) {
    ordered_json a = ordered_json::object();
    PutIfNotEmpty(a, "path", spec.non_resource->path);
    PutIfNotEmpty(a, "verb", spec.non_resource->verb);
    j["nonResourceAttributes"] = a;
  }
  PutIfNotEmpty(j, "user", spec.user.username);
  if (!spec.user.groups.empty()) j["groups"] = spec.user.groups;
  if (!spec.user.extra.empty()) {
    ordered_json extra = ordered_json::object();
    for (const auto& [k, v] : spec.user.extra) extra[k] = v;  // std::map: sorted, as Go's
    j["extra"] = extra;
  }
  PutIfNotEmpty(j, "uid", spec.user.uid);
  return j;
}

std::string RestAccessReviewer::TokenReviewBody(const std::string& token,
                                                const std::vector<std::string>& audiences) {
  ordered_json spec = {{"token", token}};
  if (!audiences.empty()) spec["audiences"] = audiences;
  ordered_json body = {{"kind", "TokenReview"},
                       {"apiVersion", "authentication.k8s.io/v1"},
                       {"metadata", {{"creationTimestamp", nullptr}}},
                       {"spec", spec},
                       {"status", {{"user", ordered_json::object()}}}};
  return body.dump();
}

std::string RestAccessReviewer::SubjectAccessReviewBody(const SubjectAccessReviewSpec& spec) {
  ordered_json body = {{"kind", "SubjectAccessReview"},
                       {"apiVersion", "authorization.k8s.io/v1"},
                       {"metadata", {{"creationTimestamp", nullptr}}},
                       {"spec", ToJson(spec)},
                       {"status", {{"allowed", false}}}};
  return body.dump();
}

TokenReviewResult ParseTokenReview(const std::string& body) {
  try {
    const json j = json::parse(body);
    TokenReviewResult r;
    const json status = j.value("status", json::object());
    r.authenticated = status.value("authenticated", false);
    r.error = status.value("error", "");
    r.audiences = Strings(status, "audiences");
    const json user = status.value("user", json::object());
    r.user.username = user.value("username", "");
    r.user.uid = user.value("uid", "");
    r.user.groups = Strings(user, "groups");
    if (user.contains("extra") && user["extra"].is_object()) {
      for (const auto& [k, v] : user["extra"].items()) {
        r.user.extra[k] =
            v.is_null() ? std::vector<std::string>{} : v.get<std::vector<std::string>>();
      }
    }
    return r;
  } catch (const json::exception& e) {
    throw ReviewError(std::string("malformed TokenReview answer: ") + e.what());
  }
}

SubjectAccessReviewStatus ParseSubjectAccessReview(const std::string& body) {
  try {
    const json j = json::parse(body);
    SubjectAccessReviewStatus s;
    const json status = j.value("status", json::object());
    s.allowed = status.value("allowed", false);
    s.denied = status.value("denied", false);
    s.reason = status.value("reason", "");
    s.evaluation_error = status.value("evaluationError", "");
    return s;
  } catch (const json::exception& e) {
    throw ReviewError(std::string("malformed SubjectAccessReview answer: ") + e.what());
  }
}

struct RestAccessReviewer::Impl {
  RestConfig config;
  Options options;
  std::mutex mu;
  std::vector<std::unique_ptr<RestClient>> idle;  // connections not in use

  std::unique_ptr<RestClient> Take() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    RestClient::Options o;
    o.connect_timeout = options.timeout;
    o.request_timeout = options.timeout;
    return std::make_unique<RestClient>(config, o);
  }
  void Give(std::unique_ptr<RestClient> c) {
    std::lock_guard lock(mu);
    if (idle.size() < 8) idle.push_back(std::move(c));
  }

  // POSTs with the webhook's retry policy; returns the body of a 2xx answer.
  std::string Post(const char* path, const std::string& body, const char* what) {
    auto wait = options.backoff;
    std::string last;
    for (int attempt = 1; attempt <= std::max(1, options.attempts); ++attempt) {
      if (attempt > 1) {
        std::this_thread::sleep_for(wait);
        wait = std::chrono::milliseconds(wait.count() * 3 / 2);
      }
      std::unique_ptr<RestClient> client;
      try {
        client = Take();
        const HttpResponse r = client->Post(path, body);
        Give(std::move(client));
        if (r.status == 200 || r.status == 201) return r.body;
        last = std::string(what) + " failed: " + DescribeHttpError(r);
        // Only a server-side or throttling answer may go better on a retry.
        if (r.status < 500 && r.status != 429) break;
      } catch (const TransportError& e) {
        last = std::string(what) + " failed: " + e.what();  // the connection is dropped
      } catch (const ConfigError& e) {
        throw ReviewError(std::string(what) + " failed: " + e.what());
      }
    }
    throw ReviewError(last);
  }
};

RestAccessReviewer::RestAccessReviewer(RestConfig config, Options options)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->options = options;
}

RestAccessReviewer::~RestAccessReviewer() = default;

TokenReviewResult RestAccessReviewer::ReviewToken(const std::string& token,
                                                  const std::vector<std::string>& audiences) {
  return ParseTokenReview(
      impl_->Post(kTokenReviewPath, TokenReviewBody(token, audiences), "TokenReview"));
}

SubjectAccessReviewStatus RestAccessReviewer::ReviewAccess(const SubjectAccessReviewSpec& spec) {
  return ParseSubjectAccessReview(
      impl_->Post(kSubjectAccessReviewPath, SubjectAccessReviewBody(spec), "SubjectAccessReview"));
}

}  // namespace smi::kube
