// The JSON scanner of /api/v1/query answers (json_scanner.h) against nlohmann's parser: at every
// edge of the grammar both accept or both refuse, with the same events; and DecodeQueryAnswer,
// which uses the scanner, decodes answers with those edges in them exactly as the same decoding
// over nlohmann's parser (same samples and warnings, or the same error message).
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sources/json_events.h"
#include "sources/prometheus/api_decoding.h"

namespace smi::sources::prometheus {
namespace {

using smi::testing::ParseWithNlohmann;
using smi::testing::ParseWithScanner;

constexpr std::string_view kBackend = "Prometheus at http://prom:9090";

// Both parsers read `text` the same way; returns whether they accepted it.
bool SameAsNlohmann(const std::string& text) {
  const auto scanned = ParseWithScanner(text);
  const auto library = ParseWithNlohmann(text);
  EXPECT_EQ(scanned.ok, library.ok) << text;
  if (scanned.ok && library.ok) {
    EXPECT_EQ(scanned.events, library.events) << text;
  }
  return library.ok;
}

struct Decoded {
  bool ok = false;
  QueryResult result;
  std::string error;
  ErrorReason reason = ErrorReason::kMalformed;
};

template <typename Decode>
Decoded Run(Decode decode, const std::string& body) {
  Decoded d;
  try {
    d.result = decode(HttpAnswer{200, "application/json", body}, kBackend);
    d.ok = true;
  } catch (const QueryError& e) {
    d.error = e.what();
    d.reason = e.reason();
  }
  return d;
}

// DecodeQueryAnswer reads `body` as the nlohmann path does; returns its outcome.
Decoded DecodedAsWithNlohmann(const std::string& body) {
  const Decoded ours = Run(DecodeQueryAnswer, body);
  const Decoded library = Run(DecodeQueryAnswerWithLibraryParser, body);
  EXPECT_EQ(ours.ok, library.ok) << body;
  EXPECT_EQ(ours.error, library.error) << body;
  EXPECT_EQ(ours.reason, library.reason) << body;
  EXPECT_EQ(ours.result.warnings, library.result.warnings) << body;
  EXPECT_EQ(ours.result.samples.size(), library.result.samples.size()) << body;
  for (size_t i = 0; i < std::min(ours.result.samples.size(), library.result.samples.size()); ++i) {
    EXPECT_EQ(ours.result.samples[i].labels, library.result.samples[i].labels) << body;
    const double a = ours.result.samples[i].value, b = library.result.samples[i].value;
    EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << body;
  }
  return ours;
}

// An answer with one sample whose label "x" is written as `label` (JSON text, quotes included)
// and whose time is `time` (JSON text).
std::string AnswerWith(const std::string& label, const std::string& time = "1796185939.123") {
  return R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"x":)" + label +
         R"(,"pod":"web-1"},"value":[)" + time + R"(,"42.5"]}]}})";
}

TEST(JsonScanner, Escapes) {
  for (const std::string s : {
           R"("plain")",
           R"("")",
           R"("\"\\\/\b\f\n\r\t")",
           R"("\u0041\u00e9\u20AC")",
           R"("\u0000")",
           R"("a\u0000b")",
           R"("\ud83d\ude00")",                   // a surrogate pair: U+1F600
           R"("\uD834\uDD1E and \uDBFF\uDFFF")",  // upper-case hex, the last code point
           R"("\ud83d")",
           R"("\ude00")",  // a surrogate alone
           R"("\ud83d\u0041")",
           R"("\ud83dx")",  // a high surrogate with no low one
           R"("\ud83d\ud83d")",
           R"("\ud83d\")",  // two high ones; cut off
           R"("\u12")",
           R"("\u12G4")",
           R"("\x41")",
           R"("\a")",
           R"("\)",
           R"("\ )",
           R"("\U0041")",
       }) {
    SameAsNlohmann(s);
    SameAsNlohmann("[" + s + "]");
    SameAsNlohmann("{" + s + ":1}");
    DecodedAsWithNlohmann(AnswerWith(s));
  }
  const Decoded d = DecodedAsWithNlohmann(AnswerWith(R"("\ud83d\ude00\n\u00e9")"));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.result.samples.at(0).labels.at("x"), "\xF0\x9F\x98\x80\n\xC3\xA9");
}

TEST(JsonScanner, Utf8InStringsAndKeys) {
  for (const std::string bytes : {
           "\xC3\xA9",
           "\xE2\x82\xAC",
           "\xF0\x9F\x98\x80",
           "\xF4\x8F\xBF\xBF",  // valid
           "\xEF\xBF\xBF",
           "\xED\x9F\xBF",
           "\xE0\xA0\x80",
           "\xF0\x90\x80\x80",  // edges, valid
           "\x80",
           "\xBF",
           "\xC0\x80",
           "\xC1\xBF",
           "\xC3",
           "\xC3\x41",  // invalid
           "\xE0\x80\x80",
           "\xE0\x9F\xBF",
           "\xED\xA0\x80",
           "\xED\xBF\xBF",  // overlong, surr.
           "\xE2\x82",
           "\xF0\x8F\xBF\xBF",
           "\xF4\x90\x80\x80",
           "\xF5\x80\x80\x80",
           "\xF8\x88\x80\x80\x80",
           "\xFF",
           "\xFE",
       }) {
    // At the start, in the middle (after 8-byte runs), at the end, and cut off.
    for (const std::string& s :
         {bytes, "abcdefghijklmnop" + bytes + "qrstuvwxyz0123456789", "abcdefg" + bytes}) {
      SameAsNlohmann("\"" + s + "\"");
      SameAsNlohmann("{\"" + s + "\":\"" + s + "\"}");
      SameAsNlohmann("\"" + s);
      DecodedAsWithNlohmann(AnswerWith("\"" + s + "\""));
      DecodedAsWithNlohmann(R"({"status":"success","data":{"resultType":"vector","result":[)"
                            R"({"metric":{")" +
                            s + R"(":"v"},"value":[1,"1"]}]}})");
    }
  }
}

TEST(JsonScanner, ControlCharactersInStrings) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string s(1, static_cast<char>(c));
    SameAsNlohmann("\"" + s + "\"");
    SameAsNlohmann("\"0123456789abcdef" + s + "0123456789abcdef\"");
    DecodedAsWithNlohmann(AnswerWith("\"a" + s + "b\""));
  }
  SameAsNlohmann("\"\x7F\"");
}

TEST(JsonScanner, Numbers) {
  for (const std::string n : {
           "0",
           "-0",
           "1",
           "-1",
           "42",
           "0.5",
           "-0.0",
           "1e400",
           "-1e400",
           "1e-400",
           "4.9e-324",
           "2.4e-324",
           "1.7976931348623157e308",
           "1.7976931348623159e308",
           "1E+2",
           "1e-2",
           "1E2",
           "1.5e+10",
           "123456789012345678901234567890",
           "9223372036854775807",
           "9223372036854775808",
           "-9223372036854775808",
           "-9223372036854775809",
           "18446744073709551615",
           "18446744073709551616",
           "-18446744073709551616",
           "1796185939.123",
           "0.1",
           "100000000000000000000000e-10",
           // refused
           "01",
           "-01",
           "00",
           "+1",
           "-",
           ".5",
           "1.",
           "1.e5",
           "1e",
           "1e+",
           "1E-",
           "--1",
           "0x10",
           "1.5.5",
           "Infinity",
           "NaN",
           "-Infinity",
           "1e5e5",
           "0e",
           "- 1",
           "1_000",
       }) {
    SameAsNlohmann(n);
    SameAsNlohmann("[" + n + "]");
    SameAsNlohmann("[" + n + ",1]");
    SameAsNlohmann(R"({"a":)" + n + "}");
    DecodedAsWithNlohmann(AnswerWith(R"("v")", n));
  }
}

TEST(JsonScanner, LiteralsWhitespaceAndStructure) {
  for (const std::string s : {
           "true",
           "false",
           "null",
           "tru",
           "nul",
           "falsey",
           "True",
           "NULL",
           "[true,false,null]",
           " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n",
           "[]",
           "{}",
           "[ ]",
           "{ }",
           "[[]]",
           "[{}]",
           "\f[]",
           "[]\f",
           "\v{}",
           "{}\v",
           "\xC2\xA0{}",
           // the empty body, whitespace only, trailing garbage, a second document
           "",
           " ",
           "\n\t",
           "{} x",
           "{}}",
           "[]]",
           "{} {}",
           "[1] [2]",
           "{}\0",
           "[1,]",
           "[,1]",
           "[1 2]",
           "{\"a\":1,}",
           "{,}",
           "{\"a\"}",
           "{\"a\":}",
           "{\"a\" 1}",
           "{1:2}",
           "{null:1}",
           "{'a':1}",
           "['a']",
           "[1:2]",
           "{\"a\":1 \"b\":2}",
           "[}",
           "{]",
           "\xEF\xBB\xBF{}",
           "\xEF\xBB{}",
           "\xEF{}",
           "\xEF\xBB\xBF",
           "{}\xEF\xBB\xBF",
       }) {
    SameAsNlohmann(s);
  }
  // A NUL byte after the document ends it (nlohmann's reading): what follows is not looked at.
  EXPECT_TRUE(SameAsNlohmann(std::string("{\"a\":1}\0", 8)));
  EXPECT_TRUE(SameAsNlohmann(std::string("{\"a\":1} \0 junk", 13)));
  EXPECT_FALSE(SameAsNlohmann(std::string("[1,\0]", 5)));
  EXPECT_FALSE(SameAsNlohmann(std::string("\0{}", 3)));
  DecodedAsWithNlohmann(AnswerWith("\"v\"") + std::string("\0junk", 5));
  SameAsNlohmann(std::string("[\"a\0b\"]", 7));
}

TEST(JsonScanner, DeepNesting) {
  for (const int depth : {1, 100, 10000, 100000}) {
    const std::string arrays = std::string(depth, '[') + std::string(depth, ']');
    EXPECT_TRUE(SameAsNlohmann(arrays));
    EXPECT_FALSE(SameAsNlohmann(std::string(depth, '[') + std::string(depth - 1, ']')));
    std::string objects;
    for (int i = 0; i < depth; ++i) objects += "{\"a\":";
    objects += "1" + std::string(depth, '}');
    EXPECT_TRUE(SameAsNlohmann(objects));
    // Deep inside a label value of an answer: refused as a label that is not a string.
    std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)"
                       R"({"value":[1,"1"],"metric":{"x":)" +
                       arrays + "}}]}}";
    DecodedAsWithNlohmann(body);
  }
}

TEST(JsonScanner, AnAnswerCutOffAnywhere) {
  std::string body = R"({"status":"success","warnings":["w\u00e9"],"data":{"resultType":"vector",)"
                     R"("result":[)";
  for (int i = 0; i < 3; ++i) {
    if (i > 0) body += ",";
    body += R"({"metric":{"namespace":"emojivoto","pod":"web-)" + std::to_string(i) +
            R"(","le":"+Inf","x":"\ud83d\ude00 caf\u00e9 )"
            "\xC3\xA9"
            R"("},"value":[1796185939.123,"42.5"]})";
  }
  body += "]}}";
  ASSERT_TRUE(SameAsNlohmann(body));
  ASSERT_TRUE(DecodedAsWithNlohmann(body).ok);
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_FALSE(SameAsNlohmann(body.substr(0, cut)));
    const Decoded d = DecodedAsWithNlohmann(body.substr(0, cut));
    EXPECT_FALSE(d.ok);
  }
}

TEST(JsonScanner, FallsBackToTheLibrarysErrorMessage) {
  const Decoded d = DecodedAsWithNlohmann(AnswerWith("\"\\ud83d\""));
  ASSERT_FALSE(d.ok);
  EXPECT_NE(d.error.find("answered malformed JSON: parse error"), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("surrogate"), std::string::npos) << d.error;
}

}  // namespace
}  // namespace smi::sources::prometheus
