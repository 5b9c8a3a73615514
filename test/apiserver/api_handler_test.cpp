#include "apiserver/api_handler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "kube/cluster_state.h"
#include "mocks/fake_source.h"
#include "mocks/unsynced_cluster.h"

namespace smi::apiserver {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kBase = "/apis/metrics.smi-spec.io/v1alpha1";

class ApiHandlerTest : public ::testing::Test {
 protected:
  ApiHandlerTest()
      : clock_(std::chrono::system_clock::time_point(1700000000500ms)),
        service_(source_, clock_, {}),
        handler_(service_, {{"source", [this](std::string* why) { return source_.Ready(why); }}}) {
    // Two deployments known to exist; web had traffic, legacy is idle.
    auto& s = source_.resource_samples;
    s.known_objects = {{"Deployment", "emojivoto", "web", ""},
                       {"Deployment", "emojivoto", "legacy", ""}};
    sources::TrafficCounts web;
    web.success = 90;
    web.failure = 10;
    // 100 observations: 50 <= 10ms, 40 in (10ms, 20ms], 10 in (20ms, 50ms].
    web.latency_buckets = {
        {0.010, 50}, {0.020, 90}, {0.050, 100}, {std::numeric_limits<double>::infinity(), 100}};
    s.resources = {{{"Deployment", "emojivoto", "web", ""}, web}};

    auto& e = source_.edge_samples;
    e.known_objects = {{"Deployment", "emojivoto", "web", ""}};
    e.edges = {{{"Deployment", "emojivoto", "web", ""},
                model::Direction::kTo,
                model::Side::kClient,
                {"Deployment", "emojivoto", "emoji", ""},
                web},
               {{"Deployment", "emojivoto", "web", ""},
                model::Direction::kFrom,
                model::Side::kClient,
                {"Deployment", "emojivoto", "vote-bot", ""},
                web}};  // edges without traffic in the window are left out (decision 6)
  }

  HttpResponse Get(const std::string& path, std::multimap<std::string, std::string> params = {}) {
    HttpRequest r;
    r.path = path;
    r.params = std::move(params);
    r.identity = Identity{"alice", {"system:authenticated"}, "", {}};
    return handler_.Handle(r);
  }

  testing::FakeSource source_;
  testing::FakeClock clock_;
  aggregation::TrafficMetricsService service_;
  ApiHandler handler_;
};

TEST_F(ApiHandlerTest, GetDeploymentHasTheSpecShape) {
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments/web");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = json::parse(r.body);
  EXPECT_EQ(body["kind"], "TrafficMetrics");
  EXPECT_EQ(body["apiVersion"], "metrics.smi-spec.io/v1alpha1");
  EXPECT_EQ(body["resource"],
            (json{{"kind", "Deployment"}, {"namespace", "emojivoto"}, {"name", "web"}}));
  EXPECT_EQ(body["edge"], (json{{"direction", "from"}, {"side", "server"}, {"resource", nullptr}}));
  EXPECT_EQ(body["window"], "30s");
  // Evaluated at the whole second one second before "now" (1700000000.5 s).
  EXPECT_EQ(body["timestamp"], "2023-11-14T22:13:19Z");
  const auto& m = body["metrics"];
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0], (json{{"name", "p99_response_latency"}, {"unit", "seconds"}, {"value", "47m"}}));
  EXPECT_EQ(m[1], (json{{"name", "p90_response_latency"}, {"unit", "seconds"}, {"value", "20m"}}));
  EXPECT_EQ(m[2], (json{{"name", "p50_response_latency"}, {"unit", "seconds"}, {"value", "10m"}}));
  EXPECT_EQ(m[3], (json{{"name", "success_count"}, {"value", "90"}}));
  EXPECT_EQ(m[4], (json{{"name", "failure_count"}, {"value", "10"}}));
  ASSERT_EQ(source_.queries.size(), 1u);
  EXPECT_EQ(source_.queries[0].at, std::chrono::system_clock::time_point(1699999999s));
}

TEST_F(ApiHandlerTest, IdleObjectAnswersZerosWithoutLatency) {
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments/legacy");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto m = json::parse(r.body)["metrics"];
  EXPECT_EQ(m, (json{{{"name", "success_count"}, {"value", "0"}},
                     {{"name", "failure_count"}, {"value", "0"}}}));
}

TEST_F(ApiHandlerTest, MissingObjectIsNotFoundStatus) {
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments/nope");
  EXPECT_EQ(r.status, 404);
  const auto body = json::parse(r.body);
  EXPECT_EQ(body["kind"], "Status");
  EXPECT_EQ(body["reason"], "NotFound");
  EXPECT_EQ(body["message"], "deployments.metrics.smi-spec.io \"nope\" not found");
  EXPECT_EQ(body["details"]["kind"], "deployments");
}

TEST_F(ApiHandlerTest, ListIncludesIdleObjectsInNameOrder) {
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = json::parse(r.body);
  EXPECT_EQ(body["kind"], "TrafficMetricsList");
  EXPECT_EQ(body["resource"], (json{{"kind", "Deployment"}, {"namespace", "emojivoto"}}));
  ASSERT_EQ(body["items"].size(), 2u);
  EXPECT_EQ(body["items"][0]["resource"]["name"], "legacy");
  EXPECT_EQ(body["items"][1]["resource"]["name"], "web");
}

TEST_F(ApiHandlerTest, EdgesKeepDirectionAndSide) {
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments/web/edges");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto items = json::parse(r.body)["items"];
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["edge"]["direction"], "to");
  EXPECT_EQ(items[0]["edge"]["side"], "client");
  EXPECT_EQ(items[0]["edge"]["resource"]["name"], "emoji");
  EXPECT_EQ(items[1]["edge"]["direction"], "from");
  EXPECT_EQ(items[1]["edge"]["resource"]["name"], "vote-bot");
  EXPECT_TRUE(std::holds_alternative<sources::ObjectEdges>(source_.queries.at(0).shape));
}

TEST_F(ApiHandlerTest, WindowParameter) {
  auto r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments/web", {{"window", "1m15s"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["window"], "1m15s");
  EXPECT_EQ(source_.queries.back().window, 75s);

  r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments/web", {{"t", "5m"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["window"], "5m0s");

  for (const char* bad : {"banana", "500ms", "-30s", ""}) {
    r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments/web", {{"window", bad}});
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(json::parse(r.body)["reason"], "BadRequest") << bad;
  }
  source_.retention = std::chrono::hours(24);
  r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments/web", {{"window", "2d"}});
  EXPECT_EQ(r.status, 400);
}

// Below two scrapes a window holds at most one sample of a counter, which reads as no traffic:
// a 400 naming the smallest window that works, never zeros (docs/decisions.md, decision 21).
TEST_F(ApiHandlerTest, AWindowShorterThanTwoScrapesIsRefusedNamingTheSmallestThatWorks) {
  const std::string web = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  source_.scrape_interval = 15s;
  source_.scrape_interval_origin = "this server scrapes them every --sidecar-interval";
  for (const std::string& path : {web, web + "/edges", std::string(kBase) + "/namespaces",
                                  std::string(kBase) + "/namespaces/emojivoto/trafficmetrics"}) {
    const auto fetches = source_.queries.size();
    auto r = Get(path, {{"window", "20s"}});
    ASSERT_EQ(r.status, 400) << path << " " << r.body;
    const auto body = json::parse(r.body);
    EXPECT_EQ(body["reason"], "BadRequest");
    EXPECT_EQ(body["message"],
              "window 20s is shorter than two scrapes of the mesh's proxies (every 15s; this "
              "server scrapes them every --sidecar-interval), so it would hold at most one "
              "sample of each counter and read as no traffic; the smallest window that can be "
              "answered is 30s");
    EXPECT_EQ(source_.queries.size(), fetches) << "refused before asking the source";
    EXPECT_EQ(Get(path, {{"window", "30s"}}).status, 200) << path;
  }
  // An interval that is not whole seconds: two of them, rounded up to a whole second.
  source_.scrape_interval = 10345ms;
  auto r = Get(web, {{"window", "20s"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["message"].get<std::string>().find(
                "the smallest window that can be answered is 21s"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(Get(web, {{"window", "21s"}}).status, 200);
  // Unknown interval: only the 1s minimum.
  source_.scrape_interval.reset();
  EXPECT_EQ(Get(web, {{"window", "1s"}}).status, 200);
}

TEST_F(ApiHandlerTest, BackendDownIsServiceUnavailable) {
  source_.unavailable = "Prometheus at http://127.0.0.1:1 is unreachable: connection refused";
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments/web");
  EXPECT_EQ(r.status, 503);
  const auto body = json::parse(r.body);
  EXPECT_EQ(body["reason"], "ServiceUnavailable");
  EXPECT_EQ(body["message"], *source_.unavailable);

  HttpRequest ready;
  ready.path = "/readyz";
  EXPECT_EQ(handler_.Handle(ready).status, 503);
}

TEST_F(ApiHandlerTest, SelectorsWithoutKubernetesKnowledge) {
  // Label selectors need the caches: 400 naming the flags that give them.
  auto r =
      Get(std::string(kBase) + "/namespaces/emojivoto/deployments", {{"labelSelector", "app=web"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(json::parse(r.body)["message"].get<std::string>().find("--kubeconfig"),
            std::string::npos);
  // Malformed selectors are 400 with the parser's message.
  r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments",
          {{"labelSelector", "app in (web"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["reason"], "BadRequest");
  r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments",
          {{"fieldSelector", "spec.nodeName=a"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["message"].get<std::string>().find("not a known field selector"),
            std::string::npos);
  // A field selector on the name works on what the series name.
  r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments",
          {{"fieldSelector", "metadata.name=legacy"}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(json::parse(r.body)["items"].size(), 1u);
  EXPECT_EQ(json::parse(r.body)["items"][0]["resource"]["name"], "legacy");
}

TEST_F(ApiHandlerTest, ReadyzWaitsForTheKubernetesCaches) {
  testing::UnsyncedCluster cluster;
  // The check the server registers for its caches, ahead of the source's.
  const ApiHandler handler(service_,
                           {{"kubernetes-caches",
                             [&cluster](std::string* why) {
                               std::string caches;
                               if (cluster.Synced(&caches)) return true;
                               *why = "not synced: " + caches;
                               return false;
                             }},
                            {"source", [this](std::string* why) { return source_.Ready(why); }}});
  HttpRequest ready;
  ready.path = "/readyz";
  auto r = handler.Handle(ready);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body,
            "[-]kubernetes-caches failed: not synced: pods, replicasets\nreadyz check failed\n");
  cluster.synced = true;
  EXPECT_EQ(handler.Handle(ready).status, 200);
}

TEST_F(ApiHandlerTest, WritesWatchAndUnknownPaths) {
  HttpRequest r;
  r.identity = Identity{"alice", {}, "", {}};
  r.method = "POST";
  r.path = std::string(kBase) + "/namespaces/emojivoto/deployments";
  auto res = handler_.Handle(r);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(json::parse(res.body)["reason"], "MethodNotAllowed");

  res = Get(std::string(kBase) + "/namespaces/emojivoto/deployments", {{"watch", "true"}});
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(json::parse(res.body)["message"],
            "watch is not supported on resources of kind \"deployments.metrics.smi-spec.io\"");

  res = Get(std::string(kBase) + "/namespaces/emojivoto/widgets");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(json::parse(res.body)["message"], "the server could not find the requested resource");
  EXPECT_TRUE(source_.queries.empty());
}

TEST_F(ApiHandlerTest, InvalidNamesNeverReachTheSource) {
  const auto r =
      Get(std::string(kBase) + "/namespaces/emojivoto/deployments/web\"} or vector(1) or {a=\"");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(source_.queries.empty());
}

TEST_F(ApiHandlerTest, AnonymousCallersOnlyReachHealthAndVersion) {
  HttpRequest r;
  r.path = std::string(kBase) + "/namespaces/emojivoto/deployments";
  auto res = handler_.Handle(r);
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(json::parse(res.body)["reason"], "Unauthorized");
  r.path = "/apis";
  EXPECT_EQ(handler_.Handle(r).status, 401);
  for (const char* open : {"/healthz", "/livez", "/readyz", "/version"}) {
    r.path = open;
    EXPECT_EQ(handler_.Handle(r).status, 200) << open;
  }
  EXPECT_TRUE(source_.queries.empty());
}

TEST_F(ApiHandlerTest, OwnMetricsNeedAnIdentity) {
  HttpRequest anonymous;
  anonymous.path = "/metrics";
  EXPECT_EQ(Get("/metrics").status, 404);  // not served until the server wires its registry
  handler_.set_metrics_text([] { return std::string("smi_prometheus_queries_total 3\n"); });
  EXPECT_EQ(handler_.Handle(anonymous).status, 401);
  const auto res = Get("/metrics");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "smi_prometheus_queries_total 3\n");
  EXPECT_EQ(res.content_type, "text/plain; version=0.0.4; charset=utf-8");
}

TEST_F(ApiHandlerTest, Discovery) {
  auto res = Get(kBase);
  ASSERT_EQ(res.status, 200);
  auto body = json::parse(res.body);
  EXPECT_EQ(body["kind"], "APIResourceList");
  EXPECT_EQ(body["groupVersion"], "metrics.smi-spec.io/v1alpha1");
  bool saw_pods = false;
  for (const auto& r : body["resources"]) {
    if (r["name"] == "pods") {
      saw_pods = true;
      EXPECT_EQ(r["kind"], "PodTrafficMetrics");  // a kind of its own (decisions.md, 10)
      EXPECT_EQ(r["singularName"], "pod");
      EXPECT_EQ(r["namespaced"], true);
      EXPECT_EQ(r["verbs"], (json{"get", "list"}));
    }
  }
  EXPECT_TRUE(saw_pods);
  res = Get("/apis");
  EXPECT_EQ(json::parse(res.body)["kind"], "APIGroupList");
  res = Get("/version");
  EXPECT_EQ(json::parse(res.body)["minor"], "32");
}

TEST_F(ApiHandlerTest, ContentNegotiation) {
  HttpRequest r;
  r.identity = Identity{"alice", {}, "", {}};
  r.path = kBase;
  r.headers["accept"] = "application/json, */*";
  EXPECT_EQ(handler_.Handle(r).status, 200);
  r.headers["accept"] = "application/vnd.kubernetes.protobuf";
  const auto res = handler_.Handle(r);
  EXPECT_EQ(res.status, 406);
  EXPECT_EQ(json::parse(res.body)["reason"], "NotAcceptable");
}

// Bytes that are not UTF-8, as `%FF` in a request decodes to, in every parameter and name a client
// chooses: a 400 or 404 Status that is valid JSON, never a 500 (building the message used to
// throw json type_error 316).
TEST_F(ApiHandlerTest, InvalidUtf8IsAnErrorNeverAFailure) {
  const std::string bad = "\xff";
  const std::string deployments = std::string(kBase) + "/namespaces/emojivoto/deployments";
  const std::vector<std::pair<std::multimap<std::string, std::string>, int>> params = {
      {{{"labelSelector", bad}}, 400},
      {{{"labelSelector", "app=" + bad}}, 400},
      {{{"fieldSelector", bad}}, 400},
      {{{"window", bad}}, 400},
      {{{"t", bad}}, 400},
  };
  for (const auto& [p, code] : params) {
    const auto r = Get(deployments, p);
    EXPECT_EQ(r.status, code) << p.begin()->first << ": " << r.body;
    const auto body = json::parse(r.body);  // valid JSON, hence valid UTF-8
    EXPECT_FALSE(body["message"].get<std::string>().empty()) << r.body;
  }
  for (const std::string& path :
       {std::string(kBase) + "/namespaces/" + bad + "/deployments",
        std::string(kBase) + "/namespaces/emojivoto/deployments/" + bad,
        std::string(kBase) + "/namespaces/" + bad, "/api/v1/namespaces/" + bad}) {
    const auto r = Get(path);
    EXPECT_EQ(r.status, 404) << path << ": " << r.body;
    EXPECT_NO_THROW(json::parse(r.body)) << r.body;
  }
  // A field selector's value may be any string; the list echoes it, so the answer must encode.
  const auto r = Get(deployments, {{"fieldSelector", "metadata.name=" + bad}});
  EXPECT_NE(r.status, 500) << r.body;
  EXPECT_NO_THROW(json::parse(r.body)) << r.body;
}

}  // namespace
}  // namespace smi::apiserver
