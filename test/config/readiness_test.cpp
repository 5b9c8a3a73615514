// Readiness means "this process can serve" (docs/decisions.md, decision 14): the caches are
// required, the source of numbers is informational. The end-to-end cases put the server's own
// parts together (a real PrometheusSource, the checks the wiring registers, the API handler) over
// a Prometheus that was never started, and one that is stopped.
#include "config/readiness.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "aggregation/traffic_metrics_service.h"
#include "apiserver/api_handler.h"
#include "mocks/fake_source.h"
#include "mocks/unsynced_cluster.h"
#include "sources/prometheus/prometheus_source.h"
#include "sources/source_metrics.h"
#include "support/free_port.h"
#include "support/metrics_text.h"

namespace smi::config {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kBase = "/apis/metrics.smi-spec.io/v1alpha1";

TEST(ReadinessTest, CachesAreRequiredTheSourceIsInformational) {
  testing::UnsyncedCluster caches;
  testing::FakeSource source;
  ::prometheus::Registry registry;
  SourceHealth health(source, registry);
  const auto checks = ReadinessChecks(&caches, health);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].name, "kubernetes-caches");
  EXPECT_FALSE(checks[0].informational);
  EXPECT_EQ(checks[1].name, "source");
  EXPECT_TRUE(checks[1].informational);
  std::string why;
  EXPECT_FALSE(checks[0].ready(&why));
  EXPECT_EQ(why, "not synced: pods, replicasets");
  caches.synced = true;
  EXPECT_TRUE(checks[0].ready(&why));
}

TEST(ReadinessTest, NoCachesNoCacheCheck) {
  testing::FakeSource source;
  ::prometheus::Registry registry;
  SourceHealth health(source, registry);
  const auto checks = ReadinessChecks(nullptr, health);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].name, "source");
}

TEST(SourceHealthTest, ReportsTheLastCheckAndCountsThem) {
  testing::FakeSource source;
  ::prometheus::Registry registry;
  SourceHealth health(source, registry);
  std::string why;
  EXPECT_FALSE(health.Ready(&why));
  EXPECT_EQ(why, "not checked yet");
  // Never asked yet: no check is counted.
  auto text = sources::SerializeMetrics(registry);
  EXPECT_EQ(test_support::ScrapeValue(text, "smi_source_ready"), 0);
  EXPECT_EQ(test_support::ScrapeValue(text, "smi_source_readiness_checks_total{result=\"ready\"}"),
            0);

  source.unavailable = "Prometheus at http://127.0.0.1:1 is unreachable: connection refused";
  health.CheckNow();
  EXPECT_FALSE(health.Ready(&why));
  EXPECT_EQ(why, *source.unavailable);
  text = sources::SerializeMetrics(registry);
  EXPECT_EQ(test_support::ScrapeValue(text, "smi_source_ready"), 0);
  EXPECT_EQ(
      test_support::ScrapeValue(text, "smi_source_readiness_checks_total{result=\"not_ready\"}"),
      1);

  source.unavailable.reset();
  health.CheckNow();
  EXPECT_TRUE(health.Ready(&why));
  text = sources::SerializeMetrics(registry);
  EXPECT_EQ(test_support::ScrapeValue(text, "smi_source_ready"), 1);
  EXPECT_EQ(test_support::ScrapeValue(text, "smi_source_readiness_checks_total{result=\"ready\"}"),
            1);
}

TEST(SourceHealthTest, TheBackgroundCheckRunsAtOnceAndStops) {
  testing::FakeSource source;
  ::prometheus::Registry registry;
  SourceHealth health(source, registry, {std::chrono::hours(1)});
  health.Start();
  // The first check runs at start; poll for it (its thread is the only writer), for up to 10s.
  std::string why;
  for (int i = 0; i < 10000 && !health.Ready(&why); ++i) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(health.Ready(&why)) << why;
  // Stop returns without waiting out the hour.
  health.Stop();
}

// The readiness answers of the handler, for the checks as wired.
apiserver::HttpResponse Readyz(const apiserver::ApiHandler& handler, bool verbose) {
  apiserver::HttpRequest r;
  r.path = "/readyz";
  if (verbose) r.params.emplace("verbose", "");
  return handler.Handle(r);
}

apiserver::HttpResponse GetAsAlice(const apiserver::ApiHandler& handler, const std::string& path) {
  apiserver::HttpRequest r;
  r.path = path;
  r.identity = apiserver::Identity{"alice", {"system:authenticated"}, "", {}};
  return handler.Handle(r);
}

// The server's parts over a real Prometheus client at `url`. The caches are those /readyz checks;
// the answers are computed without Kubernetes knowledge (objects exist while the series show
// them), so that a metrics request has to ask Prometheus.
struct ServerParts {
  explicit ServerParts(const std::string& url) {
    sources::prometheus::ClientOptions options;
    options.base_url = url;
    options.timeout = 2s;
    source = std::make_unique<sources::prometheus::PrometheusSource>(options);
    health = std::make_unique<SourceHealth>(*source, registry);
    caches.synced = true;
    service = std::make_unique<aggregation::TrafficMetricsService>(
        *source, base::DefaultClock(), aggregation::TrafficMetricsService::Options{});
    handler = std::make_unique<apiserver::ApiHandler>(*service, ReadinessChecks(&caches, *health));
  }
  std::unique_ptr<sources::prometheus::PrometheusSource> source;
  ::prometheus::Registry registry;
  std::unique_ptr<SourceHealth> health;
  testing::UnsyncedCluster caches;
  std::unique_ptr<aggregation::TrafficMetricsService> service;
  std::unique_ptr<apiserver::ApiHandler> handler;
};

// What must hold while the backend is down: ready, discovery served, metrics a 503 naming it.
void ExpectServingWithoutTheBackend(const ServerParts& parts, const std::string& url) {
  auto r = Readyz(*parts.handler, false);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "ok");
  r = Readyz(*parts.handler, true);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("[+]kubernetes-caches ok\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("[-]source failed (informational, not a readiness condition): "),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(url), std::string::npos) << r.body;
  EXPECT_TRUE(r.body.ends_with("readyz check passed\n")) << r.body;

  r = GetAsAlice(*parts.handler, kBase);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("kind"), "APIResourceList");
  r = GetAsAlice(*parts.handler, "/apis");
  EXPECT_EQ(r.status, 200) << r.body;

  r = GetAsAlice(*parts.handler, std::string(kBase) + "/namespaces/emojivoto/deployments/web");
  EXPECT_EQ(r.status, 503) << r.body;
  const json status = json::parse(r.body);
  EXPECT_EQ(status.at("kind"), "Status");
  EXPECT_EQ(status.at("reason"), "ServiceUnavailable");
  EXPECT_EQ(status.at("code"), 503);
  const std::string message = status.at("message");
  EXPECT_NE(message.find("Prometheus"), std::string::npos) << message;
  EXPECT_NE(message.find(url), std::string::npos) << message;
}

TEST(ReadinessEndToEnd, PrometheusNeverStarted) {
  // A port nothing listens on.
  const std::string url = "http://127.0.0.1:" + std::to_string(test_support::FreePort());
  ServerParts parts(url);
  parts.health->CheckNow();
  ExpectServingWithoutTheBackend(parts, url);
}

TEST(ReadinessEndToEnd, PrometheusStopped) {
  auto prometheus = std::make_unique<httplib::Server>();
  prometheus->set_keep_alive_max_count(1);  // no idle connection for stop() to wait out
  prometheus->Get("/-/ready", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Prometheus Server is Ready.\n", "text/plain");
  });
  const int port = prometheus->bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { prometheus->listen_after_bind(); });
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  ServerParts parts(url);

  parts.health->CheckNow();
  auto r = Readyz(*parts.handler, true);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("[+]source ok\n"), std::string::npos) << r.body;

  prometheus->stop();
  serving.join();
  prometheus.reset();  // the port is closed now
  parts.health->CheckNow();
  ExpectServingWithoutTheBackend(parts, url);
  EXPECT_EQ(
      test_support::ScrapeValue(sources::SerializeMetrics(parts.registry), "smi_source_ready"), 0);
}

TEST(ReadinessEndToEnd, CachesNotSyncedIsTheOneReasonToBeUnready) {
  const std::string url = "http://127.0.0.1:" + std::to_string(test_support::FreePort());
  ServerParts parts(url);
  parts.caches.synced = false;
  parts.health->CheckNow();
  auto r = Readyz(*parts.handler, false);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body,
            "[-]kubernetes-caches failed: not synced: pods, replicasets\nreadyz check failed\n");
  r = Readyz(*parts.handler, true);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("[-]source failed (informational"), std::string::npos) << r.body;
  EXPECT_TRUE(r.body.ends_with("readyz check failed\n")) << r.body;
}

}  // namespace
}  // namespace smi::config
