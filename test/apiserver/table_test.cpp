#include "apiserver/table.h"

#include <gtest/gtest.h>

#include <cmath>

namespace smi::apiserver {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

model::TrafficMetrics Item(std::string kind, std::string ns, std::string name, double success,
                           double failure, std::optional<double> p50 = std::nullopt) {
  model::TrafficMetrics tm;
  tm.resource = {std::move(kind), std::move(ns), std::move(name), ""};
  tm.timestamp = std::chrono::system_clock::time_point(1700000000s);
  tm.window = 30s;
  if (p50) {
    tm.metrics.push_back({"p99_response_latency", "seconds",
                          model::Quantity::FromDouble(*p50 * 3, model::kSecondsScale)});
    tm.metrics.push_back({"p90_response_latency", "seconds",
                          model::Quantity::FromDouble(*p50 * 2, model::kSecondsScale)});
    tm.metrics.push_back({"p50_response_latency", "seconds",
                          model::Quantity::FromDouble(*p50, model::kSecondsScale)});
  }
  tm.metrics.push_back(
      {"success_count", "", model::Quantity::FromDouble(success, model::kCountScale)});
  tm.metrics.push_back(
      {"failure_count", "", model::Quantity::FromDouble(failure, model::kCountScale)});
  return tm;
}

std::vector<std::string> Names(const json& table) {
  std::vector<std::string> out;
  for (const auto& c : table["columnDefinitions"]) out.push_back(c["name"]);
  return out;
}

TEST(TableTest, CellFormats) {
  EXPECT_EQ(FormatSuccessRate(296, 4), "98.67%");
  EXPECT_EQ(FormatSuccessRate(10, 0), "100.00%");
  EXPECT_EQ(FormatSuccessRate(0, 0), "-");
  EXPECT_EQ(FormatRps(300, 30s), "10.0rps");
  EXPECT_EQ(FormatRps(1, 30s), "0.0rps");
  EXPECT_EQ(FormatRps(0, 30s), "-");
  EXPECT_EQ(FormatLatency(0.015), "15ms");
  EXPECT_EQ(FormatLatency(0.0025), "2.5ms");
  EXPECT_EQ(FormatLatency(0.00025), "0.25ms");
  EXPECT_EQ(FormatLatency(12.5), "12.50s");
  EXPECT_EQ(FormatLatency(std::nullopt), "-");
  EXPECT_EQ(FormatLatency(std::nan("")), "-");
  EXPECT_EQ(FormatCount(73.492), "73");
  EXPECT_EQ(FormatCount(0), "0");
}

TEST(TableTest, TrafficMetricsColumnsRowsAndMetadataObjects) {
  TableOptions o;
  o.object_api_version = "metrics.smi-spec.io/v1alpha1";
  o.kind_column = true;
  const json t = ResourceTable({Item("Deployment", "emojivoto", "web", 296, 4, 0.015),
                                Item("DaemonSet", "logging", "node-logger", 0, 0)},
                               o);
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(t["metadata"], (json{{"resourceVersion", ""}}));
  EXPECT_EQ(Names(t), (std::vector<std::string>{"Name", "Kind", "Success", "RPS", "Latency_P50",
                                                "Latency_P90", "Latency_P99", "Success_Count",
                                                "Failure_Count", "Window"}));
  for (const auto& c : t["columnDefinitions"]) {
    EXPECT_EQ(c["type"], "string");
    for (const char* key : {"format", "description", "priority"}) EXPECT_TRUE(c.contains(key));
    const bool wide =
        c["name"] == "Success_Count" || c["name"] == "Failure_Count" || c["name"] == "Window";
    EXPECT_EQ(c["priority"], wide ? 1 : 0) << c;
  }
  EXPECT_EQ(t["columnDefinitions"][0]["format"], "name");
  ASSERT_EQ(t["rows"].size(), 2u);
  EXPECT_EQ(t["rows"][0]["cells"], (json{"web", "Deployment", "98.67%", "10.0rps", "15ms", "30ms",
                                         "45ms", "296", "4", "30s"}));
  // Idle: dashes, never 0ms or NaN; counts stay numbers.
  EXPECT_EQ(t["rows"][1]["cells"],
            (json{"node-logger", "DaemonSet", "-", "-", "-", "-", "-", "0", "0", "30s"}));
  // kubectl needs kind/apiVersion on the row object, and metadata.namespace for -A.
  EXPECT_EQ(t["rows"][1]["object"], (json{{"kind", "PartialObjectMetadata"},
                                          {"apiVersion", "meta.k8s.io/v1"},
                                          {"metadata",
                                           {{"name", "node-logger"},
                                            {"namespace", "logging"},
                                            {"creationTimestamp", "2023-11-14T22:13:20Z"}}}}));
}

TEST(TableTest, IncludeObjectAndVersion) {
  TableOptions o;
  o.object_api_version = "metrics.smi-spec.io/v1alpha2";
  o.version = Representation::kTableV1beta1;
  o.include = IncludeObject::kObject;
  json t = ResourceTable({Item("Pod", "emojivoto", "web-1", 1, 0)}, o);
  EXPECT_EQ(t["apiVersion"], "meta.k8s.io/v1beta1");
  EXPECT_EQ(Names(t)[1], "Success");  // no KIND column outside trafficmetrics
  EXPECT_EQ(t["rows"][0]["object"]["kind"], "TrafficMetrics");
  EXPECT_EQ(t["rows"][0]["object"]["apiVersion"], "metrics.smi-spec.io/v1alpha2");
  o.include = IncludeObject::kMetadata;
  t = ResourceTable({Item("Pod", "emojivoto", "web-1", 1, 0)}, o);
  EXPECT_EQ(t["rows"][0]["object"]["apiVersion"], "meta.k8s.io/v1beta1");
  o.include = IncludeObject::kNone;
  t = ResourceTable({Item("Pod", "emojivoto", "web-1", 1, 0)}, o);
  EXPECT_FALSE(t["rows"][0].contains("object"));
  // An empty list is a Table with no rows (kubectl then says "No resources found").
  EXPECT_EQ(ResourceTable({}, o)["rows"], json::array());
}

TEST(TableTest, EdgeRowsNameThePeerAndTheDirection) {
  auto to = Item("Deployment", "emojivoto", "web", 30, 0, 0.002);
  to.edge = {model::Direction::kTo, model::Side::kClient,
             model::ObjectReference{"Deployment", "emojivoto", "emoji", ""}};
  auto from = Item("Deployment", "emojivoto", "web", 0, 0);
  from.edge = {model::Direction::kFrom, model::Side::kClient,
               model::ObjectReference{"Deployment", "other", "vote-bot", ""}};
  TableOptions o;
  o.object_api_version = "metrics.smi-spec.io/v1alpha1";
  const json t = EdgeTable({to, from}, o);
  EXPECT_EQ(Names(t),
            (std::vector<std::string>{"Name", "Kind", "Direction", "Success", "RPS", "Latency_P50",
                                      "Latency_P90", "Latency_P99", "Namespace", "Side",
                                      "Success_Count", "Failure_Count", "Window"}));
  EXPECT_EQ(t["rows"][0]["cells"],
            (json{"emoji", "Deployment", "to", "100.00%", "1.0rps", "2.0ms", "4.0ms", "6.0ms",
                  "emojivoto", "client", "30", "0", "30s"}));
  EXPECT_EQ(t["rows"][1]["cells"][0], "vote-bot");
  EXPECT_EQ(t["rows"][1]["cells"][2], "from");
  EXPECT_EQ(t["rows"][1]["object"]["metadata"]["namespace"], "other");
}

}  // namespace
}  // namespace smi::apiserver
