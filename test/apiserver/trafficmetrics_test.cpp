// The `trafficmetrics` resource (docs/decisions.md, decision 10), discovery as kubectl and the
// aggregator read it (aggregated, ETag/304), OpenAPI, and Table negotiation through the handler
// (docs/kubernetes-api.md).
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "apiserver/api_handler.h"
#include "apiserver/openapi.h"
#include "apiserver/router.h"
#include "mocks/fake_source.h"

namespace smi::apiserver {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kBase = "/apis/metrics.smi-spec.io/v1alpha1";
constexpr const char* kTable =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/"
    "json;as=Table;v=v1beta1;g=meta.k8s.io,"
    "application/json";
constexpr const char* kAggregated =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"
    "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

TEST(TrafficMetricsRouteTest, Paths) {
  auto r = MatchRoute(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics");
  EXPECT_EQ(r.endpoint, Endpoint::kList);
  EXPECT_TRUE(std::holds_alternative<WorkloadsResource>(r.resource));
  EXPECT_EQ(r.ns, "emojivoto");
  r = MatchRoute(std::string(kBase) + "/trafficmetrics");
  EXPECT_EQ(r.endpoint, Endpoint::kList);
  EXPECT_TRUE(std::holds_alternative<WorkloadsResource>(r.resource));
  EXPECT_EQ(r.ns, "");
  r = MatchRoute(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics/web");
  EXPECT_EQ(r.endpoint, Endpoint::kGet);
  EXPECT_EQ(r.name, "web");
  r = MatchRoute(
      "/apis/metrics.smi-spec.io/v1alpha2/namespaces/emojivoto/trafficmetrics/web/edges");
  EXPECT_EQ(r.endpoint, Endpoint::kEdges);
  EXPECT_EQ(r.version, "v1alpha2");
  EXPECT_TRUE(std::holds_alternative<WorkloadsResource>(r.resource));
  EXPECT_EQ(MatchRoute(std::string(kBase) + "/namespaces/e/trafficmetrics/web/other").endpoint,
            Endpoint::kNotFound);
  EXPECT_TRUE(MatchRoute(std::string(kBase) + "/namespaces/e/trafficmetrics/Web").invalid_name);
  EXPECT_FALSE(std::holds_alternative<WorkloadsResource>(
      MatchRoute(std::string(kBase) + "/namespaces/e/deployments/web").resource));
  EXPECT_EQ(MatchRoute("/openapi/v2").endpoint, Endpoint::kOpenApiV2);
  EXPECT_EQ(MatchRoute("/openapi/v3").endpoint, Endpoint::kOpenApiV3);
  r = MatchRoute("/openapi/v3/apis/metrics.smi-spec.io/v1alpha2");
  EXPECT_EQ(r.endpoint, Endpoint::kOpenApiV3Version);
  EXPECT_EQ(r.version, "v1alpha2");
  EXPECT_EQ(MatchRoute("/openapi/v3/apis/metrics.smi-spec.io/v9").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(MatchRoute("/api/v1/namespaces/emojivoto").endpoint, Endpoint::kCoreNamespace);
  EXPECT_EQ(MatchRoute("/api").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(MatchRoute("/api/v1").endpoint, Endpoint::kNotFound);
}

class TrafficMetricsTest : public ::testing::Test {
 protected:
  TrafficMetricsTest()
      : clock_(std::chrono::system_clock::time_point(1700000000500ms)),
        service_(source_, clock_, {}),
        handler_(service_) {
    // `shared` is both a StatefulSet and a Deployment (listed in the other order); a pod and a
    // namespace answer too, as a source might: the resource holds workloads only.
    auto& s = source_.resource_samples;
    s.known_objects = {{"StatefulSet", "emojivoto", "shared", ""},
                       {"Deployment", "emojivoto", "shared", ""},
                       {"DaemonSet", "logging", "node-logger", ""},
                       {"Deployment", "emojivoto", "web", ""},
                       {"Pod", "emojivoto", "web-1", ""}};
    sources::TrafficCounts web;
    web.success = 296;
    web.failure = 4;
    web.latency_buckets = {
        {0.010, 100}, {0.020, 250}, {0.050, 300}, {std::numeric_limits<double>::infinity(), 300}};
    s.resources = {{{"Deployment", "emojivoto", "web", ""}, web},
                   {{"StatefulSet", "emojivoto", "shared", ""}, web}};
    auto& e = source_.edge_samples;
    e.known_objects = {{"Deployment", "emojivoto", "shared", ""}};
    e.edges = {{{"Deployment", "emojivoto", "shared", ""},
                model::Direction::kTo,
                model::Side::kClient,
                {"Deployment", "emojivoto", "web", ""},
                web}};
  }

  HttpResponse Get(const std::string& path, const std::string& accept = "",
                   std::multimap<std::string, std::string> params = {},
                   const std::string& if_none_match = "") {
    HttpRequest r;
    r.path = path;
    r.params = std::move(params);
    if (!accept.empty()) r.headers["accept"] = accept;
    if (!if_none_match.empty()) r.headers["if-none-match"] = if_none_match;
    r.identity = Identity{"alice", {"system:authenticated"}, "", {}};
    return handler_.Handle(r);
  }

  static std::string Header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  testing::FakeSource source_;
  testing::FakeClock clock_;
  aggregation::TrafficMetricsService service_;
  ApiHandler handler_;
};

TEST_F(TrafficMetricsTest, ListAsksForEveryWorkloadKindInOneFetch) {
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(source_.queries.size(), 1u);
  EXPECT_EQ(testing::ShapeAs<sources::AllWorkloads>(source_.queries[0]).ns, "emojivoto");
  const auto body = json::parse(r.body);
  EXPECT_EQ(body["kind"], "TrafficMetricsList");
  std::vector<std::string> got;
  for (const auto& item : body["items"]) {
    got.push_back(item["resource"]["kind"].get<std::string>() + "/" +
                  item["resource"]["name"].get<std::string>());
  }
  // Namespace, name, then Deployment < StatefulSet < DaemonSet; no pods; other namespaces out.
  EXPECT_EQ(
      got, (std::vector<std::string>{"Deployment/shared", "StatefulSet/shared", "Deployment/web"}));
}

TEST_F(TrafficMetricsTest, ListAcrossNamespaces) {
  const auto r = Get(std::string(kBase) + "/trafficmetrics", kTable);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(testing::ShapeAs<sources::AllWorkloads>(source_.queries.at(0)).ns, "");
  const auto t = json::parse(r.body);
  ASSERT_EQ(t["rows"].size(), 4u);
  EXPECT_EQ(t["rows"][3]["cells"][0], "node-logger");
  EXPECT_EQ(t["rows"][3]["cells"][1], "DaemonSet");
  EXPECT_EQ(t["rows"][3]["object"]["metadata"]["namespace"], "logging");  // for -A
}

TEST_F(TrafficMetricsTest, NameSharedByTwoKindsResolvesToTheDeployment) {
  auto r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics/shared");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["resource"]["kind"], "Deployment");
  EXPECT_EQ(testing::ShapeAs<sources::AllWorkloads>(source_.queries.at(0)).name, "shared");
  // The Deployment is idle (zero counts), though the StatefulSet of that name is not.
  EXPECT_EQ(json::parse(r.body)["metrics"].size(), 2u);
}

TEST_F(TrafficMetricsTest, EdgesResolveTheKindThenFetchItsEdges) {
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics/shared/edges");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(source_.queries.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<sources::AllWorkloads>(source_.queries[0].shape));
  EXPECT_EQ(testing::ShapeAs<sources::ObjectEdges>(source_.queries[1]).kind,
            model::ResourceKind::kDeployment);
  const auto body = json::parse(r.body);
  ASSERT_EQ(body["items"].size(), 1u);
  EXPECT_EQ(body["items"][0]["edge"]["resource"]["name"], "web");

  const auto t = json::parse(
      Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics/shared/edges", kTable).body);
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["rows"][0]["cells"][0], "web");
  EXPECT_EQ(t["rows"][0]["cells"][2], "to");
}

TEST_F(TrafficMetricsTest, MissingNameIsNotFoundInTheResourcesWords) {
  auto r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics/missing", kTable);
  EXPECT_EQ(r.status, 404);
  auto body = json::parse(r.body);
  EXPECT_EQ(body["reason"], "NotFound");
  EXPECT_EQ(body["message"], "trafficmetrics.metrics.smi-spec.io \"missing\" not found");
  EXPECT_EQ(body["details"]["kind"], "trafficmetrics");
  // A pod of that name is not a workload.
  EXPECT_EQ(Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics/web-1").status, 404);
  r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics", kTable, {{"watch", "true"}});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(json::parse(r.body)["message"],
            "watch is not supported on resources of kind \"trafficmetrics.metrics.smi-spec.io\"");
}

TEST_F(TrafficMetricsTest, TablesForEveryGetAndList) {
  for (const std::string path :
       {"/namespaces/emojivoto/deployments", "/namespaces/emojivoto/deployments/web",
        "/deployments", "/namespaces/emojivoto/trafficmetrics/web"}) {
    const auto r = Get(std::string(kBase) + path, kTable);
    ASSERT_EQ(r.status, 200) << path << r.body;
    const auto t = json::parse(r.body);
    EXPECT_EQ(t["kind"], "Table") << path;
    EXPECT_EQ(t["apiVersion"], "meta.k8s.io/v1");
    EXPECT_FALSE(t["rows"].empty()) << path;
    const bool tm = path.find("trafficmetrics") != std::string::npos;
    EXPECT_EQ(t["columnDefinitions"][1]["name"], tm ? "Kind" : "Success") << path;
  }
  const auto one = json::parse(
      Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics/web", kTable).body);
  ASSERT_EQ(one["rows"].size(), 1u);
  EXPECT_EQ(one["rows"][0]["cells"], (json{"web", "Deployment", "98.67%", "10.0rps", "13ms", "32ms",
                                           "48ms", "296", "4", "30s"}));
  // Metadata is the default row object; Object and None on request; anything else 400.
  EXPECT_EQ(one["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  auto r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics", kTable,
               {{"includeObject", "Object"}});
  EXPECT_EQ(json::parse(r.body)["rows"][0]["object"]["kind"], "TrafficMetrics");
  r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics", kTable,
          {{"includeObject", "None"}});
  EXPECT_FALSE(json::parse(r.body)["rows"][0].contains("object"));
  r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics", kTable,
          {{"includeObject", "All"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["message"], "unrecognized includeObject value: \"All\"");
  // v1beta1 when only that is offered; JSON for get --raw; 406 when nothing fits.
  r = Get(std::string(kBase) + "/trafficmetrics",
          "application/json;as=Table;v=v1beta1;g=meta.k8s.io");
  EXPECT_EQ(json::parse(r.body)["apiVersion"], "meta.k8s.io/v1beta1");
  r = Get(std::string(kBase) + "/trafficmetrics", "application/json, */*");
  EXPECT_EQ(json::parse(r.body)["kind"], "TrafficMetricsList");
  r = Get(std::string(kBase) + "/trafficmetrics", "application/vnd.kubernetes.protobuf");
  EXPECT_EQ(r.status, 406);
  EXPECT_EQ(json::parse(r.body)["reason"], "NotAcceptable");
}

TEST_F(TrafficMetricsTest, LimitContinueAndResourceVersionAreAcceptedAndIgnored) {
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics", kTable,
                     {{"limit", "1"},
                      {"continue", ""},
                      {"resourceVersion", "0"},
                      {"resourceVersionMatch", "NotOlderThan"},
                      {"timeout", "32s"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const auto t = json::parse(r.body);
  EXPECT_EQ(t["rows"].size(), 3u);  // everything, despite limit=1
  EXPECT_EQ(t["metadata"].value("continue", ""), "");
}

TEST_F(TrafficMetricsTest, ResourceListEndsWithTrafficMetrics) {
  for (const std::string version : {"v1alpha1", "v1alpha2"}) {
    const auto body = json::parse(Get("/apis/metrics.smi-spec.io/" + version).body);
    const auto& res = body["resources"];
    ASSERT_GE(res.size(), 2u);
    const auto& tm = res[res.size() - 2];
    EXPECT_EQ(tm["name"], "trafficmetrics");
    EXPECT_EQ(tm["singularName"], "trafficmetrics");
    EXPECT_EQ(tm["shortNames"], (json{"tm"}));
    EXPECT_EQ(tm["kind"], "TrafficMetrics");
    EXPECT_EQ(tm["namespaced"], true);
    EXPECT_EQ(tm["verbs"], (json{"get", "list"}));
    EXPECT_EQ(res.back()["name"], "trafficmetrics/edges");
    // The last resource of kind TrafficMetrics is trafficmetrics (kubectl maps the kind to it).
    std::string last;
    for (const auto& r : res) {
      EXPECT_TRUE(r.contains("singularName")) << r;
      if (r["kind"] == "TrafficMetrics") last = r["name"];
      if (r["kind"] == "TrafficMetricsList") {  // edges
        EXPECT_EQ(r["verbs"], (json{"get"}));
      }
    }
    EXPECT_EQ(last, "trafficmetrics");
  }
}

TEST_F(TrafficMetricsTest, AggregatedDiscoveryWithEtag) {
  auto r = Get("/apis", kAggregated);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  EXPECT_EQ(Header(r, "Vary"), "Accept");
  EXPECT_EQ(Header(r, "Cache-Control"), "public");
  const std::string etag = Header(r, "ETag");
  EXPECT_EQ(etag, "\"" + Sha512Hex(r.body) + "\"");
  const auto body = json::parse(r.body);
  EXPECT_EQ(body["kind"], "APIGroupDiscoveryList");
  EXPECT_EQ(body["apiVersion"], "apidiscovery.k8s.io/v2");
  const auto& group = body["items"][0];
  EXPECT_EQ(group["metadata"]["name"], "metrics.smi-spec.io");
  ASSERT_EQ(group["versions"].size(), 2u);
  EXPECT_EQ(group["versions"][0]["version"], "v1alpha1");  // preferred first
  EXPECT_EQ(group["versions"][1]["version"], "v1alpha2");
  for (const auto& v : group["versions"]) {
    EXPECT_EQ(v["freshness"], "Current");
    const auto& last = v["resources"].back();
    EXPECT_EQ(last["resource"], "trafficmetrics");
    EXPECT_EQ(last["singularResource"], "trafficmetrics");
    EXPECT_EQ(last["shortNames"], (json{"tm"}));
    EXPECT_EQ(last["scope"], "Namespaced");
    EXPECT_EQ(last["responseKind"], (json{{"group", "metrics.smi-spec.io"},
                                          {"version", v["version"]},
                                          {"kind", "TrafficMetrics"}}));
    EXPECT_EQ(last["subresources"][0]["subresource"], "edges");
    EXPECT_EQ(last["subresources"][0]["responseKind"]["kind"], "TrafficMetricsList");
    for (const auto& res : v["resources"]) {
      EXPECT_EQ(res["scope"], res["resource"] == "namespaces" || res["resource"] == "nodes"
                                  ? "Cluster"
                                  : "Namespaced");
    }
  }
  // 304 for the tag the client has; 200 for a stale one.
  r = Get("/apis", kAggregated, {}, etag);
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(Header(r, "ETag"), etag);
  EXPECT_EQ(Get("/apis", kAggregated, {}, "\"stale\"").status, 200);
  // v2beta1 when only it is offered; the legacy list for plain JSON.
  r = Get("/apis", "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList");
  EXPECT_EQ(r.content_type,
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList");
  EXPECT_EQ(json::parse(r.body)["apiVersion"], "apidiscovery.k8s.io/v2beta1");
  r = Get("/apis", "application/json, */*");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(json::parse(r.body)["kind"], "APIGroupList");
  // /api is 404 (kubectl tolerates it), /apis/<group> the APIGroup.
  EXPECT_EQ(Get("/api").status, 404);
  EXPECT_EQ(json::parse(Get("/apis/metrics.smi-spec.io").body)["kind"], "APIGroup");
}

TEST_F(TrafficMetricsTest, OpenApiDocuments) {
  auto r = Get("/openapi/v2", "application/json");
  ASSERT_EQ(r.status, 200);
  auto v2 = json::parse(r.body);
  EXPECT_EQ(v2["swagger"], "2.0");
  const auto& def = v2["definitions"]["io.smi-spec.metrics.v1alpha1.TrafficMetrics"];
  EXPECT_EQ(def["x-kubernetes-group-version-kind"], (json{{{"group", "metrics.smi-spec.io"},
                                                           {"version", "v1alpha1"},
                                                           {"kind", "TrafficMetrics"}}}));
  EXPECT_TRUE(v2["definitions"].contains("io.smi-spec.metrics.v1alpha2.TrafficMetricsList"));
  EXPECT_TRUE(v2["paths"].contains(
      "/apis/metrics.smi-spec.io/v1alpha1/namespaces/{namespace}/trafficmetrics"));
  EXPECT_EQ(Get("/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf").status,
            406);
  const std::string v2etag = Header(r, "ETag");
  EXPECT_EQ(Get("/openapi/v2", "application/json", {}, v2etag).status, 304);

  // The v3 root links each version with its hash; the linked document is immutable.
  const auto root = json::parse(Get("/openapi/v3").body);
  const std::string hash = OpenApiV3Hash("v1alpha1");
  EXPECT_EQ(hash.size(), 128u);
  EXPECT_EQ(root["paths"]["apis/metrics.smi-spec.io/v1alpha1"]["serverRelativeURL"],
            "/openapi/v3/apis/metrics.smi-spec.io/v1alpha1?hash=" + hash);
  EXPECT_TRUE(root["paths"].contains("apis/metrics.smi-spec.io/v1alpha2"));
  r = Get("/openapi/v3/apis/metrics.smi-spec.io/v1alpha1", "application/json", {{"hash", hash}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(Header(r, "ETag"), "\"" + hash + "\"");
  EXPECT_EQ(Header(r, "Cache-Control"), "public, immutable");
  EXPECT_EQ(Header(r, "Vary"), "Accept");
  EXPECT_FALSE(Header(r, "Expires").empty());
  EXPECT_EQ(Sha512Hex(r.body), hash);
  const auto v3 = json::parse(r.body);
  EXPECT_EQ(v3["openapi"], "3.0.0");
  const auto& schema = v3["components"]["schemas"]["io.smi-spec.metrics.v1alpha1.TrafficMetrics"];
  EXPECT_EQ(schema["x-kubernetes-group-version-kind"][0]["kind"], "TrafficMetrics");
  EXPECT_EQ(schema["properties"]["edge"]["allOf"][0]["$ref"],
            "#/components/schemas/io.smi-spec.metrics.v1alpha1.Edge");
  // Without a hash: no immutable caching; a stale hash: 301 to the current one.
  r = Get("/openapi/v3/apis/metrics.smi-spec.io/v1alpha1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Header(r, "Cache-Control"), "");
  r = Get("/openapi/v3/apis/metrics.smi-spec.io/v1alpha1", "", {{"hash", "OLD"}});
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(Header(r, "Location"), "/openapi/v3/apis/metrics.smi-spec.io/v1alpha1?hash=" + hash);
  EXPECT_EQ(Get("/openapi/v3/apis/metrics.smi-spec.io/v1alpha1", "application/json", {},
                "\"" + hash + "\"")
                .status,
            304);
  // Each version's document names its own version.
  const auto v3b = json::parse(Get("/openapi/v3/apis/metrics.smi-spec.io/v1alpha2").body);
  EXPECT_TRUE(v3b["components"]["schemas"].contains("io.smi-spec.metrics.v1alpha2.TrafficMetrics"));
}

TEST_F(TrafficMetricsTest, CoreNamespaceLookupForKubectl) {
  source_.resource_samples.known_objects.push_back({"Namespace", "", "emojivoto", ""});
  auto r = Get("/api/v1/namespaces/emojivoto");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["kind"], "Namespace");
  r = Get("/api/v1/namespaces/nowhere");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["message"], "namespaces \"nowhere\" not found");
}

}  // namespace
}  // namespace smi::apiserver
