#include "model/traffic_metrics.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace smi::model {
namespace {

using nlohmann::json;

constexpr std::string_view kV1alpha1 = "metrics.smi-spec.io/v1alpha1";

json LoadSpecExample(const std::string& file) {
  std::ifstream in(std::string(SMI_TEST_FIXTURES) + "/spec/" + file);
  EXPECT_TRUE(in.good()) << file;
  return json::parse(in);
}

// The spec's YAML-to-JSON rendering turned `value: 100` into a number; on the wire a quantity is
// always a string, so numbers in the fixture are compared as their decimal text.
json QuantitiesAsStrings(json metrics) {
  for (auto& metric : metrics) {
    if (metric["value"].is_number()) metric["value"] = metric["value"].dump();
  }
  return metrics;
}

std::chrono::system_clock::time_point SpecTimestamp() {
  return std::chrono::system_clock::time_point{std::chrono::seconds(1554762355)};
}

std::vector<Metric> SpecMetrics() {
  return {
      {std::string(kP99Latency), "seconds", Quantity::FromDouble(0.010, kSecondsScale)},
      {std::string(kP90Latency), "seconds", Quantity::FromDouble(0.010, kSecondsScale)},
      {std::string(kP50Latency), "seconds", Quantity::FromDouble(0.010, kSecondsScale)},
      {std::string(kSuccessCount), "", Quantity::FromDouble(100, kCountScale)},
      {std::string(kFailureCount), "", Quantity::FromDouble(100, kCountScale)},
  };
}

TEST(ResourceKinds, NamesPluralsAndScope) {
  EXPECT_EQ(KindName(ResourceKind::kPod), "Pod");
  EXPECT_EQ(KindName(ResourceKind::kDeployment), "Deployment");
  EXPECT_EQ(KindName(ResourceKind::kStatefulSet), "StatefulSet");
  EXPECT_EQ(KindName(ResourceKind::kDaemonSet), "DaemonSet");
  EXPECT_EQ(KindName(ResourceKind::kNamespace), "Namespace");
  for (auto kind : {ResourceKind::kPod, ResourceKind::kDeployment, ResourceKind::kStatefulSet,
                    ResourceKind::kDaemonSet, ResourceKind::kNamespace}) {
    EXPECT_EQ(KindFromPlural(ResourcePlural(kind)), kind);
  }
  EXPECT_EQ(ResourcePlural(ResourceKind::kStatefulSet), "statefulsets");
  EXPECT_EQ(KindFromPlural("namespaces"), ResourceKind::kNamespace);
  EXPECT_EQ(KindFromPlural("Pods"), std::nullopt);
  EXPECT_EQ(KindFromPlural("pod"), std::nullopt);
  EXPECT_EQ(KindFromPlural("trafficsplits"), std::nullopt);
  EXPECT_EQ(KindFromPlural(""), std::nullopt);
  EXPECT_TRUE(IsNamespaced(ResourceKind::kPod));
  EXPECT_TRUE(IsNamespaced(ResourceKind::kDaemonSet));
  EXPECT_FALSE(IsNamespaced(ResourceKind::kNamespace));
  EXPECT_EQ(DirectionName(Direction::kTo), "to");
  EXPECT_EQ(DirectionName(Direction::kFrom), "from");
  EXPECT_EQ(SideName(Side::kClient), "client");
  EXPECT_EQ(SideName(Side::kServer), "server");
}

TEST(TrafficMetricsJson, MatchesTheSpecExample) {
  const json spec = LoadSpecExample("01-trafficmetrics-pod-edge-to-client.yaml-as-json.json");

  TrafficMetrics tm;
  tm.resource = {"Pod", "foobar", "foo-775b9cbd88-ntxsl", ""};
  tm.edge = {Direction::kTo, Side::kClient,
             ObjectReference{"Pod", "foobar", "baz-577db7d977-lsk2q", ""}};
  tm.timestamp = SpecTimestamp();
  tm.window = std::chrono::seconds(30);
  tm.metrics = SpecMetrics();

  const json out = ToJson(tm, kV1alpha1);
  EXPECT_EQ(out["kind"], spec["kind"]);
  EXPECT_EQ(out["resource"], spec["resource"]);
  EXPECT_EQ(out["edge"], spec["edge"]);
  EXPECT_EQ(out["timestamp"], spec["timestamp"]);
  EXPECT_EQ(out["window"], spec["window"]);
  EXPECT_EQ(out["metrics"], QuantitiesAsStrings(spec["metrics"]));
  EXPECT_FALSE(out.contains("backend"));

  // What the spec leaves out, as the SDK fills it.
  EXPECT_EQ(out["apiVersion"], "metrics.smi-spec.io/v1alpha1");
  EXPECT_EQ(out["metadata"], (json{{"name", "foo-775b9cbd88-ntxsl"},
                                   {"namespace", "foobar"},
                                   {"creationTimestamp", "2019-04-08T22:25:55Z"}}));
  // Every key the spec has is there, and nothing else besides apiVersion and metadata.
  for (const auto& [key, value] : spec.items()) EXPECT_TRUE(out.contains(key)) << key;
  EXPECT_EQ(out.size(), spec.size() + 2);
}

TEST(TrafficMetricsJson, MatchesTheSpecTrafficSplitExample) {
  const json spec = LoadSpecExample("10-trafficmetrics-trafficsplit-backend.yaml-as-json.json");

  TrafficMetrics tm;
  tm.resource = {"TrafficSplit", "foobar", "my-traffic-split", ""};
  tm.edge = {Direction::kFrom, Side::kClient, ObjectReference{}};  // `resource: {}`
  tm.backend = Backend{"my-service", "my-service-v1", 90};
  tm.timestamp = SpecTimestamp();
  tm.window = std::chrono::seconds(30);
  tm.metrics = SpecMetrics();

  const json out = ToJson(tm, "metrics.smi-spec.io/v1alpha2");
  for (const char* key : {"kind", "resource", "edge", "backend", "timestamp", "window"}) {
    EXPECT_EQ(out[key], spec[key]) << key;
  }
  EXPECT_EQ(out["metrics"], QuantitiesAsStrings(spec["metrics"]));
  EXPECT_TRUE(out["edge"]["resource"].is_object());
  EXPECT_EQ(out["apiVersion"], "metrics.smi-spec.io/v1alpha2");
}

TEST(TrafficMetricsJson, ResourceScopeHasANullEdgeResource) {
  TrafficMetrics tm;
  tm.resource = {"Namespace", "", "emojivoto", ""};
  tm.edge = {Direction::kFrom, Side::kServer, std::nullopt};
  tm.timestamp = SpecTimestamp();
  tm.window = std::chrono::seconds(75);
  tm.metrics = {{std::string(kSuccessCount), "", Quantity::FromDouble(73.492, kCountScale)}};

  const json out = ToJson(tm, kV1alpha1);
  EXPECT_TRUE(out["edge"]["resource"].is_null());
  EXPECT_EQ(out["edge"]["direction"], "from");
  EXPECT_EQ(out["edge"]["side"], "server");
  // Cluster-scoped: no namespace anywhere.
  EXPECT_EQ(out["resource"], (json{{"kind", "Namespace"}, {"name", "emojivoto"}}));
  EXPECT_FALSE(out["metadata"].contains("namespace"));
  EXPECT_EQ(out["metadata"]["name"], "emojivoto");
  EXPECT_EQ(out["window"], "1m15s");
  // A count has no unit key at all, not an empty one.
  EXPECT_EQ(out["metrics"], (json::array({{{"name", "success_count"}, {"value", "73492m"}}})));
}

TEST(TrafficMetricsJson, KindOnlyPeerAndApiVersionInReferences) {
  TrafficMetrics tm;
  tm.resource = {"Deployment", "default", "web", "apps/v1"};
  tm.edge = {Direction::kTo, Side::kClient, ObjectReference{"Deployment", "", "", ""}};
  const json out = ToJson(tm, kV1alpha1);
  EXPECT_EQ(out["resource"]["apiVersion"], "apps/v1");
  EXPECT_EQ(out["edge"]["resource"], (json{{"kind", "Deployment"}}));
  EXPECT_EQ(out["metrics"], json::array());  // an empty list, never null
  EXPECT_EQ(out["timestamp"], "1970-01-01T00:00:00Z");
  EXPECT_EQ(out["window"], "30s");  // the model's default window
}

TEST(TrafficMetricsListJson, KindList) {
  TrafficMetricsList list;
  list.resource = {"Pod", "foobar", "", ""};
  TrafficMetrics item;
  item.resource = {"Pod", "foobar", "foo-775b9cbd88-ntxsl", ""};
  item.timestamp = SpecTimestamp();
  list.items = {item, item};

  const json out = ToJson(list, kV1alpha1);
  EXPECT_EQ(out["kind"], "TrafficMetricsList");
  EXPECT_EQ(out["apiVersion"], "metrics.smi-spec.io/v1alpha1");
  EXPECT_EQ(out["metadata"], json::object());
  // The spec's list example: `resource: {kind: Pod}` (plus the namespace of a namespaced list).
  EXPECT_EQ(out["resource"], (json{{"kind", "Pod"}, {"namespace", "foobar"}}));
  EXPECT_FALSE(out.contains("selector"));
  ASSERT_EQ(out["items"].size(), 2u);
  EXPECT_EQ(out["items"][0], ToJson(item, kV1alpha1));
}

TEST(TrafficMetricsListJson, EmptyListAndSelector) {
  TrafficMetricsList list;
  list.resource = {"Pod", "", "", ""};
  list.selector =
      ListSelector{{{"app", "foo"}}, {{"tier", "NotIn", {"db"}}, {"canary", "DoesNotExist", {}}}};
  const json out = ToJson(list, kV1alpha1);
  EXPECT_EQ(out["items"], json::array());
  // The spec's shape: `selector: {matchLabels: {app: foo}}`, expressions as metav1 writes them.
  EXPECT_EQ(out["selector"], json::parse(R"({"matchLabels":{"app":"foo"},"matchExpressions":[
      {"key":"tier","operator":"NotIn","values":["db"]},{"key":"canary","operator":"DoesNotExist"}]})"));
}

// The list's text, written item by item, is byte for byte the tree's own dump: empty lists,
// edges, selectors, annotations, backends, and invalid UTF-8 a request echoed (U+FFFD).
TEST(TrafficMetricsListJson, TextIsTheTreesOwnDump) {
  const auto dump = [](const TrafficMetricsList& l) {
    return ToJson(l, kV1alpha1).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  TrafficMetricsList empty;
  empty.resource = {"Deployment", "", "", ""};
  EXPECT_EQ(ToJsonText(empty, kV1alpha1), dump(empty));

  TrafficMetricsList list;
  list.resource = {"Deployment", "emojivoto", "web", ""};
  const std::string not_utf8 = std::string("we\xff") + "b";  // the byte 0xff, then b
  list.selector = ListSelector{{{"app", not_utf8}}, {{"tier", "In", {"a", "b"}}}};
  TrafficMetrics a;
  a.resource = {"Deployment", "emojivoto", "web", ""};
  a.timestamp = SpecTimestamp();
  a.edge.direction = Direction::kTo;
  a.edge.resource = ObjectReference{"Unknown", "", "api.example.com", ""};
  a.metrics = {{"p99_response_latency", "seconds", Quantity(12, -3)},
               {"success_count", "", Quantity(7, 0)}};
  a.annotations = {{"smi-spec.io/note", "x\"y"}};
  TrafficMetrics b = a;
  b.edge.resource.reset();
  b.backend = Backend{"apex", "web-v2", 80};
  list.items = {a, b, a};
  const std::string text = ToJsonText(list, kV1alpha1);
  EXPECT_EQ(text, dump(list));
  EXPECT_TRUE(json::accept(text));
}

}  // namespace
}  // namespace smi::model
