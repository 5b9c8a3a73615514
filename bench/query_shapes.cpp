// Benchmark driver for bench/query_shapes.sh (not a test): per request shape (get, list, edges),
// request latency and Prometheus queries per request, for
//   ours-distinct  requests through the server over HTTPS, each with a window no other request
//                  used (so no cache or coalescing can help: the cost of a cold request),
//   ours-repeat    the same request repeated (what a polling dashboard or autoscaler does: the
//                  answer for the second is coalesced/cached),
//   reference      the archived reference server's query shapes replayed straight against
//                  Prometheus: its Linkerd templates (servicemeshinterface/smi-metrics
//                  chart/linkerd.yaml: irate + regex matchers) rendered as it did, 5 queries
//                  per get/list and 10 per edges, sequentially.
// Queries per request are counted by Prometheus itself (prometheus_http_requests_total of
// /api/v1/query). Prints a Markdown table.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <httplib.h>

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  int server_port = 0;
  std::string cert, key, prometheus_url;
  int requests = 200;
  std::string ns = "emojivoto", name = "web";
};

double QueryCount(httplib::Client& prom) {
  auto res = prom.Get("/metrics");
  if (!res || res->status != 200) throw std::runtime_error("cannot read Prometheus' /metrics");
  double sum = 0;
  std::istringstream in(res->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("prometheus_http_requests_total{") &&
        line.find("handler=\"/api/v1/query\"") != std::string::npos) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

// The reference Linkerd templates (chart/linkerd.yaml), with {{default ".+" .x}} rendered.
std::string ResourceQuery(const std::string& metric, const std::string& kind, const std::string& ns,
                          const std::string& name, const std::string& window) {
  const std::string sel = "namespace=~\"" + (ns.empty() ? ".+" : ns) + "\", " + kind + "=~\"" +
                          (name.empty() ? ".+" : name) + "\", direction=\"inbound\"";
  if (metric == "success_count" || metric == "failure_count") {
    const std::string cls = metric == "success_count" ? "success" : "failure";
    return "sum(increase(response_total{classification=\"" + cls + "\", " + sel + "}[" + window +
           "])) by (" + kind + ", namespace)";
  }
  const std::string q = metric == "p99_response_latency"   ? "0.99"
                        : metric == "p90_response_latency" ? "0.90"
                                                           : "0.50";
  return "histogram_quantile(" + q + ", sum(irate(response_latency_ms_bucket{" + sel + "}[" +
         window + "])) by (" + kind + ", namespace, le))";
}

std::string EdgeQuery(const std::string& metric, const std::string& kind, const std::string& ns,
                      const std::string& to_ns, const std::string& from_name,
                      const std::string& to_name, const std::string& window) {
  auto d = [](const std::string& v) { return v.empty() ? std::string(".+") : v; };
  const std::string sel = "namespace=~\"" + d(ns) + "\", dst_namespace=~\"" + d(to_ns) + "\", " +
                          kind + "=~\"" + d(from_name) + "\", dst_" + kind + "=~\"" + d(to_name) +
                          "\"";
  const std::string by = kind + ", dst_" + kind + ", namespace, dst_namespace";
  if (metric == "success_count" || metric == "failure_count") {
    const std::string cls = metric == "success_count" ? "success" : "failure";
    return "sum(increase(response_total{classification=\"" + cls + "\", " + sel + "}[" + window +
           "])) by (" + by + ")";
  }
  const std::string q = metric == "p99_response_latency"   ? "0.99"
                        : metric == "p90_response_latency" ? "0.90"
                                                           : "0.50";
  return "histogram_quantile(" + q + ", sum(irate(response_latency_ms_bucket{" + sel + "}[" +
         window + "])) by (" + by + ", le))";
}

const std::vector<std::string> kMetrics = {"p99_response_latency", "p90_response_latency",
                                           "p50_response_latency", "success_count",
                                           "failure_count"};

std::vector<std::string> ReferenceQueries(const std::string& shape, const Args& a,
                                          const std::string& window) {
  std::vector<std::string> out;
  for (const auto& m : kMetrics) {
    if (shape == "get") out.push_back(ResourceQuery(m, "deployment", a.ns, a.name, window));
    if (shape == "list") out.push_back(ResourceQuery(m, "deployment", a.ns, "", window));
    if (shape == "edges") {
      out.push_back(EdgeQuery(m, "deployment", "", a.ns, "", a.name, window));  // who calls me
      out.push_back(EdgeQuery(m, "deployment", a.ns, "", a.name, "", window));  // whom I call
    }
  }
  return out;
}

std::string Path(const std::string& shape, const Args& a, const std::string& window) {
  const std::string base = "/apis/metrics.smi-spec.io/v1alpha1/namespaces/" + a.ns + "/deployments";
  const std::string w = "?window=" + window;
  if (shape == "get") return base + "/" + a.name + w;
  if (shape == "list") return base + w;
  return base + "/" + a.name + "/edges" + w;
}

struct Row {
  std::string shape, variant;
  int requests;
  double queries_per_request, p50_ms, p99_ms;
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--server-port")
      a.server_port = std::stoi(v);
    else if (k == "--cert")
      a.cert = v;
    else if (k == "--key")
      a.key = v;
    else if (k == "--prometheus-url")
      a.prometheus_url = v;
    else if (k == "--requests")
      a.requests = std::stoi(v);
    else
      throw std::invalid_argument("unknown argument " + k);
  }
  httplib::SSLClient server("127.0.0.1", a.server_port, a.cert, a.key);
  server.enable_server_certificate_verification(false);
  server.set_keep_alive(true);
  server.set_tcp_nodelay(true);
  server.set_read_timeout(std::chrono::seconds(30));
  httplib::Client prom(a.prometheus_url);
  prom.set_keep_alive(true);
  prom.set_tcp_nodelay(true);  // else every POST waits ~40ms on a delayed ACK (Nagle)
  prom.set_read_timeout(std::chrono::seconds(30));
  httplib::Client counter(a.prometheus_url);

  std::vector<Row> rows;
  int window_seq = 0;
  for (const std::string shape : {"get", "list", "edges"}) {
    for (const std::string variant : {"ours-distinct", "ours-repeat", "reference"}) {
      // Warm-up (connections, Prometheus' own caches) outside the measurement.
      for (int i = 0; i < 5; ++i) server.Get(Path(shape, a, "30s"));
      std::vector<double> ms;
      const double before = QueryCount(counter);
      for (int i = 0; i < a.requests; ++i) {
        // A fresh window (seconds between 31s and 10m) for requests that must not share work.
        const std::string window = std::to_string(31 + (window_seq++ % 569)) + "s";
        const auto start = Clock::now();
        if (variant == "reference") {
          const auto t = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
          char at[32];
          std::snprintf(at, sizeof at, "%lld.%03lld", static_cast<long long>(t / 1000),
                        static_cast<long long>(t % 1000));
          for (const auto& q : ReferenceQueries(shape, a, window)) {
            auto res = prom.Post("/api/v1/query", httplib::Params{{"query", q}, {"time", at}});
            if (!res || res->status != 200) {
              std::cerr << "reference query failed: " << q << "\n";
              return 1;
            }
          }
        } else {
          auto res = server.Get(Path(shape, a, variant == "ours-repeat" ? "30s" : window));
          if (!res || res->status != 200) {
            std::cerr << "request failed: " << Path(shape, a, window) << ": "
                      << (res ? res->body : httplib::to_string(res.error())) << "\n";
            return 1;
          }
        }
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      }
      const double queries = QueryCount(counter) - before;
      rows.push_back({shape, variant, a.requests, queries / a.requests, Percentile(ms, 0.5),
                      Percentile(ms, 0.99)});
    }
  }
  std::printf("| shape | variant | requests | PromQL queries / request | p50 ms | p99 ms |\n");
  std::printf("|---|---|---:|---:|---:|---:|\n");
  for (const auto& r : rows) {
    std::printf("| %s | %s | %d | %.2f | %.2f | %.2f |\n", r.shape.c_str(), r.variant.c_str(),
                r.requests, r.queries_per_request, r.p50_ms, r.p99_ms);
  }
  return 0;
}
