// The built-in Istio (telemetry v2) profile: the exact PromQL per request shape, and the mapping
// of answers (reporter, workload and pod labels, response_code/grpc_response_status) to samples.
#include <limits>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "sources/prometheus/answer_decoding.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/promql_builder.h"

namespace smi::sources::prometheus {
namespace {

using std::chrono::seconds;

constexpr double kInf = std::numeric_limits<double>::infinity();

// A query of `shape` over 30s at a fixed whole second.
SampleQuery At(QueryShape shape) {
  SampleQuery q;
  q.shape = std::move(shape);
  q.window = seconds(30);
  q.at = TimePoint(seconds(1700000000));
  return q;
}

// The resource scope of `kind` objects.
SampleQuery Q(ResourceKind kind, std::string ns, std::string name) {
  return At(ResourceScope{kind, std::move(ns), std::move(name)});
}

// The edges of one named object.
SampleQuery Edges(ResourceKind kind, std::string ns, std::string name) {
  return At(ObjectEdges{kind, std::move(ns), std::move(name)});
}

// Every workload kind at once.
SampleQuery All(std::string ns, std::string name) {
  return At(AllWorkloads{std::move(ns), std::move(name)});
}

ObjectReference Ref(std::string kind, std::string ns, std::string name) {
  ObjectReference r;
  r.kind = std::move(kind);
  r.ns = std::move(ns);
  r.name = std::move(name);
  return r;
}

VectorSample Row(std::map<std::string, std::string> labels, double value) {
  return VectorSample{std::move(labels), value};
}

// --- PromQL text, per request shape -------------------------------------------------------------

TEST(IstioProfileQueries, OneDeployment) {
  const auto q = BuildQueries(IstioProfile(), Q(ResourceKind::kDeployment, "emojivoto", "web"));
  EXPECT_EQ(q.counts,
            "sum by (destination_workload_namespace, destination_workload, response_code, "
            "grpc_response_status) (increase(istio_requests_total{reporter=\"destination\", "
            "job=\"kubernetes-pods\", "
            "destination_workload_namespace=\"emojivoto\", "
            "destination_workload=\"web\"}[30s])) or label_replace(group by "
            "(destination_workload_namespace, destination_workload) "
            "(istio_requests_total{reporter=\"destination\", "
            "destination_workload_namespace=\"emojivoto\", destination_workload=\"web\"}), "
            "\"smi_exists\", \"true1\", \"\", \"\") or label_replace(group by "
            "(source_workload_namespace, source_workload) "
            "(istio_requests_total{reporter=\"source\", "
            "source_workload_namespace=\"emojivoto\", source_workload=\"web\"}), "
            "\"smi_exists\", \"true2\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (destination_workload_namespace, destination_workload, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"destination\", "
            "job=\"kubernetes-pods\", "
            "destination_workload_namespace=\"emojivoto\", "
            "destination_workload=\"web\"}[30s]))");
}

TEST(IstioProfileQueries, DeploymentsInANamespace) {
  const auto q = BuildQueries(IstioProfile(), Q(ResourceKind::kDeployment, "emojivoto", ""));
  EXPECT_EQ(q.counts,
            "sum by (destination_workload_namespace, destination_workload, response_code, "
            "grpc_response_status) (increase(istio_requests_total{reporter=\"destination\", "
            "job=\"kubernetes-pods\", "
            "destination_workload_namespace=\"emojivoto\", "
            "destination_workload!=\"\"}[30s])) or label_replace(group by "
            "(destination_workload_namespace, destination_workload) "
            "(istio_requests_total{reporter=\"destination\", "
            "destination_workload_namespace=\"emojivoto\", destination_workload!=\"\"}), "
            "\"smi_exists\", \"true1\", \"\", \"\") or label_replace(group by "
            "(source_workload_namespace, source_workload) "
            "(istio_requests_total{reporter=\"source\", "
            "source_workload_namespace=\"emojivoto\", source_workload!=\"\"}), "
            "\"smi_exists\", \"true2\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (destination_workload_namespace, destination_workload, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"destination\", "
            "job=\"kubernetes-pods\", "
            "destination_workload_namespace=\"emojivoto\", destination_workload!=\"\"}[30s]))");
}

TEST(IstioProfileQueries, PodsInANamespace) {
  const auto q = BuildQueries(IstioProfile(), Q(ResourceKind::kPod, "emojivoto", ""));
  EXPECT_EQ(q.counts,
            "sum by (namespace, pod, destination_workload_namespace, destination_workload, "
            "response_code, grpc_response_status) "
            "(increase(istio_requests_total{reporter=\"destination\", job=\"kubernetes-pods\", "
            "namespace=\"emojivoto\", pod!=\"\"}[30s])) or label_replace(group by "
            "(namespace, pod) (up{job=\"kubernetes-pods\", namespace=\"emojivoto\", "
            "pod!=\"\"}), \"smi_exists\", \"true\", \"\", \"\")");
  // Pods are also grouped by the workload their sidecar names (one per pod): the owner of a pod
  // the Kubernetes caches never knew (docs/decisions.md, decision 16).
  EXPECT_EQ(q.buckets,
            "sum by (namespace, pod, destination_workload_namespace, destination_workload, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"destination\", "
            "job=\"kubernetes-pods\", "
            "namespace=\"emojivoto\", pod!=\"\"}[30s]))");
}

TEST(IstioProfileQueries, OneNamespace) {
  const auto q = BuildQueries(IstioProfile(), Q(ResourceKind::kNamespace, "", "emojivoto"));
  EXPECT_EQ(q.counts,
            "sum by (destination_workload_namespace, response_code, grpc_response_status) "
            "(increase(istio_requests_total{reporter=\"destination\", job=\"kubernetes-pods\", "
            "destination_workload_namespace=\"emojivoto\"}[30s])) or label_replace(group by "
            "(namespace) (up{job=\"kubernetes-pods\", namespace=\"emojivoto\"}), "
            "\"smi_exists\", \"true\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (destination_workload_namespace, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"destination\", "
            "job=\"kubernetes-pods\", "
            "destination_workload_namespace=\"emojivoto\"}[30s]))");
}

TEST(IstioProfileQueries, DeploymentEdges) {
  const auto q = BuildQueries(IstioProfile(), Edges(ResourceKind::kDeployment, "emojivoto", "web"));
  EXPECT_EQ(q.counts,
            "label_replace(sum by (source_workload_namespace, source_workload, "
            "destination_workload_namespace, destination_workload, destination_service, "
            "response_code, grpc_response_status) "
            "(increase(istio_requests_total{reporter=\"source\", job=\"kubernetes-pods\", "
            "source_workload_namespace=\"emojivoto\", source_workload=\"web\"}[30s])), "
            "\"smi_edge\", \"to\", \"\", \"\") or label_replace(sum by "
            "(source_workload_namespace, source_workload, destination_workload_namespace, "
            "destination_workload, response_code, grpc_response_status) "
            "(increase(istio_requests_total{reporter=\"destination\", job=\"kubernetes-pods\", "
            "destination_workload_namespace=\"emojivoto\", "
            "destination_workload=\"web\"}[30s])), \"smi_edge\", \"from\", \"\", \"\") or "
            "label_replace(group by (destination_workload_namespace, destination_workload) "
            "(istio_requests_total{reporter=\"destination\", "
            "destination_workload_namespace=\"emojivoto\", destination_workload=\"web\"}), "
            "\"smi_exists\", \"true1\", \"\", \"\") or label_replace(group by "
            "(source_workload_namespace, source_workload) "
            "(istio_requests_total{reporter=\"source\", "
            "source_workload_namespace=\"emojivoto\", source_workload=\"web\"}), "
            "\"smi_exists\", \"true2\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "label_replace(sum by (source_workload_namespace, source_workload, "
            "destination_workload_namespace, destination_workload, destination_service, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"source\", "
            "job=\"kubernetes-pods\", source_workload_namespace=\"emojivoto\", "
            "source_workload=\"web\"}[30s])), \"smi_edge\", \"to\", \"\", \"\") or "
            "label_replace(sum by (source_workload_namespace, source_workload, "
            "destination_workload_namespace, destination_workload, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"destination\", "
            "job=\"kubernetes-pods\", destination_workload_namespace=\"emojivoto\", "
            "destination_workload=\"web\"}[30s])), \"smi_edge\", \"from\", \"\", \"\")");
}

TEST(IstioProfileQueries, PodEdges) {
  const auto q = BuildQueries(IstioProfile(), Edges(ResourceKind::kPod, "emojivoto", "web-1"));
  EXPECT_EQ(q.counts,
            "label_replace(sum by (namespace, pod, destination_workload_namespace, "
            "destination_workload, destination_service, response_code, grpc_response_status) "
            "(increase(istio_requests_total{reporter=\"source\", job=\"kubernetes-pods\", "
            "namespace=\"emojivoto\", pod=\"web-1\"}[30s])), \"smi_edge\", \"to\", \"\", \"\") "
            "or label_replace(sum by (source_workload_namespace, source_workload, namespace, "
            "pod, response_code, grpc_response_status) "
            "(increase(istio_requests_total{reporter=\"destination\", job=\"kubernetes-pods\", "
            "namespace=\"emojivoto\", pod=\"web-1\"}[30s])), \"smi_edge\", \"from\", \"\", "
            "\"\") or label_replace(group by (namespace, pod) (up{job=\"kubernetes-pods\", "
            "namespace=\"emojivoto\", pod=\"web-1\"}), \"smi_exists\", \"true\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "label_replace(sum by (namespace, pod, destination_workload_namespace, "
            "destination_workload, destination_service, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"source\", "
            "job=\"kubernetes-pods\", namespace=\"emojivoto\", pod=\"web-1\"}[30s])), "
            "\"smi_edge\", \"to\", \"\", \"\") or label_replace(sum by "
            "(source_workload_namespace, source_workload, namespace, pod, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"destination\", "
            "job=\"kubernetes-pods\", namespace=\"emojivoto\", pod=\"web-1\"}[30s])), "
            "\"smi_edge\", \"from\", \"\", \"\")");
}

TEST(IstioProfileQueries, NamespaceEdges) {
  const auto q = BuildQueries(IstioProfile(), Edges(ResourceKind::kNamespace, "", "emojivoto"));
  EXPECT_EQ(q.counts,
            "label_replace(sum by (source_workload_namespace, destination_workload_namespace, "
            "destination_service, response_code, grpc_response_status) "
            "(increase(istio_requests_total{reporter=\"source\", job=\"kubernetes-pods\", "
            "source_workload_namespace=\"emojivoto\"}[30s])), \"smi_edge\", \"to\", \"\", "
            "\"\") or label_replace(sum by (source_workload_namespace, "
            "destination_workload_namespace, response_code, grpc_response_status) "
            "(increase(istio_requests_total{reporter=\"destination\", job=\"kubernetes-pods\", "
            "destination_workload_namespace=\"emojivoto\"}[30s])), \"smi_edge\", \"from\", "
            "\"\", \"\") or label_replace(group by (namespace) (up{job=\"kubernetes-pods\", "
            "namespace=\"emojivoto\"}), \"smi_exists\", \"true\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "label_replace(sum by (source_workload_namespace, destination_workload_namespace, "
            "destination_service, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"source\", "
            "job=\"kubernetes-pods\", source_workload_namespace=\"emojivoto\"}[30s])), "
            "\"smi_edge\", \"to\", \"\", \"\") or label_replace(sum by "
            "(source_workload_namespace, destination_workload_namespace, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"destination\", "
            "job=\"kubernetes-pods\", destination_workload_namespace=\"emojivoto\"}[30s])), "
            "\"smi_edge\", \"from\", \"\", \"\")");
}

TEST(IstioProfileQueries, AllWorkloadKinds) {
  const auto q = BuildQueries(IstioProfile(), All("emojivoto", ""));
  EXPECT_EQ(q.counts,
            "sum by (destination_workload_namespace, destination_workload, response_code, "
            "grpc_response_status) (increase(istio_requests_total{reporter=\"destination\", "
            "job=\"kubernetes-pods\", "
            "destination_workload_namespace=\"emojivoto\", "
            "destination_workload!=\"\"}[30s])) or label_replace(group by "
            "(destination_workload_namespace, destination_workload) "
            "(istio_requests_total{reporter=\"destination\", "
            "destination_workload_namespace=\"emojivoto\", destination_workload!=\"\"}), "
            "\"smi_exists\", \"true1\", \"\", \"\") or label_replace(group by "
            "(source_workload_namespace, source_workload) "
            "(istio_requests_total{reporter=\"source\", "
            "source_workload_namespace=\"emojivoto\", source_workload!=\"\"}), "
            "\"smi_exists\", \"true2\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (destination_workload_namespace, destination_workload, le) "
            "(increase(istio_request_duration_milliseconds_bucket{reporter=\"destination\", "
            "job=\"kubernetes-pods\", "
            "destination_workload_namespace=\"emojivoto\", destination_workload!=\"\"}[30s]))");
}

TEST(IstioProfileQueries, JobIsAParameterAndNamesAreChecked) {
  const auto q = BuildQueries(IstioProfile("istio-proxies"), Q(ResourceKind::kPod, "a", "b"));
  EXPECT_NE(q.counts.find("up{job=\"istio-proxies\", namespace=\"a\", pod=\"b\"}"),
            std::string::npos);
  const MeshProfile p = IstioProfile();
  for (const char* bad : {"we\"b", "web\"} or vector(1) or up{x=\"", ".*", "Web", "web|emoji"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(BuildQueries(p, Q(ResourceKind::kDeployment, "emojivoto", bad)),
                 std::invalid_argument);
    EXPECT_THROW(BuildQueries(p, Edges(ResourceKind::kPod, bad, "web")), std::invalid_argument);
    EXPECT_THROW(BuildQueries(p, Edges(ResourceKind::kNamespace, "", bad)), std::invalid_argument);
  }
}

TEST(IstioProfileQueries, StatefulSetsAndDaemonSetsAreWorkloadsToo) {
  const MeshProfile p = IstioProfile();
  EXPECT_EQ(BuildQueries(p, Q(ResourceKind::kStatefulSet, "db", "pg")).buckets,
            BuildQueries(p, Q(ResourceKind::kDeployment, "db", "pg")).buckets);
  EXPECT_EQ(BuildQueries(p, Edges(ResourceKind::kDaemonSet, "db", "pg")).counts,
            BuildQueries(p, Edges(ResourceKind::kDeployment, "db", "pg")).counts);
}

// --- Mapping answers to samples -----------------------------------------------------------------

std::map<std::string, std::string> Dst(std::string ns, std::string wl, std::string code,
                                       std::string grpc = "") {
  return {{"destination_workload_namespace", std::move(ns)},
          {"destination_workload", std::move(wl)},
          {"response_code", std::move(code)},
          {"grpc_response_status", std::move(grpc)}};
}

TEST(IstioProfileSamples, FailuresAre5xxAndFailingGrpcStatuses) {
  const auto s =
      ToSamples(IstioProfile(), Q(ResourceKind::kDeployment, "emojivoto", ""),
                {Row(Dst("emojivoto", "web", "200"), 100), Row(Dst("emojivoto", "web", "404"), 3),
                 Row(Dst("emojivoto", "web", "503"), 2), Row(Dst("emojivoto", "web", "500"), 1),
                 Row(Dst("emojivoto", "web", "0"), 1),  // no response (reset): a failure
                 Row(Dst("emojivoto", "emoji", "200", "0"), 50),
                 Row(Dst("emojivoto", "emoji", "200", "5"), 4),   // NotFound: success
                 Row(Dst("emojivoto", "emoji", "200", "14"), 3),  // Unavailable
                 Row(Dst("emojivoto", "emoji", "200", "2"), 1),   // Unknown
                 Row(Dst("emojivoto", "emoji", "200", "4"), 1),   // DeadlineExceeded
                 Row(Dst("emojivoto", "emoji", "200", "7"), 1),   // PermissionDenied
                 Row(Dst("emojivoto", "emoji", "200", "13"), 1),  // Internal
                 Row(Dst("emojivoto", "emoji", "200", "15"), 1),  // DataLoss
                 Row(Dst("emojivoto", "emoji", "200", "1"), 2),   // Cancelled: success
                 Row(Dst("emojivoto", "emoji", "200", "16"), 2),  // Unauthenticated: success
                 Row(Dst("emojivoto", "", "200"), 7)},            // no workload: skipped
                {});
  ASSERT_EQ(s.resources.size(), 2u);
  EXPECT_EQ(s.resources[0].resource, Ref("Deployment", "emojivoto", "emoji"));
  EXPECT_DOUBLE_EQ(s.resources[0].counts.success, 58);
  EXPECT_DOUBLE_EQ(s.resources[0].counts.failure, 8);
  EXPECT_EQ(s.resources[1].resource, Ref("Deployment", "emojivoto", "web"));
  EXPECT_DOUBLE_EQ(s.resources[1].counts.success, 103);
  EXPECT_DOUBLE_EQ(s.resources[1].counts.failure, 4);
}

TEST(IstioProfileSamples, BucketsAreMillisecondsAndExistenceComesFromEitherReporter) {
  auto bucket = [](std::string wl, std::string le) {
    return std::map<std::string, std::string>{{"destination_workload_namespace", "emojivoto"},
                                              {"destination_workload", std::move(wl)},
                                              {"le", std::move(le)}};
  };
  const auto s = ToSamples(
      IstioProfile(), Q(ResourceKind::kStatefulSet, "emojivoto", ""),
      {Row(Dst("emojivoto", "web", "200"), 10),
       Row({{"destination_workload_namespace", "emojivoto"},
            {"destination_workload", "web"},
            {"smi_exists", "true1"}},
           1),
       // A pure client (no inbound traffic) exists through its source-reported series.
       Row({{"source_workload_namespace", "emojivoto"},
            {"source_workload", "vote-bot"},
            {"smi_exists", "true2"}},
           1),
       // A row of another existence source than its labels say: not understood, skipped.
       Row({{"namespace", "emojivoto"}, {"pod", "p"}, {"smi_exists", "true1"}}, 1)},
      {Row(bucket("web", "0.5"), 2), Row(bucket("web", "5"), 8), Row(bucket("web", "+Inf"), 10)});
  EXPECT_EQ(s.known_objects,
            (std::vector<ObjectReference>{Ref("StatefulSet", "emojivoto", "vote-bot"),
                                          Ref("StatefulSet", "emojivoto", "web")}));
  ASSERT_EQ(s.resources.size(), 1u);
  EXPECT_EQ(s.resources[0].counts.latency_buckets,
            (std::map<double, double>{{0.0005, 2}, {0.005, 8}, {kInf, 10}}));
}

// A pod's sample carries the workload its series name, without a kind (Istio's workload labels do
// not say it); rows of one pod naming different workloads name none; other kinds carry none.
TEST(IstioProfileSamples, PodsCarryTheWorkloadTheirSeriesName) {
  auto pod = [](std::string name, std::string workload, std::string code) {
    return std::map<std::string, std::string>{{"namespace", "emojivoto"},
                                              {"pod", std::move(name)},
                                              {"destination_workload_namespace", "emojivoto"},
                                              {"destination_workload", std::move(workload)},
                                              {"response_code", std::move(code)}};
  };
  const auto s = ToSamples(IstioProfile(), Q(ResourceKind::kPod, "emojivoto", ""),
                           {Row(pod("web-1", "web", "200"), 10), Row(pod("web-1", "web", "503"), 1),
                            Row(pod("odd-1", "a", "200"), 2), Row(pod("odd-1", "b", "200"), 3),
                            Row({{"namespace", "emojivoto"}, {"pod", "bare"}}, 4)},
                           {});
  ASSERT_EQ(s.resources.size(), 3u);
  EXPECT_EQ(s.resources[0].resource, Ref("Pod", "emojivoto", "bare"));
  EXPECT_EQ(s.resources[0].owner, std::nullopt);
  EXPECT_EQ(s.resources[1].resource, Ref("Pod", "emojivoto", "odd-1"));
  EXPECT_EQ(s.resources[1].owner, std::nullopt);
  EXPECT_DOUBLE_EQ(s.resources[1].counts.success, 5);
  EXPECT_EQ(s.resources[2].resource, Ref("Pod", "emojivoto", "web-1"));
  EXPECT_EQ(s.resources[2].owner, Ref("", "emojivoto", "web"));
  EXPECT_DOUBLE_EQ(s.resources[2].counts.success, 10);
  EXPECT_DOUBLE_EQ(s.resources[2].counts.failure, 1);

  const auto workloads = ToSamples(IstioProfile(), Q(ResourceKind::kDeployment, "emojivoto", ""),
                                   {Row(pod("web-1", "web", "200"), 10)}, {});
  ASSERT_EQ(workloads.resources.size(), 1u);
  EXPECT_EQ(workloads.resources[0].owner, std::nullopt);
}

TEST(IstioProfileSamples, ToEdgesAreClientSideFromEdgesServerSide) {
  auto edge = [](std::string tag, std::string sns, std::string swl, std::string dns,
                 std::string dwl, std::string code) {
    return std::map<std::string, std::string>{{"smi_edge", std::move(tag)},
                                              {"source_workload_namespace", std::move(sns)},
                                              {"source_workload", std::move(swl)},
                                              {"destination_workload_namespace", std::move(dns)},
                                              {"destination_workload", std::move(dwl)},
                                              {"response_code", std::move(code)},
                                              {"grpc_response_status", ""}};
  };
  const auto s = ToSamples(IstioProfile(), Edges(ResourceKind::kDeployment, "emojivoto", "web"),
                           {Row(edge("to", "emojivoto", "web", "emojivoto", "emoji", "200"), 30),
                            Row(edge("to", "emojivoto", "web", "emojivoto", "voting", "500"), 3),
                            Row(edge("from", "load", "loadgen", "emojivoto", "web", "200"), 45),
                            Row(edge("from", "unknown", "unknown", "emojivoto", "web", "503"), 2)},
                           {});
  ASSERT_EQ(s.edges.size(), 4u);
  const auto web = Ref("Deployment", "emojivoto", "web");
  EXPECT_EQ(s.edges[0].resource, web);
  EXPECT_EQ(s.edges[0].direction, Direction::kTo);
  EXPECT_EQ(s.edges[0].side, Side::kClient);
  EXPECT_EQ(s.edges[0].peer, Ref("Deployment", "emojivoto", "emoji"));
  EXPECT_DOUBLE_EQ(s.edges[0].counts.success, 30);
  EXPECT_EQ(s.edges[1].peer, Ref("Deployment", "emojivoto", "voting"));
  EXPECT_DOUBLE_EQ(s.edges[1].counts.failure, 3);
  EXPECT_EQ(s.edges[2].direction, Direction::kFrom);
  EXPECT_EQ(s.edges[2].side, Side::kServer);
  EXPECT_EQ(s.edges[2].peer, Ref("Deployment", "load", "loadgen"));
  EXPECT_DOUBLE_EQ(s.edges[2].counts.success, 45);
  // A caller Istio does not know is kept (never dropped) as the peer of kind Unknown, not as an
  // object "unknown" in a namespace "unknown".
  EXPECT_EQ(s.edges[3].peer, Ref("Unknown", "", ""));
  EXPECT_DOUBLE_EQ(s.edges[3].counts.failure, 2);
}

TEST(IstioProfileSamples, PodEdgesNameThePeerWorkload) {
  const auto s =
      ToSamples(IstioProfile(), Edges(ResourceKind::kPod, "emojivoto", "web-1"),
                {Row({{"smi_edge", "to"},
                      {"namespace", "emojivoto"},
                      {"pod", "web-1"},
                      {"destination_workload_namespace", "emojivoto"},
                      {"destination_workload", "emoji"},
                      {"response_code", "200"}},
                     5),
                 Row({{"smi_edge", "from"},
                      {"namespace", "emojivoto"},
                      {"pod", "web-1"},
                      {"source_workload_namespace", "emojivoto"},
                      {"source_workload", "vote-bot"},
                      {"response_code", "200"}},
                     7),
                 Row({{"namespace", "emojivoto"}, {"pod", "web-1"}, {"smi_exists", "true"}}, 1)},
                {});
  EXPECT_EQ(s.known_objects, std::vector<ObjectReference>{Ref("Pod", "emojivoto", "web-1")});
  ASSERT_EQ(s.edges.size(), 2u);
  EXPECT_EQ(s.edges[0].resource, Ref("Pod", "emojivoto", "web-1"));
  EXPECT_EQ(s.edges[0].peer, Ref("Deployment", "emojivoto", "emoji"));
  EXPECT_EQ(s.edges[0].side, Side::kClient);
  EXPECT_EQ(s.edges[1].peer, Ref("Deployment", "emojivoto", "vote-bot"));
  EXPECT_EQ(s.edges[1].side, Side::kServer);
}

TEST(IstioProfileSamples, NamespacesAndAllWorkloadKinds) {
  const auto ns = ToSamples(
      IstioProfile(), Q(ResourceKind::kNamespace, "", ""),
      {Row({{"destination_workload_namespace", "emojivoto"}, {"response_code", "200"}}, 9),
       Row({{"namespace", "emojivoto"}, {"smi_exists", "true"}}, 1),
       Row({{"namespace", "idle"}, {"smi_exists", "true"}}, 1)},
      {});
  EXPECT_EQ(ns.known_objects, (std::vector<ObjectReference>{Ref("Namespace", "", "emojivoto"),
                                                            Ref("Namespace", "", "idle")}));
  ASSERT_EQ(ns.resources.size(), 1u);
  EXPECT_DOUBLE_EQ(ns.resources[0].counts.success, 9);

  const auto all =
      ToSamples(IstioProfile(), All("emojivoto", ""), {Row(Dst("emojivoto", "web", "200"), 4)}, {});
  ASSERT_EQ(all.resources.size(), 1u);
  EXPECT_EQ(all.resources[0].resource, Ref("Deployment", "emojivoto", "web"));
}

}  // namespace
}  // namespace smi::sources::prometheus
