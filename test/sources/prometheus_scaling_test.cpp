// The Prometheus source and client under concurrency and failure: coalesced upstream queries,
// the cache, total deadlines, error causes in the server's own metrics, and the real error bodies
// in test/fixtures/promapi (provenance in its README.md).
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mocks/manual_clock.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/prometheus_client.h"
#include "sources/prometheus/prometheus_source.h"
#include "sources/source_metrics.h"
#include "support/metrics_text.h"
#include "test_server.h"

namespace smi::sources::prometheus {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ClosedPort;
using testing::FixtureLine;
using ::testing::HasSubstr;
using testing::ReadFixture;
using testing::TestServer;
using SteadyClock = std::chrono::steady_clock;

const auto kAt = std::chrono::system_clock::time_point(seconds(1700000000));
const char kEmptyVector[] = R"({"status":"success","data":{"resultType":"vector","result":[]}})";

SampleQuery Deployments() {
  SampleQuery q;
  q.shape = ResourceScope{ResourceKind::kDeployment, "emojivoto", ""};
  q.window = seconds(30);
  q.at = TimePoint(seconds(1700000000));
  return q;
}

double MetricIn(const ::prometheus::Registry& registry, const std::string& series) {
  return test_support::ScrapeValue(SerializeMetrics(registry), series);
}

struct Source {
  Source(const std::string& url, milliseconds timeout = seconds(5), SourceOptions options = {})
      : registry(std::make_shared<::prometheus::Registry>()) {
    ClientOptions client;
    client.base_url = url;
    client.timeout = timeout;
    options.registry = registry;
    source =
        std::make_unique<PrometheusSource>(client, LinkerdProfile(), std::move(options), clock);
  }
  double Metric(const std::string& series) { return MetricIn(*registry, series); }
  // Why Fetch failed, and with which reason the metrics counted it.
  std::string Failure(const SampleQuery& q) {
    try {
      source->Fetch(q);
    } catch (const SourceUnavailable& e) {
      return e.what();
    }
    ADD_FAILURE() << "no SourceUnavailable";
    return "";
  }

  std::shared_ptr<::prometheus::Registry> registry;
  smi::testing::ManualClock clock;  // drives the cache's expiry
  std::unique_ptr<PrometheusSource> source;
};

TEST(PrometheusSourceScaling, ConcurrentIdenticalRequestsSendTwoQueries) {
  TestServer server;
  server.server().new_task_queue = [] { return new httplib::ThreadPool(4); };
  std::shared_ptr<::prometheus::Registry> registry;
  constexpr int kRequests = 20;
  // Each query is held until every other request has joined one of the two in flight.
  auto handler = [&](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 2000; ++i) {
      if (MetricIn(*registry, R"(smi_prometheus_queries_total{outcome="coalesced"})") >=
          2 * (kRequests - 1)) {
        break;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    res.set_content(ReadFixture("linkerd-deployments-emojivoto-counts.json"), "application/json");
  };
  server.server().Get("/api/v1/query", handler);
  server.Start();
  Source s(server.url());
  registry = s.registry;

  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&] {
      if (!s.source->Fetch(Deployments()).known_objects.empty()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kRequests);
  EXPECT_EQ(server.seen().size(), 2u);
  EXPECT_EQ(s.Metric(R"(smi_prometheus_queries_total{outcome="success"})"), 2);
  EXPECT_EQ(s.Metric(R"(smi_prometheus_queries_total{outcome="coalesced"})"), 2 * (kRequests - 1));

  // Afterwards the same second comes from the cache...
  s.source->Fetch(Deployments());
  EXPECT_EQ(server.seen().size(), 2u);
  EXPECT_EQ(s.Metric(R"(smi_prometheus_queries_total{outcome="cached"})"), 2);
  // ...and another second is asked for.
  auto next = Deployments();
  next.at += seconds(1);
  s.source->Fetch(next);
  EXPECT_EQ(server.seen().size(), 4u);
  // Past the TTL the same second is asked again.
  s.clock.Advance(seconds(5));
  s.source->Fetch(Deployments());
  EXPECT_EQ(server.seen().size(), 6u);
}

TEST(PrometheusSourceScaling, PartialAnswersAreSurfacedAndAskedAgain) {
  TestServer server;
  server.Serve("/api/v1/query", 200, "application/json",
               R"({"status":"success","data":{"resultType":"vector","result":[]},)"
               R"("warnings":["store 10.0.0.7:10901 unavailable: partial response"]})");
  server.Start();
  Source s(server.url());
  const TrafficSamples samples = s.source->Fetch(Deployments());
  EXPECT_EQ(samples.warnings,
            (std::vector<std::string>{"store 10.0.0.7:10901 unavailable: partial response"}));
  s.source->Fetch(Deployments());
  EXPECT_EQ(server.seen().size(), 4u) << "a partial answer must not be cached";
  EXPECT_EQ(s.Metric("smi_prometheus_query_warnings_total"), 4);
}

TEST(PrometheusSourceScaling, CacheCanBeTurnedOff) {
  TestServer server;
  server.Serve("/api/v1/query", 200, "application/json", kEmptyVector);
  server.Start();
  SourceOptions options;
  options.cache.ttl = milliseconds(0);
  Source s(server.url(), seconds(5), options);
  s.source->Fetch(Deployments());
  s.source->Fetch(Deployments());
  EXPECT_EQ(server.seen().size(), 4u);
}

// A server that sends its answer a byte every 50ms: each read succeeds in time, so only a total
// deadline stops it.
TEST(PrometheusSourceScaling, TricklingServerIsCutOffAtTheTotalDeadline) {
  TestServer server;
  std::atomic<bool> stop{false};
  server.server().Get("/api/v1/query", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/json", [&](size_t, httplib::DataSink& sink) {
      for (int i = 0; i < 400 && !stop; ++i) {  // at most 20s
        std::this_thread::sleep_for(milliseconds(50));
        if (!sink.is_writable() || !sink.write(" ", 1)) return false;
      }
      sink.done();
      return true;
    });
  });
  server.Start();
  Source s(server.url(), milliseconds(400));
  const auto start = SteadyClock::now();
  EXPECT_THAT(s.Failure(Deployments()),
              HasSubstr("Prometheus at " + server.url() + " did not answer within 400ms"));
  // Far below the 20s the server would take (not a precise timing assertion).
  EXPECT_LT(SteadyClock::now() - start, seconds(5));
  EXPECT_EQ(s.Metric(R"(smi_prometheus_query_errors_total{reason="timeout"})"), 2);
  EXPECT_EQ(s.Metric(R"(smi_prometheus_queries_total{outcome="error"})"), 2);
  stop = true;
}

TEST(PrometheusSourceScaling, ErrorCausesAreCounted) {
  struct Case {
    int status;
    std::string type, body, message, reason;
  };
  const std::vector<Case> cases = {
      // Prometheus' own error envelopes (web/api/v1/api_test.go).
      {503, "application/json", FixtureLine("api_test-envelopes.jsonl", 0),
       "failed to answer (timeout): message", "timeout"},
      {406, "application/json", FixtureLine("api_test-envelopes.jsonl", 1),
       "rejected the query (not_acceptable)", "http_4xx"},
      {400, "application/json", ReadFixture("error-bad_data-parse.json"), "rejected the query",
       "http_4xx"},
      {502, "text/html", "<html>Bad Gateway</html>", "answered HTTP 502 with a non-JSON body",
       "http_5xx"},
      {200, "text/plain", "hello", "non-JSON body", "malformed"},
      {200, "application/json", R"({"status":"success","data":{"resultType":"vector","result")",
       "answered malformed JSON", "malformed"},
      // {"status":"success","data":"test"}
      {200, "application/json", FixtureLine("api_test-envelopes.jsonl", 2),
       "query data without a resultType", "malformed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    TestServer server;
    server.Serve("/api/v1/query", c.status, c.type, c.body);
    server.Start();
    Source s(server.url());
    const std::string message = s.Failure(Deployments());
    EXPECT_THAT(message, HasSubstr("Prometheus at " + server.url()));
    EXPECT_THAT(message, HasSubstr(c.message));
    EXPECT_EQ(s.Metric(R"(smi_prometheus_query_errors_total{reason=")" + c.reason + "\"}"), 2);
  }
}

TEST(PrometheusSourceScaling, UnreachableIsCounted) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  Source s(url);
  EXPECT_THAT(s.Failure(Deployments()),
              HasSubstr("Prometheus at " + url + " is unreachable: connection refused"));
  EXPECT_EQ(s.Metric(R"(smi_prometheus_query_errors_total{reason="unreachable"})"), 2);
}

TEST(PrometheusClientDeadline, QueryErrorCarriesItsReason) {
  TestServer server;
  server.Serve("/api/v1/query", 503, "text/plain", "upstream connect error");
  server.Start();
  ClientOptions options;
  options.base_url = server.url();
  PrometheusClient client(options);
  try {
    client.Query("up", kAt);
    ADD_FAILURE() << "no QueryError";
  } catch (const QueryError& e) {
    EXPECT_EQ(e.reason(), ErrorReason::kHttp5xx);
    EXPECT_EQ(ReasonLabel(e.reason()), "http_5xx");
  }
}

TEST(PrometheusClientDeadline, RetentionIsBoundedToo) {
  TestServer server;
  server.server().Get("/api/v1/status/runtimeinfo",
                      [&](const httplib::Request&, httplib::Response& res) {
                        server.WaitForRelease(seconds(10));
                        res.set_content("{}", "application/json");
                      });
  server.Start();
  ClientOptions options;
  options.base_url = server.url();
  options.timeout = milliseconds(200);
  PrometheusClient client(options);
  EXPECT_THROW(client.Retention(), SourceUnavailable);
  server.Release();
}

}  // namespace
}  // namespace smi::sources::prometheus
