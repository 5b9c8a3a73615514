// Reading TrafficMetrics as the spec, our server and another implementation write them, and the
// cells the tables show.
#include "plugin/readings.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace smi::plugin {
namespace {

using nlohmann::json;

json Fixture(const std::string& name) {
  std::ifstream in(std::string(SMI_TEST_FIXTURES) + "/" + name);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

TEST(ParseQuantity, KubernetesForms) {
  EXPECT_DOUBLE_EQ(ParseQuantity("0"), 0);
  EXPECT_DOUBLE_EQ(ParseQuantity("100"), 100);
  EXPECT_DOUBLE_EQ(ParseQuantity("10m"), 0.01);
  EXPECT_DOUBLE_EQ(ParseQuantity("73492m"), 73.492);
  EXPECT_DOUBLE_EQ(ParseQuantity("604255n"), 0.000604255);
  EXPECT_DOUBLE_EQ(ParseQuantity("4500u"), 0.0045);
  EXPECT_DOUBLE_EQ(ParseQuantity("1k"), 1000);
  EXPECT_DOUBLE_EQ(ParseQuantity("2M"), 2e6);
  EXPECT_DOUBLE_EQ(ParseQuantity("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(ParseQuantity(".5"), 0.5);
  EXPECT_DOUBLE_EQ(ParseQuantity("-5m"), -0.005);
  EXPECT_DOUBLE_EQ(ParseQuantity("2Mi"), 2097152);
  EXPECT_DOUBLE_EQ(ParseQuantity("1Ki"), 1024);
  EXPECT_DOUBLE_EQ(ParseQuantity("1e3"), 1000);
  EXPECT_DOUBLE_EQ(ParseQuantity("5E-3"), 0.005);
}

TEST(ParseQuantity, GarbageIsRefused) {
  for (const char* bad : {"", "m", "abc", "10x", "1e", "1e+", "1.2.3", "10 m", "--1", "1ee3"}) {
    EXPECT_THROW(ParseQuantity(bad), MalformedAnswer) << bad;
  }
}

TEST(ReadTrafficMetrics, TheSpecsExample) {
  const auto r =
      ReadTrafficMetrics(Fixture("spec/01-trafficmetrics-pod-edge-to-client.yaml-as-json.json"));
  EXPECT_EQ(r.resource, (ObjectRef{"Pod", "foobar", "foo-775b9cbd88-ntxsl"}));
  EXPECT_EQ(r.direction, "to");
  EXPECT_EQ(r.side, "client");
  EXPECT_EQ(r.peer, (ObjectRef{"Pod", "foobar", "baz-577db7d977-lsk2q"}));
  EXPECT_DOUBLE_EQ(r.success, 100);  // a JSON number here, a quantity string on the wire
  EXPECT_DOUBLE_EQ(r.failure, 100);
  EXPECT_DOUBLE_EQ(*r.p99, 0.01);
  EXPECT_EQ(r.window, std::chrono::seconds(30));
  EXPECT_EQ(r.timestamp, "2019-04-08T22:25:55Z");
  EXPECT_EQ(FormatSuccessRate(r), "50.00%");
  EXPECT_EQ(FormatRps(r), "6.7rps");
  EXPECT_EQ(FormatLatency(r.p50), "10ms");
}

TEST(ReadTrafficMetrics, AnotherImplementationsEdges) {
  // No side, latencies in ms, as the reference server answered.
  const auto items =
      ReadTrafficMetricsList(Fixture("impl/smi-metrics-readme-linkerd-deployment-edges.json"));
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].direction, "from");
  EXPECT_EQ(items[0].side, "");
  EXPECT_EQ(items[0].peer, (ObjectRef{"Deployment", "linkerd", "linkerd-web"}));
  EXPECT_DOUBLE_EQ(*items[0].p99, 0.294);
  EXPECT_DOUBLE_EQ(*items[1].p90, 0.247199);
  EXPECT_DOUBLE_EQ(items[1].success, 1008.1);
  EXPECT_EQ(FormatLatency(items[1].p50), "121ms");
  EXPECT_EQ(FormatRps(items[1]), "33.6rps");
}

TEST(ReadTrafficMetrics, IdleObjectAndNullPeer) {
  const json idle = json::parse(R"({"kind":"TrafficMetrics","resource":{"kind":"Deployment",
    "namespace":"a","name":"b"},"edge":{"direction":"from","side":"server","resource":null},
    "timestamp":"2024-01-01T00:00:00Z","window":"1m0s",
    "metrics":[{"name":"success_count","value":"0"},{"name":"failure_count","value":"0"}]})");
  const auto r = ReadTrafficMetrics(idle);
  EXPECT_FALSE(r.peer.has_value());
  EXPECT_FALSE(r.p50.has_value());
  EXPECT_EQ(r.window, std::chrono::minutes(1));
  EXPECT_EQ(FormatSuccessRate(r), "-");
  EXPECT_EQ(FormatRps(r), "-");
  EXPECT_EQ(FormatLatency(r.p99), "-");
  EXPECT_EQ(HealthOf(r), Health::kIdle);
  EXPECT_EQ(DescribePeer(r.peer), "*");
}

TEST(ReadTrafficMetrics, MalformedAnswersSayWhat) {
  auto bad = [](const char* text) { return json::parse(text); };
  EXPECT_THROW(ReadTrafficMetrics(bad(R"([1])")), MalformedAnswer);
  EXPECT_THROW(ReadTrafficMetrics(bad(R"({"kind":"Status"})")), MalformedAnswer);
  EXPECT_THROW(ReadTrafficMetrics(bad(R"({"resource":{"name":"x"}})")), MalformedAnswer);
  EXPECT_THROW(
      ReadTrafficMetrics(
          bad(R"({"resource":{"name":"x"},"metrics":[{"name":"success_count","value":"lots"}]})")),
      MalformedAnswer);
  EXPECT_THROW(ReadTrafficMetrics(bad(R"({"resource":{"name":"x"},"window":"soon","metrics":[]})")),
               MalformedAnswer);
  EXPECT_THROW(
      ReadTrafficMetrics(bad(
          R"({"resource":{"name":"x"},"metrics":[{"name":"p99_response_latency","unit":"furlongs","value":"1"}]})")),
      MalformedAnswer);
  EXPECT_THROW(ReadTrafficMetricsList(bad(R"({"items":{}})")), MalformedAnswer);
  EXPECT_TRUE(ReadTrafficMetricsList(bad(R"({"kind":"TrafficMetricsList","items":null})")).empty());
}

TEST(Cells, FormatsOfTheTable) {
  TrafficReading r;
  r.success = 98.67;
  r.failure = 1.33;
  r.window = std::chrono::seconds(10);
  EXPECT_EQ(FormatSuccessRate(r), "98.67%");
  EXPECT_EQ(FormatRps(r), "10.0rps");
  EXPECT_EQ(HealthOf(r), Health::kDegraded);
  EXPECT_EQ(FormatLatency(0.015), "15ms");
  EXPECT_EQ(FormatLatency(0.0025), "2.5ms");
  EXPECT_EQ(FormatLatency(0.00025), "0.25ms");
  EXPECT_EQ(FormatLatency(12.5), "12.50s");
  EXPECT_EQ(FormatCount(1499.6), "1500");
  EXPECT_EQ(FormatWindow(std::chrono::seconds(75)), "1m15s");
  EXPECT_EQ(DescribePeer(ObjectRef{"Deployment", "emojivoto", "web"}), "deployment/emojivoto/web");
  EXPECT_EQ(DescribePeer(ObjectRef{"Namespace", "", "identity"}), "namespace/identity");
  EXPECT_EQ(DescribePeer(ObjectRef{"", "unknown", "unknown"}), "unknown/unknown");
}

}  // namespace
}  // namespace smi::plugin
