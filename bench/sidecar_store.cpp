// bench/sidecar_store: the sidecar store's share of sidecar mode at N pods: CPU per scrape to parse
// and ingest a Linkerd payload, heap per pod, and the time of the selections one request makes
// (one deployment, one namespace) with increase() over the window. No network: the payloads are
// meshsim's, rendered in memory before the clock starts.
//
//   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSMI_BUILD_BENCH=ON
//   cmake --build build-bench -j2 --target sidecar_store_bench
//   build-bench/bench/sidecar_store_bench [PODS ...]       (default: 1000 10000)
//
// The mesh: namespaces of 10 deployments x 2 pods; each deployment calls the next one of its
// namespace, so every pod reports inbound series from one client workload and outbound series to
// the 2 pods it calls, each with successes and failures: a payload of about 80 KB (meshsim's
// labels are long, and it serves only the HTTP families) with some 160 retained series
// (response_total and response_latency_ms_bucket).
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "meshsim/exposition.h"
#include "meshsim/topology.h"
#include "sources/sidecars/increase.h"
#include "sources/sidecars/series_store.h"

namespace {

using smi::sources::sidecars::IngestResult;
using smi::sources::sidecars::LabelMatcher;
using smi::sources::sidecars::LabelSet;
using smi::sources::sidecars::Retained;
using smi::sources::sidecars::Sample;
using smi::sources::sidecars::SeriesStore;
using Clock = std::chrono::steady_clock;

constexpr int kDeploymentsPerNamespace = 10;
constexpr int kReplicas = 2;

std::string TopologyYaml(int pods) {
  const int namespaces = std::max(1, pods / (kDeploymentsPerNamespace * kReplicas));
  std::string yaml = "workloads:\n";
  for (int n = 0; n < namespaces; ++n) {
    for (int d = 0; d < kDeploymentsPerNamespace; ++d) {
      yaml += "  - {namespace: ns" + std::to_string(n) + ", name: app" + std::to_string(d) +
              ", replicas: " + std::to_string(kReplicas) + "}\n";
    }
  }
  yaml += "calls:\n";
  for (int n = 0; n < namespaces; ++n) {
    for (int d = 0; d < kDeploymentsPerNamespace; ++d) {
      for (int k = 1; k <= 1; ++k) {
        const int to = (d + k) % kDeploymentsPerNamespace;
        yaml += "  - from: ns" + std::to_string(n) + "/app" + std::to_string(d) + "\n    to: ns" +
                std::to_string(n) + "/app" + std::to_string(to) +
                "\n    rps: 200\n    failure_ratio: 0.02\n    latency:\n"
                "      - {le_ms: 5, fraction: 0.5}\n      - {le_ms: 20, fraction: 0.4}\n"
                "      - {le_ms: 100, fraction: 0.1}\n";
      }
    }
  }
  return yaml;
}

size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void Run(int pod_count) {
  const meshsim::Topology topo = meshsim::ParseTopology(TopologyYaml(pod_count), "127.16.0.1");
  const size_t pods = topo.pods.size();
  std::vector<std::string> ids;
  std::vector<LabelSet> labels;
  for (const meshsim::Pod& pod : topo.pods) {
    const meshsim::Workload& w = topo.workloads[pod.workload];
    ids.push_back(pod.ns + "/" + pod.name);
    labels.push_back(LabelSet({{"namespace", pod.ns},
                               {"pod", pod.name},
                               {"deployment", w.name},
                               {"job", "linkerd-proxy"}}));
  }
  const Retained retained{{"response_total", "response_latency_ms_bucket"}};
  constexpr int kRounds = 32;  // 5 min 10 s at a 10 s interval: the retention filled
  const auto store = std::make_unique<SeriesStore>(std::chrono::minutes(5), retained);
  const size_t heap_before = HeapInUse();
  Clock::duration ingest{0};
  size_t bytes = 0;
  size_t series = 0;
  size_t scrapes = 0;
  for (int round = 0; round < kRounds; ++round) {
    const double seconds = 600 + 10.0 * round;
    for (size_t i = 0; i < pods; ++i) {
      const std::string payload = meshsim::RenderPodMetrics(topo, i, seconds, 1'700'000'000);
      const auto start = Clock::now();
      const IngestResult r = store->Ingest(
          ids[i], labels[i], 1'700'000'000'000 + static_cast<int64_t>(seconds * 1000), payload);
      ingest += Clock::now() - start;
      if (!r.ok) {
        std::fprintf(stderr, "ingest failed: %s\n", r.error.c_str());
        std::exit(1);
      }
      bytes += payload.size();
      series = std::max(series, r.series_kept);
      ++scrapes;
    }
  }
  const size_t heap = HeapInUse() - heap_before;
  const auto stats = store->GetStats();
  const int64_t at = 1'700'000'000'000 + (600 + 10 * (kRounds - 1)) * 1000;

  // One request's two selections: increase over 1 min of the counts and of the buckets.
  const auto query = [&](std::vector<LabelMatcher> matchers) {
    size_t visited = 0;
    double sum = 0;
    const auto start = Clock::now();
    for (const char* metric : {"response_total", "response_latency_ms_bucket"}) {
      store->Select(
          metric, matchers, at - 60'000, at, nullptr,
          [&](const LabelSet&, const std::vector<Sample>& samples) {
            if (const auto v = smi::sources::sidecars::Increase(samples, at - 60'000, at)) {
              sum += *v;
            }
            ++visited;
          });
    }
    return std::make_pair(Millis(Clock::now() - start), visited + (sum < 0 ? 1 : 0));
  };
  const std::vector<LabelMatcher> one_namespace = {
      {"namespace", "ns0"}, {"deployment", "", true}, {"direction", "inbound"}};
  const std::vector<LabelMatcher> one_deployment = {
      {"namespace", "ns0"}, {"deployment", "app3"}, {"direction", "inbound"}};
  query(one_namespace);  // a first pass warms the caches
  const auto [namespace_ms, namespace_series] = query(one_namespace);
  const auto [deployment_ms, deployment_series] = query(one_deployment);

  std::printf("| %zu | %.0f | %zu | %.1f | %.1f | %.1f | %.1f | %.2f (%zu) | %.2f (%zu) |\n", pods,
              static_cast<double>(bytes) / static_cast<double>(scrapes), series,
              Millis(ingest) * 1000 / static_cast<double>(scrapes),
              static_cast<double>(bytes) / 1e6 / (Millis(ingest) / 1000),
              static_cast<double>(heap) / static_cast<double>(pods) / 1024,
              static_cast<double>(stats.bytes) / static_cast<double>(pods) / 1024, deployment_ms,
              deployment_series, namespace_ms, namespace_series);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {1000, 10000};
  std::printf(
      "| pods | payload bytes | retained series (max) | ingest us/scrape | parse MB/s | heap "
      "KiB/pod | "
      "estimate KiB/pod | one deployment ms (series) | one namespace ms (series) |\n"
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const int n : sizes) Run(n);
  return 0;
}
