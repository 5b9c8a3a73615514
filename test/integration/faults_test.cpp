// Concurrency and backend faults against the real stack started by run_faults.sh: 50 identical
// concurrent HTTPS requests cost at most two upstream queries; a slow, a garbage-answering and a
// stopped backend each give a 503 Status naming the backend and the cause, in time.
//
// Upstream queries are counted by Prometheus itself (prometheus_http_requests_total of
// /api/v1/query on its own /metrics) and, when the server serves /metrics, by the server's
// smi_prometheus_queries_total as well. The slow and garbage backends are local HTTP servers in
// this test: a real Prometheus cannot be made to answer garbage or to stall on demand. The
// stopped backend is a Prometheus the test starts and stops itself, so that no test depends on
// running before or after another.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/free_port.h"

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using SteadyClock = std::chrono::steady_clock;
using smi::test_support::FreePort;

const char kList[] = "/apis/metrics.smi-spec.io/v1alpha1/namespaces/emojivoto/deployments";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    throw std::runtime_error(std::string(name) +
                             " is not set: run this test through test/integration/run_faults.sh");
  }
  return v;
}

struct Answer {
  int status = 0;
  std::string body;
};

Answer Get(int port, const std::string& path, seconds timeout = seconds(30)) {
  httplib::SSLClient client("127.0.0.1", port, Env("SMI_FAULTS_CLIENT_CERT"),
                            Env("SMI_FAULTS_CLIENT_KEY"));
  client.enable_server_certificate_verification(false);  // self-signed; TLS is e2e's subject
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  auto res = client.Get(path);
  if (!res) return {-1, httplib::to_string(res.error())};
  return {res->status, res->body};
}

// Sum of a counter over the series whose text matches `selector` in a text exposition.
double SumSeries(const std::string& text, const std::string& name, const std::string& selector) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(name + "{") && !line.starts_with(name + " ")) continue;
    if (line.find(selector) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// /api/v1/query requests Prometheus has served, from its own /metrics.
double PrometheusQueryCount() {
  httplib::Client client(Env("SMI_FAULTS_PROMETHEUS_URL"));
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) throw std::runtime_error("cannot read Prometheus' /metrics");
  return SumSeries(res->body, "prometheus_http_requests_total", "handler=\"/api/v1/query\"");
}

// The server's own /metrics (the smi_prometheus_* families must be there).
std::string ServerMetrics(int port) {
  const Answer a = Get(port, "/metrics");
  if (a.status != 200 || a.body.find("smi_prometheus_queries_total") == std::string::npos) {
    throw std::runtime_error("the server's /metrics has no smi_prometheus_queries_total: HTTP " +
                             std::to_string(a.status) + ": " + a.body.substr(0, 200));
  }
  return a.body;
}

std::string StatusMessage(const Answer& a) {
  try {
    return nlohmann::json::parse(a.body).at("message").get<std::string>();
  } catch (const std::exception&) {
    return "(not a Status: " + a.body + ")";
  }
}

// One more smi-metrics-server, against `prometheus_url`, stopped when this goes away.
class ServerProcess {
 public:
  ServerProcess(const std::string& prometheus_url, const std::string& timeout,
                const std::string& log_name)
      : port_(FreePort()) {
    const std::string bin = Env("SMI_FAULTS_SERVER_BIN");
    const std::string log = Env("SMI_FAULTS_WORK") + "/" + log_name + ".log";
    std::vector<std::string> args = {
        bin, "--bind-address=127.0.0.1", "--secure-port=" + std::to_string(port_),
        "--prometheus-url=" + prometheus_url, "--prometheus-timeout=" + timeout,
        "--proxy-job=linkerd-proxy", "--client-ca-file=" + Env("SMI_FAULTS_CLIENT_CA"),
        // No Kubernetes here: say that callers are not reviewed.
        "--authorization-mode=AlwaysAllowAuthenticated"};
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    // Up when /healthz answers (not /readyz: the backend is broken on purpose).
    for (int i = 0; i < 200; ++i) {
      if (Get(port_, "/healthz", seconds(2)).status == 200) return;
      std::this_thread::sleep_for(milliseconds(50));
    }
    throw std::runtime_error("the server for " + prometheus_url + " never came up; see " + log);
  }
  ~ServerProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  int port() const { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

// A Prometheus of this test's own (with nothing to scrape), for the test that stops it: stopping
// the stack's would break every test that ran after it.
class PrometheusProcess {
 public:
  explicit PrometheusProcess(const std::string& name) : port_(FreePort()) {
    const std::string bin = Env("SMI_FAULTS_PROMETHEUS_BIN");
    const std::string dir = Env("SMI_FAULTS_WORK") + "/" + name;
    const std::string log = dir + ".log";
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/prometheus.yml") << "global: {scrape_interval: 1m}\n";
    std::vector<std::string> args = {bin, "--config.file=" + dir + "/prometheus.yml",
                                     "--storage.tsdb.path=" + dir + "/data",
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    httplib::Client client(url());
    client.set_connection_timeout(seconds(2));
    for (int i = 0; i < 600; ++i) {
      if (auto res = client.Get("/-/ready"); res && res->status == 200) return;
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) break;
      std::this_thread::sleep_for(milliseconds(50));
    }
    Stop();
    throw std::runtime_error("Prometheus " + name + " never became ready; see " + log);
  }
  ~PrometheusProcess() { Stop(); }
  // SIGTERM, and waits until it has exited (so its port refuses connections).
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
};

// A local plain-HTTP backend with a handler for /api/v1/query (other paths 404).
class LocalBackend {
 public:
  explicit LocalBackend(httplib::Server::Handler query) {
    server_.Get("/api/v1/query", query);
    server_.Post("/api/v1/query", query);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 200 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  ~LocalBackend() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// A peer closing a connection must fail a request, not kill the test.
const bool kIgnoreSigpipe = [] { return signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();

TEST(Concurrency, FiftyIdenticalRequestsCauseAtMostTwoUpstreamQueries) {
  const int port = std::stoi(Env("SMI_FAULTS_SERVER_PORT"));
  ASSERT_EQ(Get(port, kList).status, 200) << "the stack does not answer at all";
  constexpr int kRequests = 50;
  // The server answers at a whole second; a burst that straddles a second boundary asks about
  // two seconds (two keys), so it is started just after a boundary and tried again if it still
  // straddled one.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    // Connections (TLS handshakes with client certificates) are made first, so the burst is the
    // requests alone; run_faults.sh gives the server a thread for each.
    std::vector<std::unique_ptr<httplib::SSLClient>> clients;
    for (int i = 0; i < kRequests; ++i) {
      auto c = std::make_unique<httplib::SSLClient>(
          "127.0.0.1", port, Env("SMI_FAULTS_CLIENT_CERT"), Env("SMI_FAULTS_CLIENT_KEY"));
      c->enable_server_certificate_verification(false);
      c->set_keep_alive(true);
      c->set_read_timeout(seconds(30));
      auto res = c->Get("/healthz");
      ASSERT_TRUE(res && res->status == 200) << "cannot connect client " << i;
      clients.push_back(std::move(c));
    }
    const auto now = std::chrono::system_clock::now();
    std::this_thread::sleep_until(std::chrono::ceil<seconds>(now) + milliseconds(20));

    const double prom_before = PrometheusQueryCount();
    const auto server_before = ServerMetrics(port);
    std::mutex mu;
    std::condition_variable cv;
    bool go = false;
    std::vector<Answer> answers(kRequests);
    std::vector<std::thread> threads;
    for (int i = 0; i < kRequests; ++i) {
      threads.emplace_back([&, i] {
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return go; });
        }
        auto res = clients[i]->Get(kList);
        answers[i] = res ? Answer{res->status, res->body} : Answer{-1, to_string(res.error())};
      });
    }
    {
      std::lock_guard lock(mu);
      go = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
    const double upstream = PrometheusQueryCount() - prom_before;
    std::cout << "[ BURST    ] " << kRequests << " requests, " << upstream
              << " upstream queries (Prometheus' count)\n";

    std::set<std::string> timestamps;
    for (const auto& a : answers) {
      ASSERT_EQ(a.status, 200) << a.body;
      const auto list = nlohmann::json::parse(a.body);
      ASSERT_FALSE(list.at("items").empty());
      timestamps.insert(list.at("items").at(0).at("timestamp").get<std::string>());
    }
    if (timestamps.size() > 1 && attempt < 3) continue;  // straddled a second: again
    ASSERT_EQ(timestamps.size(), 1u);
    EXPECT_GE(upstream, 1);
    EXPECT_LE(upstream, 2) << "Prometheus served " << upstream << " queries for " << kRequests
                           << " identical requests";
    {
      const std::string server_after = ServerMetrics(port);
      const auto count = [](const std::string& text, const std::string& outcome) {
        return SumSeries(text, "smi_prometheus_queries_total", "outcome=\"" + outcome + "\"");
      };
      const double sent = count(server_after, "success") + count(server_after, "error") -
                          count(server_before, "success") - count(server_before, "error");
      const double shared = count(server_after, "coalesced") + count(server_after, "cached") -
                            count(server_before, "coalesced") - count(server_before, "cached");
      // A request answered from the answer cache (docs/serving.md) asks the source nothing; every
      // other one asks its two queries, each sent, coalesced or cached.
      const double answer_cache_hits =
          SumSeries(server_after, "smi_answer_cache_lookups_total", "outcome=\"hit\"") -
          SumSeries(server_before, "smi_answer_cache_lookups_total", "outcome=\"hit\"");
      EXPECT_LE(sent, 2);
      EXPECT_EQ(sent, upstream) << "the server's count disagrees with Prometheus'";
      EXPECT_EQ(sent + shared + 2 * answer_cache_hits, 2 * kRequests);
    }
    break;
  }
}

TEST(BackendFaults, SlowBackendIs503WithinTheTimeout) {
  std::atomic<bool> done{false};
  LocalBackend slow([&](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 100 && !done; ++i) std::this_thread::sleep_for(milliseconds(50));
    res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                    "application/json");
  });
  ServerProcess server(slow.url(), "500ms", "server-slow");
  const auto start = SteadyClock::now();
  const Answer a = Get(server.port(), kList);
  const auto elapsed = SteadyClock::now() - start;
  EXPECT_EQ(a.status, 503) << a.body;
  EXPECT_THAT(StatusMessage(a), HasSubstr("Prometheus at " + slow.url()));
  EXPECT_THAT(StatusMessage(a), HasSubstr("did not answer within 500ms"));
  // Well before the 5s the backend would take (a bound, not a measurement).
  EXPECT_LT(elapsed, seconds(4));
  done = true;
  EXPECT_EQ(Get(server.port(), "/healthz").status, 200) << "the server did not survive";
}

TEST(BackendFaults, GarbageIs503Malformed) {
  LocalBackend garbage([](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[{"metr)",
                    "application/json");
  });
  ServerProcess server(garbage.url(), "5s", "server-garbage");
  const Answer a = Get(server.port(), kList);
  EXPECT_EQ(a.status, 503) << a.body;
  EXPECT_THAT(StatusMessage(a), HasSubstr("Prometheus at " + garbage.url()));
  EXPECT_THAT(StatusMessage(a), HasSubstr("malformed"));
  EXPECT_GE(SumSeries(ServerMetrics(server.port()), "smi_prometheus_query_errors_total",
                      "reason=\"malformed\""),
            1);
}

TEST(BackendFaults, NonJsonIs503) {
  LocalBackend html([](const httplib::Request&, httplib::Response& res) {
    res.status = 502;
    res.set_content("<html><body>502 Bad Gateway</body></html>", "text/html");
  });
  ServerProcess server(html.url(), "5s", "server-html");
  const Answer a = Get(server.port(), kList);
  EXPECT_EQ(a.status, 503) << a.body;
  EXPECT_THAT(StatusMessage(a), HasSubstr("Prometheus at " + html.url()));
  EXPECT_THAT(StatusMessage(a), HasSubstr("answered HTTP 502 with a non-JSON body"));
}

TEST(BackendFaults, StoppedPrometheusIs503NamingIt) {
  PrometheusProcess prometheus("prometheus-stopped");
  ServerProcess server(prometheus.url(), "5s", "server-stopped");
  // While it runs the server reaches it: the 503 below is the stop's doing.
  const Answer before = Get(server.port(), kList);
  EXPECT_NE(before.status, 503) << before.body;
  prometheus.Stop();
  // Another window than the one asked for above, so no cached answer can serve it.
  const Answer a = Get(server.port(), std::string(kList) + "?window=45s");
  EXPECT_EQ(a.status, 503) << a.body;
  EXPECT_THAT(StatusMessage(a), HasSubstr("Prometheus at " + prometheus.url() + " is unreachable"));
  EXPECT_THAT(StatusMessage(a), HasSubstr("connection refused"));
  EXPECT_GE(SumSeries(ServerMetrics(server.port()), "smi_prometheus_query_errors_total",
                      "reason=\"unreachable\""),
            1);
}

// What the backend says reaches the client (docs/kubernetes-api.md, "Warnings"): the warnings and
// infos of an answer (a Thanos or Mimir partial response) become Warning headers in
// kube-apiserver's format, each once, at most three, and kubectl prints them.
TEST(BackendWarnings, ReachTheClientAsWarningHeaders) {
  std::atomic<int> warnings{1};
  LocalBackend partial([&](const httplib::Request&, httplib::Response& res) {
    nlohmann::json answer = {
        {"status", "success"},
        {"data", {{"resultType", "vector"}, {"result", nlohmann::json::array()}}},
        {"warnings", nlohmann::json::array()}};
    for (int i = 0; i < warnings; ++i) {
      answer["warnings"].push_back("partial response: store 10.0.0." + std::to_string(i) +
                                   ":10901 \"unreachable\"");
    }
    res.set_content(answer.dump(), "application/json");
  });
  ServerProcess server(partial.url(), "5s", "server-partial");
  const auto headers = [&](const std::string& path) {
    httplib::SSLClient client("127.0.0.1", server.port(), Env("SMI_FAULTS_CLIENT_CERT"),
                              Env("SMI_FAULTS_CLIENT_KEY"));
    client.enable_server_certificate_verification(false);
    auto res = client.Get(path);
    std::vector<std::string> out;
    if (!res) {
      ADD_FAILURE() << httplib::to_string(res.error());
      return out;
    }
    EXPECT_EQ(res->status, 200) << res->body;
    for (size_t i = 0; i < res->get_header_value_count("Warning"); ++i) {
      out.push_back(res->get_header_value("Warning", i));
    }
    return out;
  };
  // Both queries of the answer carry the warning: it is passed once.
  const std::string one =
      R"(299 - "metrics source: partial response: store 10.0.0.0:10901 \"unreachable\"")";
  EXPECT_EQ(headers(kList), std::vector<std::string>{one});
  // Asked again: the same warning, not an answer kept without it.
  EXPECT_EQ(headers(kList), std::vector<std::string>{one});

  // kubectl prints it as it prints kube-apiserver's warnings.
  const char* kubectl = std::getenv("SMI_FAULTS_KUBECTL");
  if (kubectl && *kubectl) {
    const std::string empty_config = Env("SMI_FAULTS_WORK") + "/empty.kubeconfig";
    std::ofstream(empty_config) << "";
    const std::string command =
        std::string(kubectl) + " --kubeconfig=" + empty_config +
        " --server=https://127.0.0.1:" + std::to_string(server.port()) +
        " --insecure-skip-tls-verify --client-certificate=" + Env("SMI_FAULTS_CLIENT_CERT") +
        " --client-key=" + Env("SMI_FAULTS_CLIENT_KEY") + " get --raw " + kList + " 2>&1";
    std::string out;
    if (FILE* p = popen(command.c_str(), "r")) {
      char buf[4096];
      for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
      EXPECT_EQ(pclose(p), 0) << out;
    }
    EXPECT_THAT(out, HasSubstr("Warning: metrics source: partial response: store 10.0.0.0:10901 "
                               "\"unreachable\"\n"));
  }

  // Five warnings: two of them, then how many were left out.
  warnings = 5;
  const auto five = headers(std::string(kList) + "?window=45s");
  ASSERT_EQ(five.size(), 3u);
  EXPECT_THAT(five[0], HasSubstr("store 10.0.0.0:10901"));
  EXPECT_THAT(five[1], HasSubstr("store 10.0.0.1:10901"));
  EXPECT_EQ(five[2], R"(299 - "metrics source: 3 more warnings about this answer were left out")");
  if (!kubectl || !*kubectl) GTEST_SKIP() << "SMI_FAULTS_KUBECTL is not set: kubectl not checked";
}

// A latency bucket the server cannot read (an `le` that is not a number) is left out of the
// quantiles, and the client is told so.
TEST(BackendWarnings, UnreadableBucketsAreAWarning) {
  LocalBackend odd([](const httplib::Request& req, httplib::Response& res) {
    const std::string query = req.get_param_value("query");
    nlohmann::json result = nlohmann::json::array();
    if (query.find("response_latency_ms_bucket") != std::string::npos &&
        query.find("response_total") == std::string::npos) {
      result.push_back(
          {{"metric", {{"le", "fast"}, {"namespace", "emojivoto"}, {"deployment", "web"}}},
           {"value", {1700000000, "3"}}});
    }
    res.set_content(nlohmann::json{{"status", "success"},
                                   {"data", {{"resultType", "vector"}, {"result", result}}}}
                        .dump(),
                    "application/json");
  });
  ServerProcess server(odd.url(), "5s", "server-odd-buckets");
  httplib::SSLClient client("127.0.0.1", server.port(), Env("SMI_FAULTS_CLIENT_CERT"),
                            Env("SMI_FAULTS_CLIENT_KEY"));
  client.enable_server_certificate_verification(false);
  auto res = client.Get(kList);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200) << res->body;
  ASSERT_EQ(res->get_header_value_count("Warning"), 1u);
  EXPECT_THAT(res->get_header_value("Warning"),
              HasSubstr("299 - \"metrics source: latency buckets without a numeric \\\"le\\\" "
                        "label were ignored"));
}

}  // namespace
