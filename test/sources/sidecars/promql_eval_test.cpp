// The in-process PromQL of sidecar mode: every query the mesh profiles build parses, and each
// construct evaluates as PromQL does. Expected values are worked out by hand from the samples
// loaded (counters that grow linearly, sampled on the window's edges, so increase() is exact).
#include "sources/sidecars/promql_eval.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/promql_builder.h"
#include "sources/sidecars/series_store.h"

namespace smi::sources::sidecars {
namespace {

using prometheus::VectorSample;
using std::chrono::seconds;

constexpr int64_t kT0 = 1'700'000'000'000;  // ms

LabelSet Target(const std::string& ns, const std::string& pod, const std::string& deployment) {
  return LabelSet({{"job", "linkerd-proxy"},
                   {"instance", pod + ":4191"},
                   {"namespace", ns},
                   {"pod", pod},
                   {"deployment", deployment}});
}

// A Linkerd-shaped payload: inbound successes and failures, and one outbound edge.
std::string Payload(double success, double failure, double outbound) {
  return "# TYPE response_total counter\n"
         "response_total{direction=\"inbound\",classification=\"success\",status_code=\"200\"} " +
         std::to_string(success) +
         "\n"
         "response_total{direction=\"inbound\",classification=\"failure\",status_code=\"500\"} " +
         std::to_string(failure) +
         "\n"
         "response_total{direction=\"outbound\",dst_namespace=\"shop\",dst_deployment=\"db\","
         "dst_pod=\"db-0\",classification=\"success\",status_code=\"200\"} " +
         std::to_string(outbound) + "\n";
}

class EvalTest : public ::testing::Test {
 protected:
  EvalTest() : store_(std::chrono::minutes(5), Retained{{"response_total"}}) {}

  // Scrapes at kT0 + 0, 10, 20, 30 s: web-1 serves 1 success/s and 0.1 failure/s and sends
  // 2/s to db; web-2 serves 3 successes/s.
  void LoadTwoPods() {
    for (int i = 0; i <= 3; ++i) {
      const double t = 10.0 * i;
      ASSERT_TRUE(store_
                      .Ingest("shop/web-1", Target("shop", "web-1", "web"), kT0 + i * 10'000,
                              Payload(100 + t, 5 + 0.1 * t, 2 * t))
                      .ok);
      ASSERT_TRUE(store_
                      .Ingest("shop/web-2", Target("shop", "web-2", "web"), kT0 + i * 10'000,
                              Payload(3 * t, 0, 0))
                      .ok);
    }
  }

  std::vector<VectorSample> Eval(const std::string& promql, int64_t at = kT0 + 30'000) {
    return Evaluate(*ParseQuery(promql), store_, at);
  }

  SeriesStore store_;
};

std::map<std::map<std::string, std::string>, double> ByLabels(const std::vector<VectorSample>& v) {
  std::map<std::map<std::string, std::string>, double> out;
  for (const auto& s : v) out[s.labels] = s.value;
  return out;
}

TEST_F(EvalTest, SumByIncreaseGroupsByTheLabelsNamed) {
  LoadTwoPods();
  const auto got = ByLabels(
      Eval("sum by (namespace, pod, classification) (increase(response_total{direction=\"inbound\"}"
           "[30s]))"));
  const std::map<std::map<std::string, std::string>, double> want = {
      {{{"namespace", "shop"}, {"pod", "web-1"}, {"classification", "success"}}, 30},
      {{{"namespace", "shop"}, {"pod", "web-1"}, {"classification", "failure"}}, 3},
      {{{"namespace", "shop"}, {"pod", "web-2"}, {"classification", "success"}}, 90},
      {{{"namespace", "shop"}, {"pod", "web-2"}, {"classification", "failure"}}, 0},
  };
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [labels, value] : want) {
    ASSERT_TRUE(got.contains(labels));
    EXPECT_NEAR(got.at(labels), value, 1e-9);
  }
}

TEST_F(EvalTest, AbsentLabelsGroupAsEmptyAndAreLeftOut) {
  LoadTwoPods();
  const auto got = ByLabels(
      Eval("sum by (deployment, dst_deployment) (increase(response_total{direction=\"outbound\"}"
           "[30s]))"));
  ASSERT_EQ(got.size(), 1u);
  const std::map<std::string, std::string> key = {{"deployment", "web"}, {"dst_deployment", "db"}};
  ASSERT_TRUE(got.contains(key));
  EXPECT_NEAR(got.at(key), 60, 1e-9);
  // Grouped by a label no series has: one group without labels.
  const auto none = Eval("sum by (nothing) (increase(response_total{direction=\"inbound\"}[30s]))");
  ASSERT_EQ(none.size(), 1u);
  EXPECT_TRUE(none[0].labels.empty());
  EXPECT_NEAR(none[0].value, 123, 1e-9);
}

TEST_F(EvalTest, MatchersAreAnchoredAndAnAbsentLabelIsEmpty) {
  LoadTwoPods();
  EXPECT_TRUE(
      Eval("sum by (pod) (increase(response_total{classification=~\"fail\"}[30s]))").empty());
  EXPECT_EQ(Eval("sum by (pod) (increase(response_total{classification=~\"fail.*\"}[30s]))").size(),
            2u);
  // dst_pod is absent on inbound series: != "" keeps only the outbound ones (web-2's stays 0).
  const auto out = ByLabels(Eval("sum by (pod) (increase(response_total{dst_pod!=\"\"}[30s]))"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out.at({{"pod", "web-1"}}), 60, 1e-9);
  EXPECT_NEAR(out.at({{"pod", "web-2"}}), 0, 1e-9);
  EXPECT_TRUE(Eval("sum by (pod) (increase(response_total{dst_pod=\"\", direction=\"outbound\"}"
                   "[30s]))")
                  .empty());
  EXPECT_EQ(Eval("sum by (pod) (increase(response_total{classification!~\"success|failure\"}"
                 "[30s]))")
                .size(),
            0u);
}

TEST_F(EvalTest, GroupByShowsTheTargetsUpNowAndNotRemovedOnes) {
  LoadTwoPods();
  auto up = ByLabels(Eval("group by (namespace, pod) (up{job=\"linkerd-proxy\"})"));
  EXPECT_EQ(up.size(), 2u);
  store_.RemoveTarget("shop/web-2", kT0 + 35'000);
  up = ByLabels(Eval("group by (namespace, pod) (up{job=\"linkerd-proxy\"})", kT0 + 36'000));
  ASSERT_EQ(up.size(), 1u);
  EXPECT_TRUE(up.contains({{"namespace", "shop"}, {"pod", "web-1"}}));
}

TEST_F(EvalTest, LabelReplaceSetsTheLabelAndOrKeepsTheLeftSideFirst) {
  LoadTwoPods();
  const auto got = Eval(
      "label_replace(sum by (pod) (increase(response_total{direction=\"inbound\"}[30s])), "
      "\"smi_edge\", \"to\", \"\", \"\") or "
      "sum by (pod) (increase(response_total{direction=\"inbound\"}[30s])) or "
      "label_replace(group by (pod) (up{}), \"smi_edge\", \"to\", \"\", \"\")");
  // The second term's rows lack smi_edge, so they are new label sets and kept; the third term's
  // rows equal the first term's label sets and are dropped.
  const auto by = ByLabels(got);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_NEAR(by.at({{"pod", "web-1"}, {"smi_edge", "to"}}), 33, 1e-9);
  EXPECT_NEAR(by.at({{"pod", "web-1"}}), 33, 1e-9);
  EXPECT_NEAR(by.at({{"pod", "web-2"}, {"smi_edge", "to"}}), 90, 1e-9);
}

TEST_F(EvalTest, ASeriesWithOneSampleInTheWindowHasNoIncrease) {
  LoadTwoPods();
  // A 5s window ending at +30s holds a single sample: PromQL gives no element.
  EXPECT_TRUE(Eval("sum by (pod) (increase(response_total{}[5s]))").empty());
}

// The edges of a workload named by its label (ObjectEdges with peer_kind kPod) in two parts: an
// absent label equals "", so the second part holds exactly the series the first does not.
TEST_F(EvalTest, NamedWorkloadEdgesSplitThePeersBetweenTwoParts) {
  const auto payload = [](double t) {
    return "# TYPE response_total counter\n"
           "response_total{direction=\"outbound\",dst_namespace=\"shop\",dst_deployment=\"db\","
           "dst_pod=\"db-1\",classification=\"success\"} " +
           std::to_string(2 * t) +
           "\n"
           "response_total{direction=\"outbound\",dst_namespace=\"shop\",dst_statefulset=\"kv\","
           "dst_pod=\"kv-0\",classification=\"success\"} " +
           std::to_string(t) + "\n";
  };
  for (int i = 0; i <= 3; ++i) {
    ASSERT_TRUE(store_
                    .Ingest("shop/web-1", Target("shop", "web-1", "web"), kT0 + i * 10'000,
                            payload(10.0 * i))
                    .ok);
  }
  SampleQuery q;
  q.shape = ObjectEdges{model::ResourceKind::kDeployment, "shop", "web", model::ResourceKind::kPod};
  q.window = seconds(30);
  const auto queries = prometheus::BuildQueries(prometheus::LinkerdProfile(), q);
  auto got = ByLabels(Eval(queries.counts));
  std::erase_if(got, [](const auto& row) { return row.first.contains("smi_exists"); });
  const std::map<std::map<std::string, std::string>, double> want = {
      {{{"smi_edge", "to"},
        {"namespace", "shop"},
        {"deployment", "web"},
        {"dst_namespace", "shop"},
        {"dst_deployment", "db"},
        {"classification", "success"}},
       60},
      {{{"smi_edge", "to"},
        {"namespace", "shop"},
        {"deployment", "web"},
        {"dst_namespace", "shop"},
        {"dst_pod", "kv-0"},
        {"classification", "success"}},
       30},
  };
  EXPECT_EQ(got, want);
}

TEST(ParseQuery, EveryQueryOfTheBuiltinProfilesParses) {
  using model::ResourceKind;
  for (const std::string& name : prometheus::BuiltinProfileNames()) {
    const prometheus::MeshProfile profile(prometheus::BuiltinProfileSpec(name));
    std::vector<QueryShape> shapes = {
        ResourceScope{ResourceKind::kPod, "shop", ""},
        ResourceScope{ResourceKind::kPod, "", ""},
        ResourceScope{ResourceKind::kDeployment, "shop", "web"},
        ResourceScope{ResourceKind::kNamespace, "", "shop"},
        ResourceScope{ResourceKind::kNamespace, "", ""},
        AllWorkloads{"shop", ""},
        AllWorkloads{"", "web"},
        ObjectEdges{ResourceKind::kDeployment, "shop", "web"},
        ObjectEdges{ResourceKind::kPod, "shop", "web-1"},
        ObjectEdges{ResourceKind::kNamespace, "", "shop"},
        ObjectEdges{ResourceKind::kDeployment, "shop", "web", ResourceKind::kPod},
        ObjectEdges{ResourceKind::kDaemonSet, "shop", "agent", ResourceKind::kPod},
        NamespacePodEdges{"shop", std::nullopt},
        NamespacePodEdges{"shop", ResourceKind::kDeployment},
        TrafficSplitBackends{{{"shop", "web", {"web-v1", "web-v2"}}}},
        TrafficSplitBackends{{{"shop", "web", {"web-v1"}}, {"other", "api", {"api-v2"}}}},
    };
    for (const auto& shape : shapes) {
      SampleQuery q;
      q.shape = shape;
      q.window = seconds(30);
      const auto queries = prometheus::BuildQueries(profile, q);
      EXPECT_NO_THROW(ParseQuery(queries.counts)) << name << ": " << queries.counts;
      EXPECT_NO_THROW(ParseQuery(queries.buckets)) << name << ": " << queries.buckets;
    }
  }
}

TEST(ParseQuery, RefusesWhatItDoesNotImplement) {
  for (const char* q : {
           "rate(response_total{}[30s])",
           "sum without (pod) (increase(response_total{}[30s]))",
           "sum by (pod) (increase(response_total{}[30s])) and up{}",
           "label_replace(up{}, \"a\", \"$1\", \"pod\", \"(.*)\")",
           "sum by (pod) (increase(response_total{pod=\"x}[30s]))",
           "sum by (pod) (increase(response_total{pod=~\"(\"}[30s]))",
           "sum by (pod) (increase(response_total{}[banana]))",
           "",
       }) {
    EXPECT_THROW(ParseQuery(q), UnsupportedQuery) << q;
  }
}

}  // namespace
}  // namespace smi::sources::sidecars
