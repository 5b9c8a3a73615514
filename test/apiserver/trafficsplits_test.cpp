// The `trafficsplits` resource through the handler: routes, discovery, OpenAPI, JSON and Table,
// with the splits in a StaticClusterState and the numbers from the fake source.
#include <gtest/gtest.h>

#include <limits>

#include <nlohmann/json.hpp>

#include "apiserver/api_handler.h"
#include "apiserver/openapi.h"
#include "apiserver/router.h"
#include "apiserver/table.h"
#include "kube/cluster_state.h"
#include "mocks/fake_source.h"

namespace smi::apiserver {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kBase = "/apis/metrics.smi-spec.io/v1alpha1";
constexpr const char* kTable =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/"
    "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

TEST(TrafficSplitsRouteTest, Paths) {
  auto r = MatchRoute(std::string(kBase) + "/namespaces/emojivoto/trafficsplits/voting-split");
  EXPECT_EQ(r.endpoint, Endpoint::kGet);
  EXPECT_TRUE(std::holds_alternative<TrafficSplitsResource>(r.resource));
  EXPECT_FALSE(std::holds_alternative<WorkloadsResource>(r.resource));
  EXPECT_EQ(r.ns, "emojivoto");
  EXPECT_EQ(r.name, "voting-split");
  r = MatchRoute("/apis/metrics.smi-spec.io/v1alpha2/namespaces/emojivoto/trafficsplits");
  EXPECT_EQ(r.endpoint, Endpoint::kList);
  EXPECT_TRUE(std::holds_alternative<TrafficSplitsResource>(r.resource));
  EXPECT_EQ(r.version, "v1alpha2");
  EXPECT_EQ(r.ns, "emojivoto");
  r = MatchRoute(std::string(kBase) + "/trafficsplits");
  EXPECT_EQ(r.endpoint, Endpoint::kList);
  EXPECT_TRUE(std::holds_alternative<TrafficSplitsResource>(r.resource));
  EXPECT_EQ(r.ns, "");
  // No edges of a split (docs/spec-notes.md, "TrafficSplits"), and invalid names never reach a
  // query.
  EXPECT_EQ(MatchRoute(std::string(kBase) + "/namespaces/e/trafficsplits/s/edges").endpoint,
            Endpoint::kNotFound);
  EXPECT_TRUE(MatchRoute(std::string(kBase) + "/namespaces/e/trafficsplits/S_x").invalid_name);
  EXPECT_FALSE(std::holds_alternative<TrafficSplitsResource>(
      MatchRoute(std::string(kBase) + "/namespaces/e/deployments/web").resource));
}

json Split(const std::string& ns, const std::string& name, const std::string& apex,
           const json& backends) {
  return {{"apiVersion", "split.smi-spec.io/v1alpha2"},
          {"kind", "TrafficSplit"},
          {"metadata", {{"namespace", ns}, {"name", name}, {"uid", name}}},
          {"spec", {{"service", apex}, {"backends", backends}}}};
}

class TrafficSplitsHandlerTest : public ::testing::Test {
 protected:
  TrafficSplitsHandlerTest()
      : clock_(std::chrono::system_clock::time_point(1700000000500ms)),
        service_(source_, clock_, {}, &cluster_),
        handler_(service_),
        bare_service_(source_, clock_, {}),
        bare_handler_(bare_service_) {
    cluster_.Load(json{{"kind", "List"},
                       {"items",
                        {Split("emojivoto", "voting-split", "voting-svc",
                               {{{"service", "voting-v1-svc"}, {"weight", 90}},
                                {{"service", "voting-v2-svc"}, {"weight", 10}}})}}});
    sources::TrafficCounts v1;
    v1.success = 270;
    v1.failure = 30;
    v1.latency_buckets = {{0.005, 60},
                          {0.010, 210},
                          {0.020, 270},
                          {0.050, 300},
                          {std::numeric_limits<double>::infinity(), 300}};
    source_.resource_samples.backends = {
        {"emojivoto", "voting-svc", "voting-v1-svc", model::Side::kClient, v1}};
  }

  static HttpResponse Get(const ApiHandler& handler, const std::string& path,
                          const std::string& accept = "",
                          std::multimap<std::string, std::string> params = {}) {
    HttpRequest r;
    r.path = path;
    r.params = std::move(params);
    if (!accept.empty()) r.headers["accept"] = accept;
    r.identity = Identity{"alice", {"system:authenticated"}, "", {}};
    return handler.Handle(r);
  }
  HttpResponse Get(const std::string& path, const std::string& accept = "",
                   std::multimap<std::string, std::string> params = {}) {
    return Get(handler_, path, accept, std::move(params));
  }

  kube::StaticClusterState cluster_;
  testing::FakeSource source_;
  testing::FakeClock clock_;
  aggregation::TrafficMetricsService service_;
  ApiHandler handler_;
  aggregation::TrafficMetricsService bare_service_;  // no Kubernetes knowledge
  ApiHandler bare_handler_;
};

TEST_F(TrafficSplitsHandlerTest, GetIsAListWithOneItemPerBackend) {
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficsplits/voting-split");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = json::parse(r.body);
  EXPECT_EQ(body["kind"], "TrafficMetricsList");
  EXPECT_EQ(body["apiVersion"], "metrics.smi-spec.io/v1alpha1");
  EXPECT_EQ(body["resource"],
            json({{"kind", "TrafficSplit"}, {"namespace", "emojivoto"}, {"name", "voting-split"}}));
  ASSERT_EQ(body["items"].size(), 2u);
  const auto& v1 = body["items"][0];
  EXPECT_EQ(v1["kind"], "TrafficMetrics");
  EXPECT_EQ(v1["resource"], body["resource"]);
  EXPECT_EQ(v1["edge"],
            json({{"direction", "from"}, {"side", "client"}, {"resource", json::object()}}));
  EXPECT_EQ(v1["backend"],
            json({{"apex", "voting-svc"}, {"name", "voting-v1-svc"}, {"weight", 90}}));
  EXPECT_EQ(v1["timestamp"], "2023-11-14T22:13:19Z");
  EXPECT_EQ(v1["window"], "30s");
  ASSERT_EQ(v1["metrics"].size(), 5u);
  EXPECT_EQ(v1["metrics"][3], json({{"name", "success_count"}, {"value", "270"}}));
  EXPECT_EQ(v1["metrics"][4], json({{"name", "failure_count"}, {"value", "30"}}));
  const auto& v2 = body["items"][1];
  EXPECT_EQ(v2["backend"],
            json({{"apex", "voting-svc"}, {"name", "voting-v2-svc"}, {"weight", 10}}));
  EXPECT_EQ(v2["metrics"].size(), 2u);  // idle: counts only
}

TEST_F(TrafficSplitsHandlerTest, ListsAndTables) {
  auto r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficsplits", "", {{"window", "1m"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["items"].size(), 2u);
  r = Get(std::string(kBase) + "/trafficsplits");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["resource"], json({{"kind", "TrafficSplit"}}));
  EXPECT_EQ(json::parse(r.body)["items"].size(), 2u);
  r = Get(std::string(kBase) + "/namespaces/other/trafficsplits");
  EXPECT_EQ(json::parse(r.body)["items"], json::array());

  r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficsplits", kTable);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto t = json::parse(r.body);
  EXPECT_EQ(t["kind"], "Table");
  std::vector<std::string> columns;
  for (const auto& c : t["columnDefinitions"]) columns.push_back(c["name"]);
  EXPECT_EQ(columns, (std::vector<std::string>{"Name", "Backend", "Weight", "Success", "RPS",
                                               "Latency_P50", "Latency_P90", "Latency_P99", "Apex",
                                               "Success_Count", "Failure_Count", "Window"}));
  ASSERT_EQ(t["rows"].size(), 2u);
  EXPECT_EQ(t["rows"][0]["cells"],
            json({"voting-split", "voting-v1-svc", "90", "90.00%", "10.0rps", "8.0ms", "20ms",
                  "47ms", "voting-svc", "270", "30", "30s"}));
  EXPECT_EQ(t["rows"][1]["cells"], json({"voting-split", "voting-v2-svc", "10", "-", "-", "-", "-",
                                         "-", "voting-svc", "0", "0", "30s"}));
  EXPECT_EQ(t["rows"][0]["object"]["metadata"]["name"], "voting-split");
  EXPECT_EQ(t["rows"][0]["object"]["metadata"]["namespace"], "emojivoto");
}

TEST_F(TrafficSplitsHandlerTest, NotFoundAndErrors) {
  auto r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficsplits/nope");
  EXPECT_EQ(r.status, 404);
  const auto status = json::parse(r.body);
  EXPECT_EQ(status["reason"], "NotFound");
  EXPECT_EQ(status["details"]["kind"], "trafficsplits");
  EXPECT_EQ(status["message"], "trafficsplits.metrics.smi-spec.io \"nope\" not found");
  EXPECT_EQ(
      Get(std::string(kBase) + "/namespaces/emojivoto/trafficsplits/voting-split/edges").status,
      404);
  EXPECT_EQ(
      Get(std::string(kBase) + "/namespaces/emojivoto/trafficsplits", "", {{"window", "500ms"}})
          .status,
      400);
  source_.unavailable = "prometheus at http://127.0.0.1:1: connection refused";
  EXPECT_EQ(Get(std::string(kBase) + "/namespaces/emojivoto/trafficsplits").status, 503);
}

TEST_F(TrafficSplitsHandlerTest, WithoutKubernetesA404AndAnEmptyList) {
  auto r =
      Get(bare_handler_, std::string(kBase) + "/namespaces/emojivoto/trafficsplits/voting-split");
  EXPECT_EQ(r.status, 404) << r.body;
  r = Get(bare_handler_, std::string(kBase) + "/namespaces/emojivoto/trafficsplits");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["items"], json::array());
  r = Get(bare_handler_, std::string(kBase) + "/trafficsplits", kTable);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["rows"], json::array());
  EXPECT_TRUE(source_.queries.empty());
}

TEST_F(TrafficSplitsHandlerTest, DiscoveryAndOpenApi) {
  for (const std::string version : {"v1alpha1", "v1alpha2"}) {
    const auto body = json::parse(Get("/apis/metrics.smi-spec.io/" + version).body);
    std::vector<std::string> names;
    for (const auto& r : body["resources"]) names.push_back(r["name"]);
    // trafficsplits (no edges), then trafficmetrics LAST.
    ASSERT_GE(names.size(), 3u);
    EXPECT_EQ(names[names.size() - 3], "trafficsplits");
    EXPECT_EQ(names[names.size() - 2], "trafficmetrics");
    EXPECT_EQ(std::count(names.begin(), names.end(), "trafficsplits/edges"), 0);
    const auto& ts = body["resources"][names.size() - 3];
    EXPECT_EQ(ts["namespaced"], true);
    EXPECT_EQ(ts["singularName"], "trafficsplit");
    // A kind of its own: kubectl maps TrafficMetrics to trafficmetrics, the last of that kind.
    EXPECT_EQ(ts["kind"], "TrafficSplitMetrics");
    EXPECT_EQ(ts["verbs"], (json{"get", "list"}));
    EXPECT_FALSE(ts.contains("shortNames"));
  }
  const auto aggregated = json::parse(
      Get("/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList").body);
  for (const auto& v : aggregated["items"][0]["versions"]) {
    const auto& res = v["resources"];
    EXPECT_EQ(res.back()["resource"], "trafficmetrics");
    const auto& ts = res[res.size() - 2];
    EXPECT_EQ(ts["resource"], "trafficsplits");
    EXPECT_EQ(ts["subresources"], json::array());
    EXPECT_EQ(ts["responseKind"]["kind"], "TrafficSplitMetrics");
    EXPECT_EQ(ts["verbs"], (json{"get", "list"}));
  }
  const auto v3 = json::parse(OpenApiV3VersionJson("v1alpha2"));
  const std::string base = "/apis/metrics.smi-spec.io/v1alpha2";
  const auto& get = v3["paths"][base + "/namespaces/{namespace}/trafficsplits/{name}"]["get"];
  EXPECT_EQ(get["x-kubernetes-action"], "get");
  EXPECT_EQ(get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/io.smi-spec.metrics.v1alpha2.TrafficMetricsList");
  EXPECT_TRUE(v3["paths"].contains(base + "/namespaces/{namespace}/trafficsplits"));
  EXPECT_TRUE(v3["paths"].contains(base + "/trafficsplits"));
  EXPECT_FALSE(v3["paths"].contains(base + "/namespaces/{namespace}/trafficsplits/{name}/edges"));
  EXPECT_TRUE(json::parse(OpenApiV2Json())["paths"].contains(
      "/apis/metrics.smi-spec.io/v1alpha1/namespaces/{namespace}/trafficsplits/{name}"));
}

}  // namespace
}  // namespace smi::apiserver
