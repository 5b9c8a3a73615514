#include "sources/prometheus/prometheus_source.h"

#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sources/prometheus/promql_builder.h"
#include "test_server.h"

namespace smi::sources::prometheus {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::ReadFixture;
using testing::TestServer;

ObjectReference Ref(std::string kind, std::string ns, std::string name) {
  ObjectReference r;
  r.kind = std::move(kind);
  r.ns = std::move(ns);
  r.name = std::move(name);
  return r;
}

// Deployments of emojivoto: the resource scope, or the edges of the one named.
SampleQuery Query(std::string name, bool edges) {
  SampleQuery q;
  if (edges) {
    q.shape = ObjectEdges{ResourceKind::kDeployment, "emojivoto", std::move(name)};
  } else {
    q.shape = ResourceScope{ResourceKind::kDeployment, "emojivoto", std::move(name)};
  }
  q.window = seconds(30);
  q.at = TimePoint(seconds(1700000000)) + milliseconds(700);  // not a whole second
  return q;
}

// Serves the captured answers: the latency query gets the buckets body, anything else the counts
// body. Each query waits (up to 2s) until both have arrived, which only works if they are
// concurrent.
class FixturePrometheus {
 public:
  FixturePrometheus(std::string counts, std::string buckets, int bucket_status = 200,
                    std::string bucket_type = "application/json")
      : counts_(std::move(counts)), buckets_(std::move(buckets)) {
    server_.server().new_task_queue = [] { return new httplib::ThreadPool(4); };
    auto handler = [this, bucket_status, bucket_type](const httplib::Request& req,
                                                      httplib::Response& res) {
      {
        std::unique_lock lock(mu_);
        ++arrived_;
        cv_.notify_all();
        both_arrived_ = cv_.wait_for(lock, seconds(2), [this] { return arrived_ >= 2; });
      }
      if (req.get_param_value("query").find("response_latency_ms_bucket") != std::string::npos &&
          req.get_param_value("query").find("response_total") == std::string::npos) {
        res.status = bucket_status;
        res.set_content(buckets_, bucket_type.c_str());
      } else {
        res.set_content(counts_, "application/json");
      }
    };
    server_.server().Get("/api/v1/query", handler);
    server_.server().Post("/api/v1/query", handler);
    server_.server().Get(
        "/api/v1/status/runtimeinfo", [this](const httplib::Request&, httplib::Response& res) {
          ++runtimeinfo_calls_;
          if (runtimeinfo_fail_) {
            res.status = 502;
            res.set_content("<html>502</html>", "text/html");
            return;
          }
          res.set_content(ReadFixture("runtimeinfo-retention-10y.json"), "application/json");
        });
    server_.Start();
  }

  std::string url() const { return server_.url(); }
  TestServer& server() { return server_; }
  bool both_arrived() {
    std::lock_guard lock(mu_);
    return both_arrived_;
  }
  std::atomic<int> runtimeinfo_calls_{0};
  std::atomic<bool> runtimeinfo_fail_{false};

 private:
  std::string counts_, buckets_;
  TestServer server_;
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  bool both_arrived_ = false;
};

ClientOptions Options(const std::string& url) {
  ClientOptions o;
  o.base_url = url;
  o.timeout = seconds(5);
  o.post_above_bytes = 400;  // the edge queries go as POST forms, the others as GET
  return o;
}

TEST(PrometheusSource, FetchesResourcesWithTwoConcurrentQueries) {
  FixturePrometheus prom(ReadFixture("linkerd-deployments-emojivoto-counts.json"),
                         ReadFixture("linkerd-deployments-emojivoto-buckets.json"));
  PrometheusSource source(Options(prom.url()));
  const auto q = Query("", false);
  const TrafficSamples s = source.Fetch(q);

  EXPECT_TRUE(prom.both_arrived()) << "the two queries were not in flight together";
  const auto seen = prom.server().seen();
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& r : seen) EXPECT_EQ(r.params.at("time"), "1700000000");
  const auto queries = BuildQueries(LinkerdProfile(), q);
  std::set<std::string> asked = {seen[0].params.at("query"), seen[1].params.at("query")};
  EXPECT_EQ(asked, (std::set<std::string>{queries.counts, queries.buckets}));

  EXPECT_EQ(s.evaluated_at, TimePoint(seconds(1700000000)));
  EXPECT_EQ(s.known_objects.size(), 4u);
  ASSERT_EQ(s.resources.size(), 3u);
  EXPECT_EQ(s.resources[2].resource, Ref("Deployment", "emojivoto", "web"));
  EXPECT_DOUBLE_EQ(s.resources[2].counts.success, 45);
  EXPECT_DOUBLE_EQ(s.resources[2].counts.failure, 3);
  EXPECT_DOUBLE_EQ(s.resources[2].counts.latency_buckets.at(0.05), 48);
  EXPECT_TRUE(s.warnings.empty());
}

TEST(PrometheusSource, FetchesEdges) {
  FixturePrometheus prom(ReadFixture("linkerd-deployment-web-edges-counts.json"),
                         ReadFixture("linkerd-deployment-web-edges-buckets.json"));
  PrometheusSource source(Options(prom.url()));
  const TrafficSamples s = source.Fetch(Query("web", true));
  for (const auto& r : prom.server().seen()) EXPECT_EQ(r.method, "POST");
  ASSERT_EQ(s.edges.size(), 3u);
  EXPECT_EQ(s.edges[2].direction, Direction::kFrom);
  EXPECT_EQ(s.edges[2].peer, Ref("Deployment", "load", "loadgen"));
  EXPECT_DOUBLE_EQ(s.edges[2].counts.latency_buckets.at(0.02), 48);
}

TEST(PrometheusSource, ForwardsWarningsOnce) {
  const std::string body = R"({"status":"success","data":{"resultType":"vector","result":[]},)"
                           R"("warnings":["partial result"]})";
  const std::string buckets =
      R"({"status":"success","data":{"resultType":"vector","result":[]},)"
      R"("warnings":["partial result"],"infos":["PromQL info: something"]})";
  FixturePrometheus prom(body, buckets);
  PrometheusSource source(Options(prom.url()));
  const TrafficSamples s = source.Fetch(Query("web", false));
  EXPECT_EQ(s.warnings, (std::vector<std::string>{"partial result", "PromQL info: something"}));
  EXPECT_TRUE(s.resources.empty());
  EXPECT_TRUE(s.known_objects.empty());
}

TEST(PrometheusSource, EitherQueryFailingFailsTheFetch) {
  FixturePrometheus prom(ReadFixture("linkerd-deployments-emojivoto-counts.json"),
                         "<html>Bad Gateway</html>", 502, "text/html");
  PrometheusSource source(Options(prom.url()));
  try {
    source.Fetch(Query("", false));
    ADD_FAILURE() << "no SourceUnavailable";
  } catch (const SourceUnavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("answered HTTP 502 with a non-JSON body (text/html)"));
  }
}

TEST(PrometheusSource, InvalidNamesNeverReachPrometheus) {
  FixturePrometheus prom("{}", "{}");
  PrometheusSource source(Options(prom.url()));
  EXPECT_THROW(source.Fetch(Query("web\"} or up{x=\"", false)), std::invalid_argument);
  EXPECT_TRUE(prom.server().seen().empty());
}

TEST(PrometheusSource, RetentionIsAskedOnceThenRemembered) {
  FixturePrometheus prom("{}", "{}");
  PrometheusSource source(Options(prom.url()));
  prom.runtimeinfo_fail_ = true;
  EXPECT_EQ(source.Retention(), std::nullopt);  // unknown for now, not remembered
  prom.runtimeinfo_fail_ = false;
  const auto ten_years = milliseconds(std::chrono::hours(24 * 365 * 10));
  EXPECT_EQ(source.Retention(), ten_years);
  EXPECT_EQ(source.Retention(), ten_years);
  EXPECT_EQ(prom.runtimeinfo_calls_.load(), 2);
}

TEST(PrometheusSource, ReadyThroughTheClient) {
  TestServer ready;
  ready.Serve("/-/ready", 200, "text/plain", "Prometheus Server is Ready.\n");
  ready.Start();
  std::string why;
  EXPECT_TRUE(PrometheusSource(Options(ready.url())).Ready(&why)) << why;

  TestServer starting;
  starting.Serve("/-/ready", 503, "text/plain", "Service Unavailable");
  starting.Start();
  EXPECT_FALSE(PrometheusSource(Options(starting.url())).Ready(&why));
  EXPECT_THAT(why, HasSubstr("Prometheus at " + starting.url() + " is not ready"));
}

}  // namespace
}  // namespace smi::sources::prometheus
