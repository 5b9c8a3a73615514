// Benchmark driver for bench/prom_scale.sh (not a test): per request shape, REPETITIONS requests
// through the server over HTTPS, each with a window no other request used (so nothing is answered
// from a cache), and after each one its floor: the very PromQL the server sent (read from
// Prometheus' query log) replayed straight against Prometheus at the same evaluation time, all of
// the request's queries at once. Prints a Markdown table (server median and max, floor median,
// their ratio, bytes Prometheus sent back, bytes of the answer, the server's peak and current RSS
// after the shape's repetitions), then the PromQL of each shape.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct Args {
  int server_port = 0;
  int server_pid = 0;
  std::string cert, key, prometheus_url, query_log;
  int repetitions = 50;
  int window_seconds = 7200;
  std::string ns = "ns-00", name = "svc-000";
  std::string only;  // run only shapes whose name contains this
};

struct Shape {
  std::string name, path;
  bool table = false;  // kubectl's Accept: a meta.k8s.io Table
};

std::vector<Shape> Shapes(const Args& a) {
  const std::string api = "/apis/metrics.smi-spec.io/v1alpha1";
  return {
      {"get one deployment", api + "/namespaces/" + a.ns + "/deployments/" + a.name},
      {"pods of one namespace", api + "/namespaces/" + a.ns + "/pods"},
      {"all pods", api + "/pods"},
      {"all deployments", api + "/deployments"},
      {"kubectl get tm -A (Table)", api + "/trafficmetrics", true},
      {"edges of one deployment",
       api + "/namespaces/" + a.ns + "/deployments/" + a.name + "/edges"},
  };
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string FormatSeconds(double s) {
  char b[32];
  if (s < 1) {
    std::snprintf(b, sizeof b, "%.1f ms", s * 1000);
  } else {
    std::snprintf(b, sizeof b, "%.2f s", s);
  }
  return b;
}

std::string FormatBytes(double bytes) {
  char b[32];
  if (bytes >= 1e6) {
    std::snprintf(b, sizeof b, "%.1f MB", bytes / 1e6);
  } else if (bytes >= 1e3) {
    std::snprintf(b, sizeof b, "%.1f KB", bytes / 1e3);
  } else {
    std::snprintf(b, sizeof b, "%.0f B", bytes);
  }
  return b;
}

// VmHWM and VmRSS of the server, in bytes.
std::pair<double, double> Rss(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  double hwm = 0, rss = 0;
  while (std::getline(in, line)) {
    if (line.starts_with("VmHWM:")) hwm = std::stod(line.substr(6)) * 1024;
    if (line.starts_with("VmRSS:")) rss = std::stod(line.substr(6)) * 1024;
  }
  return {hwm, rss};
}

// Reads Prometheus' query log from where the last call stopped.
class QueryLog {
 public:
  explicit QueryLog(std::string path) : path_(std::move(path)) { Skip(); }

  // The instant queries logged since the last call: (query, evaluation time as logged).
  std::vector<std::pair<std::string, std::string>> Read() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const std::string& line : Lines()) {
      const json entry = json::parse(line, nullptr, false);
      if (entry.is_discarded() || !entry.contains("params")) continue;
      const json& p = entry["params"];
      if (!p.contains("query") || !p["query"].is_string()) continue;
      const std::string query = p["query"].get<std::string>();
      if (query == "vector(1)") continue;  // a readiness probe, not a request's query
      out.emplace_back(query, p.value("end", std::string()));
    }
    return out;
  }

  void Skip() { Lines(); }

 private:
  std::vector<std::string> Lines() {
    std::ifstream in(path_);
    in.seekg(offset_);
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // a line still being written
      offset_ += static_cast<std::streamoff>(line.size() + 1);
      lines.push_back(line);
    }
    return lines;
  }

  std::string path_;
  std::streamoff offset_ = 0;
};

struct Floor {
  double seconds = 0;
  double bytes = 0;
};

// All `queries` at once, each on its own kept-alive connection; the time until the last answer is
// in.
Floor ReplayFloor(std::vector<std::unique_ptr<httplib::Client>>& clients,
                  const std::vector<std::pair<std::string, std::string>>& queries) {
  while (clients.size() < queries.size()) {
    clients.push_back(nullptr);
  }
  std::vector<size_t> sizes(queries.size());
  std::vector<std::string> errors(queries.size());
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < queries.size(); ++i) {
    threads.emplace_back([&, i] {
      const httplib::Params params = {
          {"query", queries[i].first}, {"time", queries[i].second}, {"timeout", "120s"}};
      auto res = clients[i]->Post("/api/v1/query", params);
      if (!res || res->status != 200) {
        errors[i] = res ? "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300)
                        : httplib::to_string(res.error());
        return;
      }
      sizes[i] = res->body.size();
    });
  }
  for (auto& t : threads) t.join();
  Floor f;
  f.seconds = Seconds(Clock::now() - start);
  for (size_t i = 0; i < queries.size(); ++i) {
    if (!errors[i].empty()) throw std::runtime_error("floor query failed: " + errors[i]);
    f.bytes += static_cast<double>(sizes[i]);
  }
  return f;
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--server-port") {
      a.server_port = std::stoi(v);
    } else if (k == "--server-pid") {
      a.server_pid = std::stoi(v);
    } else if (k == "--cert") {
      a.cert = v;
    } else if (k == "--key") {
      a.key = v;
    } else if (k == "--prometheus-url") {
      a.prometheus_url = v;
    } else if (k == "--query-log") {
      a.query_log = v;
    } else if (k == "--repetitions") {
      a.repetitions = std::stoi(v);
    } else if (k == "--window-seconds") {
      a.window_seconds = std::stoi(v);
    } else if (k == "--namespace") {
      a.ns = v;
    } else if (k == "--name") {
      a.name = v;
    } else if (k == "--only") {
      a.only = v;
    } else {
      throw std::invalid_argument("unknown flag " + k);
    }
  }
  if (a.server_port == 0 || a.server_pid == 0 || a.prometheus_url.empty() || a.query_log.empty()) {
    throw std::invalid_argument(
        "usage: prom_scale --server-port N --server-pid N --cert F --key F --prometheus-url URL "
        "--query-log FILE [--repetitions 50] [--window-seconds 7200] [--namespace ns-00] "
        "[--name svc-000] [--only SHAPE]");
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = Parse(argc, argv);
    httplib::SSLClient server("127.0.0.1", a.server_port, a.cert, a.key);
    server.enable_server_certificate_verification(false);
    server.set_keep_alive(true);
    server.set_tcp_nodelay(true);
    server.set_read_timeout(std::chrono::seconds(300));
    std::vector<std::unique_ptr<httplib::Client>> prom;
    for (int i = 0; i < 4; ++i) {
      prom.push_back(std::make_unique<httplib::Client>(a.prometheus_url));
      prom.back()->set_keep_alive(true);
      // Else every POST of the floor waits ~40 ms on a delayed ACK (Nagle), as the server's own
      // client does not.
      prom.back()->set_tcp_nodelay(true);
      prom.back()->set_read_timeout(std::chrono::seconds(300));
    }
    QueryLog log(a.query_log);
    int window_seq = 0;
    std::vector<std::pair<std::string, std::vector<std::string>>> promql;
    std::cout << "| request | server median | server max | PromQL floor | ratio | from Prometheus "
                 "| answer | peak RSS | RSS after |\n"
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const Shape& shape : Shapes(a)) {
      if (!a.only.empty() && shape.name.find(a.only) == std::string::npos) continue;
      std::vector<double> server_s, floor_s, bytes, answer;
      std::vector<std::string> shape_queries;
      for (int r = 0; r < a.repetitions; ++r) {
        // A window no other request used: no cache or coalescing helps.
        const std::string window = std::to_string(a.window_seconds + window_seq++) + "s";
        httplib::Headers headers;
        if (shape.table) {
          headers.emplace("Accept",
                          "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
        }
        log.Skip();
        const auto start = Clock::now();
        auto res = server.Get(shape.path + "?window=" + window, headers);
        const double took = Seconds(Clock::now() - start);
        if (!res) throw std::runtime_error(shape.name + ": " + httplib::to_string(res.error()));
        if (res->status != 200) {
          throw std::runtime_error(shape.name + ": HTTP " + std::to_string(res->status) + ": " +
                                   res->body.substr(0, 500));
        }
        server_s.push_back(took);
        answer.push_back(static_cast<double>(res->body.size()));
        const auto queries = log.Read();
        if (queries.empty()) throw std::runtime_error(shape.name + ": no query in the query log");
        if (r == 0) {
          for (const auto& q : queries) shape_queries.push_back(q.first);
        }
        const Floor f = ReplayFloor(prom, queries);
        log.Skip();
        floor_s.push_back(f.seconds);
        bytes.push_back(f.bytes);
      }
      const auto [hwm, rss] = Rss(a.server_pid);
      const double ms = Median(server_s), mf = Median(floor_s);
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.2f", mf > 0 ? ms / mf : 0.0);
      std::cout << "| " << shape.name << " | " << FormatSeconds(ms) << " | "
                << FormatSeconds(*std::max_element(server_s.begin(), server_s.end())) << " | "
                << FormatSeconds(mf) << " | " << ratio << " | " << FormatBytes(Median(bytes))
                << " | " << FormatBytes(Median(answer)) << " | " << FormatBytes(hwm) << " | "
                << FormatBytes(rss) << " |" << std::endl;
      promql.emplace_back(shape.name, shape_queries);
    }
    std::cout << "\nPromQL per request (window of the first repetition):\n";
    for (const auto& [name, queries] : promql) {
      std::cout << "\n" << name << ":\n";
      for (const auto& q : queries) std::cout << "    " << q << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "prom_scale: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
