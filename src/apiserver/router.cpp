#include "apiserver/router.h"

#include <vector>

#include "model/kube_names.h"

namespace smi::apiserver {

namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    const size_t start = i;
    while (i < path.size() && path[i] != '/') ++i;
    if (i > start) out.push_back(path.substr(start, i - start));
  }
  return out;
}

Route Api(Endpoint e, std::string_view version) {
  Route r;
  r.endpoint = e;
  r.version = std::string(version);
  return r;
}

}  // namespace

bool IsServedVersion(std::string_view version) {
  return version == "v1alpha1" || version == "v1alpha2";
}

Route MatchRoute(std::string_view path) {
  const auto seg = Segments(path);
  Route none;
  if (seg.empty()) return none;
  if (seg.size() == 1) {
    if (seg[0] == "apis") return Api(Endpoint::kApis, "");
    if (seg[0] == "version") return Api(Endpoint::kVersion, "");
    if (seg[0] == "healthz") return Api(Endpoint::kHealthz, "");
    if (seg[0] == "livez") return Api(Endpoint::kLivez, "");
    if (seg[0] == "readyz") return Api(Endpoint::kReadyz, "");
    if (seg[0] == "metrics") return Api(Endpoint::kMetrics, "");
    return none;
  }
  if (seg.size() == 4 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "namespaces") {
    Route r = Api(Endpoint::kCoreNamespace, "");
    r.resource = KindResource{model::ResourceKind::kNamespace};
    r.name = std::string(seg[3]);
    r.invalid_name = !model::IsDns1123Label(seg[3]);
    return r;
  }
  if (seg[0] == "openapi") {
    if (seg.size() == 2 && seg[1] == "v2") return Api(Endpoint::kOpenApiV2, "");
    if (seg.size() == 2 && seg[1] == "v3") return Api(Endpoint::kOpenApiV3, "");
    if (seg.size() == 5 && seg[1] == "v3" && seg[2] == "apis" && seg[3] == kGroup &&
        IsServedVersion(seg[4])) {
      return Api(Endpoint::kOpenApiV3Version, seg[4]);
    }
    return none;
  }
  if (seg[0] != "apis" || seg[1] != kGroup) return none;
  if (seg.size() == 2) return Api(Endpoint::kApiGroup, "");
  const auto version = seg[2];
  if (!IsServedVersion(version)) return none;
  if (seg.size() == 3) return Api(Endpoint::kResourceList, version);

  // Below /apis/<group>/<version>.
  const std::vector<std::string_view> rest(seg.begin() + 3, seg.end());
  Route r = Api(Endpoint::kNotFound, version);
  auto object = [&](model::ResourceKind kind, std::string_view ns, std::string_view name,
                    Endpoint e) {
    r.endpoint = e;
    r.resource = KindResource{kind};
    r.ns = std::string(ns);
    r.name = std::string(name);
    const bool ns_ok = ns.empty() || model::IsDns1123Label(ns);
    const bool name_ok =
        name.empty() || (kind == model::ResourceKind::kNamespace ? model::IsDns1123Label(name)
                                                                 : model::IsDns1123Subdomain(name));
    r.invalid_name = !ns_ok || !name_ok;
    return r;
  };
  using model::ResourceKind;
  auto workloads = [&](std::string_view ns, std::string_view name, Endpoint e) {
    object(ResourceKind::kDeployment, ns, name, e);
    r.resource = WorkloadsResource{};
    return r;
  };
  if (rest[0] == "namespaces" && rest.size() >= 3 && rest[2] == kTrafficMetricsResource) {
    switch (rest.size()) {
      case 3:
        return workloads(rest[1], "", Endpoint::kList);
      case 4:
        return workloads(rest[1], rest[3], Endpoint::kGet);
      case 5:
        return rest[4] == "edges" ? workloads(rest[1], rest[3], Endpoint::kEdges) : none;
      default:
        return none;
    }
  }
  auto splits = [&](std::string_view ns, std::string_view name, Endpoint e) {
    object(ResourceKind::kDeployment, ns, name, e);
    r.resource = TrafficSplitsResource{};
    return r;
  };
  if (rest[0] == "namespaces" && rest.size() >= 3 && rest[2] == kTrafficSplitsResource) {
    if (rest.size() == 3) return splits(rest[1], "", Endpoint::kList);
    if (rest.size() == 4) return splits(rest[1], rest[3], Endpoint::kGet);
    return none;
  }
  if (rest.size() == 1 && rest[0] == kTrafficSplitsResource) {
    return splits("", "", Endpoint::kList);
  }
  if (rest.size() == 1 && rest[0] == kTrafficMetricsResource) {
    return workloads("", "", Endpoint::kList);
  }
  if (rest[0] == "namespaces") {
    switch (rest.size()) {
      case 1:  // /namespaces
        return object(ResourceKind::kNamespace, "", "", Endpoint::kList);
      case 2:  // /namespaces/{name}
        return object(ResourceKind::kNamespace, "", rest[1], Endpoint::kGet);
      case 3: {
        if (rest[2] == "edges")
          return object(ResourceKind::kNamespace, "", rest[1], Endpoint::kEdges);
        const auto kind = model::KindFromPlural(rest[2]);
        if (!kind || !model::IsNamespaced(*kind)) return none;
        return object(*kind, rest[1], "", Endpoint::kList);
      }
      case 4:
      case 5: {
        const auto kind = model::KindFromPlural(rest[2]);
        if (!kind || !model::IsNamespaced(*kind)) return none;
        if (rest.size() == 4) return object(*kind, rest[1], rest[3], Endpoint::kGet);
        if (rest[4] != "edges") return none;
        return object(*kind, rest[1], rest[3], Endpoint::kEdges);
      }
      default:
        return none;
    }
  }
  if (rest.size() == 1) {  // /{kind}: all namespaces, or a cluster-scoped kind (nodes)
    const auto kind = model::KindFromPlural(rest[0]);
    if (!kind || *kind == ResourceKind::kNamespace) return none;
    return object(*kind, "", "", Endpoint::kList);
  }
  // /nodes/{name} and /nodes/{name}/edges: cluster-scoped kinds other than namespaces.
  if (rest.size() == 2 || rest.size() == 3) {
    const auto kind = model::KindFromPlural(rest[0]);
    if (!kind || *kind == ResourceKind::kNamespace || model::IsNamespaced(*kind)) return none;
    if (rest.size() == 2) return object(*kind, "", rest[1], Endpoint::kGet);
    if (rest[2] != "edges") return none;
    return object(*kind, "", rest[1], Endpoint::kEdges);
  }
  return none;
}

}  // namespace smi::apiserver
