// The trafficsplits resource in the service: splits from the Kubernetes caches (a
// StaticClusterState), numbers from the (fake) source, one item per backend.
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "aggregation/traffic_metrics_service.h"
#include "kube/cluster_state.h"
#include "mocks/fake_source.h"

namespace smi::aggregation {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr double kInf = std::numeric_limits<double>::infinity();

json Split(std::string ns, std::string name, std::string apex, json backends,
           std::string version = "split.smi-spec.io/v1alpha2") {
  return {{"apiVersion", version},
          {"kind", "TrafficSplit"},
          {"metadata", {{"namespace", ns}, {"name", name}, {"uid", ns + "-" + name}}},
          {"spec", {{"service", apex}, {"backends", backends}}}};
}

double Value(const model::TrafficMetrics& tm, std::string_view name) {
  for (const auto& m : tm.metrics) {
    if (m.name == name) return m.value.ToDouble();
  }
  return -1;
}

bool HasLatency(const model::TrafficMetrics& tm) {
  for (const auto& m : tm.metrics) {
    if (m.name == model::kP50Latency) return true;
  }
  return false;
}

class TrafficSplitsTest : public ::testing::Test {
 protected:
  TrafficSplitsTest() : clock_(std::chrono::system_clock::time_point(1700000000500ms)) {
    cluster_.Load(json{{"kind", "List"},
                       {"items",
                        {Split("emojivoto", "voting-split", "voting-svc",
                               {{{"service", "voting-v1-svc"}, {"weight", 90}},
                                {{"service", "voting-v2-svc"}, {"weight", 10}}}),
                         Split("shop", "cart-split", "cart",
                               {{{"service", "cart-v1"}, {"weight", "500m"}},
                                {{"service", "cart-v2"}, {"weight", "500m"}}},
                               "split.smi-spec.io/v1alpha1")}}});
    sources::TrafficCounts v1;
    v1.success = 243;
    v1.failure = 27;
    v1.latency_buckets = {{0.005, 54}, {0.010, 189}, {0.020, 243}, {kInf, 270}};
    source_.resource_samples.backends = {
        {"emojivoto", "voting-svc", "voting-v1-svc", model::Side::kClient, v1},
        // A backend the caches' splits do not have is ignored.
        {"emojivoto", "voting-svc", "voting-v3-svc", model::Side::kClient, v1}};
  }

  TrafficMetricsService Service(const kube::ClusterState* cluster) {
    return TrafficMetricsService(source_, clock_, {}, cluster);
  }

  testing::FakeSource source_;
  testing::FakeClock clock_;
  kube::StaticClusterState cluster_;
};

TEST_F(TrafficSplitsTest, GetIsOneItemPerBackendWithTheObjectsWeights) {
  auto service = Service(&cluster_);
  MetricsQuery q;
  q.ns = "emojivoto";
  q.name = "voting-split";
  q.window = 30s;
  const auto list = service.GetTrafficSplit(q);
  EXPECT_EQ(list.resource,
            (model::ObjectReference{"TrafficSplit", "emojivoto", "voting-split", ""}));
  ASSERT_EQ(list.items.size(), 2u);
  const auto& v1 = list.items[0];
  EXPECT_EQ(v1.resource, list.resource);
  EXPECT_EQ(v1.edge.direction, model::Direction::kFrom);
  EXPECT_EQ(v1.edge.side, model::Side::kClient);
  ASSERT_TRUE(v1.edge.resource);
  EXPECT_EQ(*v1.edge.resource, model::ObjectReference{});
  ASSERT_TRUE(v1.backend);
  EXPECT_EQ(v1.backend->apex, "voting-svc");
  EXPECT_EQ(v1.backend->name, "voting-v1-svc");
  EXPECT_EQ(v1.backend->weight, 90);
  EXPECT_EQ(Value(v1, model::kSuccessCount), 243);
  EXPECT_EQ(Value(v1, model::kFailureCount), 27);
  EXPECT_NEAR(Value(v1, model::kP50Latency), 0.005 + 0.005 * (135.0 - 54) / (189 - 54), 1e-9);
  EXPECT_EQ(v1.timestamp, std::chrono::system_clock::time_point(1699999999s));
  EXPECT_EQ(v1.window, 30s);
  // A backend without traffic: zero counts, no latency.
  const auto& v2 = list.items[1];
  EXPECT_EQ(v2.backend->name, "voting-v2-svc");
  EXPECT_EQ(v2.backend->weight, 10);
  EXPECT_EQ(Value(v2, model::kSuccessCount), 0);
  EXPECT_EQ(Value(v2, model::kFailureCount), 0);
  EXPECT_FALSE(HasLatency(v2));

  ASSERT_EQ(source_.queries.size(), 1u);
  const auto& sq = source_.queries[0];
  const auto& splits = testing::ShapeAs<sources::TrafficSplitBackends>(sq).splits;
  ASSERT_EQ(splits.size(), 1u);
  EXPECT_EQ(splits[0].ns, "emojivoto");
  EXPECT_EQ(splits[0].apex, "voting-svc");
  EXPECT_EQ(splits[0].backends, (std::vector<std::string>{"voting-v1-svc", "voting-v2-svc"}));
  EXPECT_EQ(sq.window, 30s);
  EXPECT_EQ(sq.at, std::chrono::system_clock::time_point(1699999999s));

  // The spec's wire form: `resource: {}`, not null, and the backend.
  const json j = model::ToJson(list, "metrics.smi-spec.io/v1alpha1");
  EXPECT_EQ(j["items"][0]["edge"],
            json({{"direction", "from"}, {"side", "client"}, {"resource", json::object()}}));
  EXPECT_EQ(j["items"][0]["backend"],
            json({{"apex", "voting-svc"}, {"name", "voting-v1-svc"}, {"weight", 90}}));
  EXPECT_EQ(j["resource"],
            json({{"kind", "TrafficSplit"}, {"namespace", "emojivoto"}, {"name", "voting-split"}}));
}

TEST_F(TrafficSplitsTest, AMissingSplitIsNotFound) {
  auto service = Service(&cluster_);
  MetricsQuery q;
  q.ns = "emojivoto";
  q.name = "nope";
  EXPECT_THROW(service.GetTrafficSplit(q), ObjectNotFound);
  q.ns = "shop";
  q.name = "voting-split";
  EXPECT_THROW(service.GetTrafficSplit(q), ObjectNotFound);
  EXPECT_TRUE(source_.queries.empty());
}

TEST_F(TrafficSplitsTest, ListsEveryBackendOfEverySplitInOneFetch) {
  auto service = Service(&cluster_);
  MetricsQuery q;
  const auto all = service.ListTrafficSplits(q);
  EXPECT_EQ(all.resource, (model::ObjectReference{"TrafficSplit", "", "", ""}));
  ASSERT_EQ(all.items.size(), 4u);
  EXPECT_EQ(all.items[0].resource.name, "voting-split");
  EXPECT_EQ(all.items[1].backend->name, "voting-v2-svc");
  EXPECT_EQ(all.items[2].resource,
            (model::ObjectReference{"TrafficSplit", "shop", "cart-split", ""}));
  EXPECT_EQ(all.items[2].backend->apex, "cart");
  EXPECT_EQ(all.items[2].backend->name, "cart-v1");
  EXPECT_EQ(all.items[2].backend->weight, all.items[3].backend->weight);
  ASSERT_EQ(source_.queries.size(), 1u);
  EXPECT_EQ(testing::ShapeAs<sources::TrafficSplitBackends>(source_.queries[0]).splits.size(), 2u);

  q.ns = "shop";
  const auto shop = service.ListTrafficSplits(q);
  EXPECT_EQ(shop.resource, (model::ObjectReference{"TrafficSplit", "shop", "", ""}));
  ASSERT_EQ(shop.items.size(), 2u);
  EXPECT_EQ(shop.items[0].resource.ns, "shop");

  q.ns = "empty";
  EXPECT_TRUE(service.ListTrafficSplits(q).items.empty());
  EXPECT_EQ(source_.queries.size(), 2u);  // no splits, no query
}

TEST_F(TrafficSplitsTest, SelectorsFilterTheSplits) {
  cluster_.Upsert(json{{"apiVersion", "split.smi-spec.io/v1alpha2"},
                       {"kind", "TrafficSplit"},
                       {"metadata",
                        {{"namespace", "emojivoto"},
                         {"name", "labelled-split"},
                         {"uid", "u-labelled"},
                         {"labels", {{"team", "votes"}}}}},
                       {"spec",
                        {{"service", "voting-svc"},
                         {"backends", {{{"service", "voting-v1-svc"}, {"weight", 1}}}}}}});
  auto service = Service(&cluster_);
  MetricsQuery q;
  q.label_selector = kube::LabelSelector::Parse("team=votes");
  const auto labelled = service.ListTrafficSplits(q);
  ASSERT_EQ(labelled.items.size(), 1u);
  EXPECT_EQ(labelled.items[0].resource.name, "labelled-split");
  ASSERT_TRUE(labelled.selector.has_value());

  q.label_selector.reset();
  q.field_selector = kube::FieldSelector::Parse("metadata.namespace=shop");
  const auto shop = service.ListTrafficSplits(q);
  ASSERT_EQ(shop.items.size(), 2u);
  EXPECT_EQ(shop.items[0].resource.name, "cart-split");
  EXPECT_FALSE(shop.selector.has_value());
}

TEST_F(TrafficSplitsTest, WithoutKubernetesNoSplitExists) {
  auto service = Service(nullptr);
  MetricsQuery q;
  q.ns = "emojivoto";
  EXPECT_TRUE(service.ListTrafficSplits(q).items.empty());
  EXPECT_EQ(service.ListTrafficSplits(q).resource.kind, "TrafficSplit");
  q.name = "voting-split";
  EXPECT_THROW(service.GetTrafficSplit(q), ObjectNotFound);
  EXPECT_TRUE(source_.queries.empty());
}

TEST_F(TrafficSplitsTest, SourceAndWindowErrorsPassThrough) {
  auto service = Service(&cluster_);
  MetricsQuery q;
  q.ns = "emojivoto";
  q.window = 500ms;
  EXPECT_THROW(service.ListTrafficSplits(q), InvalidWindow);
  q.window = 30s;
  source_.unavailable = "prometheus at http://x: connection refused";
  EXPECT_THROW(service.ListTrafficSplits(q), sources::SourceUnavailable);
}

}  // namespace
}  // namespace smi::aggregation
