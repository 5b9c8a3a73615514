#include "sources/prometheus/prometheus_client.h"

#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sources/prometheus/api_decoding.h"
#include "sources/traffic_source.h"
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

const auto kAt = std::chrono::system_clock::time_point(seconds(1700000000));

ClientOptions Options(const std::string& url, milliseconds timeout = milliseconds(2000)) {
  ClientOptions o;
  o.base_url = url;
  o.timeout = timeout;
  return o;
}

// The SourceUnavailable message of `query` against a server answering it with the given response.
std::string QueryFailure(int status, const std::string& content_type, const std::string& body) {
  TestServer server;
  server.Serve("/api/v1/query", status, content_type, body);
  server.Start();
  PrometheusClient client(Options(server.url()));
  try {
    client.Query("up", kAt);
  } catch (const SourceUnavailable& e) {
    return e.what();
  }
  ADD_FAILURE() << "no SourceUnavailable";
  return "";
}

TEST(PrometheusClient, ParsesAnInstantVector) {
  TestServer server;
  server.Serve("/api/v1/query", 200, "application/json",
               ReadFixture("api-docs-query-vector-up.json"));
  server.Start();
  PrometheusClient client(Options(server.url(), milliseconds(2500)));
  const QueryResult r = client.Query("up", kAt + milliseconds(900));
  ASSERT_EQ(r.samples.size(), 2u);
  EXPECT_EQ(r.samples[0].labels,
            (std::map<std::string, std::string>{
                {"__name__", "up"}, {"job", "prometheus"}, {"instance", "localhost:9090"}}));
  EXPECT_EQ(r.samples[0].value, 1);
  EXPECT_EQ(r.samples[1].labels.at("job"), "node");
  EXPECT_EQ(r.samples[1].value, 0);
  EXPECT_TRUE(r.warnings.empty());

  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].params.at("query"), "up");
  EXPECT_EQ(seen[0].params.at("time"), "1700000000");  // whole seconds
  EXPECT_EQ(seen[0].params.at("timeout"), "2.500");    // Prometheus gives up too
}

TEST(PrometheusClient, LongQueriesArePostedAsAForm) {
  TestServer server;
  server.Serve("/api/v1/query", 200, "application/json",
               R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  server.Start();
  ClientOptions o = Options(server.url());
  o.post_above_bytes = 100;
  PrometheusClient client(o);
  const std::string short_q = "sum(up)";
  const std::string long_q = "sum by (namespace) (up{job=\"linkerd-proxy\", namespace=\"" +
                             std::string(120, 'a') + "\"} + 1 & ; %)";
  EXPECT_TRUE(client.Query(short_q, kAt).samples.empty());
  EXPECT_TRUE(client.Query(long_q, kAt).samples.empty());
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].params.at("query"), short_q);
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_THAT(seen[1].content_type, HasSubstr("application/x-www-form-urlencoded"));
  EXPECT_EQ(seen[1].params.at("query"), long_q);  // every special character survives
  EXPECT_EQ(seen[1].params.at("time"), "1700000000");
}

TEST(PrometheusClient, PathPrefixIsKept) {
  TestServer server;
  server.Serve("/prom/api/v1/query", 200, "application/json",
               ReadFixture("api-docs-query-vector-up.json"));
  server.Start();
  PrometheusClient client(Options(server.url() + "/prom/"));
  EXPECT_EQ(client.base_url(), server.url() + "/prom");
  EXPECT_EQ(client.Query("up", kAt).samples.size(), 2u);
}

TEST(PrometheusClient, DropsNaNAndKeepsInfinities) {
  const std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)"
                           R"({"metric":{"a":"nan"},"value":[1700000000,"NaN"]},)"
                           R"({"metric":{"a":"inf"},"value":[1700000000,"+Inf"]},)"
                           R"({"metric":{"a":"small"},"value":[1700000000,"1.2345678e-67"]},)"
                           R"({"metric":{},"value":[1700000000,"-Inf"]}]}})";
  TestServer server;
  server.Serve("/api/v1/query", 200, "application/json", body);
  server.Start();
  const QueryResult r = PrometheusClient(Options(server.url())).Query("x", kAt);
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples[0].labels.at("a"), "inf");
  EXPECT_EQ(r.samples[0].value, std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(r.samples[1].value, 1.2345678e-67);
  EXPECT_TRUE(r.samples[2].labels.empty());
  EXPECT_EQ(r.samples[2].value, -std::numeric_limits<double>::infinity());
}

TEST(PrometheusClient, ForwardsWarningsAndInfos) {
  TestServer server;
  server.Serve("/api/v1/query", 200, "application/json",
               R"({"status":"success","data":{"resultType":"vector","result":[]},)"
               R"("warnings":["partial result: store unavailable"],)"
               R"("infos":["PromQL info: metric might not be a counter"]})");
  server.Start();
  const QueryResult r = PrometheusClient(Options(server.url())).Query("x", kAt);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{"partial result: store unavailable",
                                                  "PromQL info: metric might not be a counter"}));
}

TEST(PrometheusClient, RejectedQueryNamesTheErrorType) {
  // Captured from Prometheus 2.42 (HTTP 400).
  const std::string message =
      QueryFailure(400, "application/json", ReadFixture("error-bad_data-parse.json"));
  EXPECT_THAT(message, HasSubstr("Prometheus at http://127.0.0.1:"));
  EXPECT_THAT(message, HasSubstr(" rejected the query (bad_data): invalid parameter \"query\": "
                                 "1:9: parse error: unclosed left parenthesis"));
  EXPECT_THAT(message, HasSubstr("report it"));
}

TEST(PrometheusClient, ErrorEnvelopeWithDataAndTimeout) {
  // {"status": "error", "data": "test", "errorType": "timeout", "error": "message"}
  const std::string message =
      QueryFailure(503, "application/json", FixtureLine("api_test-envelopes.jsonl", 0));
  EXPECT_THAT(message, HasSubstr("failed to answer (timeout): message"));
  EXPECT_THAT(message, HasSubstr("shorter window"));
}

// Prometheus' own timeout error says which of this server's settings bounds it.
TEST(PrometheusClient, PrometheusTimeoutNamesTheSetting) {
  TestServer server;
  server.Serve("/api/v1/query", 503, "application/json",
               R"({"status":"error","errorType":"timeout","error":"query timed out"})");
  server.Start();
  ClientOptions options = Options(server.url(), milliseconds(2000));
  options.timeout_setting = "--prometheus-timeout";
  PrometheusClient client(options);
  try {
    client.Query("up", kAt);
    ADD_FAILURE() << "no QueryError";
  } catch (const QueryError& e) {
    EXPECT_EQ(e.reason(), ErrorReason::kTimeout);
    EXPECT_THAT(e.what(), HasSubstr("failed to answer (timeout): query timed out"));
    EXPECT_THAT(e.what(), HasSubstr("this server asks for at most 2s, raise --prometheus-timeout"));
  }
}

TEST(PrometheusClient, ErrorEnvelopeNotAcceptable) {
  const std::string message =
      QueryFailure(406, "application/json", FixtureLine("api_test-envelopes.jsonl", 1));
  EXPECT_THAT(message, HasSubstr("rejected the query (not_acceptable): cannot encode response as "
                                 "application/default-format"));
}

TEST(PrometheusClient, HtmlFromAProxy) {
  const std::string message =
      QueryFailure(502, "text/html",
                   "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>");
  EXPECT_THAT(message, HasSubstr("Prometheus at http://127.0.0.1:"));
  EXPECT_THAT(message, HasSubstr(" answered HTTP 502 with a non-JSON body (text/html)"));
}

TEST(PrometheusClient, WrongPathPrefix) {
  const std::string message =
      QueryFailure(404, "text/plain; charset=utf-8", "404 page not found\n");
  EXPECT_THAT(message, HasSubstr("answered HTTP 404 with a non-JSON body (text/plain; "
                                 "charset=utf-8); check the URL and its path prefix"));
}

TEST(PrometheusClient, MalformedJson) {
  const std::string message =
      QueryFailure(200, "application/json", R"({"status":"success","data":{"resultType":"vec)");
  EXPECT_THAT(message, HasSubstr("answered malformed JSON: "));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("[json.exception")));
}

TEST(PrometheusClient, JsonThatIsNotAnEnvelope) {
  EXPECT_THAT(QueryFailure(200, "application/json", R"({"hello":"world"})"),
              HasSubstr("answered HTTP 200 with JSON that is not a Prometheus API response"));
  EXPECT_THAT(QueryFailure(200, "application/json",
                           R"({"status":"success","data":{"resultType":"vector","result":)"
                           R"([{"metric":{},"value":[1,"fast"]}]}})"),
              HasSubstr("answered malformed JSON: sample value \"fast\""));
}

TEST(PrometheusClient, MatrixAndScalarAreNotInstantVectors) {
  EXPECT_THAT(
      QueryFailure(200, "application/json", ReadFixture("api-docs-query_range-matrix-up.json")),
      HasSubstr("answered a matrix result where an instant vector was expected"));
  EXPECT_THAT(
      QueryFailure(200, "application/json",
                   R"({"status":"success","data":{"resultType":"scalar","result":[0,"1"]}})"),
      HasSubstr("answered a scalar result where an instant vector was expected"));
}

TEST(PrometheusClient, SlowAnswerTimesOut) {
  TestServer server;
  server.server().Get("/api/v1/query", [&](const httplib::Request&, httplib::Response& res) {
    server.WaitForRelease(milliseconds(3000));
    res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                    "application/json");
  });
  server.Start();
  ClientOptions options = Options(server.url(), milliseconds(300));
  options.timeout_setting = "--prometheus-timeout";
  PrometheusClient client(options);
  const auto start = std::chrono::steady_clock::now();
  try {
    client.Query("up", kAt);
    ADD_FAILURE() << "no SourceUnavailable";
  } catch (const SourceUnavailable& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("Prometheus at " + server.url() + " did not answer within 300ms"));
    // What to raise, by the name the operator sets it with.
    EXPECT_THAT(e.what(), HasSubstr("raise --prometheus-timeout"));
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, milliseconds(1500));  // one attempt, no retry of a timed-out query
  server.Release();
}

// An answer larger than the limit is refused as it arrives, naming the setting that raises it; an
// answer within it is decoded.
TEST(PrometheusClient, AnswerLargerThanTheLimitIsRefused) {
  std::string big = R"({"status":"success","data":{"resultType":"vector","result":[)";
  for (int i = 0; i < 200; ++i) {
    big += std::string(i ? "," : "") + R"({"metric":{"pod":"pod-)" + std::to_string(i) +
           R"("},"value":[1,"1"]})";
  }
  big += "]}}";
  ASSERT_GT(big.size(), 5000u);
  TestServer server;
  server.Serve("/api/v1/query", 200, "application/json", big);
  server.Start();
  ClientOptions options = Options(server.url());
  options.max_answer_bytes = 4096;
  options.max_answer_setting = "--prometheus-max-answer-bytes";
  PrometheusClient client(options);
  try {
    client.Query("up", kAt);
    ADD_FAILURE() << "no QueryError";
  } catch (const QueryError& e) {
    EXPECT_EQ(e.reason(), ErrorReason::kTooLarge);
    EXPECT_THAT(e.what(), HasSubstr("Prometheus at " + server.url() +
                                    " answered more than 4096 bytes; try a narrower request, or "
                                    "raise --prometheus-max-answer-bytes"));
  }
  options.max_answer_bytes = big.size();
  PrometheusClient roomy(options);
  EXPECT_EQ(roomy.Query("up", kAt).samples.size(), 200u);
}

TEST(PrometheusClient, ConnectionRefused) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  PrometheusClient client(Options(url));
  try {
    client.Query("up", kAt);
    ADD_FAILURE() << "no SourceUnavailable";
  } catch (const SourceUnavailable& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("Prometheus at " + url + " is unreachable: connection refused"));
    EXPECT_THAT(e.what(), HasSubstr("check the Prometheus URL"));
  }
}

TEST(PrometheusClient, InvalidBaseUrls) {
  for (const char* bad : {"127.0.0.1:9090", "ftp://host", "http://", "http://host:99999",
                          "http://user:pw@host", "http://host/?x=1", "http://host:port"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(PrometheusClient(Options(bad)), std::invalid_argument);
  }
  EXPECT_NO_THROW(PrometheusClient(Options("https://prometheus.example:443/prom")));
  EXPECT_NO_THROW(PrometheusClient(Options("http://[::1]:9090")));
}

TEST(PrometheusClient, SafeFromManyThreads) {
  TestServer server;
  server.server().new_task_queue = [] { return new httplib::ThreadPool(8); };
  server.server().Get("/api/v1/query", [](const httplib::Request& req, httplib::Response& res) {
    // Echo the query back so that each caller can check it got its own answer.
    res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[{"metric":)"
                    R"({"q":")" +
                        req.get_param_value("query") + R"("},"value":[1,"1"]}]}})",
                    "application/json");
  });
  server.Start();
  PrometheusClient client(Options(server.url()));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string q = "q" + std::to_string(t) + "_" + std::to_string(i);
        try {
          const auto r = client.Query(q, kAt);
          if (r.samples.size() == 1 && r.samples[0].labels.at("q") == q) ++ok;
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST(PrometheusClient, ReadyFromReadyEndpoint) {
  TestServer server;
  server.Serve("/-/ready", 200, "text/plain", "Prometheus Server is Ready.\n");
  server.Start();
  std::string why;
  EXPECT_TRUE(PrometheusClient(Options(server.url())).Ready(&why));
}

TEST(PrometheusClient, NotReadyWhileStarting) {
  TestServer server;
  server.Serve("/-/ready", 503, "text/plain", "Service Unavailable");
  server.Start();
  std::string why;
  EXPECT_FALSE(PrometheusClient(Options(server.url())).Ready(&why));
  EXPECT_EQ(why, "Prometheus at " + server.url() + " is not ready: HTTP 503: Service Unavailable");
}

TEST(PrometheusClient, ReadyFallsBackToATrivialQuery) {
  TestServer server;  // an API-compatible server without /-/ready
  server.Serve(
      "/api/v1/query", 200, "application/json",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}})");
  server.Start();
  std::string why;
  EXPECT_TRUE(PrometheusClient(Options(server.url())).Ready(&why)) << why;
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path, "/-/ready");
  EXPECT_EQ(seen[1].params.at("query"), "vector(1)");
}

TEST(PrometheusClient, NotReadyWhenUnreachable) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  std::string why;
  EXPECT_FALSE(PrometheusClient(Options(url)).Ready(&why));
  EXPECT_THAT(why, HasSubstr("Prometheus at " + url + " is unreachable: connection refused"));
}

TEST(PrometheusClient, RetentionFromRuntimeInfo) {
  auto retention = [](int status, const std::string& body) {
    TestServer server;
    server.Serve("/api/v1/status/runtimeinfo", status, "application/json", body);
    server.Start();
    return PrometheusClient(Options(server.url())).Retention();
  };
  using std::chrono::hours;
  // Captured from Prometheus 2.42 started with --storage.tsdb.retention.time=10y.
  EXPECT_EQ(retention(200, ReadFixture("runtimeinfo-retention-10y.json")),
            milliseconds(hours(24 * 365 * 10)));
  EXPECT_EQ(retention(200, R"({"status":"success","data":{"storageRetention":"15d"}})"),
            milliseconds(hours(24 * 15)));
  EXPECT_EQ(retention(200, R"({"status":"success","data":{"storageRetention":"15d or 10GiB"}})"),
            milliseconds(hours(24 * 15)));
  EXPECT_EQ(retention(200, R"({"status":"success","data":{"storageRetention":"10GiB"}})"),
            std::nullopt);
  EXPECT_EQ(retention(200, R"({"status":"success","data":{"CWD":"/"}})"), std::nullopt);
  EXPECT_EQ(retention(404, "404 page not found"), std::nullopt);
  EXPECT_THROW(retention(502, "<html>bad gateway</html>"), SourceUnavailable);
}

TEST(ParseRetention, DurationPartOfTheText) {
  using std::chrono::hours;
  EXPECT_EQ(ParseRetention("15d"), milliseconds(hours(24 * 15)));
  EXPECT_EQ(ParseRetention("10GiB or 2w"), milliseconds(hours(24 * 14)));
  EXPECT_EQ(ParseRetention("6h or 512MiB"), milliseconds(hours(6)));
  EXPECT_EQ(ParseRetention("512MiB"), std::nullopt);
  EXPECT_EQ(ParseRetention(""), std::nullopt);
  EXPECT_EQ(ParseRetention("0s"), std::nullopt);  // no time limit
}

TEST(ParseSampleValue, GoFloatFormats) {
  double v = 0;
  EXPECT_TRUE(ParseSampleValue("1", &v));
  EXPECT_EQ(v, 1);
  EXPECT_TRUE(ParseSampleValue("0.0000012345678", &v));
  EXPECT_DOUBLE_EQ(v, 0.0000012345678);
  EXPECT_TRUE(ParseSampleValue("+Inf", &v));
  EXPECT_TRUE(std::isinf(v) && v > 0);
  EXPECT_TRUE(ParseSampleValue("-Inf", &v));
  EXPECT_TRUE(std::isinf(v) && v < 0);
  EXPECT_TRUE(ParseSampleValue("NaN", &v));
  EXPECT_TRUE(std::isnan(v));
  EXPECT_FALSE(ParseSampleValue("", &v));
  EXPECT_FALSE(ParseSampleValue("1x", &v));
  EXPECT_FALSE(ParseSampleValue("+-1", &v));
  EXPECT_FALSE(ParseSampleValue(" 1", &v));
}

TEST(PrometheusClient, QueriesInTheUrlKeepEveryCharacter) {
  TestServer server;
  server.Serve("/api/v1/query", 200, "application/json",
               R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  server.Start();
  PrometheusClient client(Options(server.url()));
  const std::string q = "sum(up{a=\"b c\"})&x=1%+ !'*~é";
  EXPECT_TRUE(client.Query(q, kAt).samples.empty());
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].params.at("query"), q);
}

}  // namespace
}  // namespace smi::sources::prometheus
