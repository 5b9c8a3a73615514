// The text-format parser on hand-written payloads: what it accepts (as leniently as Prometheus'
// scrape parser), what it rejects (with the line), values, filtering, family types, and that a
// parse allocates nothing per sample once warm.
#include "sources/sidecars/exposition_parser.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "parse_helpers.h"

namespace {
// Counts heap allocations made by this thread while `counting` is set.
thread_local bool counting = false;
thread_local size_t allocations = 0;
}  // namespace

// The replacement pairs malloc with free throughout, which the compiler cannot see.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace smi::sources::sidecars {
namespace {

using testing::Find;
using testing::ParseAll;
using testing::ParseOutcome;
using namespace std::string_literals;

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ExpositionParser, SampleNameLabelsValueTypeAndLine) {
  const ParseOutcome out = ParseAll(
      "# HELP response_total Total count of HTTP responses.\n"
      "# TYPE response_total counter\n"
      "response_total{direction=\"inbound\",status_code=\"200\",classification=\"success\"} 42\n");
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 1u);
  const auto& s = out.samples[0];
  EXPECT_EQ(s.name, "response_total");
  ASSERT_EQ(s.labels.size(), 3u);
  EXPECT_EQ(s.labels[0], (std::pair<std::string, std::string>{"direction", "inbound"}));
  EXPECT_EQ(s.labels[2], (std::pair<std::string, std::string>{"classification", "success"}));
  EXPECT_EQ(s.value, 42);
  EXPECT_EQ(s.type, MetricType::kCounter);
  EXPECT_EQ(s.line, 3u);
  EXPECT_EQ(s.series,
            "response_total{direction=\"inbound\",status_code=\"200\",classification=\"success\"}");
}

TEST(ExpositionParser, InterleavedFamiliesAndRepeatedTypeLines) {
  const ParseOutcome out = ParseAll(
      "# TYPE a counter\n"
      "a{x=\"1\"} 1\n"
      "# TYPE b gauge\n"
      "b 2\n"
      "a{x=\"2\"} 3\n"    // a's family again, no TYPE in between
      "# TYPE a gauge\n"  // a second TYPE: the first one wins
      "a{x=\"3\"} 4\n"
      "# HELP b again\n# HELP b and again\n"
      "b{y=\"z\"} 5\n");
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 5u);
  EXPECT_EQ(out.samples[2].name, "a");
  EXPECT_EQ(out.samples[2].value, 3);
  EXPECT_EQ(out.samples[3].type, MetricType::kCounter);
  EXPECT_EQ(out.samples[4].type, MetricType::kGauge);
}

TEST(ExpositionParser, LineEndsBlankLinesAndBlanks) {
  const ParseOutcome out = ParseAll(
      "\r\n\n   \n\t\n"
      "a 1\r\n"
      "  b   2 \t\r\n"
      "c\t{ x = \"1\" , y=\"2\", }\t3  1700000000000\n"
      "d{x=\"1\" y=\"2\"} 4\n"  // a missing comma, as Prometheus accepts
      "e{} 5\n"
      "f{x=\"1\"}6\n"  // no blank between } and the value
      "g 7");          // no final newline
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 7u);
  EXPECT_EQ(out.samples[0].value, 1);
  EXPECT_EQ(out.samples[1].value, 2);
  EXPECT_EQ(out.samples[2].labels.size(), 2u);
  EXPECT_EQ(out.samples[2].Label("y"), "2");
  EXPECT_EQ(out.samples[2].value, 3);
  EXPECT_EQ(out.samples[3].Label("y"), "2");
  EXPECT_TRUE(out.samples[4].labels.empty());
  EXPECT_EQ(out.samples[5].value, 6);
  EXPECT_EQ(out.samples[6].name, "g");
  EXPECT_EQ(out.samples[6].line, 11u);
}

TEST(ExpositionParser, EscapesAndValuesWithSpecialCharacters) {
  const ParseOutcome out = ParseAll(
      "a{p=\"C:\\\\DIR\\\\FILE.TXT\",e=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1\n"
      "b{t=\"tab\\tkept\",q=\"a\\\\nb\"} 2\n"
      "c{cluster_name=\"outbound|9080||reviews.default.svc.cluster.local\",x=\"{}=, #\"} 3\n"
      "d{u=\"Bj\xc3\xb6rn \xe2\x82\xac\"} 4\n");
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 4u);
  EXPECT_EQ(out.samples[0].Label("p"), "C:\\DIR\\FILE.TXT");
  EXPECT_EQ(out.samples[0].Label("e"), "Cannot find file:\n\"FILE.TXT\"");
  EXPECT_EQ(out.samples[1].Label("t"), "tab\\tkept");  // unknown escape: kept as written
  EXPECT_EQ(out.samples[1].Label("q"), "a\\nb");       // an escaped backslash, then "n"
  EXPECT_EQ(out.samples[2].Label("cluster_name"),
            "outbound|9080||reviews.default.svc.cluster.local");
  EXPECT_EQ(out.samples[2].Label("x"), "{}=, #");
  EXPECT_EQ(out.samples[3].Label("u"), "Bj\xc3\xb6rn \xe2\x82\xac");
}

TEST(ExpositionParser, ValuesInGoSyntax) {
  struct Case {
    const char* text;
    double value;
  };
  const Case cases[] = {
      {"0", 0},
      {"-0", -0.0},
      {"08", 8},
      {"42", 42},
      {"+42", 42},
      {"-1.5", -1.5},
      {".5", 0.5},
      {"5.", 5},
      {"1.7560473e+07", 17560473},
      {"1.624025983489E9", 1624025983.489},
      {"4.9351e-05", 4.9351e-05},
      {"30.8500000000000014210854715202", 30.85},
      {"16440392441958861461", 16440392441958861461.0},
      {"9007199254740993", 9007199254740992.0},  // rounds like Go's ParseFloat
      {"1e308", 1e308},
      {"1e-400", 0},  // Go reads an underflow as 0
      {"+Inf", kInf},
      {"Inf", kInf},
      {"inf", kInf},
      {"+inf", kInf},
      {"INF", kInf},
      {"Infinity", kInf},
      {"-Inf", -kInf},
      {"-infinity", -kInf},
  };
  for (const Case& c : cases) {
    const auto v = ParseExpositionValue(c.text);
    ASSERT_TRUE(v.has_value()) << c.text;
    EXPECT_EQ(*v, c.value) << c.text;
    EXPECT_EQ(std::signbit(*v), std::signbit(c.value)) << c.text;
  }
  for (const char* nan : {"NaN", "nan", "nAn", "NAN"}) {
    const auto v = ParseExpositionValue(nan);
    ASSERT_TRUE(v.has_value()) << nan;
    EXPECT_TRUE(std::isnan(*v)) << nan;
  }
  for (const char* bad :
       {"",       "+",      "-",      ".",      "e5",       "1e",  "1e+", "1_2",   "1_000",
        "0x1p-3", "0x1P-3", "0x10",   "0X1",    "0b1",      "0B1", "0o1", "0O1",   "+NaN",
        "-nan",   "true",   "blubb",  "Inf1",   "infinit",  "--1", "+-1", "1.2.3", "1e5.5",
        "1,5",    "1e400",  "-1e400", "nan(1)", "\xc2\xb9", "1 "}) {
    EXPECT_FALSE(ParseExpositionValue(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(ExpositionParser, TimestampsAreIgnored) {
  const ParseOutcome out = ParseAll(
      "a 1 1395066363000\n"
      "b +Inf -3982045\n"
      "c 3\t \t123123\n");
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 3u);
  EXPECT_EQ(out.samples[1].value, kInf);
  EXPECT_EQ(out.samples[2].value, 3);

  // Float-second timestamps are OpenMetrics': accepted when the body ends with # EOF.
  EXPECT_FALSE(ParseAll("a 1 2.72\n").ok());
  EXPECT_TRUE(ParseAll("a 1 1520879607.789\n# EOF\n").ok());
  EXPECT_TRUE(ParseAll("a 1 1520879607.789\n# EOF").ok());
  EXPECT_TRUE(ParseAll("a 1 1520879607.789\r\n# EOF\r\n\r\n").ok());
}

TEST(ExpositionParser, OpenMetricsFragmentsInAPlainTextBody) {
  // As a modern linkerd2-proxy serves it: legacy families, then prometheus-client's tail.
  const ParseOutcome out = ParseAll(
      "# TYPE request_total counter\n"
      "request_total{direction=\"inbound\"} 7\n"
      "# HELP outbound_http_route_backend_requests The total number of requests.\n"
      "# TYPE outbound_http_route_backend_requests counter\n"
      "# UNIT outbound_http_route_backend_requests requests\n"
      "outbound_http_route_backend_requests_total{parent_name=\"web\"} 5\n"
      "outbound_http_route_backend_requests_created{parent_name=\"web\"} 1700000000.5\n"
      "# TYPE latency_seconds histogram\n"
      "latency_seconds_bucket{le=\"0.1\"} 8 # {trace_id=\"KOO5S4vxi0o\"} 0.067 1520879607.789\n"
      "latency_seconds_created 1700000000\n"
      "latency_seconds_bucket{le=\"+Inf\"} 11 # {} 0.5\n"
      "latency_seconds_count 11\n"
      "# TYPE build info\n"
      "build_info{version=\"2.210.4\"} 1\n"
      "# TYPE fizz_created gauge\n"
      "fizz_created 17\n"
      "# EOF\n");
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 7u) << "the two _created samples are start times, not data";
  const auto* total = Find(out, "outbound_http_route_backend_requests_total");
  ASSERT_NE(total, nullptr);
  EXPECT_EQ(total->value, 5);
  EXPECT_EQ(total->type, MetricType::kCounter);
  const auto* bucket = Find(out, "latency_seconds_bucket", "le", "0.1");
  ASSERT_NE(bucket, nullptr);
  EXPECT_EQ(bucket->value, 8) << "the exemplar is stripped";
  EXPECT_EQ(bucket->type, MetricType::kHistogram);
  EXPECT_EQ(Find(out, "latency_seconds_count")->type, MetricType::kHistogram);
  EXPECT_EQ(Find(out, "build_info")->type, MetricType::kInfo);
  EXPECT_EQ(Find(out, "fizz_created")->type, MetricType::kGauge) << "its own family: data";
  EXPECT_EQ(Find(out, "latency_seconds_created"), nullptr);
  EXPECT_EQ(out.seen, 9u) << "every sample line is seen, the skipped ones too";
}

TEST(ExpositionParser, SamplesAfterEofStillCount) {
  // In a text/plain body `# EOF` is a comment: an Istio-merged body may go on after an app's.
  const ParseOutcome out = ParseAll("a 1\n# EOF\nb 2\n");
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out.samples.size(), 2u);
}

TEST(ExpositionParser, QuotedUtf8Names) {
  const ParseOutcome out = ParseAll(
      "# TYPE \"my.counter\" counter\n"
      "{\"my.counter\",\"label.name\"=\"v\",plain=\"w\"} 1\n"
      "{ \"my.counter\" , a=\"b\" } 2\n"
      "{a=\"b\", \"name\\\"with\\nescapes\"} 3\n"
      "legacy{\"dotted.label\"=\"x\"} 4\n");
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 4u);
  EXPECT_EQ(out.samples[0].name, "my.counter");
  EXPECT_EQ(out.samples[0].type, MetricType::kCounter);
  EXPECT_EQ(out.samples[0].Label("label.name"), "v");
  EXPECT_EQ(out.samples[0].Label("plain"), "w");
  EXPECT_EQ(out.samples[1].name, "my.counter");
  EXPECT_EQ(out.samples[2].name, "name\"with\nescapes");
  EXPECT_EQ(out.samples[3].Label("dotted.label"), "x");
}

// Every rejected input names its line.
void ExpectError(const std::string& text, size_t line, const std::string& fragment) {
  const ParseOutcome out = ParseAll(text);
  ASSERT_FALSE(out.ok()) << "accepted: " << text;
  EXPECT_EQ(out.error->line, line) << out.message();
  EXPECT_NE(out.error->message.find(fragment), std::string::npos)
      << "\"" << out.message() << "\" does not say \"" << fragment << "\"";
}

TEST(ExpositionParser, RejectsWhatPrometheusRejects) {
  ExpectError("ok 1\nmetric{label=bla} 3.14\n", 2, "quoted value");
  ExpectError("metric{label='bla'} 3.14\n", 1, "quoted value");
  ExpectError("metric{label} 3.14\n", 1, "expected '='");
  ExpectError("metric{label=\"bla} 3.14", 1, "unterminated");
  ExpectError("metric{label=\"new\nline\"} 3.14\n", 1, "raw newline");
  ExpectError("metric{l=\"\xbd\"} 3.14\n", 1, "UTF-8");
  ExpectError("metric{l=\"\xc0\xaf\"} 3.14\n", 1, "UTF-8");      // overlong
  ExpectError("metric{l=\"\xed\xa0\x80\"} 3.14\n", 1, "UTF-8");  // a surrogate
  ExpectError("# HELP metric bad \xff text\n", 1, "UTF-8");
  // HELP text is checked eight ASCII bytes at a time: a bad byte at any offset after them, and
  // a sequence cut by the end, are still found; good multi-byte text after them still passes.
  for (size_t ascii = 0; ascii < 20; ++ascii) {
    const std::string prefix = "# HELP metric " + std::string(ascii, 'a');
    ExpectError(prefix + "\xff tail of the text\n", 1, "UTF-8");
    ExpectError(prefix + "\xe2\x82\n", 1, "UTF-8");
    EXPECT_TRUE(ParseAll(prefix + "\xe2\x82\xac costs \xf0\x9f\x98\x80\nmetric 1\n").ok()) << ascii;
  }
  ExpectError("metric{label=\"a\",label=\"b\"} 1\n", 1, "duplicate label name");
  std::string many = "metric{";
  for (int i = 0; i < 40; ++i) {
    many += 'l';
    many += std::to_string(i);
    many += "=\"v\",";
  }
  ExpectError(many + "l7=\"again\"} 1\n", 1, "duplicate label name");
  ExpectError("metric{__name__=\"bla\"} 3.14\n", 1, "__name__");
  ExpectError("metric{label=\"bla\"} blubb\n", 1, "invalid value");
  ExpectError("foo 1_2\n", 1, "invalid value");
  ExpectError("foo 0x1p-3\n", 1, "invalid value");
  ExpectError("foo 0b1\n", 1, "invalid value");
  ExpectError("foo\n", 1, "expected a value");
  ExpectError("foo{a=\"b\"}\n", 1, "expected a value");
  ExpectError("metric{label=\"bla\"} 3.14 2.72\n", 1, "timestamp");
  ExpectError("metric{label=\"bla\"} 3.14 2 3\n", 1, "after the timestamp");
  ExpectError("foo 0 1_2\n", 1, "timestamp");
  ExpectError("@invalidmetric{label=\"bla\"} 3.14 2\n", 1, "metric name");
  ExpectError("{label=\"bla\"} 3.14 2\n", 1, "without a metric name");
  ExpectError("{} 3.14\n", 1, "without a metric name");
  ExpectError("{\"one.name\",\"another.name\"} 3.14\n", 1, "second metric name");
  ExpectError("metric{@=\"bla\"} 3.14\n", 1, "label name");
  ExpectError("metric{label+=\"bla\"} 3.14\n", 1, "expected '='");
  ExpectError("metric{label=\"bla\"+} 3.14\n", 1, "label name");
  ExpectError("metric{,} 1\n", 1, "label name");
  ExpectError("metric{a=\"b\",,} 1\n", 1, "label name");
  ExpectError("metric{a=\"b\"\n", 1, "unterminated label set");
  ExpectError("foo-bar 1\n", 1, "blank after metric name");
  ExpectError("\n\n# TYPE metric bla\n", 3, "unknown metric type");
  ExpectError("# TYPE metric\n", 1, "unknown metric type");
  ExpectError("# TYPE met-ric\n", 1, "unknown metric type");
  ExpectError("# TYPE #\n", 1, "metric name after TYPE");
  ExpectError("# HELP #\n", 1, "metric name after HELP");
  ExpectError(std::string("a 1\n\0garbage 1\n", 15), 2, "metric name");
  ExpectError("random garbage\n", 1, "invalid value");
  ExpectError("<html><body>502 Bad Gateway</body></html>\n", 1, "metric name");
}

TEST(ExpositionParser, CommentsThatAreNotMetadata) {
  const ParseOutcome out = ParseAll(
      "#\n#comment\n# Hrandom comment starting with prefix of HELP\n# HELPX not help\n"
      "# comment with escaped \\n newline\n# \tTYPE x gauge\n# HELP nohelp1\n# HELP nohelp2 \n"
      "# EOF\n# UNIT x seconds\n"
      "# HELP metric foo\0bar\n"
      "x{a=\"abc\0\"} 1\n"s);
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 1u);
  EXPECT_EQ(out.samples[0].type, MetricType::kGauge) << "\"# \\tTYPE\" is a TYPE line";
  EXPECT_EQ(out.samples[0].Label("a"), "abc\0"s) << "NUL is valid UTF-8 inside a string";
}

TEST(ExpositionParser, KeepsOnlyTheFamiliesAskedFor) {
  const std::string payload =
      "# TYPE response_total counter\n"
      "response_total{a=\"1\"} 1\n"
      "tcp_open_connections{a=\"1\"} 9\n"
      "response_latency_ms_bucket{le=\"1\"} 2\n"
      "response_latency_ms_count 2\n"
      "response_total{a=\"2\"} 3\n";
  const ParseOutcome out =
      ParseAll(payload, {"response_latency_ms_bucket", "response_total", "response_total"});
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 3u);
  EXPECT_EQ(out.samples[0].name, "response_total");
  EXPECT_EQ(out.samples[1].name, "response_latency_ms_bucket");
  EXPECT_EQ(out.samples[2].value, 3);
  EXPECT_EQ(out.seen, 5u);

  // A broken line of a family nobody asked for still fails the payload, as it fails Prometheus'
  // scrape.
  const ParseOutcome broken =
      ParseAll(payload + "tcp_open_connections{a=1} 2\n", {"response_total"});
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error->line, 7u);
}

TEST(ExpositionParser, SinkSeesSamplesBeforeTheErrorLine) {
  const ParseOutcome out = ParseAll("a 1\nb 2\nc oops\nd 4\n");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error->line, 3u);
  EXPECT_EQ(out.samples.size(), 2u);
  EXPECT_EQ(out.seen, 2u);
}

TEST(ExpositionParser, AllocatesNothingPerSampleOnceWarm) {
  std::string payload = "# HELP response_total Total.\n# TYPE response_total counter\n";
  for (int i = 0; i < 200; ++i) {
    payload += "response_total{direction=\"inbound\",authority=\"web.emojivoto.svc:80\",peer=\"p" +
               std::to_string(i) + "\",escaped=\"a\\\"b\\\\c\\nd\",status_code=\"200\"} " +
               std::to_string(i * 7) + "\n";
    payload += "tcp_open_total{peer=\"p" + std::to_string(i) + "\"} 1\n";
  }
  payload += "# TYPE lat histogram\nlat_bucket{le=\"1\"} 1\nlat_bucket{le=\"+Inf\"} 2\n# EOF\n";
  ExpositionParser parser({"response_total", "lat_bucket"});
  double sum = 0;
  const auto sink = [&](const ExpositionSample& s) { sum += s.value + s.labels.size(); };
  ASSERT_FALSE(parser.Parse(payload, sink).has_value());  // warms the scratch buffers
  allocations = 0;
  counting = true;
  const auto error = parser.Parse(payload, sink);
  counting = false;
  EXPECT_FALSE(error.has_value());
  EXPECT_EQ(parser.samples_kept(), 202u);
  EXPECT_EQ(allocations, 0u);
}

// With `known`, a line that is a known series text, blanks and a value is not taken apart: it
// reaches the sink marked known, with its text, hash, value, family type and line; every other
// line (unknown text, a timestamp, an exemplar, a quoted name) takes the full path.
TEST(ExpositionParser, KnownSeriesLinesSkipTheirLabels) {
  const std::string known_text = "request_total{direction=\"inbound\",tls=\"true\"}";
  const uint64_t known_hash = HashBytes(known_text);
  const std::string text =
      "# TYPE request_total counter\n"
      "request_total{direction=\"inbound\",tls=\"true\"}  \t 7 \n"
      "request_total{direction=\"outbound\"} 3\n"
      "request_total{direction=\"inbound\",tls=\"true\"} 8 1700000000000\n";
  ExpositionParser parser;
  std::vector<std::tuple<bool, std::string, double, size_t, size_t>> seen;
  size_t asked = 0;
  const auto error = parser.Parse(
      text,
      [&](const ExpositionSample& s) {
        seen.emplace_back(s.known, std::string(s.series), s.value, s.labels.size(), s.line);
        if (s.known) {
          EXPECT_EQ(s.series_hash, known_hash);
          EXPECT_EQ(s.name, "request_total");
          EXPECT_EQ(s.type, MetricType::kCounter);
        }
      },
      [&](uint64_t h) {
        ++asked;
        return h == known_hash;
      });
  ASSERT_FALSE(error.has_value()) << error->ToString();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_tuple(true, known_text, 7.0, size_t{0}, size_t{2}));
  EXPECT_EQ(seen[1], std::make_tuple(false, "request_total{direction=\"outbound\"}"s, 3.0,
                                     size_t{1}, size_t{3}));
  EXPECT_EQ(seen[2], std::make_tuple(false, known_text, 8.0, size_t{2}, size_t{4}))
      << "with a timestamp, the text before the last token is not the series";
  EXPECT_EQ(asked, 3u);
  EXPECT_EQ(parser.samples_seen(), 3u);

  // A known series with a bad value is still an error on its line.
  const auto bad = parser.Parse(
      known_text + " 0x10\n", [](const ExpositionSample&) {},
      [&](uint64_t h) { return h == known_hash; });
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->line, 1u);
  EXPECT_NE(bad->message.find("invalid value"), std::string::npos) << bad->message;

  // Families not kept are counted and not delivered, as on the full path.
  ExpositionParser keeping({"response_total"});
  size_t delivered = 0;
  ASSERT_FALSE(keeping
                   .Parse(
                       known_text + " 1\n", [&](const ExpositionSample&) { ++delivered; },
                       [&](uint64_t h) { return h == known_hash; })
                   .has_value());
  EXPECT_EQ(delivered, 0u);
  EXPECT_EQ(keeping.samples_seen(), 1u);
}

// With `unkept`, the valid lines of families not kept that have the `series value` form are
// reported with their series text's hash (fresh: taken apart); when `known` answers kUnkept for
// such a text, the line has only its value checked: counted, not delivered, reported again
// (not fresh). Lines with a timestamp or an exemplar are never reported.
TEST(ExpositionParser, UnkeptFamiliesCheckOnlyTheValueOfLinesSeenBefore) {
  const std::string unkept_text = "tcp_open_total{peer=\"dst\",tls=\"true\"}";
  const std::string text =
      "# TYPE tcp_open_total counter\n"
      "tcp_open_total{peer=\"dst\",tls=\"true\"}  \t 7 \n"
      "response_total{classification=\"success\"} 3\n"
      "tcp_open_total{peer=\"src\"} 1 1700000000000\n"
      "tcp_open_total{peer=\"exemplar\"} 1 # {trace_id=\"x\"} 1\n"
      "{\"tcp.quoted\"} 2\n"
      "tcp_close_total 4\n";
  ExpositionParser parser({"response_total"});
  std::vector<std::pair<uint64_t, bool>> reported;
  const auto unkept = [&](uint64_t h, bool fresh) { reported.emplace_back(h, fresh); };
  size_t delivered = 0;
  const auto sink = [&](const ExpositionSample& s) {
    ++delivered;
    EXPECT_EQ(s.name, "response_total");
  };
  const auto unknown = [](uint64_t) { return ExpositionParser::kUnknown; };
  ASSERT_FALSE(parser.Parse(text, sink, unknown, unkept).has_value());
  EXPECT_EQ(delivered, 1u);
  EXPECT_EQ(parser.samples_seen(), 6u);
  ASSERT_EQ(reported.size(), 2u) << "only lines of the `series value` form";
  EXPECT_EQ(reported[0], std::make_pair(HashBytes(unkept_text), true));
  EXPECT_EQ(reported[1], std::make_pair(HashBytes("tcp_close_total"), true));

  // The next scrape: both texts come back as checked; every other line as before.
  const auto known = [&](uint64_t h) {
    return h == HashBytes(unkept_text) || h == HashBytes("tcp_close_total")
               ? ExpositionParser::kUnkept
               : ExpositionParser::kUnknown;
  };
  reported.clear();
  delivered = 0;
  ASSERT_FALSE(parser.Parse(text, sink, known, unkept).has_value());
  EXPECT_EQ(delivered, 1u);
  EXPECT_EQ(parser.samples_seen(), 6u);
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_EQ(reported[0], std::make_pair(HashBytes(unkept_text), false));
  EXPECT_EQ(reported[1], std::make_pair(HashBytes("tcp_close_total"), false));

  // A value that is no number is still an error on the fast path, at its line.
  for (const std::string value : {"0x10", "1_000", "", "seven"}) {
    const auto bad =
        parser.Parse("# a comment\n" + unkept_text + " " + value + "\n", sink, known, unkept);
    ASSERT_TRUE(bad.has_value()) << value;
    EXPECT_EQ(bad->line, 2u);
    EXPECT_NE(bad->message.find(value.empty() ? "expected a value" : "invalid value"),
              std::string::npos)
        << bad->message;
  }
  // A text that was never reported takes the full path: an error there is still found.
  const auto duplicate =
      parser.Parse("tcp_open_total{peer=\"a\",peer=\"b\"} 1\n", sink, known, unkept);
  ASSERT_TRUE(duplicate.has_value());
  EXPECT_NE(duplicate->message.find("duplicate label name"), std::string::npos);
}

// Integers are read exactly, as from_chars reads them, on both paths.
TEST(ExpositionParser, IntegerValuesAreExact) {
  for (const std::string token : {"0", "7", "-0", "+12", "999999999999999", "1000000000000000",
                                  "9007199254740993", "123456789012345678901234567890"}) {
    const std::optional<double> value = ParseExpositionValue(token);
    ASSERT_TRUE(value.has_value()) << token;
    const std::string digits = token[0] == '+' || token[0] == '-' ? token.substr(1) : token;
    double expected = std::strtod(digits.c_str(), nullptr);  // the C library as the oracle
    if (token[0] == '-') expected = -expected;
    EXPECT_EQ(*value, expected) << token;
    EXPECT_EQ(std::signbit(*value), std::signbit(expected)) << token;
  }
}

TEST(ExpositionParser, MetricTypeNames) {
  EXPECT_EQ(MetricTypeName(MetricType::kCounter), "counter");
  EXPECT_EQ(MetricTypeName(MetricType::kHistogram), "histogram");
  EXPECT_EQ(MetricTypeName(MetricType::kUntyped), "untyped");
  const ParseOutcome out = ParseAll(
      "# TYPE a untyped\n# TYPE b unknown\n# TYPE c gaugehistogram\n# TYPE d gauge_histogram\n"
      "# TYPE e stateset\n# TYPE f summary\n"
      "a 1\nb 1\nc_bucket{le=\"1\"} 1\nc_gsum 1\nd_gcount 1\ne{e=\"x\"} 1\nf{quantile=\"0.5\"} 1\n"
      "f_sum 1\nf_count 1\nf_total 1\n");
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 10u);
  EXPECT_EQ(out.samples[0].type, MetricType::kUntyped);
  EXPECT_EQ(out.samples[1].type, MetricType::kUntyped);
  EXPECT_EQ(out.samples[2].type, MetricType::kGaugeHistogram);
  EXPECT_EQ(out.samples[3].type, MetricType::kGaugeHistogram);
  EXPECT_EQ(out.samples[4].type, MetricType::kGaugeHistogram);
  EXPECT_EQ(out.samples[5].type, MetricType::kStateSet);
  EXPECT_EQ(out.samples[6].type, MetricType::kSummary);
  EXPECT_EQ(out.samples[8].type, MetricType::kSummary);
  EXPECT_EQ(out.samples[9].type, MetricType::kUntyped) << "a summary has no _total";
}

}  // namespace
}  // namespace smi::sources::sidecars
