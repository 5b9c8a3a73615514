#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "meshsim/exposition.h"
#include "meshsim/istio.h"
#include "meshsim/kube.h"
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

TEST(MeshsimTopology, DefaultIsEmojivotoWithSeventeenPodsOnConsecutiveAddresses) {
  const Topology topo = ParseTopology(DefaultTopologyYaml(), "127.0.10.1");
  ASSERT_EQ(topo.pods.size(), 17u);
  EXPECT_EQ(topo.pods.front().ip, "127.0.10.1");
  EXPECT_EQ(topo.pods.back().ip, "127.0.10.17");
  EXPECT_EQ(topo.calls.size(), 13u);  // the voting call is split over 2 backends
  const std::regex deployment_pod(
      "web-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}");
  EXPECT_TRUE(std::regex_match(topo.pods.front().name, deployment_pod)) << topo.pods.front().name;
  // Deterministic: the same file always gives the same names.
  EXPECT_EQ(ParseTopology(DefaultTopologyYaml(), "127.0.10.1").pods[3].name, topo.pods[3].name);
}

TEST(MeshsimTopology, DefaultHasAStatefulSetAndADaemonSetCalledFromOutsideTheMesh) {
  const Topology topo = ParseTopology(DefaultTopologyYaml(), "127.0.10.1");
  std::vector<std::string> store_pods;
  std::set<std::string> logger_nodes;
  for (const Pod& pod : topo.pods) {
    if (topo.workloads[pod.workload].name == "vote-store") store_pods.push_back(pod.name);
    if (topo.workloads[pod.workload].name == "node-logger") logger_nodes.insert(pod.node);
  }
  EXPECT_EQ(store_pods, (std::vector<std::string>{"vote-store-0", "vote-store-1"}));
  EXPECT_EQ(logger_nodes, (std::set<std::string>{"worker-1", "worker-2"}));  // one per node
  const auto read_at = std::find_if(topo.calls.begin(), topo.calls.end(), [&](const Call& c) {
    return topo.workloads[c.server].name == "vote-store" && c.client == kUnmeshed;
  });
  ASSERT_NE(read_at, topo.calls.end());
  const Call& read = *read_at;
  ASSERT_EQ(read.client, kUnmeshed);
  EXPECT_EQ(topo.workloads[read.server].kind, WorkloadKind::kStatefulSet);
  EXPECT_DOUBLE_EQ(topo.PairRate(read), 1.0);  // 2 rps over 2 pods
  // vote-store-0 after 40 s: 40 requests, 2% of them (rounded down) fail; plaintext, no peer.
  const std::string payload =
      RenderPodMetrics(topo, topo.workloads[read.server].pods[0], 40.0, 1700000000);
  const std::string peer = "tls=\"no_identity\",no_tls_reason=\"no_tls_from_remote\"";
  EXPECT_EQ(Sample(payload, "response_total{", {peer, "classification=\"success\""}), "40");
  EXPECT_EQ(Sample(payload, "response_total{", {"classification=\"failure\""}), "");
  // The unmeshed series carry no client identity (the meshed voting series beside them do).
  std::istringstream lines(payload);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("no_tls_from_remote") != std::string::npos) {
      EXPECT_EQ(line.find("client_id"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(payload.find("direction=\"outbound\""), std::string::npos);
  const std::string later =
      RenderPodMetrics(topo, topo.workloads[read.server].pods[0], 50.0, 1700000000);
  EXPECT_EQ(Sample(later, "response_total{", {peer, "classification=\"failure\""}), "1");

  // The topology JSON keeps unmeshed traffic out of `calls` (every call there has a client).
  const auto json = TopologyJson(topo, 4191);
  EXPECT_EQ(json["calls"].size(), 10u);
  ASSERT_EQ(json["unmeshed_calls"].size(), 3u);
  EXPECT_EQ(json["unmeshed_calls"][0]["server"]["kind"], "statefulset");
  EXPECT_FALSE(json["unmeshed_calls"][0].contains("client"));
}

TEST(MeshsimTopology, DefaultJoinsKindsBothWaysAndToItself) {
  const Topology topo = ParseTopology(DefaultTopologyYaml(), "127.0.10.1");
  std::set<std::pair<std::string, std::string>> calls;
  for (const Call& c : topo.calls) {
    if (c.client == kUnmeshed) continue;
    const Workload& client = topo.workloads[c.client];
    const Workload& server = topo.workloads[c.server];
    calls.insert(
        {KindName(client.kind) + "/" + client.name, KindName(server.kind) + "/" + server.name});
  }
  EXPECT_TRUE(calls.count({"deployment/voting", "statefulset/vote-store"}));
  EXPECT_TRUE(calls.count({"deployment/vote-bot", "daemonset/node-logger"}));
  EXPECT_TRUE(calls.count({"deployment/web", "deployment/auth"}));
  EXPECT_TRUE(calls.count({"deployment/auth", "deployment/web"}));
  EXPECT_TRUE(calls.count({"deployment/emoji", "deployment/emoji"}));
  // A pod of a workload calling itself reports the call on both sides of its own proxy.
  std::size_t emoji_pod = 0;
  for (std::size_t i = 0; i < topo.pods.size(); ++i) {
    if (topo.workloads[topo.pods[i].workload].name == "emoji") emoji_pod = i;
  }
  const std::string payload = RenderPodMetrics(topo, emoji_pod, 40.0, 1700000000);
  EXPECT_NE(payload.find("client_id=\"emoji.emojivoto.serviceaccount"), std::string::npos);
  EXPECT_NE(payload.find("dst_deployment=\"emoji\""), std::string::npos);
}

// A ReplicaSet no Deployment runs and a Job: their objects, pod owners and Linkerd target labels.
TEST(MeshsimTopology, DefaultHasABareReplicaSetAndAJob) {
  const Topology topo = ParseTopology(DefaultTopologyYaml(), "127.0.10.1");
  const auto objects = KubeObjects(topo, 4191);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& item : objects["items"]) {
    by_name[item["kind"].get<std::string>() + "/" + item["metadata"]["name"].get<std::string>()] =
        item;
  }
  ASSERT_TRUE(by_name.contains("ReplicaSet/vote-cache"));
  EXPECT_FALSE(by_name["ReplicaSet/vote-cache"]["metadata"].contains("ownerReferences"));
  ASSERT_TRUE(by_name.contains("Job/vote-audit"));
  EXPECT_EQ(by_name["Job/vote-audit"]["apiVersion"], "batch/v1");
  int cache_pods = 0, audit_pods = 0;
  for (const Pod& pod : topo.pods) {
    const auto& owner = by_name["Pod/" + pod.name]["metadata"]["ownerReferences"][0];
    if (topo.workloads[pod.workload].name == "vote-cache") {
      ++cache_pods;
      EXPECT_EQ(owner["kind"], "ReplicaSet");
      EXPECT_EQ(owner["name"], "vote-cache");
    }
    if (topo.workloads[pod.workload].name == "vote-audit") {
      ++audit_pods;
      EXPECT_EQ(owner["kind"], "Job");
      EXPECT_EQ(owner["apiVersion"], "batch/v1");
      EXPECT_EQ(by_name["Pod/" + pod.name]["metadata"]["labels"]["job-name"], "vote-audit");
    }
  }
  EXPECT_EQ(cache_pods, 2);
  EXPECT_EQ(audit_pods, 1);
  // linkerd-viz relabels linkerd.io/proxy-job as k8s_job: `job` is Prometheus' own label.
  const std::string config = PrometheusConfig(topo, 4191, "1s");
  EXPECT_NE(config.find("k8s_job: vote-audit"), std::string::npos);
  EXPECT_NE(config.find("replicaset: vote-cache"), std::string::npos);
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

constexpr const char* kCanary = R"(
mesh: istio
workloads:
  - {namespace: shop, name: front, replicas: 2}
  - {namespace: shop, name: cart, replicas: 2, service: cart-v1, version: v1}
  - {namespace: shop, name: cart-v2, replicas: 1, service: cart-v2, version: v2}
trafficsplits:
  - namespace: shop
    name: cart-split
    apex: cart
    backends: [{workload: cart, weight: 3}, {service: cart-v2, workload: cart-v2, weight: 1}]
calls:
  - from: shop/front
    to_apex: shop/cart
    rps: 8
    failure_ratio: 0.5
    latency: [{le_ms: 2, fraction: 0.5}, {le_ms: 30, fraction: 0.5}]
)";

TEST(MeshsimSplit, ApexCallIsSplitByWeightAndKeepsTheApexAuthority) {
  Topology topo = ParseTopology(kCanary, "127.0.30.1");
  ASSERT_EQ(topo.calls.size(), 2u);
  EXPECT_DOUBLE_EQ(topo.calls[0].rps, 6.0);             // 8 * 3/4
  EXPECT_DOUBLE_EQ(topo.calls[1].rps, 2.0);             // 8 * 1/4
  EXPECT_DOUBLE_EQ(topo.PairRate(topo.calls[1]), 1.0);  // 2 rps over 2 x 1 pods
  EXPECT_EQ(topo.CalledAuthority(topo.calls[1]), "cart.shop.svc.cluster.local:8080");

  topo.mesh = Mesh::kLinkerd;
  const std::string front = RenderPodMetrics(topo, 0, 10.0, 1700000000);
  EXPECT_EQ(Sample(front, "request_total{",
                   {"authority=\"cart.shop.svc.cluster.local:8080\"", "dst_service=\"cart-v2\"",
                    "dst_deployment=\"cart-v2\""}),
            "10");
  const std::string v2 = RenderPodMetrics(topo, 4, 10.0, 1700000000);
  EXPECT_EQ(Sample(v2, "request_total{",
                   {"direction=\"inbound\"", "authority=\"cart.shop.svc.cluster.local:8080\""}),
            "20");  // both front pods

  const auto json = TopologyJson(topo, 4191);
  ASSERT_EQ(json["calls"].size(), 2u);
  EXPECT_EQ(json["calls"][1]["server"]["name"], "cart-v2");
  EXPECT_EQ(json["calls"][1]["via_apex"], "cart");
  EXPECT_EQ(json["calls"][1]["apex_rps"], 8.0);
  EXPECT_EQ(json["trafficsplits"][0]["backends"][0]["service"], "cart-v1");
}

TEST(MeshsimSplit, ErrorsNameTheProblem) {
  auto message = [](const std::string& yaml) {
    try {
      ParseTopology(yaml, "127.0.10.1");
    } catch (const TopologyError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string workloads =
      "workloads: [{namespace: a, name: x, replicas: 1},"
      " {namespace: a, name: y, replicas: 1}]\n";
  EXPECT_NE(message(workloads + "calls: [{from: a/x, to_apex: a/z, rps: 1, latency: [{le_ms: 5, "
                                "fraction: 1}]}]")
                .find("no traffic split has apex 'a/z'"),
            std::string::npos);
  EXPECT_NE(message(workloads +
                    "trafficsplits: [{namespace: a, name: s, apex: y, backends: [{workload: x, "
                    "weight: 1}]}]")
                .find("an apex must be a service of its own"),
            std::string::npos);
  EXPECT_NE(message(workloads +
                    "trafficsplits: [{namespace: a, name: s, apex: z, backends: [{workload: x, "
                    "weight: 0}]}]")
                .find("weights sum to 0"),
            std::string::npos);
}

TEST(MeshsimIstio, BucketsFollowTheRepresentativeLatencies) {
  // 100 requests: 10 per Linkerd bucket (0,1] (1,2] (4,5] (5,10] (20,30] (40,50] (200,300]
  // (2000,3000] (40000,50000] and 10 more in (5,10].
  std::array<std::int64_t, kLatencyBoundsMs.size()> ppm{};
  const std::array<int, 25> per_bucket = {10, 10, 0, 0, 10, 20, 0, 10, 0, 10, 0, 0, 10,
                                          0,  0,  0, 0, 10, 0,  0, 0,  0, 0,  0, 10};
  std::int64_t running = 0;
  for (std::size_t b = 0; b < ppm.size(); ++b) {
    running += per_bucket[b];
    ppm[b] = running * kPpm / 100;
  }
  const LatencyHistogram linkerd = HistogramOf(100, ppm);
  const IstioHistogram istio = ToIstioBuckets(linkerd);
  const std::vector<std::int64_t> want = {0,  10, 30, 50, 60,  70,  70,  80,  80,  80,
                                          90, 90, 90, 90, 100, 100, 100, 100, 100, 100};
  EXPECT_EQ(std::vector<std::int64_t>(istio.cumulative.begin(), istio.cumulative.end()), want);
  EXPECT_EQ(istio.count, 100);
  EXPECT_EQ(istio.sum_ms, linkerd.sum_ms);
  EXPECT_EQ(IstioLe(0), "0.5");
  EXPECT_EQ(IstioLe(18), "3600000");
  EXPECT_EQ(IstioLe(19), "+Inf");
}

TEST(MeshsimIstio, EachRequestIsReportedBySourceAndDestination) {
  const Topology topo = ParseTopology(kCanary, "127.0.30.1");
  ASSERT_EQ(topo.mesh, Mesh::kIstio);
  // front pod 0 after 10 s: cart-v2 got 10 requests (1 rps x 10 s), half failed.
  const std::string front = RenderIstioPodMetrics(topo, 0, 10.0, 1700000000);
  EXPECT_EQ(
      Sample(front, "istio_requests_total{",
             {"response_code=\"500\"", "reporter=\"source\"", "destination_workload=\"cart-v2\""}),
      "5");
  EXPECT_EQ(
      Sample(front, "istio_requests_total{",
             {"reporter=\"source\"", "destination_workload=\"cart\"", "response_code=\"200\""}),
      "16");  // 1.5 rps per pair: 15 requests, 7 fail, 8 succeed; summed over the 2 cart pods
  const std::string cart_v2 = RenderIstioPodMetrics(topo, 4, 10.0, 1700000000);
  const std::string line_prefix =
      "istio_requests_total{response_code=\"200\",reporter=\"destination\",source_workload="
      "\"front\",source_workload_namespace=\"shop\",source_principal=\"spiffe://cluster.local/"
      "ns/shop/sa/front\",source_app=\"front\",source_version=\"unknown\",source_cluster="
      "\"Kubernetes\",destination_workload=\"cart-v2\",destination_workload_namespace=\"shop\","
      "destination_principal=\"spiffe://cluster.local/ns/shop/sa/cart-v2\",destination_app="
      "\"cart-v2\",destination_version=\"v2\",destination_service=\"cart-v2.shop.svc.cluster."
      "local\",destination_service_name=\"cart-v2\",destination_service_namespace=\"shop\","
      "destination_cluster=\"Kubernetes\",request_protocol=\"http\",response_flags=\"-\","
      "grpc_response_status=\"\",connection_security_policy=\"mutual_tls\","
      "source_canonical_service=\"front\",destination_canonical_service=\"cart-v2\","
      "source_canonical_revision=\"latest\",destination_canonical_revision=\"v2\"} ";
  EXPECT_NE(cart_v2.find(line_prefix + "10\n"), std::string::npos) << cart_v2;
  EXPECT_EQ(Sample(cart_v2, "istio_request_duration_milliseconds_bucket{",
                   {"reporter=\"destination\"", "response_code=\"500\"", "le=\"25\""}),
            "10");
  EXPECT_NE(cart_v2.find("istio_build{component=\"proxy\",tag=\"1.11.4\"} 1"), std::string::npos);
  EXPECT_NE(cart_v2.find("envoy_server_uptime{} 10"), std::string::npos);

  const std::string config = PrometheusConfig(topo, 15020, "1s");
  EXPECT_NE(config.find("job_name: kubernetes-pods"), std::string::npos);
  EXPECT_NE(config.find("metrics_path: /stats/prometheus"), std::string::npos);
  EXPECT_NE(config.find("security_istio_io_tlsMode: 'istio'"), std::string::npos);
  EXPECT_EQ(config.find("deployment:"), std::string::npos);
}

TEST(MeshsimKube, ObjectsAreLinkedByOwnerReferencesAndDeterministic) {
  const Topology topo = ParseTopology(kTwoWorkloads, "127.0.20.1");
  const auto list = KubeObjects(topo, 4191);
  EXPECT_EQ(list["kind"], "List");
  EXPECT_EQ(list, KubeObjects(topo, 4191));
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& item : list["items"]) {
    by_name[item["kind"].get<std::string>() + "/" + item["metadata"]["name"].get<std::string>()] =
        item;
  }
  const auto& deploy = by_name.at("Deployment/front");
  const auto& rs = by_name.at("ReplicaSet/front-" + topo.workloads[0].pod_template_hash);
  EXPECT_EQ(rs["metadata"]["ownerReferences"][0]["uid"], deploy["metadata"]["uid"]);
  EXPECT_EQ(rs["metadata"]["ownerReferences"][0]["controller"], true);
  const auto& pod = by_name.at("Pod/" + topo.pods[0].name);
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["uid"], rs["metadata"]["uid"]);
  EXPECT_EQ(pod["status"]["podIP"], "127.0.20.1");
  EXPECT_EQ(pod["metadata"]["labels"]["linkerd.io/proxy-deployment"], "front");
  const auto& db0 = by_name.at("Pod/db-0");
  EXPECT_EQ(db0["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
  EXPECT_EQ(db0["metadata"]["ownerReferences"][0]["uid"],
            by_name.at("StatefulSet/db")["metadata"]["uid"]);
  EXPECT_EQ(by_name.at("Service/db")["spec"]["selector"]["app"], "db");
  EXPECT_TRUE(std::regex_match(pod["metadata"]["uid"].get<std::string>(),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                          "[0-9a-f]{12}")));

  const auto canary = KubeObjects(ParseTopology(kCanary, "127.0.30.1"), 15020);
  for (const auto& item : canary["items"]) {
    if (item["kind"] != "TrafficSplit") continue;
    EXPECT_EQ(item["apiVersion"], "split.smi-spec.io/v1alpha2");
    EXPECT_EQ(item["spec"]["service"], "cart");
    EXPECT_EQ(item["spec"]["backends"][1], (nlohmann::json{{"service", "cart-v2"}, {"weight", 1}}));
  }
}

// Label names of the first line starting with `prefix`, in order.
std::vector<std::string> LabelNames(const std::string& payload, const std::string& prefix) {
  const std::size_t at = payload.find("\n" + prefix);
  if (at == std::string::npos) return {};
  const std::string line = payload.substr(at + 1, payload.find('\n', at + 1) - at - 1);
  std::vector<std::string> names;
  const std::regex label("[{,]([a-z_]+)=\"");
  for (auto it = std::sregex_iterator(line.begin(), line.end(), label);
       it != std::sregex_iterator(); ++it) {
    names.push_back((*it)[1]);
  }
  return names;
}

TEST(MeshsimIstio, LabelsAreThoseOfARealIstio111Scrape) {
  // Beside this file (CMake compiles it by its absolute path).
  const std::string here = __FILE__;
  std::ifstream in(here.substr(0, here.rfind('/')) + "/fixtures/istio-1.11-merged-excerpt.txt");
  ASSERT_TRUE(in) << "fixture missing";
  std::stringstream real;
  real << in.rdbuf();
  const Topology topo = ParseTopology(kCanary, "127.0.30.1");
  const std::string ours = "\n" + RenderIstioPodMetrics(topo, 4, 10.0, 1700000000);
  const std::string theirs = "\n" + real.str();
  EXPECT_EQ(LabelNames(ours, "istio_requests_total{"), LabelNames(theirs, "istio_requests_total{"));
  EXPECT_EQ(LabelNames(ours, "istio_request_duration_milliseconds_bucket{"),
            LabelNames(theirs, "istio_request_duration_milliseconds_bucket{"));
  EXPECT_EQ(LabelNames(ours, "istio_requests_total{").size(), 25u);
}

}  // namespace
}  // namespace meshsim
