// Real payloads and the Go parsers' own test inputs through the sidecar parser. The expected
// numbers were read off the fixture files by hand (counts of sample lines, values of chosen
// lines), not produced by the parser.
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "parse_helpers.h"
#include "sources/sidecars/exposition_parser.h"

namespace smi::sources::sidecars {
namespace {

using testing::Find;
using testing::ParseAll;
using testing::ParseOutcome;
using testing::ReadFixture;

constexpr double kInf = std::numeric_limits<double>::infinity();

ParseOutcome ParseFixture(const std::string& file) { return ParseAll(ReadFixture(file)); }

// --- Proxy payloads ----------------------------------------------------------------------------

TEST(SidecarPayloads, EnvoyAllMetricTypes) {
  const ParseOutcome out = ParseFixture("sidecars/envoy-golden-all-metric-types.txt");
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out.samples.size(), 26u);
  EXPECT_EQ(Find(out, "envoy_cluster_test_1_upstream_cx_total")->Label("a_tag_name"),
            "a.tag-value");
  EXPECT_EQ(Find(out, "envoy_cluster_test_3_upstream_cx_total")->type, MetricType::kGauge);
  const auto* bucket = Find(out, "envoy_cluster_test_1_upstream_rq_time_bucket", "le", "25");
  ASSERT_NE(bucket, nullptr);
  EXPECT_EQ(bucket->value, 1);
  EXPECT_EQ(bucket->type, MetricType::kHistogram);
  EXPECT_EQ(bucket->Label("key2"), "value2");
  EXPECT_EQ(Find(out, "envoy_cluster_test_1_upstream_rq_time_bucket", "le", "10000")->value, 7);
  EXPECT_EQ(Find(out, "envoy_cluster_test_1_upstream_rq_time_sum")->value, 5532);
  EXPECT_EQ(Find(out, "envoy_cluster_test_1_upstream_rq_time_count")->value, 7);
}

TEST(SidecarPayloads, EnvoyHighCountsWithEmptyBraces) {
  const ParseOutcome out = ParseFixture("sidecars/envoy-golden-histogram-high-counts.txt");
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out.samples.size(), 22u);
  EXPECT_EQ(Find(out, "envoy_histogram1_bucket", "le", "2500")->value, 101100000);
  EXPECT_EQ(Find(out, "envoy_histogram1_bucket", "le", "+Inf")->value, 101100000);
  const auto* sum = Find(out, "envoy_histogram1_sum");
  ASSERT_NE(sum, nullptr);
  EXPECT_TRUE(sum->labels.empty());
  EXPECT_EQ(sum->value, 105105105000);
  EXPECT_EQ(sum->series, "envoy_histogram1_sum{}");
}

TEST(SidecarPayloads, IstioMergedEndpoint) {
  const ParseOutcome out = ParseFixture("sidecars/istio-1.11-merged-datadog-excerpt.txt");
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out.samples.size(), 77u);
  const auto* requests = Find(out, "istio_requests_total");
  ASSERT_NE(requests, nullptr);
  EXPECT_EQ(requests->value, 1);
  EXPECT_EQ(requests->Label("reporter"), "destination");
  EXPECT_EQ(requests->Label("destination_workload"), "reviews-v1");
  EXPECT_EQ(requests->Label("grpc_response_status"), "");
  EXPECT_EQ(requests->labels.size(), 25u);
  EXPECT_EQ(Find(out, "envoy_cluster_manager_cds_version")->value, 16440392441958861461.0)
      << "a gauge above 2^63";
  EXPECT_EQ(Find(out, "istio_request_duration_milliseconds_bucket", "le", "1000")->value, 0);
  EXPECT_EQ(Find(out, "istio_request_duration_milliseconds_bucket", "le", "2500")->value, 1);
  EXPECT_EQ(Find(out, "istio_request_duration_milliseconds_sum")->value, 1050);
  EXPECT_EQ(Find(out, "envoy_cluster_zone_us_central1_c__upstream_rq", "response_code_class", "2xx")
                ->value,
            1);
}

TEST(SidecarPayloads, IstioInterleavedFamilies) {
  const ParseOutcome out = ParseFixture("sidecars/istio-1.5-proxy-datadog-interleaved-excerpt.txt");
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out.samples.size(), 81u);
  const auto* reviews =
      Find(out, "envoy_cluster_client_ssl_socket_factory_ssl_context_update_by_sds", "cluster_name",
           "outbound|9080||reviews.default.svc.cluster.local");
  ASSERT_NE(reviews, nullptr);
  EXPECT_EQ(reviews->value, 4);
  // The same family again at line 137, far from its TYPE line at line 1.
  const auto* late = Find(out, "envoy_cluster_client_ssl_socket_factory_ssl_context_update_by_sds",
                          "cluster_name", "xds-grpc");
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->line, 137u);
  EXPECT_EQ(late->type, MetricType::kCounter);
  EXPECT_NE(Find(out, "envoy_cluster_lb_subsets_created"), nullptr)
      << "a counter named *_created is data when it is its own family";
}

TEST(SidecarPayloads, LinkerdStable23) {
  const ParseOutcome out = ParseFixture("sidecars/linkerd-datadog-v2-excerpt.txt");
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out.samples.size(), 68u);
  const auto* inbound = Find(out, "request_total", "no_tls_reason", "not_provided_by_remote");
  ASSERT_NE(inbound, nullptr);
  EXPECT_EQ(inbound->value, 852);
  EXPECT_EQ(inbound->type, MetricType::kCounter);
  const auto* outbound = Find(out, "request_total", "dst_deployment", "linkerd-prometheus");
  ASSERT_NE(outbound, nullptr);
  EXPECT_EQ(outbound->value, 16275);
  EXPECT_EQ(outbound->Label("dst_pod_template_hash"), "84df7f64c");
  const auto* bucket = Find(out, "response_latency_ms_bucket", "le", "1");
  ASSERT_NE(bucket, nullptr);
  EXPECT_EQ(bucket->value, 705);
  EXPECT_EQ(bucket->type, MetricType::kHistogram);
  EXPECT_EQ(Find(out, "response_latency_ms_bucket", "le", "2")->value, 814);
}

TEST(SidecarPayloads, LinkerdAuthz) {
  const ParseOutcome out = ParseFixture("sidecars/linkerd-diagnostics-authz-input.txt");
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 4u);
  EXPECT_EQ(out.samples[3].value, 3147);
  EXPECT_EQ(out.samples[3].Label("client_id"),
            "default.default.serviceaccount.identity.linkerd.cluster.local");
  EXPECT_EQ(out.samples[0].Label("srv_name"), "default:all-unauthenticated");
}

TEST(SidecarPayloads, TraefikWithoutFinalNewline) {
  const std::string text = ReadFixture("sidecars/traefik-mesh-datadog-proxy.txt");
  ASSERT_NE(text.back(), '\n');
  const ParseOutcome out = ParseAll(text);
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out.samples.size(), 88u);
  EXPECT_EQ(out.samples.back().name, "traefik_service_requests_total");
  EXPECT_EQ(out.samples.back().value, 70424);
  EXPECT_EQ(out.samples.back().line, 178u);
  EXPECT_EQ(Find(out, "go_memstats_alloc_bytes")->value, 11048344);
  EXPECT_EQ(Find(out, "traefik_entrypoint_request_duration_seconds_sum", "entrypoint", "readiness")
                ->value,
            50.12770401199954);
}

// --- prometheus/common's strict parser inputs ----------------------------------------------------

TEST(ExpfmtInputs, EveryValidInputParses) {
  // Sample lines per file, counted by hand.
  const std::map<std::string, size_t> expected = {
      {"00", 0}, {"01", 3}, {"02", 4}, {"03", 12}, {"04", 7}, {"05", 1},
      {"06", 2}, {"07", 2}, {"08", 2}, {"09", 1},  {"10", 1}, {"11", 3},
      {"12", 7}, {"13", 6}, {"14", 7}, {"15", 7},  {"16", 7}, {"17", 7},
  };
  for (const auto& [number, samples] : expected) {
    const std::string file = "expfmt/prometheus-common/text_parse_ok_" + number + ".txt";
    const ParseOutcome out = ParseFixture(file);
    EXPECT_TRUE(out.ok()) << file << ": " << out.message();
    EXPECT_EQ(out.samples.size(), samples) << file;
  }
}

TEST(ExpfmtInputs, ValuesOfTheValidInputs) {
  const ParseOutcome escapes = ParseFixture("expfmt/prometheus-common/text_parse_ok_02.txt");
  ASSERT_EQ(escapes.samples.size(), 4u);
  EXPECT_TRUE(std::isnan(escapes.samples[0].value));
  EXPECT_EQ(escapes.samples[1].Label("basename"), "base\"v\\al\nue");
  EXPECT_EQ(escapes.samples[1].value, 0.23);
  EXPECT_EQ(escapes.samples[2].value, kInf);
  EXPECT_EQ(escapes.samples[2].type, MetricType::kGauge);
  EXPECT_EQ(escapes.samples[3].value, -kInf);
  EXPECT_EQ(escapes.samples[3].labels.size(), 1u);

  const ParseOutcome summary = ParseFixture("expfmt/prometheus-common/text_parse_ok_03.txt");
  EXPECT_EQ(Find(summary, "decoy")->value, -1);
  EXPECT_EQ(Find(summary, "my_summary_sum", "n1", "val2")->value, 8) << "\"08\"";
  EXPECT_EQ(Find(summary, "another_summary", "quantile", ".3")->value, -1.2);
  EXPECT_EQ(Find(summary, "my_summary", "quantile", "-12.34")->Label("n2"), "val2");

  const ParseOutcome floats = ParseFixture("expfmt/prometheus-common/text_parse_ok_12.txt");
  EXPECT_EQ(Find(floats, "request_duration_microseconds_bucket", "le", "172.8")->value, 1524.8);
  EXPECT_EQ(Find(floats, "request_duration_microseconds_sum")->value, 1756047.3);

  const ParseOutcome utf8 = ParseFixture("expfmt/prometheus-common/text_parse_ok_08.txt");
  ASSERT_EQ(utf8.samples.size(), 2u);
  EXPECT_EQ(utf8.samples[0].name, "gauge.name");
  EXPECT_EQ(utf8.samples[0].Label("name.1"), "val with\nnew line");
  EXPECT_EQ(utf8.samples[0].Label("name*2"), "val with \\backslash and \"quotes\"");
  EXPECT_EQ(utf8.samples[1].value, 3.14e+42);
  EXPECT_EQ(utf8.samples[1].type, MetricType::kGauge);

  const ParseOutcome escaped_name = ParseFixture("expfmt/prometheus-common/text_parse_ok_09.txt");
  ASSERT_EQ(escaped_name.samples.size(), 1u);
  EXPECT_EQ(escaped_name.samples[0].name, "my\"noncompliant\nmetric\\");
  EXPECT_EQ(escaped_name.samples[0].type, MetricType::kCounter);
  EXPECT_EQ(escaped_name.samples[0].Label("label\"name\n"), "value");
}

// What the lenient scrape parser does with the strict parser's error inputs. Where the two
// differ, Prometheus' scrape (promparse) accepts the input too, and so do we.
TEST(ExpfmtInputs, InvalidInputsAreErrorsOrAcceptedLikePrometheus) {
  struct Expectation {
    size_t error_line;  // 0: accepted
    const char* why;    // for an accepted input: what Prometheus' scrape parser does too
  };
  const std::map<std::string, Expectation> table = {
      {"00", {0, "no final newline"}},
      {"01", {0, "an unknown escape (\\t) is kept as written"}},
      {"02", {2, ""}},  // raw newline in a label value
      {"03", {1, ""}},  // @ as a label name
      {"04", {1, ""}},  // __name__ as a label
      {"05", {1, ""}},  // label+=
      {"06", {1, ""}},  // unquoted label value
      {"07", {0, "quantile values are not checked at scrape time"}},
      {"08", {1, ""}},  // "bla"+
      {"09", {1, ""}},  // float timestamp
      {"10", {1, ""}},  // two timestamps
      {"11", {1, ""}},  // value "blubb"
      {"12", {0, "a second HELP line"}},
      {"13", {0, "a second TYPE line (the first wins)"}},
      {"14", {0, "a TYPE line after the samples"}},
      {"15", {2, ""}},  // unknown type "bla"
      {"16", {2, ""}},  // TYPE met-ric
      {"17", {1, ""}},  // @invalidmetric
      {"18", {1, ""}},  // no metric name
      {"19", {0, "le values are not checked at scrape time"}},
      {"20", {1, ""}},  // invalid UTF-8
      {"21", {1, ""}},
      {"22", {1, ""}},
      {"23", {1, ""}},
      {"24", {1, ""}},
      {"25", {1, ""}},
      {"26", {1, ""}},
      {"27", {1, ""}},
      {"28", {1, ""}},
      {"29", {1, ""}},
      {"30", {1, ""}},
      {"31", {1, ""}},  // Go-only literals 1_2, 0x1p-3, 0b1, 0o1, 0x1
      {"32", {0, "le values are not checked at scrape time"}},
      {"33", {0, "quantile values are not checked at scrape time"}},
      {"34", {1, ""}},  // duplicate label names
      {"35", {1, ""}},  // two metric names
      {"36", {0, "an unknown escape (\\x) in a quoted name is kept as written"}},
      {"37", {1, ""}},  // "metric.name".label
      {"38", {0, "an unknown escape (\\t) in a quoted name is kept as written"}},
      {"39", {2, ""}},  // raw newline in a quoted metric name
      {"40", {2, ""}},  // raw newline in a quoted label name
      {"41", {0, "quoted UTF-8 metric name"}},
      {"42", {0, "quoted UTF-8 label names"}},
      {"43", {0, "histogram counts are not checked at scrape time"}},
      {"44", {0, "histogram counts are not checked at scrape time"}},
      {"45", {0, "histogram counts are not checked at scrape time"}},
      {"46", {0, "histogram counts are not checked at scrape time"}},
      {"47", {1, ""}},  // {} 3.14
  };
  ASSERT_EQ(table.size(), 48u);
  for (const auto& [number, expectation] : table) {
    const std::string file = "expfmt/prometheus-common/text_parse_err_" + number + ".txt";
    const ParseOutcome out = ParseFixture(file);
    if (expectation.error_line == 0) {
      EXPECT_TRUE(out.ok()) << file << " (" << expectation.why << "): " << out.message();
    } else {
      ASSERT_FALSE(out.ok()) << file << " was accepted";
      EXPECT_EQ(out.error->line, expectation.error_line) << file << ": " << out.message();
    }
  }
}

TEST(ExpfmtInputs, PromparseErrorTableIsRejected) {
  const auto table =
      nlohmann::json::parse(ReadFixture("expfmt/prometheus-textparse/promparse_errors.json"));
  ASSERT_EQ(table.size(), 18u);
  for (const auto& entry : table) {
    const std::string hex = entry.at("input_hex");
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    const ParseOutcome out = ParseAll(bytes);
    EXPECT_FALSE(out.ok()) << "accepted: " << entry.at("input")
                           << " (Prometheus: " << entry.at("err") << ")";
  }
}

// --- Prometheus' scrape-parser inputs, Istio's merge, the docs ----------------------------------

TEST(ScrapeParserInputs, PromParse) {
  const ParseOutcome out =
      ParseFixture("expfmt/prometheus-textparse/promparse_TestPromParse_input.txt");
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out.samples.size(), 27u);
  EXPECT_EQ(Find(out, "go_gc_duration_seconds", "quantile", "0.25")->value, 7.424100000000001e-05);
  EXPECT_EQ(Find(out, "go_gc_duration_seconds", "quantile", "2.0")->Label("a"), "b")
      << "a missing comma between labels";
  EXPECT_EQ(Find(out, "go_gc_duration_seconds")->type, MetricType::kSummary)
      << "# \\tTYPE declares the type";
  EXPECT_EQ(Find(out, "some:aggregate:rate5m")->value, 1);
  EXPECT_EQ(Find(out, "go_goroutines")->value, 33);
  EXPECT_EQ(Find(out, "some_counter_total")->type, MetricType::kCounter);
  EXPECT_EQ(Find(out, "testmetric", "label", "\"bar\"")->value, 1);
  EXPECT_EQ(Find(out, "type_and_unit_test1")->Label("__type__"), "counter");
  EXPECT_EQ(out.samples.back().name, "null_byte_metric");
  EXPECT_EQ(out.samples.back().Label("a"), std::string("abc\0", 4));
}

TEST(ScrapeParserInputs, PromParseUtf8Names) {
  const ParseOutcome out =
      ParseFixture("expfmt/prometheus-textparse/promparse_TestUTF8PromParse_input.txt");
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out.samples.size(), 11u);
  EXPECT_EQ(out.samples[0].name, "go.gc_duration_seconds");
  EXPECT_EQ(out.samples[0].type, MetricType::kSummary);
  EXPECT_EQ(out.samples[9].name, "go.gc_duration_seconds_count");
  EXPECT_EQ(out.samples[10].name,
            "Heiz\xc3\xb6lr\xc3\xbc"
            "cksto\xc3\x9f"
            "abd\xc3\xa4mpfung 10\xe2\x82\xac metric with "
            "\"interesting\" {character\nchoices}");
  EXPECT_EQ(out.samples[10].value, 10);
}

TEST(ScrapeParserInputs, OpenMetrics) {
  const ParseOutcome out =
      ParseFixture("expfmt/prometheus-textparse/openmetricsparse_TestOpenMetricsParse_input.txt");
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out.seen, 61u);
  EXPECT_EQ(out.samples.size(), 53u) << "8 _created samples of counters, histograms, summaries";
  EXPECT_EQ(Find(out, "go_goroutines")->value, 33) << "a float-second timestamp";
  EXPECT_EQ(Find(out, "hhh_bucket")->value, 1) << "exemplar stripped";
  EXPECT_EQ(Find(out, "foo_total", "a", "b")->value, 17);
  EXPECT_EQ(Find(out, "foo_total")->type, MetricType::kCounter);
  EXPECT_EQ(Find(out, "foo_created"), nullptr);
  EXPECT_EQ(Find(out, "fizz_created")->value, 17);
  EXPECT_EQ(Find(out, "ii")->type, MetricType::kInfo);
  EXPECT_EQ(Find(out, "ss", "ss", "bar")->type, MetricType::kStateSet);
  EXPECT_TRUE(std::isnan(Find(out, "nansum", "quantile", "0.95")->value));
  EXPECT_EQ(Find(out, "something_bucket", "le", "1")->value, 2);
}

TEST(ScrapeParserInputs, OpenMetricsUtf8) {
  const ParseOutcome out = ParseFixture(
      "expfmt/prometheus-textparse/openmetricsparse_TestUTF8OpenMetricsParse_input.txt");
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out.samples.size(), 10u) << "go.gc_duration_seconds_created is a start time";
  EXPECT_EQ(Find(out, "http.status", "q", "0.9")->Label("a"), "b");
  EXPECT_EQ(Find(out, "quotedexemplar2_count")->value, 1);
}

TEST(ScrapeParserInputs, ClientGolangOpenMetrics) {
  const ParseOutcome all =
      ParseFixture("expfmt/prometheus-textparse/testdata_alltypes.5mfs.om.txt");
  ASSERT_TRUE(all.ok()) << all.message();
  EXPECT_EQ(all.seen, 53u);
  EXPECT_EQ(all.samples.size(), 44u);
  EXPECT_EQ(
      Find(all, "rpc_durations_histogram_seconds_bucket", "le", "-0.0002899999999999998")->value,
      3);
  const ParseOutcome one = ParseFixture("expfmt/prometheus-textparse/testdata_1histogram.om.txt");
  ASSERT_TRUE(one.ok()) << one.message();
  EXPECT_EQ(one.samples.size(), 42u);
}

TEST(ScrapeParserInputs, IstioMergedBodies) {
  const ParseOutcome om = ParseFixture("expfmt/istio-agent/app_openmetrics.txt");
  ASSERT_TRUE(om.ok()) << om.message();
  ASSERT_EQ(om.samples.size(), 2u);
  EXPECT_EQ(om.samples[0].name, "jvm_info");
  EXPECT_EQ(om.samples[0].type, MetricType::kInfo);
  EXPECT_EQ(om.samples[1].name, "jmx_config_reload_success_total");

  const ParseOutcome comma = ParseFixture("expfmt/istio-agent/app_text004_trailing_comma.txt");
  ASSERT_TRUE(comma.ok()) << comma.message();
  ASSERT_EQ(comma.samples.size(), 2u);
  EXPECT_EQ(comma.samples[0].Label("version"), "16.0.1+9");
  EXPECT_EQ(comma.samples[1].value, 1624025983.489) << "a gauge named *_created is data";

  const ParseOutcome twice = ParseFixture("expfmt/istio-agent/merged_conflict_labeled_output.txt");
  ASSERT_TRUE(twice.ok()) << twice.message();
  EXPECT_EQ(twice.samples.size(), 2u);
}

TEST(ScrapeParserInputs, DocumentationExamples) {
  // The exposition-format page's example has a line without a value (line 10).
  std::string docs = ReadFixture("expfmt/prometheus-docs-exposition-example.txt");
  const ParseOutcome as_published = ParseAll(docs);
  ASSERT_FALSE(as_published.ok());
  EXPECT_EQ(as_published.error->line, 10u);
  const size_t broken = docs.find("{\"my.dotted.metric\"");
  docs.erase(broken, docs.find('\n', broken) - broken + 1);
  const ParseOutcome fixed = ParseAll(docs);
  ASSERT_TRUE(fixed.ok()) << fixed.message();
  EXPECT_EQ(fixed.samples.size(), 20u);
  EXPECT_EQ(Find(fixed, "msdos_file_access_time_seconds")->Label("path"), "C:\\DIR\\FILE.TXT");
  EXPECT_EQ(Find(fixed, "msdos_file_access_time_seconds")->value, 1.458255915e9);
  EXPECT_EQ(Find(fixed, "something_weird")->value, kInf);
  EXPECT_EQ(Find(fixed, "rpc_duration_seconds_sum")->value, 17560473);

  const ParseOutcome complete = ParseFixture("expfmt/openmetrics-spec-complete-exposition.txt");
  ASSERT_TRUE(complete.ok()) << complete.message();
  EXPECT_EQ(complete.samples.size(), 6u);
  EXPECT_EQ(Find(complete, "process_cpu_seconds_total")->value, 4.20072246e+06);
  const ParseOutcome exemplars = ParseFixture("expfmt/openmetrics-spec-histogram-exemplars.txt");
  ASSERT_TRUE(exemplars.ok()) << exemplars.message();
  EXPECT_EQ(exemplars.samples.size(), 7u);
  EXPECT_EQ(Find(exemplars, "foo_bucket", "le", "10")->value, 17);
}

}  // namespace
}  // namespace smi::sources::sidecars
