// The authorization attributes of a request, exactly as kube-apiserver's RequestInfoFactory
// (k8s.io/apiserver pkg/endpoints/request/requestinfo.go) derives them, so that a
// SubjectAccessReview from this server asks what kube-apiserver already authorised the proxied
// request for. Quirks kept on purpose: /namespaces/{ns} is resource "namespaces", name and
// namespace {ns}; /namespaces/{ns}/edges is resource "edges" (verb list) in namespace {ns}.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace smi::apiserver {

struct RequestInfo {
  bool is_resource_request = false;
  std::string path;  // the URL path (non-resource requests are authorised on it)
  // get, list, watch, create, update, patch, delete, deletecollection, proxy; for non-resource
  // requests the lower-cased method (so HEAD is "head" there).
  std::string verb;
  std::string api_prefix;  // api or apis
  std::string api_group;   // "" for the core group
  std::string api_version;
  std::string ns;
  std::string resource;
  std::string subresource;
  std::string name;
  std::vector<std::string> parts;  // resource/name/subresource/...
};

// `params` are the decoded query parameters (the first value of a repeated one counts, as in Go).
RequestInfo NewRequestInfo(std::string_view method, std::string_view path,
                           const std::multimap<std::string, std::string>& params = {});

}  // namespace smi::apiserver
