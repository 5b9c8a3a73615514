// TrafficSplit queries of the built-in profiles (docs/spec-notes.md and docs/mesh-metrics.md,
// "TrafficSplits"): exact PromQL, and which rows count for which split backend. No name ever
// becomes a regex (docs/decisions.md, decision 11).
#include <limits>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "sources/prometheus/answer_decoding.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/profile_yaml.h"
#include "sources/prometheus/promql_builder.h"

namespace smi::sources::prometheus {
namespace {

using std::chrono::seconds;

constexpr double kInf = std::numeric_limits<double>::infinity();

TrafficSplitQuery VotingSplit() {
  return {"emojivoto", "voting-svc", {"voting-v1-svc", "voting-v2-svc"}};
}

SampleQuery SplitQuery(std::vector<TrafficSplitQuery> splits) {
  SampleQuery q;
  q.shape = TrafficSplitBackends{std::move(splits)};
  q.window = seconds(30);
  q.at = TimePoint(seconds(1700000000));
  return q;
}

VectorSample Row(std::map<std::string, std::string> labels, double value) {
  return VectorSample{std::move(labels), value};
}

TEST(TrafficSplitQueries, LinkerdOneNamespace) {
  const auto q = BuildQueries(LinkerdProfile(), SplitQuery({VotingSplit()}));
  EXPECT_EQ(q.counts,
            "sum by (dst_namespace, dst_service, authority, classification) "
            "(increase(response_total{direction=\"outbound\", job=\"linkerd-proxy\", "
            "dst_namespace=\"emojivoto\", "
            "dst_service!=\"\"}[30s]))");
  EXPECT_EQ(q.buckets,
            "sum by (dst_namespace, dst_service, authority, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", job=\"linkerd-proxy\", "
            "dst_namespace=\"emojivoto\", dst_service!=\"\"}[30s]))");
  EXPECT_EQ(q.counts.find("=~"), std::string::npos);
  EXPECT_EQ(q.counts.find("voting"), std::string::npos);  // names are compared in C++
}

TEST(TrafficSplitQueries, LinkerdSeveralNamespacesSelectNone) {
  const auto q = BuildQueries(
      LinkerdProfile(), SplitQuery({VotingSplit(), {"shop", "cart", {"cart-v1", "cart-v2"}}}));
  EXPECT_EQ(q.counts,
            "sum by (dst_namespace, dst_service, authority, classification) "
            "(increase(response_total{direction=\"outbound\", job=\"linkerd-proxy\", "
            "dst_service!=\"\"}[30s]))");
}

TEST(TrafficSplitQueries, IstioAtTheClientsByDestinationService) {
  const auto q = BuildQueries(IstioProfile(), SplitQuery({VotingSplit()}));
  EXPECT_EQ(q.counts,
            "sum by (destination_service_namespace, destination_service_name, response_code, "
            "grpc_response_status) (increase(istio_requests_total{reporter=\"source\", "
            "job=\"kubernetes-pods\", "
            "destination_service_namespace=\"emojivoto\", destination_service_name!=\"\"}[30s]))");
  EXPECT_EQ(q.buckets,
            "sum by (destination_service_namespace, destination_service_name, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"source\", "
            "job=\"kubernetes-pods\", "
            "destination_service_namespace=\"emojivoto\", destination_service_name!=\"\"}[30s]))");
}

TEST(TrafficSplitQueries, RejectsAnInvalidNamespace) {
  EXPECT_THROW(
      BuildQueries(LinkerdProfile(),
                   SplitQuery({{"emojivoto\"} or vector(1) #", "voting-svc", {"voting-v1-svc"}}})),
      std::invalid_argument);
}

TEST(TrafficSplitQueries, AProfileWithoutTrafficSplitsSaysSo) {
  MeshProfileSpec spec = BuiltinProfileSpec("linkerd");
  spec.traffic_split.reset();
  try {
    BuildQueries(MeshProfile(spec), SplitQuery({VotingSplit()}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "the linkerd mesh profile cannot answer for trafficsplits");
  }
}

TEST(AuthorityNamesService, ClusterDnsNamesOfTheApexOnly) {
  EXPECT_TRUE(AuthorityNamesService("voting-svc.emojivoto.svc.cluster.local:8080", "voting-svc",
                                    "emojivoto"));
  EXPECT_TRUE(
      AuthorityNamesService("voting-svc.emojivoto.svc.cluster.local", "voting-svc", "emojivoto"));
  EXPECT_TRUE(
      AuthorityNamesService("voting-svc.emojivoto.svc.k8s.example:80", "voting-svc", "emojivoto"));
  // Another service whose name has the apex as a prefix or suffix, another namespace, the
  // backend's own name, short forms, and nothing after ".svc.".
  EXPECT_FALSE(AuthorityNamesService("voting-svc2.emojivoto.svc.cluster.local:8080", "voting-svc",
                                     "emojivoto"));
  EXPECT_FALSE(AuthorityNamesService("x-voting-svc.emojivoto.svc.cluster.local:8080", "voting-svc",
                                     "emojivoto"));
  EXPECT_FALSE(
      AuthorityNamesService("voting-svc.other.svc.cluster.local:8080", "voting-svc", "emojivoto"));
  EXPECT_FALSE(AuthorityNamesService("voting-v1-svc.emojivoto.svc.cluster.local:8080", "voting-svc",
                                     "emojivoto"));
  EXPECT_FALSE(AuthorityNamesService("voting-svc:8080", "voting-svc", "emojivoto"));
  EXPECT_FALSE(AuthorityNamesService("voting-svc.emojivoto.svc.:8080", "voting-svc", "emojivoto"));
  EXPECT_FALSE(AuthorityNamesService("voting-svc.emojivoto.svc.cluster.local:http", "voting-svc",
                                     "emojivoto"));
  // A regex metacharacter in a name is a plain character: "." does not match "x".
  EXPECT_FALSE(
      AuthorityNamesService("votingxsvc.emojivotoxsvc.cluster.local", "voting.svc", "emojivoto"));
}

TEST(TrafficSplitSamples, LinkerdKeepsRowsSentToTheApexPerBackend) {
  const SampleQuery q = SplitQuery({VotingSplit()});
  const std::string apex = "voting-svc.emojivoto.svc.cluster.local:8080";
  const std::vector<VectorSample> counts = {
      Row({{"dst_namespace", "emojivoto"},
           {"dst_service", "voting-v1-svc"},
           {"authority", apex},
           {"classification", "success"}},
          243),
      Row({{"dst_namespace", "emojivoto"},
           {"dst_service", "voting-v1-svc"},
           {"authority", apex},
           {"classification", "failure"}},
          27),
      Row({{"dst_namespace", "emojivoto"},
           {"dst_service", "voting-v2-svc"},
           {"authority", apex},
           {"classification", "success"}},
          27.5),
      // Called directly, not through the apex: not the split's traffic.
      Row({{"dst_namespace", "emojivoto"},
           {"dst_service", "voting-v1-svc"},
           {"authority", "voting-v1-svc.emojivoto.svc.cluster.local:8080"},
           {"classification", "success"}},
          1000),
      // Not a backend of the split.
      Row({{"dst_namespace", "emojivoto"},
           {"dst_service", "emoji-svc"},
           {"authority", "emoji-svc.emojivoto.svc.cluster.local:8080"},
           {"classification", "success"}},
          600),
      // Neither success nor failure.
      Row({{"dst_namespace", "emojivoto"},
           {"dst_service", "voting-v2-svc"},
           {"authority", apex},
           {"classification", "other"}},
          5)};
  const std::vector<VectorSample> buckets = {
      Row({{"dst_namespace", "emojivoto"},
           {"dst_service", "voting-v1-svc"},
           {"authority", apex},
           {"le", "10"}},
          200),
      Row({{"dst_namespace", "emojivoto"},
           {"dst_service", "voting-v1-svc"},
           {"authority", apex},
           {"le", "+Inf"}},
          270),
      Row({{"dst_namespace", "emojivoto"},
           {"dst_service", "voting-v1-svc"},
           {"authority", "voting-v1-svc.emojivoto.svc.cluster.local:8080"},
           {"le", "10"}},
          1000)};
  const auto s = ToSamples(LinkerdProfile(), q, counts, buckets);
  ASSERT_EQ(s.backends.size(), 2u);
  EXPECT_EQ(s.backends[0].ns, "emojivoto");
  EXPECT_EQ(s.backends[0].apex, "voting-svc");
  EXPECT_EQ(s.backends[0].backend, "voting-v1-svc");
  EXPECT_EQ(s.backends[0].side, Side::kClient);
  EXPECT_DOUBLE_EQ(s.backends[0].counts.success, 243);
  EXPECT_DOUBLE_EQ(s.backends[0].counts.failure, 27);
  EXPECT_EQ(s.backends[0].counts.latency_buckets,
            (std::map<double, double>{{0.010, 200}, {kInf, 270}}));
  EXPECT_EQ(s.backends[1].backend, "voting-v2-svc");
  EXPECT_DOUBLE_EQ(s.backends[1].counts.success, 27.5);
  EXPECT_DOUBLE_EQ(s.backends[1].counts.failure, 0);
  EXPECT_TRUE(s.backends[1].counts.latency_buckets.empty());
  EXPECT_TRUE(s.resources.empty());
  EXPECT_TRUE(s.edges.empty());
}

TEST(TrafficSplitSamples, LinkerdSplitsOfSeveralNamespaces) {
  const SampleQuery q = SplitQuery({VotingSplit(), {"shop", "cart", {"cart-v1", "voting-v1-svc"}}});
  const std::vector<VectorSample> counts = {
      Row({{"dst_namespace", "shop"},
           {"dst_service", "voting-v1-svc"},
           {"authority", "cart.shop.svc.cluster.local:80"},
           {"classification", "success"}},
          7),
      Row({{"dst_namespace", "emojivoto"},
           {"dst_service", "voting-v1-svc"},
           {"authority", "cart.shop.svc.cluster.local:80"},  // wrong namespace for that apex
           {"classification", "success"}},
          99)};
  const auto s = ToSamples(LinkerdProfile(), q, counts, {});
  ASSERT_EQ(s.backends.size(), 1u);
  EXPECT_EQ(s.backends[0].ns, "shop");
  EXPECT_EQ(s.backends[0].apex, "cart");
  EXPECT_EQ(s.backends[0].backend, "voting-v1-svc");
  EXPECT_DOUBLE_EQ(s.backends[0].counts.success, 7);
}

TEST(TrafficSplitSamples, IstioCountsEveryClientRequestToTheBackendService) {
  const SampleQuery q = SplitQuery({VotingSplit()});
  const std::vector<VectorSample> counts = {
      Row({{"destination_service_namespace", "emojivoto"},
           {"destination_service_name", "voting-v1-svc"},
           {"response_code", "200"},
           {"grpc_response_status", ""}},
          240),
      Row({{"destination_service_namespace", "emojivoto"},
           {"destination_service_name", "voting-v1-svc"},
           {"response_code", "500"},
           {"grpc_response_status", ""}},
          30),
      Row({{"destination_service_namespace", "emojivoto"},
           {"destination_service_name", "voting-v2-svc"},
           {"response_code", "200"},
           {"grpc_response_status", "14"}},  // gRPC Unavailable
          3),
      Row({{"destination_service_namespace", "emojivoto"},
           {"destination_service_name", "emoji-svc"},
           {"response_code", "200"},
           {"grpc_response_status", ""}},
          600)};
  const std::vector<VectorSample> buckets = {Row({{"destination_service_namespace", "emojivoto"},
                                                  {"destination_service_name", "voting-v2-svc"},
                                                  {"le", "25"}},
                                                 3)};
  const auto s = ToSamples(IstioProfile(), q, counts, buckets);
  ASSERT_EQ(s.backends.size(), 2u);
  EXPECT_EQ(s.backends[0].backend, "voting-v1-svc");
  EXPECT_DOUBLE_EQ(s.backends[0].counts.success, 240);
  EXPECT_DOUBLE_EQ(s.backends[0].counts.failure, 30);
  EXPECT_EQ(s.backends[1].backend, "voting-v2-svc");
  EXPECT_DOUBLE_EQ(s.backends[1].counts.success, 0);
  EXPECT_DOUBLE_EQ(s.backends[1].counts.failure, 3);
  EXPECT_EQ(s.backends[1].counts.latency_buckets, (std::map<double, double>{{0.025, 3}}));
}

TEST(TrafficSplitYaml, ParsesAndNamesMistakes) {
  const std::string base = *BuiltinProfileYaml("linkerd");
  const auto cut = base.find("traffic_split:");
  ASSERT_NE(cut, std::string::npos);
  const std::string head = base.substr(0, cut);
  auto parse = [&](const std::string& tail) { return ParseProfileYaml(head + tail, "p.yaml"); };
  const auto spec = parse(
      "traffic_split:\n  side: client\n  selector: [{label: direction, value: outbound}]\n"
      "  namespace: dst_namespace\n  backend: dst_service\n");
  ASSERT_TRUE(spec.traffic_split);
  EXPECT_EQ(spec.traffic_split->backend_label, "dst_service");
  EXPECT_EQ(spec.traffic_split->authority_label, "");
  EXPECT_FALSE(parse("").traffic_split);
  auto error = [&](const std::string& tail) -> std::string {
    try {
      parse(tail);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error("traffic_split:\n  side: client\n  namespace: dst_namespace\n"),
            "p.yaml: traffic_split.backend: is required");
  EXPECT_EQ(error("traffic_split:\n  side: up\n  namespace: a\n  backend: b\n"),
            "p.yaml: traffic_split.side: \"up\" is not one of client, server");
  EXPECT_EQ(error("traffic_split:\n  side: client\n  namespace: a\n  backend: b\n  apex: c\n"),
            "p.yaml: traffic_split.apex: unknown key (expected one of: authority, backend, "
            "namespace, selector, side)");
  EXPECT_EQ(
      error("traffic_split:\n  side: client\n  namespace: a\n  backend: \"b}) or vector(1\"\n"),
      "p.yaml: traffic_split.backend: \"b}) or vector(1\" is not a PromQL label name");
}

}  // namespace
}  // namespace smi::sources::prometheus
