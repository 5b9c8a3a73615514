// End to end: the trafficsplits resource against the simulator's TrafficSplits (the server reads
// them from meshsim's --write-kube-objects file). Each backend's counts and quantiles are compared
// with PromQL written here, at the response's timestamp over its window; weights and apex with
// the topology's TrafficSplit.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "e2e_env.h"

namespace smi::e2e {
namespace {

using nlohmann::json;
const std::string kBase = "/apis/metrics.smi-spec.io/v1alpha1";

std::vector<json> Splits() {
  auto splits = GetEnv().topology.at("trafficsplits").get<std::vector<json>>();
  if (splits.empty()) throw std::runtime_error("the simulator's topology should have a split");
  return splits;
}

// The oracle: Linkerd's outbound series keep the apex as their authority and name the backend
// in dst_service. The authority is spelled out here, as the simulator's clients call it.
void ExpectBackendMatchesPromQL(const json& split, const json& item) {
  SCOPED_TRACE(item.dump());
  const long long at = ParseTimestamp(item.at("timestamp"));
  const std::string window = WindowRange(item);
  const std::string selector =
      "direction=\"outbound\", dst_namespace=\"" + split.at("namespace").get<std::string>() +
      "\", authority=\"" + split.at("apex").get<std::string>() + "." +
      split.at("namespace").get<std::string>() +
      ".svc.cluster.local:" + std::to_string(split.at("port").get<int>()) + "\", dst_service=\"" +
      item.at("backend").at("name").get<std::string>() + "\"";
  std::map<std::string, double> expected;
  for (const char* cls : {"success", "failure"}) {
    bool present = false;
    expected[std::string(cls) + "_count"] =
        OracleScalar("sum(increase(response_total{" + selector + ", classification=\"" + cls +
                         "\"}[" + window + "]))",
                     at, &present);
  }
  QuantileBands bands;
  QuantileOracle(
      "sum by (le) (increase(response_latency_ms_bucket{" + selector + "}[" + window + "]))", at,
      window, &expected, &bands);
  ExpectMetricsMatch(item, expected, bands);
}

void ExpectSplitItems(const json& split, const json& items) {
  const auto& backends = split.at("backends");
  ASSERT_EQ(items.size(), backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    const json& item = items[i];
    EXPECT_EQ(item.at("kind"), "TrafficMetrics");
    EXPECT_EQ(item.at("resource"), json({{"kind", "TrafficSplit"},
                                         {"namespace", split.at("namespace")},
                                         {"name", split.at("name")}}));
    EXPECT_EQ(item.at("edge"),
              json({{"direction", "from"}, {"side", "client"}, {"resource", json::object()}}));
    EXPECT_EQ(item.at("backend"), json({{"apex", split.at("apex")},
                                        {"name", backends[i].at("service")},
                                        {"weight", backends[i].at("weight")}}));
    ExpectBackendMatchesPromQL(split, item);
  }
}

TEST(TrafficSplitsEndToEnd, GetEverySplitMatchesPromQL) {
  for (const json& split : Splits()) {
    const std::string path = kBase + "/namespaces/" + split.at("namespace").get<std::string>() +
                             "/trafficsplits/" + split.at("name").get<std::string>();
    const json list = GetJson(path);
    EXPECT_EQ(list.at("kind"), "TrafficMetricsList");
    ExpectSplitItems(split, list.at("items"));
    // Traffic flows through the split: its first backend had requests in the window.
    double requests = 0;
    for (const auto& m : list.at("items")[0].at("metrics")) {
      if (m.at("name") == "success_count" || m.at("name") == "failure_count") {
        requests += ParseQuantity(m.at("value"));
      }
    }
    EXPECT_GT(requests, 0) << path;
    // A longer window, in the other version.
    const json longer = GetJson("/apis/metrics.smi-spec.io/v1alpha2/namespaces/" +
                                split.at("namespace").get<std::string>() + "/trafficsplits/" +
                                split.at("name").get<std::string>() + "?window=10s");
    EXPECT_EQ(longer.at("items")[0].at("window"), "10s");
    ExpectSplitItems(split, longer.at("items"));
  }
}

TEST(TrafficSplitsEndToEnd, ListsHoldEveryBackendOfEverySplit) {
  std::map<std::string, std::vector<json>> by_ns;
  for (const json& split : Splits()) by_ns[split.at("namespace")].push_back(split);
  size_t total = 0;
  for (const auto& [ns, splits] : by_ns) {
    const json list = GetJson(kBase + "/namespaces/" + ns + "/trafficsplits");
    EXPECT_EQ(list.at("resource"), json({{"kind", "TrafficSplit"}, {"namespace", ns}}));
    size_t i = 0;
    for (const json& split : splits) {
      const size_t n = split.at("backends").size();
      ASSERT_LE(i + n, list.at("items").size());
      ExpectSplitItems(split, json(std::vector<json>(list.at("items").begin() + i,
                                                     list.at("items").begin() + i + n)));
      i += n;
      total += n;
    }
    EXPECT_EQ(i, list.at("items").size());
  }
  EXPECT_EQ(GetJson(kBase + "/trafficsplits").at("items").size(), total);
}

TEST(TrafficSplitsEndToEnd, MissingSplitIsNotFound) {
  const json status = GetJson(kBase + "/namespaces/emojivoto/trafficsplits/no-such-split", 404);
  EXPECT_EQ(status.at("reason"), "NotFound");
  GetJson(kBase + "/namespaces/emojivoto/trafficsplits/voting-split/edges", 404);
}

// kubectl maps a resource to its discovery kind and the kind back to the last resource of that
// kind, so trafficsplits has a kind of its own (TrafficSplitMetrics) and kubectl reaches it.
TEST(TrafficSplitsEndToEnd, KubectlTable) {
  const auto& env = GetEnv();
  std::string out;
  const int rc = RunCommand(env.kubectl + " --kubeconfig " + env.kubeconfig +
                                " get trafficsplits.metrics.smi-spec.io -n emojivoto -o wide",
                            &out, true);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("NAME"), std::string::npos) << out;
  EXPECT_NE(out.find("BACKEND"), std::string::npos) << out;
  EXPECT_NE(out.find("WEIGHT"), std::string::npos) << out;
  EXPECT_NE(out.find("APEX"), std::string::npos) << out;
  for (const json& split : Splits()) {
    for (const json& b : split.at("backends")) {
      EXPECT_NE(out.find(b.at("service").get<std::string>()), std::string::npos) << out;
    }
  }
}

}  // namespace
}  // namespace smi::e2e
