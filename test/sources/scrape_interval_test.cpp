// How often Prometheus scrapes the proxies, learned from the series (docs/decisions.md,
// decision 21): the query, its reading (an upper bound of the interval), and when the source asks.
#include "sources/prometheus/scrape_interval.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "mocks/manual_clock.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/prometheus_source.h"
#include "test_server.h"

namespace smi::sources::prometheus {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

TEST(ScrapeInterval, QueryCountsSamplesOfSeriesOlderThanTheLookback) {
  EXPECT_EQ(ScrapeIntervalQuery(LinkerdProfile()),
            R"(max(count_over_time(up{job="linkerd-proxy"}[5m]) and up{job="linkerd-proxy"} )"
            R"(offset 5m))");
  MeshProfileSpec spec = LinkerdProfile().spec();
  spec.parameters["job"] = "podMonitor/linkerd\"viz";  // escaped, never PromQL
  EXPECT_EQ(ScrapeIntervalQuery(MeshProfile(spec)),
            R"(max(count_over_time(up{job="podMonitor/linkerd\"viz"}[5m]) and )"
            R"(up{job="podMonitor/linkerd\"viz"} offset 5m))");
}

TEST(ScrapeInterval, NSamplesInFiveMinutesAreAtMostFiveMinutesOverNMinusOneApart) {
  const auto at = [](double n) { return ScrapeIntervalFromAnswer({VectorSample{{}, n}}); };
  EXPECT_EQ(at(31), milliseconds(10000));  // every 10s, 31 samples in (t-5m, t]
  EXPECT_EQ(at(30), milliseconds(10345));  // every 10s, 30 samples: an upper bound, rounded up
  EXPECT_EQ(at(301), milliseconds(1000));
  EXPECT_EQ(at(2), milliseconds(300000));
  EXPECT_EQ(at(1), std::nullopt);                         // one sample: no spacing to read
  EXPECT_EQ(ScrapeIntervalFromAnswer({}), std::nullopt);  // no series old enough
}

// A Prometheus that answers the interval query with `samples` samples (none: an empty vector).
class IntervalPrometheus {
 public:
  IntervalPrometheus() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      ++queries;
      last_query = req.get_param_value("query");
      std::string result = "[]";
      if (samples > 0) {
        result =
            R"([{"metric":{},"value":[1700000000,")" + std::to_string(samples.load()) + R"("]}])";
      }
      res.set_content(
          R"({"status":"success","data":{"resultType":"vector","result":)" + result + "}}",
          "application/json");
    };
    server_.server().Get("/api/v1/query", handler);
    server_.server().Post("/api/v1/query", handler);
    server_.Start();
  }
  std::string url() const { return server_.url(); }
  std::atomic<int> samples{0};
  std::atomic<int> queries{0};
  std::string last_query;

 private:
  testing::TestServer server_;
};

TEST(ScrapeInterval, TheSourceLearnsItAndAsksAgainLater) {
  IntervalPrometheus prom;
  smi::testing::ManualClock clock(std::chrono::system_clock::time_point(1700000000s));
  ClientOptions options;
  options.base_url = prom.url();
  options.timeout = 5s;
  PrometheusSource source(options, LinkerdProfile(), {}, clock);

  // Series younger than 5 minutes: not known; asked again 5 minutes later, not before.
  EXPECT_EQ(source.ScrapeInterval(), std::nullopt);
  EXPECT_EQ(prom.last_query, ScrapeIntervalQuery(LinkerdProfile()));
  EXPECT_EQ(source.ScrapeInterval(), std::nullopt);
  EXPECT_EQ(prom.queries, 1);
  prom.samples = 21;  // every 15s
  clock.Advance(299s);
  EXPECT_EQ(source.ScrapeInterval(), std::nullopt);
  clock.Advance(1s);
  EXPECT_EQ(source.ScrapeInterval(), milliseconds(15000));
  EXPECT_EQ(prom.queries, 2);
  // Known: kept for 10 minutes.
  prom.samples = 301;
  clock.Advance(9min);
  EXPECT_EQ(source.ScrapeInterval(), milliseconds(15000));
  clock.Advance(1min);
  EXPECT_EQ(source.ScrapeInterval(), milliseconds(1000));
  EXPECT_EQ(prom.queries, 3);
}

}  // namespace
}  // namespace smi::sources::prometheus
