#include "apiserver/request_info.h"

#include "base/strings.h"
#include "kube/field_selector.h"

namespace smi::apiserver {

namespace {

using base::Lower;

// splitPath: trim every leading and trailing '/', then split on '/' (inner empty parts stay).
std::vector<std::string> SplitPath(std::string_view path) {
  const auto b = path.find_first_not_of('/');
  if (b == std::string_view::npos) return {};
  const auto e = path.find_last_not_of('/');
  path = path.substr(b, e - b + 1);
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    parts.emplace_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

const std::string* First(const std::multimap<std::string, std::string>& params,
                         const std::string& key) {
  const auto range = params.equal_range(key);
  return range.first == range.second ? nullptr : &range.first->second;
}

// path.IsValidPathSegmentName: not "." or "..", no '/' or '%'.
bool IsValidPathSegmentName(const std::string& name) {
  if (name == "." || name == "..") return false;
  return name.find('/') == std::string::npos && name.find('%') == std::string::npos;
}

}  // namespace

RequestInfo NewRequestInfo(std::string_view method, std::string_view path,
                           const std::multimap<std::string, std::string>& params) {
  RequestInfo info;
  info.path = std::string(path);
  info.verb = Lower(method);

  std::vector<std::string> parts = SplitPath(path);
  if (parts.size() < 3) return info;  // a non-resource request
  if (parts[0] != "api" && parts[0] != "apis") return info;
  info.api_prefix = parts[0];
  parts.erase(parts.begin());
  if (info.api_prefix != "api") {  // the core group has no group segment
    if (parts.size() < 3) return info;
    info.api_group = parts[0];
    parts.erase(parts.begin());
  }
  info.is_resource_request = true;
  info.api_version = parts[0];
  parts.erase(parts.begin());

  // /{specialVerb}/...: proxy and watch.
  if (parts[0] == "proxy" || parts[0] == "watch") {
    if (parts.size() < 2) {
      // requestinfo.go answers an error here ("unable to determine kind and namespace"), which
      // the filter turns into a 500; keep the request a resource request without resource, which
      // no rule grants.
      info.verb = parts[0];
      parts.clear();
      info.parts = parts;
      return info;
    }
    info.verb = parts[0];
    parts.erase(parts.begin());
  } else if (method == "POST") {
    info.verb = "create";
  } else if (method == "GET" || method == "HEAD") {
    info.verb = "get";
  } else if (method == "PUT") {
    info.verb = "update";
  } else if (method == "PATCH") {
    info.verb = "patch";
  } else if (method == "DELETE") {
    info.verb = "delete";
  } else {
    info.verb = "";
  }

  // /namespaces/{namespace}/{resource}/...: parts become relative to the resource, unless the
  // step after the namespace is one of its subresources (status, finalize).
  if (parts[0] == "namespaces") {
    if (parts.size() > 1) {
      info.ns = parts[1];
      if (parts.size() > 2 && parts[2] != "status" && parts[2] != "finalize") {
        parts.erase(parts.begin(), parts.begin() + 2);
      }
    }
  }
  info.parts = parts;

  if (parts.size() >= 3 && info.verb != "proxy") info.subresource = parts[2];
  if (parts.size() >= 2) info.name = parts[1];
  if (parts.size() >= 1) info.resource = parts[0];

  // No name and a get: a list, or a watch.
  if (info.name.empty() && info.verb == "get") {
    bool watch = false;
    if (const std::string* w = First(params, "watch")) {
      const std::string v = Lower(*w);
      watch = !(v == "false" || v == "0");
    }
    info.verb = watch ? "watch" : "list";
    // An exact metadata.name field selector names the object (so resourceNames RBAC works).
    if (const std::string* fs = First(params, "fieldSelector"); fs && !fs->empty()) {
      try {
        const auto selector = kube::FieldSelector::Parse(*fs);
        for (const auto& r : selector.requirements()) {
          if (r.field == "metadata.name" && !r.negate) {
            if (IsValidPathSegmentName(r.value)) info.name = r.value;
            break;
          }
        }
      } catch (const std::exception&) {
        // requestinfo.go: a selector that does not parse leaves the name unset.
      }
    }
  }
  if (info.name.empty() && info.verb == "delete") info.verb = "deletecollection";
  return info;
}

}  // namespace smi::apiserver
