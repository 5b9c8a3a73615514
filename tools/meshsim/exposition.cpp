#include "meshsim/exposition.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "meshsim/traffic.h"

namespace meshsim {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Series {
  std::string labels;  // rendered, without braces
  PairCounts counts;
};

std::string Render(const Labels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name;
    out += "=\"";
    out += value;  // DNS names, IPs and enums: nothing to escape, as in the real proxy
    out += '"';
  }
  return out;
}

std::string Identity(const Workload& w) {
  return w.serviceaccount + "." + w.ns + ".serviceaccount.identity.linkerd.cluster.local";
}

std::string Authority(const Workload& w) {
  return w.service + "." + w.ns + ".svc.cluster.local:" + std::to_string(w.port);
}

// The inbound TLS labels: the peer's identity, or why there is none (linkerd2-proxy
// app/core/src/transport/labels.rs: tls="no_identity",no_tls_reason="no_tls_from_remote").
Labels PeerLabels(const std::string& client_id) {
  if (client_id.empty()) return {{"tls", "no_identity"}, {"no_tls_reason", "no_tls_from_remote"}};
  return {{"tls", "true"}, {"client_id", client_id}};
}

// Policy labels of the default "all-unauthenticated" policy (linkerd2-proxy 2.11+).
void AddDefaultPolicy(Labels& labels, const Workload& server) {
  labels.insert(labels.end(), {{"srv_group", ""},
                               {"srv_kind", "default"},
                               {"srv_name", "all-unauthenticated"},
                               {"srv_port", std::to_string(server.port)},
                               {"route_group", ""},
                               {"route_kind", "default"},
                               {"route_name", "default"},
                               {"authz_group", ""},
                               {"authz_kind", "default"},
                               {"authz_name", "all-unauthenticated"}});
}

// client_id empty: a client without identity (unmeshed).
std::string InboundLabels(const Workload& server, const Pod& pod, const std::string& authority,
                          const std::string& client_id) {
  const std::string port = std::to_string(server.port);
  Labels labels = {{"direction", "inbound"},
                   {"authority", authority},
                   {"target_addr", pod.ip + ":" + port},
                   {"target_ip", pod.ip},
                   {"target_port", port}};
  const Labels peer = PeerLabels(client_id);
  labels.insert(labels.end(), peer.begin(), peer.end());
  AddDefaultPolicy(labels, server);
  return Render(labels);
}

std::string OutboundLabels(const Workload& server, const Pod& server_pod,
                           const std::string& authority) {
  const std::string port = std::to_string(server.port);
  Labels labels = {{"direction", "outbound"},
                   {"authority", authority},
                   {"target_addr", server_pod.ip + ":" + port},
                   {"target_ip", server_pod.ip},
                   {"target_port", port},
                   {"tls", "true"},
                   {"server_id", Identity(server)}};
  // The destination controller's labels arrive as a sorted map: the proxy prints them in
  // alphabetical order, as real scrapes show (docs/mesh-metrics.md, "Linkerd").
  Labels dst = {{"dst_control_plane_ns", "linkerd"},
                {"dst_namespace", server.ns},
                {"dst_pod", server_pod.name},
                {"dst_service", server.service},
                {"dst_serviceaccount", server.serviceaccount},
                {"dst_" + KindName(server.kind), server.name}};
  if (server.kind == WorkloadKind::kDeployment) {
    dst.emplace_back("dst_pod_template_hash", server.pod_template_hash);
  }
  std::sort(dst.begin(), dst.end());
  labels.insert(labels.end(), dst.begin(), dst.end());
  return Render(labels);
}

void AppendHistogram(std::string& out, const std::string& labels, const char* status,
                     const LatencyHistogram& h) {
  const std::string prefix = labels + ",status_code=\"" + status + "\"";
  for (std::size_t b = 0; b < h.cumulative.size(); ++b) {
    const std::string le =
        b < kLatencyBoundsMs.size() ? std::to_string(kLatencyBoundsMs[b]) : "+Inf";
    out += "response_latency_ms_bucket{" + prefix + ",le=\"" + le + "\"} " +
           std::to_string(h.cumulative[b]) + "\n";
  }
  out += "response_latency_ms_count{" + prefix + "} " + std::to_string(h.count) + "\n";
  out += "response_latency_ms_sum{" + prefix + "} " + std::to_string(h.sum_ms) + "\n";
}

std::string FormatSeconds(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3f", value);
  return buffer;
}

}  // namespace

std::string RenderPodMetrics(const Topology& topo, std::size_t pod_index, double seconds,
                             std::int64_t process_start_unix) {
  const Pod& pod = topo.pods[pod_index];
  const Workload& self = topo.workloads[pod.workload];

  std::vector<Series> series;
  if (self.idle) {
    series.push_back(
        {InboundLabels(self, pod, Authority(self),
                       "default." + self.ns + ".serviceaccount.identity.linkerd.cluster.local"),
         IdleCounts(self)});
  }
  for (const Call& call : topo.calls) {
    if (call.server != pod.workload) continue;
    if (call.client == kUnmeshed) {
      series.push_back({InboundLabels(self, pod, topo.CalledAuthority(call), ""),
                        PairCountsAt(topo, call, seconds)});
      continue;
    }
    const Workload& client = topo.workloads[call.client];
    // The inbound side knows the peer only by its mTLS identity, so every client pod of the
    // workload adds into one series. A split's traffic keeps the apex as its authority.
    PairCounts total;
    for (std::size_t i = 0; i < client.pods.size(); ++i) total += PairCountsAt(topo, call, seconds);
    series.push_back(
        {InboundLabels(self, pod, topo.CalledAuthority(call), Identity(client)), total});
  }
  for (const Call& call : topo.calls) {
    if (call.client != pod.workload) continue;
    const Workload& server = topo.workloads[call.server];
    for (std::size_t server_pod : server.pods) {
      // Through a split the proxy keeps the apex authority, dst_* name the backend.
      series.push_back({OutboundLabels(server, topo.pods[server_pod], topo.CalledAuthority(call)),
                        PairCountsAt(topo, call, seconds)});
    }
  }

  std::string out;
  out.reserve(4096 + series.size() * 9000);
  // Series appear only once they have counted something, as the proxy creates them lazily.
  out += "# HELP request_total Total count of HTTP requests.\n# TYPE request_total counter\n";
  for (const Series& s : series) {
    if (s.counts.requests > 0) {
      out += "request_total{" + s.labels + "} " + std::to_string(s.counts.requests) + "\n";
    }
  }
  out +=
      "# HELP response_latency_ms Elapsed times between a request's headers being received and "
      "its response stream completing\n# TYPE response_latency_ms histogram\n";
  for (const Series& s : series) {
    if (s.counts.successes > 0) AppendHistogram(out, s.labels, "200", s.counts.success_latency);
    if (s.counts.failures > 0) AppendHistogram(out, s.labels, "500", s.counts.failure_latency);
  }
  out += "# HELP response_total Total count of HTTP responses.\n# TYPE response_total counter\n";
  for (const Series& s : series) {
    if (s.counts.successes > 0) {
      out += "response_total{" + s.labels +
             ",status_code=\"200\",classification=\"success\",grpc_status=\"\",error=\"\"} " +
             std::to_string(s.counts.successes) + "\n";
    }
    if (s.counts.failures > 0) {
      out += "response_total{" + s.labels +
             ",status_code=\"500\",classification=\"failure\",grpc_status=\"\",error=\"\"} " +
             std::to_string(s.counts.failures) + "\n";
    }
  }

  out +=
      "# HELP process_start_time_seconds Time that this process started (in seconds since the "
      "UNIX epoch)\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds " +
      std::to_string(process_start_unix) + "\n";
  out +=
      "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total " +
      FormatSeconds(0.002 * seconds) + "\n";
  out +=
      "# HELP process_open_fds Number of open file descriptors.\n# TYPE process_open_fds gauge\n"
      "process_open_fds 24\n";
  out +=
      "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
      "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes " +
      std::to_string(12'582'912 + 4096 * series.size()) + "\n";
  // Modern proxies append their prometheus-client registry in OpenMetrics text and end the
  // body with "# EOF", still served as text/plain (docs/mesh-metrics.md, "Linkerd").
  out +=
      "# HELP proxy_build_info Proxy build info.\n# TYPE proxy_build_info gauge\n"
      "proxy_build_info{version=\"meshsim\",git_sha=\"0000000\",profile=\"release\","
      "vendor=\"linkerd\"} 1\n# EOF\n";
  return out;
}

}  // namespace meshsim
