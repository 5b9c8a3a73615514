#include "apiserver/openapi.h"

#include <openssl/evp.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "apiserver/router.h"

namespace smi::apiserver {

namespace {

using nlohmann::json;

const std::string kVersions[] = {"v1alpha1", "v1alpha2"};

// Definition names follow Kubernetes' reversed-group convention.
std::string DefName(std::string_view version, std::string_view type) {
  return "io.smi-spec.metrics." + std::string(version) + "." + std::string(type);
}

json Str(std::string_view description, std::string_view format = "") {
  json s = {{"type", "string"}, {"description", description}};
  if (!format.empty()) s["format"] = format;
  return s;
}

// `$ref` targets differ between v2 (#/definitions/) and v3 (#/components/schemas/).
json Ref(const std::string& prefix, const std::string& name, std::string_view description) {
  // allOf keeps the field's own description beside the reference, as Kubernetes' documents do.
  return {{"description", description}, {"allOf", {{{"$ref", prefix + name}}}}};
}

json Gvk(std::string_view version, std::string_view kind) {
  return json::array({{{"group", kGroup}, {"version", version}, {"kind", kind}}});
}

// The schemas of one group version, keyed by definition name.
json Schemas(std::string_view v, const std::string& prefix) {
  json s = json::object();
  const std::string meta_v1 = "io.k8s.apimachinery.pkg.apis.meta.v1.";
  s[meta_v1 + "ObjectMeta"] = {
      {"description",
       "Standard object metadata. TrafficMetrics are computed on request: the object is named "
       "after the resource it describes and created when computed."},
      {"type", "object"},
      {"properties",
       {{"name", Str("Name of the resource the metrics are about.")},
        {"namespace", Str("Namespace of that resource; empty for namespaces.")},
        {"creationTimestamp", Str("When the metrics were computed (RFC 3339).", "date-time")}}}};
  s[meta_v1 + "ListMeta"] = {
      {"description", "Standard list metadata. Lists are never paginated: continue is empty."},
      {"type", "object"},
      {"properties",
       {{"resourceVersion", Str("Always empty: metrics are computed on request.")},
        {"continue", Str("Always empty: every item is returned at once.")}}}};
  s[DefName(v, "ObjectReference")] = {
      {"description", "A reference to a Kubernetes object."},
      {"type", "object"},
      {"properties",
       {{"kind", Str("Kind of the object: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, "
                     "ReplicationController, Job, Namespace, Node, Service, TrafficSplit.")},
        {"namespace", Str("Namespace of the object.")},
        {"name", Str("Name of the object.")},
        {"apiVersion", Str("API version of the object.")}}}};
  s[DefName(v, "Edge")] = {
      {"description",
       "Which traffic the metrics cover: resource null means all inbound traffic of the resource "
       "(its resource scope); otherwise the traffic to or from one peer."},
      {"type", "object"},
      {"required", {"direction", "side"}},
      {"properties",
       {{"direction", Str("to: the resource calls the peer; from: the peer calls the resource.")},
        {"side", Str("client or server: which end of the edge measured the traffic.")},
        {"resource",
         Ref(prefix, DefName(v, "ObjectReference"), "The peer; null for the resource scope.")}}}};
  s[DefName(v, "Backend")] = {
      {"description", "The TrafficSplit backend the metrics are about."},
      {"type", "object"},
      {"properties",
       {{"apex", Str("The apex service of the TrafficSplit.")},
        {"name", Str("The backend service.")},
        {"weight", {{"type", "integer"}, {"format", "int32"}, {"description", "Its weight."}}}}}};
  s[DefName(v, "Metric")] = {
      {"description", "One metric over the window."},
      {"type", "object"},
      {"required", {"name", "value"}},
      {"properties",
       {{"name", Str("p99_response_latency, p90_response_latency, p50_response_latency, "
                     "success_count or failure_count.")},
        {"unit", Str("seconds for latencies; absent for counts.")},
        {"value", Str("A Kubernetes quantity (\"10m\" is 10 ms; counts may be fractional, "
                      "\"73492m\", as Prometheus extrapolates increases).",
                      "quantity")}}}};
  s[DefName(v, "TrafficMetrics")] = {
      {"description",
       "Traffic metrics (success and failure counts, latency percentiles) of one Kubernetes "
       "resource, or of one edge between it and a peer, over a time window ending at timestamp."},
      {"type", "object"},
      {"properties",
       {{"apiVersion", Str("APIVersion defines the versioned schema of this representation.")},
        {"kind", Str("Kind is TrafficMetrics.")},
        {"metadata", Ref(prefix, meta_v1 + "ObjectMeta", "Standard object metadata.")},
        {"timestamp", Str("The end of the window: when the metrics were evaluated.", "date-time")},
        {"window", Str("The length of the window, a Go duration such as 30s.")},
        {"resource",
         Ref(prefix, DefName(v, "ObjectReference"), "The resource the metrics are about.")},
        {"edge", Ref(prefix, DefName(v, "Edge"), "Which traffic of the resource is counted.")},
        {"backend", Ref(prefix, DefName(v, "Backend"), "Set for TrafficSplit backends only.")},
        {"metrics",
         {{"type", "array"},
          {"description",
           "The metrics; latencies are absent when the window had no "
           "requests."},
          {"items", Ref(prefix, DefName(v, "Metric"), "")}}}}},
      {"x-kubernetes-group-version-kind", Gvk(v, "TrafficMetrics")}};
  s[DefName(v, "TrafficMetrics")]["properties"]["metrics"]["items"] = {
      {"$ref", prefix + DefName(v, "Metric")}};
  s[DefName(v, "TrafficMetricsList")] = {
      {"description", "A list of TrafficMetrics: the objects of a kind, or the edges of one."},
      {"type", "object"},
      {"required", {"items"}},
      {"properties",
       {{"apiVersion", Str("APIVersion defines the versioned schema of this representation.")},
        {"kind", Str("Kind is TrafficMetricsList.")},
        {"metadata", Ref(prefix, meta_v1 + "ListMeta", "Standard list metadata.")},
        {"resource", Ref(prefix, DefName(v, "ObjectReference"),
                         "What was listed: a kind (and namespace), or the object whose edges "
                         "these are.")},
        {"selector", Str("The label selector the list was filtered with.")},
        {"items",
         {{"type", "array"},
          {"description", "The items."},
          {"items", {{"$ref", prefix + DefName(v, "TrafficMetrics")}}}}}}},
      {"x-kubernetes-group-version-kind", Gvk(v, "TrafficMetricsList")}};
  return s;
}

// The read-only paths of one version, with the responses' schemas.
json Paths(std::string_view v, const std::string& prefix, bool v3) {
  const std::string base = "/apis/" + std::string(kGroup) + "/" + std::string(v);
  json paths = json::object();
  const auto response = [&](const std::string& type) {
    const json schema = {{"$ref", prefix + DefName(v, type)}};
    if (v3) {
      return json{
          {"200",
           {{"description", "OK"}, {"content", {{"application/json", {{"schema", schema}}}}}}}};
    }
    return json{{"200", {{"description", "OK"}, {"schema", schema}}}};
  };
  const auto param = [&](std::string_view name, std::string_view in, bool required,
                         std::string_view description) {
    json p = {{"name", name}, {"in", in}, {"description", description}};
    if (required) p["required"] = true;
    if (v3) {
      p["schema"] = {{"type", "string"}};
    } else {
      p["type"] = "string";
    }
    return p;
  };
  const json window = param("window", "query", false, "The window, e.g. 30s, 5m (default 30s).");
  const auto add = [&](const std::string& path, const std::string& id, const std::string& type,
                       std::vector<std::string> path_params, std::string action = "") {
    if (action.empty()) action = type == "TrafficMetricsList" ? "list" : "get";
    json params = json::array({window});
    for (const auto& p : path_params) params.push_back(param(p, "path", true, p));
    paths[path] = {{"get",
                    {{"operationId", id},
                     {"parameters", params},
                     {"responses", response(type)},
                     {"x-kubernetes-action", action},
                     {"x-kubernetes-group-version-kind", Gvk(v, "TrafficMetrics").at(0)}}}};
  };
  for (std::string_view r :
       {std::string_view("pods"), std::string_view("deployments"), std::string_view("statefulsets"),
        std::string_view("daemonsets"), std::string_view("replicasets"),
        std::string_view("replicationcontrollers"), std::string_view("jobs"),
        std::string_view("services"), kTrafficMetricsResource}) {
    const std::string res(r);
    add(base + "/" + res, "list" + res + "AllNamespaces", "TrafficMetricsList", {});
    add(base + "/namespaces/{namespace}/" + res, "list" + res, "TrafficMetricsList", {"namespace"});
    add(base + "/namespaces/{namespace}/" + res + "/{name}", "get" + res, "TrafficMetrics",
        {"namespace", "name"});
    add(base + "/namespaces/{namespace}/" + res + "/{name}/edges", "get" + res + "Edges",
        "TrafficMetricsList", {"namespace", "name"});
  }
  // A TrafficSplit's get is a list: one TrafficMetrics per backend (docs/spec-notes.md,
  // "TrafficSplits").
  const std::string splits(kTrafficSplitsResource);
  add(base + "/" + splits, "list" + splits + "AllNamespaces", "TrafficMetricsList", {});
  add(base + "/namespaces/{namespace}/" + splits, "list" + splits, "TrafficMetricsList",
      {"namespace"});
  add(base + "/namespaces/{namespace}/" + splits + "/{name}", "get" + splits, "TrafficMetricsList",
      {"namespace", "name"}, "get");
  // Nodes are cluster-scoped, as namespaces are.
  add(base + "/nodes", "listnodes", "TrafficMetricsList", {});
  add(base + "/nodes/{name}", "getnodes", "TrafficMetrics", {"name"});
  add(base + "/nodes/{name}/edges", "getnodesEdges", "TrafficMetricsList", {"name"});
  add(base + "/namespaces", "listnamespaces", "TrafficMetricsList", {});
  add(base + "/namespaces/{name}", "getnamespaces", "TrafficMetrics", {"name"});
  add(base + "/namespaces/{name}/edges", "getnamespacesEdges", "TrafficMetricsList", {"name"});
  return paths;
}

json Info() { return {{"title", "smi-metrics-server"}, {"version", SMI_METRICS_SERVER_VERSION}}; }

}  // namespace

std::string Sha512Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha512(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02X", digest[i]);
    out += buf;
  }
  return out;
}

std::string OpenApiV2Json() {
  static const std::string doc = [] {
    json definitions = json::object();
    json paths = json::object();
    for (const auto& v : kVersions) {
      definitions.update(Schemas(v, "#/definitions/"));
      paths.update(Paths(v, "#/definitions/", false));
    }
    return json{
        {"swagger", "2.0"}, {"info", Info()}, {"paths", paths}, {"definitions", definitions}}
        .dump();
  }();
  return doc;
}

std::string OpenApiV3VersionJson(std::string_view version) {
  const auto make = [](std::string_view v) {
    const std::string prefix = "#/components/schemas/";
    return json{{"openapi", "3.0.0"},
                {"info", Info()},
                {"paths", Paths(v, prefix, true)},
                {"components", {{"schemas", Schemas(v, prefix)}}}}
        .dump();
  };
  static const std::string v1alpha1 = make("v1alpha1");
  static const std::string v1alpha2 = make("v1alpha2");
  return version == "v1alpha2" ? v1alpha2 : v1alpha1;
}

std::string OpenApiV3Hash(std::string_view version) {
  return Sha512Hex(OpenApiV3VersionJson(version));
}

std::string OpenApiV3RootJson() {
  json paths = json::object();
  for (const auto& v : kVersions) {
    const std::string gv = "apis/" + std::string(kGroup) + "/" + v;
    paths[gv] = {{"serverRelativeURL", "/openapi/v3/" + gv + "?hash=" + OpenApiV3Hash(v)}};
  }
  return json{{"paths", paths}}.dump();
}

}  // namespace smi::apiserver
