// The client decodes /api/v1/query answers as they are parsed, without a document tree. These
// tests hold it to the tree reader of the same API (tree_query_decoder.h): for real answers and
// for every way an answer can be odd (keys in any order, repeated keys, wrong types, syntax errors
// anywhere), the same samples and warnings, or the same error with the same message.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sources/prometheus/api_decoding.h"
#include "sources/tree_query_decoder.h"

namespace smi::sources::prometheus {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kBackend = "Prometheus at http://prom:9090";

struct Outcome {
  bool ok = false;
  QueryResult result;
  std::string error;
  ErrorReason reason = ErrorReason::kMalformed;
};

template <typename Decode>
Outcome Run(Decode decode, const HttpAnswer& answer) {
  Outcome o;
  try {
    o.result = decode(answer, kBackend);
    o.ok = true;
  } catch (const QueryError& e) {
    o.error = e.what();
    o.reason = e.reason();
  }
  return o;
}

// Streaming and tree decoding agree on `body`; returns the streaming outcome.
Outcome ExpectSameAsTree(const std::string& body, int status = 200,
                         const std::string& content_type = "application/json") {
  const HttpAnswer answer{status, content_type, body};
  const Outcome streamed = Run(DecodeQueryAnswer, answer);
  const Outcome tree = Run(testing::TreeDecodeQueryAnswer, answer);
  EXPECT_EQ(streamed.ok, tree.ok) << body;
  EXPECT_EQ(streamed.error, tree.error) << body;
  EXPECT_EQ(streamed.reason, tree.reason) << body;
  EXPECT_EQ(streamed.result.warnings, tree.result.warnings) << body;
  EXPECT_EQ(streamed.result.samples.size(), tree.result.samples.size()) << body;
  for (size_t i = 0; i < std::min(streamed.result.samples.size(), tree.result.samples.size());
       ++i) {
    EXPECT_EQ(streamed.result.samples[i].labels, tree.result.samples[i].labels) << body;
    const double a = streamed.result.samples[i].value, b = tree.result.samples[i].value;
    EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << body;
  }
  return streamed;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(StreamingDecoding, RealAnswersAsTheTreeReadsThem) {
  int files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(SMI_TEST_FIXTURES) + "/promapi")) {
    if (entry.path().extension() != ".json") continue;
    ExpectSameAsTree(ReadFile(entry.path()));
    ++files;
  }
  EXPECT_GT(files, 3);
  std::istringstream envelopes(
      ReadFile(std::string(SMI_TEST_FIXTURES) + "/promapi/api_test-envelopes.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(envelopes, line); ++lines) ExpectSameAsTree(line);
  EXPECT_GE(lines, 3);
}

TEST(StreamingDecoding, KeysInAnyOrder) {
  const Outcome o = ExpectSameAsTree(
      R"({"data":{"result":[{"value":[1,"2.5"],"metric":{"pod":"a","le":"+Inf"}}],)"
      R"("resultType":"vector"},"warnings":["w1"],"infos":["i1"],"status":"success"})");
  ASSERT_TRUE(o.ok);
  ASSERT_EQ(o.result.samples.size(), 1u);
  EXPECT_EQ(o.result.samples[0].value, 2.5);
  EXPECT_EQ(o.result.samples[0].labels.at("le"), "+Inf");
  EXPECT_EQ(o.result.warnings, (std::vector<std::string>{"w1", "i1"}));
}

TEST(StreamingDecoding, RepeatedKeysCountTheLastOne) {
  for (
      const char* body : {
          R"({"status":"error","status":"success","data":{"resultType":"vector","result":[]}})",
          R"({"status":"success","status":"error","errorType":"timeout","error":"slow"})",
          R"({"status":"success","data":{"resultType":"matrix","resultType":"vector","result":[]}})",
          R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"x"]}],)"
          R"("result":[{"value":[1,"1"]}]}})",
          R"({"status":"success","data":5,"data":{"resultType":"vector","result":[]}})",
          R"({"status":"success","data":{"resultType":"vector","result":[]},"data":5})",
          R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"x"],)"
          R"("value":[1,"3"],"metric":{"a":1,"a":"b"}}]}})",
          R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"3"],)"
          R"("metric":{"a":"b","a":[1]}}]}})",
          R"({"status":"success","data":{"resultType":"vector","result":[{"metric":5,)"
          R"("value":[1,"3"],"metric":{"x":"y"}}]}})",
          R"({"status":"success","warnings":["a"],"warnings":{"b":1},"infos":["c"],)"
          R"("data":{"resultType":"vector","result":[]}})",
      }) {
    ExpectSameAsTree(body);
  }
}

TEST(StreamingDecoding, OddValuesAndElements) {
  for (const char* body : {
           R"({"status":"success","data":{"resultType":"vector","result":[1]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[[]]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"histogram":[1,{}]}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]},)"
           R"({"histogram":[1,{}]}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1]}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,2]}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1",2]}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[[1],"1"]}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":{"a":"1"}}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,["1"]]}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"NaN"],)"
           R"("metric":5}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"],)"
           R"("metric":5}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"],)"
           R"("metric":{"z":1,"b":null,"c":"d"}}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"],)"
           R"("metric":{"a":{"nested":["x"]}}}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"+Inf"],)"
           R"("metric":{"x":"y"},"extra":{"deep":[[{"value":5}]]}}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]},5,)"
           R"({"value":[1,"bad"]}]}})",
           R"({"status":"success","data":{"resultType":"vector","result":{}}})",
           R"({"status":"success","data":{"resultType":"vector"}})",
           R"({"status":"success","data":{"result":[]}})",
           R"({"status":"success","data":{"resultType":5,"result":[]}})",
           R"({"status":"success","data":[{"resultType":"vector"}]})",
           R"({"status":"success","data":null})",
           R"({"status":"success"})",
           R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"1"]]}]}})",
           R"({"status":"success","data":{"resultType":"scalar","result":[1,"1"]}})",
           R"({"status":"success","data":{"resultType":"vector","result":[],"warnings":["x"]}})",
           R"({"status":"success","warnings":["a",1,["b"],"c"],)"
           R"("data":{"resultType":"vector","result":[]}})",
       }) {
    ExpectSameAsTree(body);
  }
}

TEST(StreamingDecoding, EnvelopesAndSyntax) {
  for (const auto& [status, type, body] : std::vector<std::tuple<int, std::string, std::string>>{
           {200, "application/json", R"({"hello":"world"})"},
           {200, "application/json", R"([{"status":"success"}])"},
           {200, "application/json", R"("success")"},
           {200, "application/json", R"({"status":1})"},
           {200, "application/json", R"({"status":{"a":"b"},"data":{}})"},
           {200, "application/json", R"({"status":"error"})"},
           {200, "application/json", R"({"status":"error","errorType":5,"error":["x"]})"},
           {422, "application/json", R"({"status":"error","errorType":"execution","error":"e"})"},
           {503, "application/json", R"({"status":"error","errorType":"timeout","error":"e"})"},
           {200, "application/json", R"({"status":"success","data":{"resultType":"vec)"},
           {200, "application/json", R"({"status":"success"} trailing)"},
           {200, "application/json", R"({"status":"success",})"},
           {500, "application/json", R"({"status":)"},
           {200, "application/json", ""},
           {200, "application/json",
            R"({"status":"success","data":{"resultType":"vector",)"
            R"("result":[{"value":[1,"x"]}]}} {)"},
           {200, "text/html", "<html>bad gateway</html>"},
           {502, "", "  {\"status\":\"success\"}"},
           {404, "text/plain", "404 page not found"},
           {200, "application/json",
            "{\"status\":\"success\",\"data\":{\"resultType\":"
            "\"vector\",\"result\":[{\"metric\":{\"a\":\"\\u00e9\\n\"},"
            "\"value\":[1,\"1e-3\"]}]}}"},
       }) {
    ExpectSameAsTree(body, status, type);
  }
}

TEST(StreamingDecoding, ErrorMessagesStayWhatTheyWere) {
  EXPECT_THAT(ExpectSameAsTree(R"({"status":"success","data":{"resultType":"vector","result":)"
                               R"([{"metric":{"b":1,"a":2},"value":[1,"1"]}]}})")
                  .error,
              HasSubstr("answered malformed JSON: label \"a\" is not a string"));
  EXPECT_THAT(ExpectSameAsTree(R"({"status":"success","data":{"resultType":"vector","result":)"
                               R"([{"value":[1,"x"]}]} trailing)")
                  .error,
              HasSubstr("Prometheus at http://prom:9090 answered malformed JSON: parse error"));
}

// A large answer, built here as text with the values it should decode to: every sample arrives,
// with its labels, in order.
TEST(StreamingDecoding, LargeAnswerArrivesWhole) {
  std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)";
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    if (i > 0) body += ",";
    body += R"({"metric":{"namespace":"ns-)" + std::to_string(i % 20) + R"(","pod":"pod-)" +
            std::to_string(i) + R"(","le":"+Inf"},"value":[1700000000.5,")" + std::to_string(i) +
            R"(.25"]})";
  }
  body += "]}}";
  const Outcome o = ExpectSameAsTree(body);
  ASSERT_TRUE(o.ok);
  ASSERT_EQ(o.result.samples.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; i += 997) {
    EXPECT_EQ(o.result.samples[i].labels.at("pod"), "pod-" + std::to_string(i));
    EXPECT_EQ(o.result.samples[i].labels.at("namespace"), "ns-" + std::to_string(i % 20));
    EXPECT_EQ(o.result.samples[i].value, i + 0.25);
  }
}

}  // namespace
}  // namespace smi::sources::prometheus
