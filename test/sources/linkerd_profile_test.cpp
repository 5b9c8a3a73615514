#include "sources/prometheus/mesh_profile.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sources/prometheus/answer_decoding.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/promql_builder.h"

namespace smi::sources::prometheus {
namespace {

using std::chrono::milliseconds;
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

// The edges of every pod of a namespace.
SampleQuery PodEdges(std::string ns, std::optional<ResourceKind> peer_kind = std::nullopt) {
  return At(NamespacePodEdges{std::move(ns), peer_kind});
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

// --- PromQL text, per request shape -------------------------------------------------------------

TEST(LinkerdProfileQueries, OneDeployment) {
  const auto q = BuildQueries(LinkerdProfile(), Q(ResourceKind::kDeployment, "emojivoto", "web"));
  EXPECT_EQ(q.counts,
            "sum by (namespace, deployment, classification) (increase(response_total{"
            "direction=\"inbound\", job=\"linkerd-proxy\", namespace=\"emojivoto\", "
            "deployment=\"web\"}[30s])) "
            "or label_replace(group by (namespace, deployment) (up{job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", deployment=\"web\"}), \"smi_exists\", \"true\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (namespace, deployment, le) (increase(response_latency_ms_bucket{"
            "direction=\"inbound\", job=\"linkerd-proxy\", namespace=\"emojivoto\", "
            "deployment=\"web\"}[30s]))");
}

TEST(LinkerdProfileQueries, DeploymentsInANamespace) {
  const auto q = BuildQueries(LinkerdProfile(), Q(ResourceKind::kDeployment, "emojivoto", ""));
  EXPECT_EQ(q.counts,
            "sum by (namespace, deployment, classification) (increase(response_total{"
            "direction=\"inbound\", job=\"linkerd-proxy\", namespace=\"emojivoto\", "
            "deployment!=\"\"}[30s])) "
            "or label_replace(group by (namespace, deployment) (up{job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", deployment!=\"\"}), \"smi_exists\", \"true\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (namespace, deployment, le) (increase(response_latency_ms_bucket{"
            "direction=\"inbound\", job=\"linkerd-proxy\", namespace=\"emojivoto\", "
            "deployment!=\"\"}[30s]))");
}

TEST(LinkerdProfileQueries, DeploymentsAcrossNamespaces) {
  const auto q = BuildQueries(LinkerdProfile(), Q(ResourceKind::kDeployment, "", ""));
  EXPECT_EQ(q.counts,
            "sum by (namespace, deployment, classification) (increase(response_total{"
            "direction=\"inbound\", job=\"linkerd-proxy\", deployment!=\"\"}[30s])) "
            "or label_replace(group by (namespace, deployment) (up{job=\"linkerd-proxy\", "
            "deployment!=\"\"}), \"smi_exists\", \"true\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (namespace, deployment, le) (increase(response_latency_ms_bucket{"
            "direction=\"inbound\", job=\"linkerd-proxy\", deployment!=\"\"}[30s]))");
}

TEST(LinkerdProfileQueries, OnePod) {
  const auto q =
      BuildQueries(LinkerdProfile(), Q(ResourceKind::kPod, "emojivoto", "web-5f86686c4d-abcde"));
  EXPECT_EQ(q.counts,
            "sum by (namespace, pod, classification) (increase(response_total{"
            "direction=\"inbound\", job=\"linkerd-proxy\", namespace=\"emojivoto\", "
            "pod=\"web-5f86686c4d-abcde\"}[30s])) "
            "or label_replace(group by (namespace, pod) (up{job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", pod=\"web-5f86686c4d-abcde\"}), \"smi_exists\", \"true\", "
            "\"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (namespace, pod, le) (increase(response_latency_ms_bucket{"
            "direction=\"inbound\", job=\"linkerd-proxy\", namespace=\"emojivoto\", "
            "pod=\"web-5f86686c4d-abcde\"}[30s]))");
}

TEST(LinkerdProfileQueries, PodsInANamespaceAndAcross) {
  const MeshProfile p = LinkerdProfile();
  EXPECT_EQ(
      BuildQueries(p, Q(ResourceKind::kPod, "emojivoto", "")).buckets,
      "sum by (namespace, pod, le) (increase(response_latency_ms_bucket{"
      "direction=\"inbound\", job=\"linkerd-proxy\", namespace=\"emojivoto\", pod!=\"\"}[30s]))");
  EXPECT_EQ(BuildQueries(p, Q(ResourceKind::kPod, "", "")).counts,
            "sum by (namespace, pod, classification) (increase(response_total{"
            "direction=\"inbound\", job=\"linkerd-proxy\", pod!=\"\"}[30s])) "
            "or label_replace(group by (namespace, pod) (up{job=\"linkerd-proxy\", pod!=\"\"}), "
            "\"smi_exists\", \"true\", \"\", \"\")");
}

// The pods whose series name no workload (a Job's, a bare pod's): every workload label is empty,
// in the counts, the buckets and the existence series alike.
TEST(LinkerdProfileQueries, PodsWhoseSeriesNameNoWorkload) {
  const MeshProfile p = LinkerdProfile();
  ResourceScope pods{ResourceKind::kPod, "emojivoto", ""};
  pods.without_workload_labels = true;
  const ProfileQueries q = BuildQueries(p, At(pods));
  EXPECT_EQ(q.buckets,
            "sum by (namespace, pod, le) (increase(response_latency_ms_bucket{"
            "direction=\"inbound\", job=\"linkerd-proxy\", deployment=\"\", statefulset=\"\", "
            "daemonset=\"\", namespace=\"emojivoto\", pod!=\"\"}[30s]))");
  EXPECT_EQ(q.counts,
            "sum by (namespace, pod, classification) (increase(response_total{"
            "direction=\"inbound\", job=\"linkerd-proxy\", deployment=\"\", statefulset=\"\", "
            "daemonset=\"\", namespace=\"emojivoto\", pod!=\"\"}[30s])) "
            "or label_replace(group by (namespace, pod) (up{job=\"linkerd-proxy\", "
            "deployment=\"\", statefulset=\"\", daemonset=\"\", namespace=\"emojivoto\", "
            "pod!=\"\"}), \"smi_exists\", \"true\", \"\", \"\")");
  // Only pods can be asked for so.
  ResourceScope deployments{ResourceKind::kDeployment, "emojivoto", ""};
  deployments.without_workload_labels = true;
  EXPECT_THROW(BuildQueries(p, At(deployments)), std::invalid_argument);
}

TEST(LinkerdProfileQueries, StatefulSetAndDaemonSetLabels) {
  const MeshProfile p = LinkerdProfile();
  EXPECT_EQ(
      BuildQueries(p, Q(ResourceKind::kStatefulSet, "db", "pg")).buckets,
      "sum by (namespace, statefulset, le) (increase(response_latency_ms_bucket{"
      "direction=\"inbound\", job=\"linkerd-proxy\", namespace=\"db\", statefulset=\"pg\"}[30s]))");
  EXPECT_EQ(BuildQueries(p, Q(ResourceKind::kDaemonSet, "", "")).buckets,
            "sum by (namespace, daemonset, le) (increase(response_latency_ms_bucket{"
            "direction=\"inbound\", job=\"linkerd-proxy\", daemonset!=\"\"}[30s]))");
}

TEST(LinkerdProfileQueries, OneNamespaceGroupsOnlyByNamespace) {
  // `ns` is unused for namespaces, even when set.
  const auto q = BuildQueries(LinkerdProfile(), Q(ResourceKind::kNamespace, "other", "emojivoto"));
  EXPECT_EQ(q.counts,
            "sum by (namespace, classification) (increase(response_total{"
            "direction=\"inbound\", job=\"linkerd-proxy\", namespace=\"emojivoto\"}[30s])) "
            "or label_replace(group by (namespace) (up{job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\"}), \"smi_exists\", \"true\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (namespace, le) (increase(response_latency_ms_bucket{"
            "direction=\"inbound\", job=\"linkerd-proxy\", namespace=\"emojivoto\"}[30s]))");
}

TEST(LinkerdProfileQueries, AllNamespaces) {
  const auto q = BuildQueries(LinkerdProfile(), Q(ResourceKind::kNamespace, "", ""));
  EXPECT_EQ(q.counts,
            "sum by (namespace, classification) (increase(response_total{"
            "direction=\"inbound\", job=\"linkerd-proxy\", namespace!=\"\"}[30s])) "
            "or label_replace(group by (namespace) (up{job=\"linkerd-proxy\", namespace!=\"\"}), "
            "\"smi_exists\", \"true\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (namespace, le) (increase(response_latency_ms_bucket{"
            "direction=\"inbound\", job=\"linkerd-proxy\", namespace!=\"\"}[30s]))");
}

TEST(LinkerdProfileQueries, DeploymentEdges) {
  const auto q =
      BuildQueries(LinkerdProfile(), Edges(ResourceKind::kDeployment, "emojivoto", "web"));
  EXPECT_EQ(q.counts,
            "label_replace(sum by (namespace, deployment, dst_namespace, dst_deployment, "
            "dst_statefulset, dst_daemonset, authority, classification) "
            "(increase(response_total{direction=\"outbound\", job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", deployment=\"web\"}[30s])), \"smi_edge\", \"to\", \"\", "
            "\"\") or label_replace(sum by (namespace, deployment, statefulset, daemonset, "
            "dst_namespace, dst_deployment, classification) "
            "(increase(response_total{direction=\"outbound\", job=\"linkerd-proxy\", "
            "dst_namespace=\"emojivoto\", dst_deployment=\"web\"}[30s])), \"smi_edge\", "
            "\"from\", \"\", \"\") or label_replace(sum by (namespace, deployment, "
            "classification) (increase(response_total{direction=\"inbound\", "
            "job=\"linkerd-proxy\", client_id=\"\", namespace=\"emojivoto\", "
            "deployment=\"web\"}[30s])), \"smi_edge\", \"from_unnamed\", \"\", \"\") or "
            "label_replace(group by (namespace, deployment) (up{job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", deployment=\"web\"}), \"smi_exists\", \"true\", \"\", "
            "\"\")");
  EXPECT_EQ(q.buckets,
            "label_replace(sum by (namespace, deployment, dst_namespace, dst_deployment, "
            "dst_statefulset, dst_daemonset, authority, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", "
            "job=\"linkerd-proxy\", namespace=\"emojivoto\", deployment=\"web\"}[30s])), "
            "\"smi_edge\", \"to\", \"\", \"\") or label_replace(sum by (namespace, deployment, "
            "statefulset, daemonset, dst_namespace, dst_deployment, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", "
            "job=\"linkerd-proxy\", dst_namespace=\"emojivoto\", "
            "dst_deployment=\"web\"}[30s])), \"smi_edge\", \"from\", \"\", \"\") or "
            "label_replace(sum by (namespace, deployment, le) "
            "(increase(response_latency_ms_bucket{direction=\"inbound\", "
            "job=\"linkerd-proxy\", client_id=\"\", namespace=\"emojivoto\", "
            "deployment=\"web\"}[30s])), \"smi_edge\", \"from_unnamed\", \"\", \"\")");
}

TEST(LinkerdProfileQueries, NamedWorkloadEdgesKeepPeersByPod) {
  // A workload the series name (labelled_workloads): its own series only, summed by its label;
  // peers named as deployments by theirs, the others by their pod, in two parts of one query.
  const MeshProfile p = LinkerdProfile();
  EXPECT_TRUE(p.SeriesNameWorkloads(ResourceKind::kDeployment));
  EXPECT_TRUE(p.SeriesNameWorkloads(ResourceKind::kStatefulSet));
  EXPECT_TRUE(p.SeriesNameWorkloads(ResourceKind::kDaemonSet));
  EXPECT_FALSE(p.SeriesNameWorkloads(ResourceKind::kPod));
  const auto q = BuildQueries(
      p, At(ObjectEdges{ResourceKind::kDeployment, "emojivoto", "web", ResourceKind::kPod}));
  EXPECT_EQ(q.buckets,
            "label_replace(sum by (namespace, deployment, dst_namespace, dst_deployment, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", deployment=\"web\", dst_deployment!=\"\"}[30s])) or sum by "
            "(namespace, deployment, dst_namespace, dst_pod, authority, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", deployment=\"web\", dst_deployment=\"\"}[30s])), "
            "\"smi_edge\", \"to\", \"\", \"\") or label_replace(sum by (namespace, deployment, "
            "dst_namespace, dst_deployment, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", job=\"linkerd-proxy\", "
            "dst_namespace=\"emojivoto\", dst_deployment=\"web\", deployment!=\"\"}[30s])) or sum "
            "by (namespace, pod, dst_namespace, dst_deployment, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", job=\"linkerd-proxy\", "
            "dst_namespace=\"emojivoto\", dst_deployment=\"web\", deployment=\"\"}[30s])), "
            "\"smi_edge\", \"from\", \"\", \"\") or label_replace(sum by (namespace, deployment, "
            "le) (increase(response_latency_ms_bucket{direction=\"inbound\", "
            "job=\"linkerd-proxy\", client_id=\"\", namespace=\"emojivoto\", "
            "deployment=\"web\"}[30s])), \"smi_edge\", \"from_unnamed\", \"\", \"\")");
  const auto s = BuildQueries(p, At(ObjectEdges{ResourceKind::kStatefulSet, "emojivoto",
                                                "vote-store", ResourceKind::kPod}));
  EXPECT_EQ(s.counts,
            "label_replace(sum by (namespace, statefulset, dst_namespace, dst_statefulset, "
            "classification) (increase(response_total{direction=\"outbound\", "
            "job=\"linkerd-proxy\", namespace=\"emojivoto\", statefulset=\"vote-store\", "
            "dst_statefulset!=\"\"}[30s])) or sum by (namespace, statefulset, dst_namespace, "
            "dst_pod, authority, classification) (increase(response_total{direction=\"outbound\", "
            "job=\"linkerd-proxy\", namespace=\"emojivoto\", statefulset=\"vote-store\", "
            "dst_statefulset=\"\"}[30s])), \"smi_edge\", \"to\", \"\", \"\") or label_replace(sum "
            "by (namespace, statefulset, dst_namespace, dst_statefulset, classification) "
            "(increase(response_total{direction=\"outbound\", job=\"linkerd-proxy\", "
            "dst_namespace=\"emojivoto\", dst_statefulset=\"vote-store\", "
            "statefulset!=\"\"}[30s])) or sum by (namespace, pod, dst_namespace, dst_statefulset, "
            "classification) (increase(response_total{direction=\"outbound\", "
            "job=\"linkerd-proxy\", dst_namespace=\"emojivoto\", dst_statefulset=\"vote-store\", "
            "statefulset=\"\"}[30s])), \"smi_edge\", \"from\", \"\", \"\") or label_replace(sum by "
            "(namespace, statefulset, classification) "
            "(increase(response_total{direction=\"inbound\", job=\"linkerd-proxy\", "
            "client_id=\"\", namespace=\"emojivoto\", statefulset=\"vote-store\"}[30s])), "
            "\"smi_edge\", \"from_unnamed\", \"\", \"\") or label_replace(group by (namespace, "
            "statefulset) (up{job=\"linkerd-proxy\", namespace=\"emojivoto\", "
            "statefulset=\"vote-store\"}), \"smi_exists\", \"true\", \"\", \"\")");
  // Only pods can name the other peers, and only for a workload.
  EXPECT_THROW(BuildQueries(p, At(ObjectEdges{ResourceKind::kDeployment, "emojivoto", "web",
                                              ResourceKind::kNamespace})),
               std::invalid_argument);
  EXPECT_THROW(BuildQueries(p, At(ObjectEdges{ResourceKind::kPod, "emojivoto", "web-1",
                                              ResourceKind::kPod})),
               std::invalid_argument);
}

TEST(LinkerdProfileQueries, PodEdges) {
  const auto q = BuildQueries(LinkerdProfile(), Edges(ResourceKind::kPod, "emojivoto", "web-1"));
  EXPECT_EQ(q.buckets,
            "label_replace(sum by (namespace, pod, dst_namespace, dst_pod, authority, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", "
            "job=\"linkerd-proxy\", namespace=\"emojivoto\", pod=\"web-1\"}[30s])), "
            "\"smi_edge\", \"to\", \"\", \"\") or label_replace(sum by (namespace, pod, "
            "dst_namespace, dst_pod, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", "
            "job=\"linkerd-proxy\", dst_namespace=\"emojivoto\", dst_pod=\"web-1\"}[30s])), "
            "\"smi_edge\", \"from\", \"\", \"\") or label_replace(sum by (namespace, pod, le) "
            "(increase(response_latency_ms_bucket{direction=\"inbound\", "
            "job=\"linkerd-proxy\", client_id=\"\", namespace=\"emojivoto\", "
            "pod=\"web-1\"}[30s])), \"smi_edge\", \"from_unnamed\", \"\", \"\")");
}

TEST(LinkerdProfileQueries, NamespaceEdges) {
  const auto q = BuildQueries(LinkerdProfile(), Edges(ResourceKind::kNamespace, "", "emojivoto"));
  EXPECT_EQ(q.counts,
            "label_replace(sum by (namespace, dst_namespace, authority, classification) "
            "(increase(response_total{direction=\"outbound\", job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\"}[30s])), \"smi_edge\", \"to\", \"\", \"\") or "
            "label_replace(sum by (namespace, dst_namespace, classification) "
            "(increase(response_total{direction=\"outbound\", job=\"linkerd-proxy\", "
            "dst_namespace=\"emojivoto\"}[30s])), \"smi_edge\", \"from\", \"\", \"\") or "
            "label_replace(sum by (namespace, classification) "
            "(increase(response_total{direction=\"inbound\", job=\"linkerd-proxy\", "
            "client_id=\"\", namespace=\"emojivoto\"}[30s])), \"smi_edge\", \"from_unnamed\", "
            "\"\", \"\") or label_replace(group by (namespace) (up{job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\"}), \"smi_exists\", \"true\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "label_replace(sum by (namespace, dst_namespace, authority, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", "
            "job=\"linkerd-proxy\", namespace=\"emojivoto\"}[30s])), \"smi_edge\", \"to\", "
            "\"\", \"\") or label_replace(sum by (namespace, dst_namespace, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", "
            "job=\"linkerd-proxy\", dst_namespace=\"emojivoto\"}[30s])), \"smi_edge\", "
            "\"from\", \"\", \"\") or label_replace(sum by (namespace, le) "
            "(increase(response_latency_ms_bucket{direction=\"inbound\", "
            "job=\"linkerd-proxy\", client_id=\"\", namespace=\"emojivoto\"}[30s])), "
            "\"smi_edge\", \"from_unnamed\", \"\", \"\")");
}

TEST(LinkerdProfileQueries, WindowIsAPromQLRange) {
  auto q = Q(ResourceKind::kDeployment, "emojivoto", "web");
  q.window = seconds(90);
  EXPECT_NE(BuildQueries(LinkerdProfile(), q).buckets.find("}[90s]))"), std::string::npos);
  q.window = milliseconds(1500);
  EXPECT_NE(BuildQueries(LinkerdProfile(), q).buckets.find("}[1500ms]))"), std::string::npos);
  q.window = seconds(0);
  EXPECT_THROW(BuildQueries(LinkerdProfile(), q), std::invalid_argument);
}

TEST(LinkerdProfileQueries, ProxyJobIsAParameter) {
  const auto q =
      BuildQueries(LinkerdProfile("kubernetes-pods"), Q(ResourceKind::kDeployment, "a", "b"));
  EXPECT_NE(q.counts.find("up{job=\"kubernetes-pods\", namespace=\"a\", deployment=\"b\"}"),
            std::string::npos);
  EXPECT_EQ(q.counts.find("linkerd-proxy"), std::string::npos);
  // Escaped like any value: a job name cannot break out of its string either.
  const auto odd = BuildQueries(LinkerdProfile("a\"b"), Q(ResourceKind::kDeployment, "a", "b"));
  EXPECT_NE(odd.counts.find("up{job=\"a\\\"b\""), std::string::npos);
}

// --- Names never reach a query unchecked --------------------------------------------------------

TEST(LinkerdProfileQueries, RejectsInvalidNames) {
  const MeshProfile p = LinkerdProfile();
  for (const char* bad : {"we\"b", "web\"} or vector(1) or up{x=\"", ".*", "Web", "web\n", "a_b",
                          "web|emoji", "-web"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(BuildQueries(p, Q(ResourceKind::kDeployment, "emojivoto", bad)),
                 std::invalid_argument);
    EXPECT_THROW(BuildQueries(p, Q(ResourceKind::kDeployment, bad, "web")), std::invalid_argument);
    EXPECT_THROW(BuildQueries(p, Q(ResourceKind::kNamespace, "", bad)), std::invalid_argument);
    EXPECT_THROW(BuildQueries(p, Edges(ResourceKind::kPod, "emojivoto", bad)),
                 std::invalid_argument);
  }
  // Namespaces are DNS-1123 labels: no dots; object names may have them.
  EXPECT_THROW(BuildQueries(p, Q(ResourceKind::kDeployment, "a.b", "web")), std::invalid_argument);
  EXPECT_NO_THROW(BuildQueries(p, Q(ResourceKind::kDeployment, "ab", "web.v2")));
  EXPECT_THROW(BuildQueries(p, Q(ResourceKind::kNamespace, "", "a.b")), std::invalid_argument);
  EXPECT_THROW(BuildQueries(p, Q(ResourceKind::kPod, "ns", std::string(254, 'a'))),
               std::invalid_argument);
}

TEST(LinkerdProfileQueries, EdgesNeedTheObject) {
  const MeshProfile p = LinkerdProfile();
  EXPECT_THROW(BuildQueries(p, Edges(ResourceKind::kDeployment, "emojivoto", "")),
               std::invalid_argument);
  EXPECT_THROW(BuildQueries(p, Edges(ResourceKind::kDeployment, "", "web")), std::invalid_argument);
  EXPECT_THROW(BuildQueries(p, Edges(ResourceKind::kNamespace, "emojivoto", "")),
               std::invalid_argument);
}

// --- Mapping answers to samples -----------------------------------------------------------------

// Reads a captured answer's vector with nlohmann directly (not through the product's client).
std::vector<VectorSample> Fixture(const std::string& name) {
  std::ifstream in(std::string(SMI_TEST_FIXTURES) + "/promapi/" + name);
  EXPECT_TRUE(in) << name;
  const auto doc = nlohmann::json::parse(in);
  std::vector<VectorSample> out;
  for (const auto& item : doc.at("data").at("result")) {
    VectorSample s;
    s.labels = item.at("metric").get<std::map<std::string, std::string>>();
    s.value = std::stod(item.at("value").at(1).get<std::string>());
    out.push_back(std::move(s));
  }
  return out;
}

VectorSample Row(std::map<std::string, std::string> labels, double value) {
  return VectorSample{std::move(labels), value};
}

TEST(LinkerdProfileSamples, DeploymentsInANamespaceFromRealAnswers) {
  const auto query = Q(ResourceKind::kDeployment, "emojivoto", "");
  const auto s =
      ToSamples(LinkerdProfile(), query, Fixture("linkerd-deployments-emojivoto-counts.json"),
                Fixture("linkerd-deployments-emojivoto-buckets.json"));
  // vote-bot is scraped but idle: known, with no traffic entry.
  EXPECT_EQ(s.known_objects,
            (std::vector<ObjectReference>{
                Ref("Deployment", "emojivoto", "emoji"), Ref("Deployment", "emojivoto", "vote-bot"),
                Ref("Deployment", "emojivoto", "voting"), Ref("Deployment", "emojivoto", "web")}));
  ASSERT_EQ(s.resources.size(), 3u);
  EXPECT_TRUE(s.edges.empty());
  const auto& emoji = s.resources[0];
  const auto& voting = s.resources[1];
  const auto& web = s.resources[2];
  EXPECT_EQ(emoji.resource, Ref("Deployment", "emojivoto", "emoji"));
  EXPECT_EQ(voting.resource, Ref("Deployment", "emojivoto", "voting"));
  EXPECT_EQ(web.resource, Ref("Deployment", "emojivoto", "web"));
  // Generator rates over 30s: web 1.0/s + 0.5/s success, 0.1/s failure (two pods summed).
  EXPECT_DOUBLE_EQ(web.counts.success, 45);
  EXPECT_DOUBLE_EQ(web.counts.failure, 3);
  EXPECT_DOUBLE_EQ(emoji.counts.success, 60);
  EXPECT_DOUBLE_EQ(emoji.counts.failure, 0);
  EXPECT_DOUBLE_EQ(voting.counts.success, 6);
  EXPECT_DOUBLE_EQ(voting.counts.failure, 6);
  // Buckets in seconds: web's pods answer within 10ms (1.1/s) and 50ms (0.5/s).
  ASSERT_EQ(web.counts.latency_buckets.size(), 26u);
  EXPECT_DOUBLE_EQ(web.counts.latency_buckets.at(0.005), 0);
  EXPECT_DOUBLE_EQ(web.counts.latency_buckets.at(0.01), 33);
  EXPECT_DOUBLE_EQ(web.counts.latency_buckets.at(0.04), 33);
  EXPECT_DOUBLE_EQ(web.counts.latency_buckets.at(0.05), 48);
  EXPECT_DOUBLE_EQ(web.counts.latency_buckets.at(50), 48);
  EXPECT_DOUBLE_EQ(web.counts.latency_buckets.at(kInf), 48);
  EXPECT_DOUBLE_EQ(emoji.counts.latency_buckets.at(0.005), 60);
  EXPECT_DOUBLE_EQ(emoji.counts.latency_buckets.at(0.004), 0);
  // Counts without latency series: an entry with no buckets, never made-up ones.
  EXPECT_TRUE(voting.counts.latency_buckets.empty());
}

TEST(LinkerdProfileSamples, DeploymentEdgesFromRealAnswers) {
  const auto query = Edges(ResourceKind::kDeployment, "emojivoto", "web");
  const auto s =
      ToSamples(LinkerdProfile(), query, Fixture("linkerd-deployment-web-edges-counts.json"),
                Fixture("linkerd-deployment-web-edges-buckets.json"));
  EXPECT_EQ(s.known_objects, std::vector<ObjectReference>{Ref("Deployment", "emojivoto", "web")});
  EXPECT_TRUE(s.resources.empty());
  ASSERT_EQ(s.edges.size(), 3u);
  const auto web = Ref("Deployment", "emojivoto", "web");

  EXPECT_EQ(s.edges[0].resource, web);
  EXPECT_EQ(s.edges[0].direction, Direction::kTo);
  EXPECT_EQ(s.edges[0].side, Side::kClient);
  EXPECT_EQ(s.edges[0].peer, Ref("Deployment", "emojivoto", "emoji"));
  EXPECT_DOUBLE_EQ(s.edges[0].counts.success, 30);
  EXPECT_DOUBLE_EQ(s.edges[0].counts.failure, 0);
  EXPECT_DOUBLE_EQ(s.edges[0].counts.latency_buckets.at(0.005), 30);
  EXPECT_DOUBLE_EQ(s.edges[0].counts.latency_buckets.at(0.004), 0);

  EXPECT_EQ(s.edges[1].resource, web);
  EXPECT_EQ(s.edges[1].direction, Direction::kTo);
  EXPECT_EQ(s.edges[1].peer, Ref("Deployment", "emojivoto", "voting"));
  EXPECT_DOUBLE_EQ(s.edges[1].counts.success, 6);
  EXPECT_DOUBLE_EQ(s.edges[1].counts.failure, 3);
  EXPECT_TRUE(s.edges[1].counts.latency_buckets.empty());

  // A cross-namespace caller, seen from its own outbound series.
  EXPECT_EQ(s.edges[2].resource, web);
  EXPECT_EQ(s.edges[2].direction, Direction::kFrom);
  EXPECT_EQ(s.edges[2].side, Side::kClient);
  EXPECT_EQ(s.edges[2].peer, Ref("Deployment", "load", "loadgen"));
  EXPECT_DOUBLE_EQ(s.edges[2].counts.success, 45);
  EXPECT_DOUBLE_EQ(s.edges[2].counts.failure, 3);
  EXPECT_DOUBLE_EQ(s.edges[2].counts.latency_buckets.at(0.01), 0);
  EXPECT_DOUBLE_EQ(s.edges[2].counts.latency_buckets.at(0.02), 48);
  EXPECT_DOUBLE_EQ(s.edges[2].counts.latency_buckets.at(kInf), 48);
}

TEST(LinkerdProfileSamples, NamedWorkloadEdgesNamePeersByPodWhereNotByWorkload) {
  const auto query =
      At(ObjectEdges{ResourceKind::kDeployment, "emojivoto", "web", ResourceKind::kPod});
  const std::vector<VectorSample> counts = {
      Row({{"smi_edge", "to"},
           {"namespace", "emojivoto"},
           {"deployment", "web"},
           {"dst_namespace", "emojivoto"},
           {"dst_deployment", "emoji"},
           {"classification", "success"}},
          30),
      Row({{"smi_edge", "to"},
           {"namespace", "emojivoto"},
           {"deployment", "web"},
           {"dst_namespace", "emojivoto"},
           {"dst_pod", "vote-store-0"},
           {"classification", "failure"}},
          2),
      // Neither a deployment nor a pod: the peer the mesh cannot name (decision 6).
      Row({{"smi_edge", "to"},
           {"namespace", "emojivoto"},
           {"deployment", "web"},
           {"classification", "success"}},
          7),
      Row({{"smi_edge", "from"},
           {"namespace", "load"},
           {"pod", "bare"},
           {"dst_namespace", "emojivoto"},
           {"dst_deployment", "web"},
           {"classification", "success"}},
          4)};
  const auto s = ToSamples(LinkerdProfile(), query, counts, {});
  ASSERT_EQ(s.edges.size(), 4u);
  const auto web = Ref("Deployment", "emojivoto", "web");
  std::map<std::string, const sources::EdgeSample*> by_peer;
  for (const auto& e : s.edges) {
    EXPECT_EQ(e.resource, web);
    by_peer[std::string(model::DirectionName(e.direction)) + " " + e.peer.kind + " " + e.peer.ns +
            "/" + e.peer.name] = &e;
  }
  ASSERT_TRUE(by_peer.contains("to Deployment emojivoto/emoji"));
  EXPECT_EQ(by_peer["to Deployment emojivoto/emoji"]->peer_as_kind, std::nullopt);
  EXPECT_DOUBLE_EQ(by_peer["to Deployment emojivoto/emoji"]->counts.success, 30);
  ASSERT_TRUE(by_peer.contains("to Pod emojivoto/vote-store-0"));
  EXPECT_DOUBLE_EQ(by_peer["to Pod emojivoto/vote-store-0"]->counts.failure, 2);
  ASSERT_TRUE(by_peer.contains("to Unknown /"));
  EXPECT_DOUBLE_EQ(by_peer["to Unknown /"]->counts.success, 7);
  ASSERT_TRUE(by_peer.contains("from Pod load/bare"));
  EXPECT_DOUBLE_EQ(by_peer["from Pod load/bare"]->counts.success, 4);
}

TEST(LinkerdProfileSamples, NamespacesFromRealAnswers) {
  const auto s = ToSamples(LinkerdProfile(), Q(ResourceKind::kNamespace, "", ""),
                           Fixture("linkerd-namespaces-counts.json"), {});
  EXPECT_EQ(s.known_objects, (std::vector<ObjectReference>{Ref("Namespace", "", "emojivoto"),
                                                           Ref("Namespace", "", "load")}));
  ASSERT_EQ(s.resources.size(), 1u);
  EXPECT_EQ(s.resources[0].resource, Ref("Namespace", "", "emojivoto"));
  EXPECT_DOUBLE_EQ(s.resources[0].counts.success, 111);
  EXPECT_DOUBLE_EQ(s.resources[0].counts.failure, 9);
}

TEST(LinkerdProfileSamples, BucketsSpelledDifferentlyAddUp) {
  const auto query = Q(ResourceKind::kPod, "ns", "p");
  const std::map<std::string, std::string> pod = {{"namespace", "ns"}, {"pod", "p"}};
  auto with = [&](std::string le) {
    auto l = pod;
    l["le"] = std::move(le);
    return l;
  };
  const auto s = ToSamples(LinkerdProfile(), query, {},
                           {Row(with("1"), 2), Row(with("1.0"), 3), Row(with("1e0"), 1),
                            Row(with("+Inf"), 10), Row(with("Inf"), 1), Row(with("2.5e3"), 4)});
  ASSERT_EQ(s.resources.size(), 1u);
  // Buckets only: the key exists with zero counts.
  EXPECT_EQ(s.resources[0].counts.success, 0);
  EXPECT_EQ(s.resources[0].counts.failure, 0);
  EXPECT_EQ(s.resources[0].counts.latency_buckets,
            (std::map<double, double>{{0.001, 6}, {2.5, 4}, {kInf, 11}}));
  EXPECT_TRUE(s.warnings.empty());
}

TEST(LinkerdProfileSamples, UnusableRowsAreSkippedAndMalformedBoundsReported) {
  const auto query = Q(ResourceKind::kDeployment, "", "");
  const auto s = ToSamples(
      LinkerdProfile(), query,
      {Row({{"namespace", "a"}, {"classification", "success"}}, 5),  // no deployment label
       Row({{"namespace", "a"}, {"deployment", "d"}, {"classification", "other"}}, 7),
       Row({{"deployment", "d"}, {"smi_exists", "true"}}, 1)},  // no namespace
      {Row({{"namespace", "a"}, {"deployment", "d"}, {"le", "fast"}}, 1),
       Row({{"namespace", "a"}, {"deployment", "d"}}, 1)});
  ASSERT_EQ(s.resources.size(), 1u);  // from the row with an unknown classification
  EXPECT_EQ(s.resources[0].resource, Ref("Deployment", "a", "d"));
  EXPECT_EQ(s.resources[0].counts.success, 0);
  EXPECT_EQ(s.resources[0].counts.failure, 0);
  EXPECT_TRUE(s.resources[0].counts.latency_buckets.empty());
  EXPECT_TRUE(s.known_objects.empty());
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("\"le\""), std::string::npos);
}

TEST(LinkerdProfileSamples, OutputOrderDoesNotDependOnInputOrder) {
  const auto query = Edges(ResourceKind::kDeployment, "ns", "me");
  auto edge = [](std::string dir, std::string ns, std::string dep, std::string dns,
                 std::string ddep) {
    return std::map<std::string, std::string>{
        {"smi_edge", dir},      {"namespace", ns},        {"deployment", dep},
        {"dst_namespace", dns}, {"dst_deployment", ddep}, {"classification", "success"}};
  };
  std::vector<VectorSample> rows = {Row(edge("from", "z", "caller", "ns", "me"), 1),
                                    Row(edge("to", "ns", "me", "b", "x"), 2),
                                    Row(edge("from", "a", "caller", "ns", "me"), 3),
                                    Row(edge("to", "ns", "me", "a", "y"), 4),
                                    Row(edge("to", "ns", "me", "ns", "me"), 5),
                                    Row(edge("from", "ns", "me", "ns", "me"), 6)};
  const auto forward = ToSamples(LinkerdProfile(), query, rows, {});
  std::reverse(rows.begin(), rows.end());
  const auto backward = ToSamples(LinkerdProfile(), query, rows, {});
  ASSERT_EQ(forward.edges.size(), 6u);
  std::vector<std::string> order;
  for (size_t i = 0; i < forward.edges.size(); ++i) {
    const auto& e = forward.edges[i];
    EXPECT_EQ(e.peer, backward.edges[i].peer);
    EXPECT_EQ(e.direction, backward.edges[i].direction);
    order.push_back(std::string(e.direction == Direction::kTo ? "to " : "from ") + e.peer.ns + "/" +
                    e.peer.name + "=" + std::to_string(int(e.counts.success)));
  }
  // A self-call shows up once in each direction.
  EXPECT_EQ(order,
            (std::vector<std::string>{"to a/y=4", "to b/x=2", "to ns/me=5", "from a/caller=3",
                                      "from ns/me=6", "from z/caller=1"}));
}

// --- Every workload kind at once (the trafficmetrics resource) ----------------------------------

TEST(LinkerdProfileQueries, AllWorkloadKindsInANamespace) {
  const auto q = BuildQueries(LinkerdProfile(), All("emojivoto", ""));
  EXPECT_EQ(q.counts,
            "sum by (namespace, deployment, statefulset, daemonset, classification) "
            "(increase(response_total{direction=\"inbound\", job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\"}[30s])) "
            "or label_replace(group by (namespace, deployment, statefulset, daemonset) "
            "(up{job=\"linkerd-proxy\", namespace=\"emojivoto\"}), \"smi_exists\", \"true\", "
            "\"\", \"\")");
  EXPECT_EQ(q.buckets,
            "sum by (namespace, deployment, statefulset, daemonset, le) "
            "(increase(response_latency_ms_bucket{direction=\"inbound\", job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\"}[30s]))");
}

TEST(LinkerdProfileQueries, AllWorkloadKindsByNameIsOneBranchPerOwnerLabel) {
  const auto q = BuildQueries(LinkerdProfile(), All("emojivoto", "web"));
  EXPECT_EQ(q.buckets,
            "sum by (namespace, deployment, statefulset, daemonset, le) "
            "(increase(response_latency_ms_bucket{direction=\"inbound\", job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", "
            "deployment=\"web\"}[30s])) "
            "or sum by (namespace, deployment, statefulset, daemonset, le) "
            "(increase(response_latency_ms_bucket{direction=\"inbound\", job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", "
            "statefulset=\"web\"}[30s])) "
            "or sum by (namespace, deployment, statefulset, daemonset, le) "
            "(increase(response_latency_ms_bucket{direction=\"inbound\", job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", "
            "daemonset=\"web\"}[30s]))");
  EXPECT_THROW(BuildQueries(LinkerdProfile(), All("emojivoto", "we\"b")), std::invalid_argument);
}

TEST(LinkerdProfileSamples, AllWorkloadKindsMapsEachRowToItsOwner) {
  const auto query = All("", "");
  auto row = [](std::string owner, std::string name, std::string cls) {
    std::map<std::string, std::string> l = {{"namespace", "ns"}};
    if (!owner.empty()) l[owner] = name;
    if (!cls.empty()) l["classification"] = cls;
    return l;
  };
  auto exists = [&](std::string owner, std::string name) {
    auto l = row(owner, name, "");
    l["smi_exists"] = "true";
    return l;
  };
  auto le = [&](std::string owner, std::string name, std::string bound) {
    auto l = row(owner, name, "");
    l["le"] = bound;
    return l;
  };
  const auto s = ToSamples(
      LinkerdProfile(), query,
      {Row(row("deployment", "web", "success"), 10), Row(row("deployment", "web", "failure"), 1),
       Row(row("statefulset", "db", "success"), 4), Row(row("daemonset", "agent", "failure"), 2),
       Row(row("", "", "success"), 99),  // a pod without a workload owner: skipped
       Row(exists("deployment", "web"), 1), Row(exists("statefulset", "db"), 1),
       Row(exists("daemonset", "idle"), 1), Row(exists("", ""), 1)},
      {Row(le("statefulset", "db", "10"), 4), Row(le("", "", "10"), 7)});
  EXPECT_EQ(s.known_objects, (std::vector<ObjectReference>{Ref("DaemonSet", "ns", "idle"),
                                                           Ref("Deployment", "ns", "web"),
                                                           Ref("StatefulSet", "ns", "db")}));
  ASSERT_EQ(s.resources.size(), 3u);
  EXPECT_EQ(s.resources[0].resource, Ref("DaemonSet", "ns", "agent"));
  EXPECT_EQ(s.resources[0].counts.failure, 2);
  EXPECT_EQ(s.resources[1].resource, Ref("Deployment", "ns", "web"));
  EXPECT_EQ(s.resources[1].counts.success, 10);
  EXPECT_EQ(s.resources[1].counts.failure, 1);
  EXPECT_EQ(s.resources[2].resource, Ref("StatefulSet", "ns", "db"));
  EXPECT_EQ(s.resources[2].counts.success, 4);
  EXPECT_EQ(s.resources[2].counts.latency_buckets, (std::map<double, double>{{0.01, 4}}));
}

// The edges of every pod of a namespace, for the roll-up of workload edges through the caches:
// the object side is any pod of the namespace, the peer its pod, and (peer kind) its deployment,
// so that a peer without a pod keeps the mesh's identity.
TEST(LinkerdProfileQueries, EdgesOfEveryPodOfANamespace) {
  const SampleQuery query = PodEdges("emojivoto", ResourceKind::kDeployment);
  const auto q = BuildQueries(LinkerdProfile(), query);
  EXPECT_EQ(q.counts,
            "label_replace(sum by (namespace, pod, dst_namespace, dst_pod, dst_deployment, "
            "dst_statefulset, dst_daemonset, authority, classification) "
            "(increase(response_total{direction=\"outbound\", job=\"linkerd-proxy\", "
            "namespace=\"emojivoto\", pod!=\"\"}[30s])), \"smi_edge\", \"to\", \"\", \"\") or "
            "label_replace(sum by (namespace, pod, deployment, statefulset, daemonset, "
            "dst_namespace, dst_pod, classification) "
            "(increase(response_total{direction=\"outbound\", job=\"linkerd-proxy\", "
            "dst_namespace=\"emojivoto\", dst_pod!=\"\"}[30s])), \"smi_edge\", \"from\", \"\", "
            "\"\") or label_replace(sum by (namespace, pod, classification) "
            "(increase(response_total{direction=\"inbound\", job=\"linkerd-proxy\", "
            "client_id=\"\", namespace=\"emojivoto\", pod!=\"\"}[30s])), \"smi_edge\", "
            "\"from_unnamed\", \"\", \"\") or label_replace(group by (namespace, pod) "
            "(up{job=\"linkerd-proxy\", namespace=\"emojivoto\", pod!=\"\"}), \"smi_exists\", "
            "\"true\", \"\", \"\")");
  EXPECT_EQ(q.buckets,
            "label_replace(sum by (namespace, pod, dst_namespace, dst_pod, dst_deployment, "
            "dst_statefulset, dst_daemonset, authority, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", "
            "job=\"linkerd-proxy\", namespace=\"emojivoto\", pod!=\"\"}[30s])), \"smi_edge\", "
            "\"to\", \"\", \"\") or label_replace(sum by (namespace, pod, deployment, "
            "statefulset, daemonset, dst_namespace, dst_pod, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", "
            "job=\"linkerd-proxy\", dst_namespace=\"emojivoto\", dst_pod!=\"\"}[30s])), "
            "\"smi_edge\", \"from\", \"\", \"\") or label_replace(sum by (namespace, pod, le) "
            "(increase(response_latency_ms_bucket{direction=\"inbound\", "
            "job=\"linkerd-proxy\", client_id=\"\", namespace=\"emojivoto\", "
            "pod!=\"\"}[30s])), \"smi_edge\", \"from_unnamed\", \"\", \"\")");

  // Without a peer kind only rows naming the peer pod are asked for.
  const auto plain = BuildQueries(LinkerdProfile(), PodEdges("emojivoto"));
  EXPECT_EQ(plain.buckets,
            "label_replace(sum by (namespace, pod, dst_namespace, dst_pod, authority, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", "
            "job=\"linkerd-proxy\", namespace=\"emojivoto\", pod!=\"\"}[30s])), \"smi_edge\", "
            "\"to\", \"\", \"\") or label_replace(sum by (namespace, pod, dst_namespace, "
            "dst_pod, le) (increase(response_latency_ms_bucket{direction=\"outbound\", "
            "job=\"linkerd-proxy\", dst_namespace=\"emojivoto\", dst_pod!=\"\"}[30s])), "
            "\"smi_edge\", \"from\", \"\", \"\") or label_replace(sum by (namespace, pod, le) "
            "(increase(response_latency_ms_bucket{direction=\"inbound\", "
            "job=\"linkerd-proxy\", client_id=\"\", namespace=\"emojivoto\", "
            "pod!=\"\"}[30s])), \"smi_edge\", \"from_unnamed\", \"\", \"\")");
}

// Without a namespace: the edges of every pod everywhere, in the same two queries (what the edges
// of a node are rolled up from).
TEST(LinkerdProfileQueries, EdgesOfEveryPodOfEveryNamespace) {
  const MeshProfile p = LinkerdProfile();
  const auto q = BuildQueries(p, PodEdges(""));
  EXPECT_EQ(q.buckets,
            "label_replace(sum by (namespace, pod, dst_namespace, dst_pod, authority, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", job=\"linkerd-proxy\", "
            "pod!=\"\"}[30s])), \"smi_edge\", \"to\", \"\", \"\") or label_replace(sum by "
            "(namespace, pod, dst_namespace, dst_pod, le) "
            "(increase(response_latency_ms_bucket{direction=\"outbound\", job=\"linkerd-proxy\", "
            "dst_pod!=\"\"}[30s])), \"smi_edge\", \"from\", \"\", \"\") or label_replace(sum by "
            "(namespace, pod, le) (increase(response_latency_ms_bucket{direction=\"inbound\", "
            "job=\"linkerd-proxy\", client_id=\"\", pod!=\"\"}[30s])), \"smi_edge\", "
            "\"from_unnamed\", \"\", \"\")");
  EXPECT_THROW(BuildQueries(p, PodEdges("Not_A_Namespace")), std::invalid_argument);
  EXPECT_THROW(BuildQueries(p, PodEdges("emojivoto", ResourceKind::kPod)), std::invalid_argument);
}

TEST(MeshProfiles, OnlyLinkerdNamesPeerPodsOnBothEnds) {
  EXPECT_TRUE(LinkerdProfile().PodEdgesNamePeerPods());
  EXPECT_FALSE(IstioProfile().PodEdgesNamePeerPods());  // Istio names a pod's peers by workload
}

TEST(LinkerdProfileSamples, EdgesOfEveryPodKeepThePeersWorkload) {
  const SampleQuery query = PodEdges("emojivoto", ResourceKind::kDeployment);
  const std::vector<VectorSample> counts = {
      Row({{"smi_edge", "to"},
           {"namespace", "emojivoto"},
           {"pod", "web-1"},
           {"dst_namespace", "emojivoto"},
           {"dst_pod", "emoji-1"},
           {"dst_deployment", "emoji"},
           {"classification", "success"}},
          10),
      // No peer pod: the peer is the deployment the mesh names.
      Row({{"smi_edge", "to"},
           {"namespace", "emojivoto"},
           {"pod", "web-1"},
           {"dst_namespace", "emojivoto"},
           {"dst_deployment", "voting"},
           {"classification", "failure"}},
          2),
      // No peer at all (egress without dst_* labels): the peer the mesh cannot name.
      Row({{"smi_edge", "to"},
           {"namespace", "emojivoto"},
           {"pod", "web-1"},
           {"classification", "success"}},
          7),
      Row({{"smi_edge", "from"},
           {"namespace", "load"},
           {"pod", "loadgen-1"},
           {"dst_namespace", "emojivoto"},
           {"dst_pod", "web-2"},
           {"classification", "success"}},
          4),
  };
  const std::vector<VectorSample> buckets = {
      Row({{"smi_edge", "to"},
           {"namespace", "emojivoto"},
           {"pod", "web-1"},
           {"dst_namespace", "emojivoto"},
           {"dst_pod", "emoji-1"},
           {"dst_deployment", "emoji"},
           {"le", "5"}},
          10),
  };
  const auto s = ToSamples(LinkerdProfile(), query, counts, buckets);
  // Sorted by (resource, direction, side, peer): web-1's peer Deployment voting before Pod emoji-1
  // before the Unknown peer.
  ASSERT_EQ(s.edges.size(), 4u);
  EXPECT_EQ(s.edges[0].resource, Ref("Pod", "emojivoto", "web-1"));
  EXPECT_EQ(s.edges[0].direction, Direction::kTo);
  EXPECT_EQ(s.edges[0].peer, Ref("Deployment", "emojivoto", "voting"));
  EXPECT_EQ(s.edges[0].peer_as_kind, Ref("Deployment", "emojivoto", "voting"));
  EXPECT_DOUBLE_EQ(s.edges[0].counts.failure, 2);
  EXPECT_EQ(s.edges[1].resource, Ref("Pod", "emojivoto", "web-1"));
  EXPECT_EQ(s.edges[1].direction, Direction::kTo);
  EXPECT_EQ(s.edges[1].peer, Ref("Pod", "emojivoto", "emoji-1"));
  EXPECT_EQ(s.edges[1].peer_as_kind, Ref("Deployment", "emojivoto", "emoji"));
  EXPECT_DOUBLE_EQ(s.edges[1].counts.success, 10);
  EXPECT_DOUBLE_EQ(s.edges[1].counts.latency_buckets.at(0.005), 10);
  EXPECT_EQ(s.edges[2].resource, Ref("Pod", "emojivoto", "web-1"));
  EXPECT_EQ(s.edges[2].peer, Ref("Unknown", "", ""));
  EXPECT_EQ(s.edges[2].peer_as_kind, std::nullopt);
  EXPECT_DOUBLE_EQ(s.edges[2].counts.success, 7);
  EXPECT_EQ(s.edges[3].resource, Ref("Pod", "emojivoto", "web-2"));
  EXPECT_EQ(s.edges[3].direction, Direction::kFrom);
  EXPECT_EQ(s.edges[3].side, Side::kClient);
  EXPECT_EQ(s.edges[3].peer, Ref("Pod", "load", "loadgen-1"));
  EXPECT_EQ(s.edges[3].peer_as_kind, std::nullopt);
  EXPECT_DOUBLE_EQ(s.edges[3].counts.success, 4);
}

}  // namespace
}  // namespace smi::sources::prometheus
