#include "meshsim/istio.h"

#include <cstdio>
#include <utility>
#include <vector>

namespace meshsim {
namespace {

constexpr const char* kUnknown = "unknown";

struct Peer {
  std::string workload = kUnknown, ns = kUnknown, principal = kUnknown, app = kUnknown,
              version = kUnknown, cluster = kUnknown, canonical_service = kUnknown,
              canonical_revision = kUnknown;
};

Peer PeerOf(const Workload& w) {
  Peer p;
  p.workload = w.name;
  p.ns = w.ns;
  p.principal = "spiffe://cluster.local/ns/" + w.ns + "/sa/" + w.serviceaccount;
  p.app = w.name;  // pods carry app=<workload>
  p.version = w.version.empty() ? kUnknown : w.version;
  p.cluster = "Kubernetes";
  // service.istio.io/canonical-name defaults to the app label, -revision to version or latest.
  p.canonical_service = w.name;
  p.canonical_revision = w.version.empty() ? "latest" : w.version;
  return p;
}

struct IstioSeries {
  std::string reporter;
  Peer source;
  Peer destination;
  std::string service;  // destination Service name (a split's backend service)
  std::string service_ns;
  std::string security;  // connection_security_policy
  PairCounts counts;
};

// Labels of one series and response code, in the order Istio 1.11's stats filter writes them.
std::string Labels(const IstioSeries& s, const char* code) {
  const Peer& src = s.source;
  const Peer& dst = s.destination;
  std::vector<std::pair<const char*, std::string>> labels = {
      {"response_code", code},
      {"reporter", s.reporter},
      {"source_workload", src.workload},
      {"source_workload_namespace", src.ns},
      {"source_principal", src.principal},
      {"source_app", src.app},
      {"source_version", src.version},
      {"source_cluster", src.cluster},
      {"destination_workload", dst.workload},
      {"destination_workload_namespace", dst.ns},
      {"destination_principal", dst.principal},
      {"destination_app", dst.app},
      {"destination_version", dst.version},
      {"destination_service", s.service + "." + s.service_ns + ".svc.cluster.local"},
      {"destination_service_name", s.service},
      {"destination_service_namespace", s.service_ns},
      {"destination_cluster", dst.cluster},
      {"request_protocol", "http"},
      {"response_flags", "-"},
      {"grpc_response_status", ""},
      {"connection_security_policy", s.security},
      {"source_canonical_service", src.canonical_service},
      {"destination_canonical_service", dst.canonical_service},
      {"source_canonical_revision", src.canonical_revision},
      {"destination_canonical_revision", dst.canonical_revision}};
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name;
    out += "=\"";
    out += value;
    out += '"';
  }
  return out;
}

void AppendHistogram(std::string& out, const std::string& labels, const LatencyHistogram& h) {
  const IstioHistogram istio = ToIstioBuckets(h);
  for (std::size_t b = 0; b < istio.cumulative.size(); ++b) {
    out += "istio_request_duration_milliseconds_bucket{" + labels + ",le=\"" + IstioLe(b) + "\"} " +
           std::to_string(istio.cumulative[b]) + "\n";
  }
  out += "istio_request_duration_milliseconds_sum{" + labels + "} " + std::to_string(istio.sum_ms) +
         "\n";
  out += "istio_request_duration_milliseconds_count{" + labels + "} " +
         std::to_string(istio.count) + "\n";
}

}  // namespace

std::string IstioLe(std::size_t b) {
  if (b >= kIstioBoundsMs.size()) return "+Inf";
  char buffer[32];
  // Envoy prints bounds as plain decimals: "0.5", "1", "3600000".
  std::snprintf(buffer, sizeof buffer, "%.10g", kIstioBoundsMs[b]);
  return buffer;
}

IstioHistogram ToIstioBuckets(const LatencyHistogram& linkerd) {
  IstioHistogram out;
  std::size_t j = 0;  // Linkerd buckets whose representative is <= the bound: [0, j)
  for (std::size_t b = 0; b < kIstioBoundsMs.size(); ++b) {
    while (j < kLatencyBoundsMs.size() &&
           static_cast<double>(BucketRepresentativeMs(j)) <= kIstioBoundsMs[b]) {
      ++j;
    }
    // Above Linkerd's last bound only +Inf remains, and the topology puts nothing there.
    out.cumulative[b] = j == 0                         ? 0
                        : j == kLatencyBoundsMs.size() ? linkerd.cumulative.back()
                                                       : linkerd.cumulative[j - 1];
  }
  out.cumulative.back() = linkerd.count;
  out.count = linkerd.count;
  out.sum_ms = linkerd.sum_ms;
  return out;
}

std::string RenderIstioPodMetrics(const Topology& topo, std::size_t pod_index, double seconds,
                                  std::int64_t process_start_unix) {
  const Pod& pod = topo.pods[pod_index];
  const Workload& self = topo.workloads[pod.workload];

  std::vector<IstioSeries> series;
  // reporter="destination": this pod's inbound sidecar, one series per source workload.
  auto inbound = [&](Peer source, const char* security, PairCounts counts) {
    series.push_back({"destination", std::move(source), PeerOf(self), self.service, self.ns,
                      security, std::move(counts)});
  };
  if (self.idle) inbound(Peer{}, "mutual_tls", IdleCounts(self));
  for (const Call& call : topo.calls) {
    if (call.server != pod.workload) continue;
    if (call.client == kUnmeshed) {
      inbound(Peer{}, "none", PairCountsAt(topo, call, seconds));
      continue;
    }
    const Workload& client = topo.workloads[call.client];
    PairCounts total;
    for (std::size_t i = 0; i < client.pods.size(); ++i) total += PairCountsAt(topo, call, seconds);
    inbound(PeerOf(client), "mutual_tls", std::move(total));
  }
  // reporter="source": this pod's outbound sidecar, one series per destination workload (the
  // client proxy does not label the destination pod). Through a split the request is routed
  // to the backend's cluster, so destination_service is the backend service.
  for (const Call& call : topo.calls) {
    if (call.client != pod.workload) continue;
    const Workload& server = topo.workloads[call.server];
    PairCounts total;
    for (std::size_t i = 0; i < server.pods.size(); ++i) total += PairCountsAt(topo, call, seconds);
    series.push_back(
        {"source", PeerOf(self), PeerOf(server), server.service, server.ns, "unknown", total});
  }

  std::string out;
  out.reserve(4096 + series.size() * 16000);
  // The merged endpoint starts with the agent's own metrics, then appends Envoy's text.
  out +=
      "# HELP istio_agent_process_start_time_seconds Start time of the process since unix epoch "
      "in seconds.\n# TYPE istio_agent_process_start_time_seconds gauge\n"
      "istio_agent_process_start_time_seconds " +
      std::to_string(process_start_unix) + "\n";
  // Envoy writes counters, then gauges, then histograms; no HELP lines, `{}` when unlabelled.
  const double uptime = seconds < 0 ? 0 : seconds;
  out += "# TYPE envoy_cluster_upstream_rq_total counter\n";
  out += "envoy_cluster_upstream_rq_total{cluster_name=\"xds-grpc\"} " +
         std::to_string(1 + static_cast<std::int64_t>(uptime / 30)) + "\n";
  out += "# TYPE istio_requests_total counter\n";
  for (const IstioSeries& s : series) {
    if (s.counts.successes > 0) {
      out += "istio_requests_total{" + Labels(s, "200") + "} " +
             std::to_string(s.counts.successes) + "\n";
    }
    if (s.counts.failures > 0) {
      out += "istio_requests_total{" + Labels(s, "500") + "} " + std::to_string(s.counts.failures) +
             "\n";
    }
  }
  out += "# TYPE envoy_cluster_manager_active_clusters gauge\n";
  out +=
      "envoy_cluster_manager_active_clusters{} " + std::to_string(8 + topo.workloads.size()) + "\n";
  out += "# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n";
  out += "# TYPE envoy_server_uptime gauge\nenvoy_server_uptime{} " +
         std::to_string(static_cast<std::int64_t>(uptime)) + "\n";
  out += "# TYPE istio_build gauge\nistio_build{component=\"proxy\",tag=\"1.11.4\"} 1\n";
  out += "# TYPE istio_request_duration_milliseconds histogram\n";
  for (const IstioSeries& s : series) {
    if (s.counts.successes > 0) AppendHistogram(out, Labels(s, "200"), s.counts.success_latency);
    if (s.counts.failures > 0) AppendHistogram(out, Labels(s, "500"), s.counts.failure_latency);
  }
  return out;
}

}  // namespace meshsim
