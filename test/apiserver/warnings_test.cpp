// What the backend says reaches the client (docs/kubernetes-api.md, "Warnings"): the source's
// warnings become `Warning: 299 - "text"` headers, as kube-apiserver writes them and kubectl
// prints them, on every kind of answer, each once and at most three.
#include "apiserver/warnings.h"

#include <gtest/gtest.h>

#include <limits>

#include "apiserver/api_handler.h"
#include "mocks/fake_source.h"

namespace smi::apiserver {
namespace {

using namespace std::chrono_literals;

constexpr const char* kBase = "/apis/metrics.smi-spec.io/v1alpha1";

TEST(WarningHeaderTest, KubeApiserversFormat) {
  EXPECT_EQ(WarningHeaderValue("store unreachable"), R"(299 - "store unreachable")");
  // A quoted-string: `"` and `\` escaped; no control characters in a header.
  EXPECT_EQ(WarningHeaderValue(R"(label "le" is \N)"), R"(299 - "label \"le\" is \\N")");
  EXPECT_EQ(WarningHeaderValue("two\r\nlines\tand tab"), R"(299 - "two  lines and tab")");
  // Valid UTF-8 passes; an invalid byte becomes U+FFFD.
  EXPECT_EQ(WarningHeaderValue("caf\xC3\xA9 \xFF!"), "299 - \"caf\xC3\xA9 \xEF\xBF\xBD!\"");
}

TEST(WarningHeaderTest, LongWarningsAreCutTo256Characters) {
  const std::string fits(256, 'a');
  EXPECT_EQ(WarningHeaderValue(fits), "299 - \"" + fits + "\"");
  // 300 characters, two bytes each: 253 of them, then "...".
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "\xC3\xA9";
  std::string want;
  for (int i = 0; i < 253; ++i) want += "\xC3\xA9";
  EXPECT_EQ(WarningHeaderValue(long_text), "299 - \"" + want + "...\"");
}

std::vector<std::string> Warnings(const HttpResponse& r) {
  std::vector<std::string> out;
  for (const auto& [name, value] : r.headers) {
    if (name == "Warning") out.push_back(value);
  }
  return out;
}

class WarningsThroughTheHandlerTest : public ::testing::Test {
 protected:
  WarningsThroughTheHandlerTest()
      : clock_(std::chrono::system_clock::time_point(1700000000500ms)),
        service_(source_, clock_, {}),
        handler_(service_) {
    source_.resource_samples.known_objects = {{"Deployment", "emojivoto", "web", ""}};
    source_.edge_samples.known_objects = {{"Deployment", "emojivoto", "web", ""}};
  }
  HttpResponse Get(const std::string& path, const std::string& accept = "") {
    HttpRequest r;
    r.path = path;
    if (!accept.empty()) r.headers["accept"] = accept;
    r.identity = Identity{"alice", {"system:authenticated"}, "", {}};
    return handler_.Handle(r);
  }

  testing::FakeSource source_;
  testing::ManualClock clock_;
  aggregation::TrafficMetricsService service_;
  ApiHandler handler_;
};

TEST_F(WarningsThroughTheHandlerTest, EveryKindOfAnswerCarriesThem) {
  const std::string partial = "partial response: store 10.0.0.7:10901 unreachable";
  source_.resource_samples.warnings = {partial};
  source_.edge_samples.warnings = {partial};
  const std::string ns = std::string(kBase) + "/namespaces/emojivoto";
  const std::string want = "299 - \"metrics source: " + partial + "\"";
  for (const std::string& path :
       {ns + "/deployments/web", ns + "/deployments", ns + "/deployments/web/edges",
        ns + "/trafficmetrics", ns + "/trafficmetrics/web", std::string(kBase) + "/namespaces"}) {
    for (const std::string accept : {"", "application/json;as=Table;v=v1;g=meta.k8s.io"}) {
      const auto r = Get(path, accept);
      EXPECT_EQ(r.status, 200) << path << " " << r.body;
      EXPECT_EQ(Warnings(r), std::vector<std::string>{want}) << path << " " << accept;
    }
  }
}

TEST_F(WarningsThroughTheHandlerTest, NoWarningsNoHeader) {
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/deployments/web");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(Warnings(r).empty());
}

TEST_F(WarningsThroughTheHandlerTest, EachOnceAndAtMostThree) {
  const std::string path = std::string(kBase) + "/namespaces/emojivoto/deployments/web";
  source_.resource_samples.warnings = {"a", "b", "a"};
  EXPECT_EQ(Warnings(Get(path)), (std::vector<std::string>{R"(299 - "metrics source: a")",
                                                           R"(299 - "metrics source: b")"}));
  source_.resource_samples.warnings = {"a", "b", "c"};
  EXPECT_EQ(Warnings(Get(path)).size(), 3u);
  source_.resource_samples.warnings = {"a", "b", "c", "d", "e"};
  EXPECT_EQ(Warnings(Get(path)),
            (std::vector<std::string>{
                R"(299 - "metrics source: a")", R"(299 - "metrics source: b")",
                R"(299 - "metrics source: 3 more warnings about this answer were left out")"}));
}

// A request that asks the source twice (a workload's edges: its existence, then the edges)
// passes the warnings of both answers, each once.
TEST_F(WarningsThroughTheHandlerTest, WarningsOfEveryFetchOfAnAnswer) {
  source_.resource_samples.warnings = {"from the resource answer", "shared"};
  source_.edge_samples.warnings = {"shared", "from the edge answer"};
  const auto r = Get(std::string(kBase) + "/namespaces/emojivoto/trafficmetrics/web/edges");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Warnings(r),
            (std::vector<std::string>{R"(299 - "metrics source: from the resource answer")",
                                      R"(299 - "metrics source: shared")",
                                      R"(299 - "metrics source: from the edge answer")"}));
}

}  // namespace
}  // namespace smi::apiserver
