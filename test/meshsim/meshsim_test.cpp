#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "meshsim/exposition.h"
#include "meshsim/outputs.h"
#include "meshsim/topology.h"
#include "meshsim/traffic.h"

namespace meshsim {
namespace {

constexpr const char* kTwoWorkloads = R"(
workloads:
  - {namespace: shop, kind: deployment, name: front, replicas: 2}
  - {namespace: shop, kind: statefulset, name: db, replicas: 3, port: 5432}
  - {namespace: ops, kind: daemonset, name: agent, replicas: 1, idle: true, idle_requests: 40}
calls:
  - from: shop/front
    to: shop/db
    rps: 12
    failure_ratio: 0.25
    latency:
      - {le_ms: 5, fraction: 0.5}
      - {le_ms: 50, fraction: 0.5}
)";

// Value of the first sample line that starts with `prefix` and contains every `needles`.
std::string Sample(const std::string& payload, const std::string& prefix,
                   std::initializer_list<std::string> needles) {
  std::size_t start = 0;
  while (start < payload.size()) {
    const std::size_t end = payload.find('\n', start);
    const std::string line = payload.substr(start, end - start);
    start = end == std::string::npos ? payload.size() : end + 1;
    if (line.rfind(prefix, 0) != 0) continue;
    bool all = true;
    for (const auto& n : needles) all = all && line.find(n) != std::string::npos;
    if (all) return line.substr(line.rfind(' ') + 1);
  }
  return "";
}

TEST(MeshsimTopology, DefaultIsEmojivotoWithNinePodsOnConsecutiveAddresses) {
  const Topology topo = ParseTopology(DefaultTopologyYaml(), "127.0.10.1");
  ASSERT_EQ(topo.pods.size(), 9u);
  EXPECT_EQ(topo.pods.front().ip, "127.0.10.1");
  EXPECT_EQ(topo.pods.back().ip, "127.0.10.9");
  EXPECT_EQ(topo.calls.size(), 4u);
  const std::regex deployment_pod(
      "web-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}");
  EXPECT_TRUE(std::regex_match(topo.pods.front().name, deployment_pod)) << topo.pods.front().name;
  // Deterministic: the same file always gives the same names.
  EXPECT_EQ(ParseTopology(DefaultTopologyYaml(), "127.0.10.1").pods[3].name, topo.pods[3].name);
}

TEST(MeshsimTopology, PodNamesPerKindAndPairRate) {
  const Topology topo = ParseTopology(kTwoWorkloads, "127.0.20.254");
  ASSERT_EQ(topo.pods.size(), 6u);
  EXPECT_EQ(topo.pods[2].name, "db-0");
  EXPECT_EQ(topo.pods[4].name, "db-2");
  EXPECT_TRUE(std::regex_match(topo.pods[5].name, std::regex("agent-[a-z0-9]{5}")));
  // .255 and .0 are skipped.
  EXPECT_EQ(topo.pods[0].ip, "127.0.20.254");
  EXPECT_EQ(topo.pods[1].ip, "127.0.21.1");
  EXPECT_DOUBLE_EQ(topo.PairRate(topo.calls[0]), 2.0);  // 12 rps over 2 x 3 pods
  EXPECT_EQ(topo.calls[0].cumulative_ppm[4], 500'000);  // le=5
  EXPECT_EQ(topo.calls[0].cumulative_ppm[8], 500'000);  // le=40
  EXPECT_EQ(topo.calls[0].cumulative_ppm[9], kPpm);     // le=50
}

TEST(MeshsimTopology, ErrorsNameTheProblem) {
  auto message = [](const std::string& yaml) {
    try {
      ParseTopology(yaml, "127.0.10.1");
    } catch (const TopologyError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("workloads: [{namespace: a, name: x, replicas: 1}]\n"
                    "calls: [{from: a/x, to: a/y, rps: 1, latency: [{le_ms: 5, fraction: 1}]}]")
                .find("no workload 'a/y'"),
            std::string::npos);
  EXPECT_NE(message("workloads: [{namespace: a, name: x, replicas: 1},"
                    " {namespace: a, name: y, replicas: 1}]\n"
                    "calls: [{from: a/x, to: a/y, rps: 1, latency: [{le_ms: 7, fraction: 1}]}]")
                .find("le_ms 7"),
            std::string::npos);
  EXPECT_NE(message("workloads: [{namespace: a, name: x, replicas: 1, replica: 2}]")
                .find("unknown key 'replica'"),
            std::string::npos);
  EXPECT_NE(message("workloads: [").find("not valid YAML"), std::string::npos);
}

TEST(MeshsimTraffic, CountsAreFloorsOfRateTimesTime) {
  EXPECT_EQ(RequestsAt(2.5, 0.0), 0);
  EXPECT_EQ(RequestsAt(2.5, 0.39), 0);
  EXPECT_EQ(RequestsAt(2.5, 0.41), 1);
  EXPECT_EQ(RequestsAt(2.5, 10.0), 25);
  EXPECT_EQ(FailuresOf(199, 0.005), 0);
  EXPECT_EQ(FailuresOf(200, 0.005), 1);
  EXPECT_EQ(FailuresOf(30, 0.1), 3);
}

TEST(MeshsimTraffic, HistogramIsCumulativeWithInfEqualToCount) {
  const Topology topo = ParseTopology(kTwoWorkloads, "127.0.20.1");
  const PairCounts c = PairCountsAt(topo, topo.calls[0], 10.0);  // 2 rps per pair
  EXPECT_EQ(c.requests, 20);
  EXPECT_EQ(c.failures, 5);
  EXPECT_EQ(c.successes, 15);
  const LatencyHistogram& h = c.success_latency;
  EXPECT_EQ(h.cumulative[3], 0);   // le=4
  EXPECT_EQ(h.cumulative[4], 7);   // le=5: floor(15 * 0.5)
  EXPECT_EQ(h.cumulative[9], 15);  // le=50
  EXPECT_EQ(h.cumulative.back(), 15);
  EXPECT_EQ(h.count, 15);
  // 7 in (4,5] at 5 ms, 8 in (40,50] at 45 ms.
  EXPECT_EQ(h.sum_ms, 7 * 5 + 8 * 45);
  for (std::size_t i = 1; i < h.cumulative.size(); ++i) {
    EXPECT_LE(h.cumulative[i - 1], h.cumulative[i]);
  }
}

TEST(MeshsimExposition, SeriesAppearLazilyAndIdleCountersAreConstant) {
  const Topology topo = ParseTopology(kTwoWorkloads, "127.0.20.1");
  const std::string front_at_start = RenderPodMetrics(topo, 0, 0.0, 1700000000);
  EXPECT_EQ(front_at_start.find("request_total{"), std::string::npos);
  EXPECT_NE(front_at_start.find("process_start_time_seconds 1700000000"), std::string::npos);

  const std::string front = RenderPodMetrics(topo, 0, 10.0, 1700000000);
  EXPECT_EQ(Sample(front, "request_total{", {"direction=\"outbound\"", "dst_pod=\"db-1\""}), "20");
  EXPECT_EQ(Sample(front, "response_total{",
                   {"dst_statefulset=\"db\"", "dst_pod=\"db-2\"", "classification=\"failure\""}),
            "5");
  EXPECT_EQ(Sample(front, "response_latency_ms_bucket{",
                   {"dst_pod=\"db-0\"", "status_code=\"200\"", "le=\"+Inf\""}),
            "15");

  // Inbound on db-0 adds both front pods under one client identity.
  const std::string db = RenderPodMetrics(topo, 2, 10.0, 1700000000);
  EXPECT_EQ(Sample(db, "request_total{",
                   {"direction=\"inbound\"", "target_addr=\"127.0.20.3:5432\"",
                    "client_id=\"front.shop.serviceaccount.identity.linkerd.cluster.local\""}),
            "40");

  const std::string agent_early = RenderPodMetrics(topo, 5, 0.0, 1700000000);
  const std::string agent_late = RenderPodMetrics(topo, 5, 5000.0, 1700000000);
  EXPECT_EQ(Sample(agent_early, "request_total{", {"direction=\"inbound\""}), "40");
  EXPECT_EQ(Sample(agent_late, "request_total{", {"direction=\"inbound\""}), "40");
  EXPECT_EQ(Sample(agent_late, "response_total{", {"classification=\"failure\""}), "2");
}

TEST(MeshsimOutputs, PrometheusConfigHasOneLabelledTargetPerPod) {
  const Topology topo = ParseTopology(kTwoWorkloads, "127.0.20.1");
  const std::string config = PrometheusConfig(topo, 4191, "1s");
  EXPECT_NE(config.find("job_name: linkerd-proxy"), std::string::npos);
  EXPECT_NE(config.find("scrape_timeout: 1s"), std::string::npos);
  EXPECT_NE(config.find("targets: ['127.0.20.3:4191']"), std::string::npos);
  EXPECT_NE(config.find("statefulset: db"), std::string::npos);
  EXPECT_NE(config.find("daemonset: agent"), std::string::npos);
  EXPECT_EQ(PrometheusConfig(topo, 4191, "1m").find("scrape_timeout: 1m"), std::string::npos);

  const auto json = TopologyJson(topo, 4191);
  EXPECT_EQ(json["pods"].size(), 6u);
  EXPECT_EQ(json["idle"][0]["name"], "agent");
  EXPECT_EQ(json["calls"][0]["pair_rps"], 2.0);
}

}  // namespace
}  // namespace meshsim
