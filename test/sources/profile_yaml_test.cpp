// Mesh profiles from YAML: a user's own profile, and every kind of mistake named by its key.
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "sources/prometheus/answer_decoding.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/profile_yaml.h"
#include "sources/prometheus/promql_builder.h"
#include "support/temp_dir.h"

namespace smi::sources::prometheus {
namespace {

using std::chrono::seconds;

// A small profile for a made-up mesh: seconds-valued latency, failure by a `status` label, a
// selector using a parameter and a regex, no existence source.
constexpr const char* kCustom = R"(
name: mymesh
parameters: {cluster: east}
metrics:
  requests: mesh_requests_total
  latency_buckets: mesh_latency_seconds_bucket
  latency_unit: seconds
classification:
  labels: [status]
  failure: [{label: status, regex: "5..|timeout"}]
resource:
  selector:
    - {label: side, value: server}
    - {label: cluster, param: cluster}
    - {label: path, op: "!~", value: "/health.*"}
  objects:
    deployment: {namespace: ns, name: app}
edges:
  to:
    side: client
    selector: [{label: side, value: client}]
    objects: {deployment: {namespace: ns, name: app}}
    peers: {deployment: {namespace: peer_ns, name: peer_app}}
  from:
    side: server
    selector: [{label: side, value: server}]
    objects: {deployment: {namespace: ns, name: app}}
    peers: {deployment: {namespace: peer_ns, name: peer_app}}
)";

// The resource scope of `kind` objects over 60s.
SampleQuery Q(ResourceKind kind, std::string ns, std::string name) {
  SampleQuery q;
  q.shape = ResourceScope{kind, std::move(ns), std::move(name)};
  q.window = seconds(60);
  return q;
}

std::string Error(const std::string& yaml) {
  try {
    ParseProfileYaml(yaml, "my.yaml");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

// kCustom with `from` replaced by `to`.
std::string Custom(const std::string& from, const std::string& to) {
  std::string s = kCustom;
  const auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(ProfileYaml, AUserProfileDrivesTheQueries) {
  const MeshProfile p(ParseProfileYaml(kCustom, "my.yaml"));
  EXPECT_EQ(p.name(), "mymesh");
  const auto q = BuildQueries(p, Q(ResourceKind::kDeployment, "shop", "cart"));
  EXPECT_EQ(q.counts,
            "sum by (ns, app, status) (increase(mesh_requests_total{side=\"server\", "
            "cluster=\"east\", path!~\"/health.*\", ns=\"shop\", app=\"cart\"}[60s]))");
  EXPECT_EQ(q.buckets,
            "sum by (ns, app, le) (increase(mesh_latency_seconds_bucket{side=\"server\", "
            "cluster=\"east\", path!~\"/health.*\", ns=\"shop\", app=\"cart\"}[60s]))");
  // Kinds the profile does not describe are refused, not guessed.
  EXPECT_THROW(BuildQueries(p, Q(ResourceKind::kPod, "shop", "")), std::invalid_argument);

  const auto s =
      ToSamples(p, Q(ResourceKind::kDeployment, "shop", ""),
                {VectorSample{{{"ns", "shop"}, {"app", "cart"}, {"status", "200"}}, 8},
                 VectorSample{{{"ns", "shop"}, {"app", "cart"}, {"status", "timeout"}}, 1},
                 VectorSample{{{"ns", "shop"}, {"app", "cart"}, {"status", "502"}}, 1}},
                {VectorSample{{{"ns", "shop"}, {"app", "cart"}, {"le", "0.25"}}, 10}});
  ASSERT_EQ(s.resources.size(), 1u);
  EXPECT_EQ(s.resources[0].counts.success, 8);
  EXPECT_EQ(s.resources[0].counts.failure, 2);
  EXPECT_EQ(s.resources[0].counts.latency_buckets, (std::map<double, double>{{0.25, 10}}));
  EXPECT_TRUE(s.known_objects.empty());  // no existence source: nothing known without traffic
}

TEST(ProfileYaml, BuiltinProfilesAreTheSameYaml) {
  for (const auto& name : BuiltinProfileNames()) {
    SCOPED_TRACE(name);
    const auto text = BuiltinProfileYaml(name);
    ASSERT_TRUE(text);
    EXPECT_EQ(ParseProfileYaml(*text, name).name, name);
  }
  EXPECT_FALSE(BuiltinProfileYaml("consul"));
  EXPECT_THROW(BuiltinProfileSpec("consul"), std::invalid_argument);
  EXPECT_EQ(BuiltinProfileSpec("istio", {{"job", "x"}}).parameters.at("job"), "x");
}

TEST(ProfileYaml, LoadsAFile) {
  const test_support::TempDir dir;
  const std::string path = dir.Write("profile.yaml", kCustom);
  EXPECT_EQ(LoadProfileFile(path).requests_metric, "mesh_requests_total");
  std::remove(path.c_str());
  try {
    LoadProfileFile(path);
    ADD_FAILURE() << "a missing file loaded";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

TEST(ProfileYaml, ErrorsNameTheKey) {
  struct Case {
    std::string yaml;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"name: [", "my.yaml: not valid YAML"},
      {"", "my.yaml: expected a mapping"},
      {Custom("name: mymesh\n", "nmae: mymesh\n"), "my.yaml: nmae: unknown key"},
      {Custom("name: mymesh\n", ""), "my.yaml: name: is required"},
      {Custom("latency_unit: seconds", "latency_unit: fortnights"),
       "my.yaml: metrics.latency_unit: \"fortnights\" is not one of seconds, milliseconds, "
       "microseconds"},
      {Custom("requests: mesh_requests_total", "requests: mesh-requests"),
       "my.yaml: metrics.requests: \"mesh-requests\" is not a PromQL metric name"},
      {Custom("{label: side, value: server}\n", "{label: side, op: \"==\", value: server}\n"),
       "my.yaml: resource.selector[0].op: \"==\" is not one of =, !=, =~, !~"},
      {Custom("{label: cluster, param: cluster}", "{label: cluster, param: region}"),
       "my.yaml: resource.selector[1].param: no parameter \"region\""},
      {Custom("{label: cluster, param: cluster}", "{label: cluster}"),
       "my.yaml: resource.selector[1]: give exactly one of value and param"},
      {Custom("value: \"/health.*\"", "value: \"(\""),
       "my.yaml: resource.selector[2].value: not a valid regular expression"},
      {Custom("regex: \"5..|timeout\"", "regex: \"5..(\""),
       "my.yaml: classification.failure[0].regex: \"5..(\" is not a valid regular expression"},
      {Custom("failure: [{label: status,", "failure: [{label: code,"),
       "my.yaml: classification.failure[0].label: \"code\" is not one of classification.labels"},
      {Custom("side: client", "side: both"),
       "my.yaml: edges.to.side: \"both\" is not one of client, server"},
      {Custom("deployment: {namespace: ns, name: app}\nedges",
              "deploymnet: {namespace: ns, name: app}\nedges"),
       "my.yaml: resource.objects.deploymnet: unknown key"},
      {Custom("    peers: {deployment: {namespace: peer_ns, name: peer_app}}\n  from",
              "    peers: {}\n  from"),
       "my.yaml: edges.to.peers: no entry for deployment"},
      {Custom("parameters: {cluster: east}", "parameters: {cluster: [east]}"),
       "my.yaml: parameters.cluster: expected a string"},
      {Custom("labels: [status]", "labels: [le]"),
       "my.yaml: classification.labels[0]: \"le\" is reserved for the engine"},
      {std::string(kCustom) + "labelled_workloads: [pod]\n",
       "my.yaml: labelled_workloads[0]: \"pod\" is not one of deployment, statefulset, daemonset"},
      {std::string(kCustom) + "labelled_workloads: deployment\n",
       "my.yaml: labelled_workloads: expected a list of strings"},
      // Peers the series do not name as deployments must be nameable by their pod.
      {std::string(kCustom) + "labelled_workloads: [deployment]\n",
       "my.yaml: labelled_workloads: deployment: edges.to.peers has no pod labels of that kind"},
      {std::string(kCustom) + "labelled_workloads: [statefulset]\n",
       "my.yaml: labelled_workloads: statefulset: resource.objects has no statefulset labels"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    const std::string e = Error(c.yaml);
    EXPECT_EQ(e.rfind(c.message, 0), 0u) << e;
  }
}

TEST(ProfileYaml, LabelledWorkloadsSayWhichKindsTheSeriesName) {
  // Without the key no workload is summed by its label: they are rolled up from pods.
  const MeshProfile plain(ParseProfileYaml(kCustom, "my.yaml"));
  EXPECT_FALSE(plain.SeriesNameWorkloads(ResourceKind::kDeployment));
  // With it, and pod labels for the peers the series do not name as deployments.
  std::string yaml = kCustom;
  const std::string peers = "peers: {deployment: {namespace: peer_ns, name: peer_app}}";
  for (auto at = yaml.find(peers); at != std::string::npos; at = yaml.find(peers, at + 1)) {
    yaml.replace(at, peers.size(),
                 "peers: {deployment: {namespace: peer_ns, name: peer_app}, "
                 "pod: {namespace: peer_ns, name: peer_pod}}");
  }
  yaml += "labelled_workloads: [deployment]\n";
  const MeshProfile p(ParseProfileYaml(yaml, "my.yaml"));
  EXPECT_TRUE(p.SeriesNameWorkloads(ResourceKind::kDeployment));
  EXPECT_FALSE(p.SeriesNameWorkloads(ResourceKind::kStatefulSet));
  const auto q = BuildQueries(
      p, SampleQuery{ObjectEdges{ResourceKind::kDeployment, "shop", "cart", ResourceKind::kPod},
                     seconds(60),
                     {}});
  EXPECT_EQ(q.counts,
            "label_replace(sum by (ns, app, peer_ns, peer_app, status) "
            "(increase(mesh_requests_total{side=\"client\", ns=\"shop\", app=\"cart\", "
            "peer_app!=\"\"}[60s])) or sum by (ns, app, peer_ns, peer_pod, status) "
            "(increase(mesh_requests_total{side=\"client\", ns=\"shop\", app=\"cart\", "
            "peer_app=\"\"}[60s])), \"smi_edge\", \"to\", \"\", \"\") "
            "or label_replace(sum by (peer_ns, peer_app, ns, app, status) "
            "(increase(mesh_requests_total{side=\"server\", ns=\"shop\", app=\"cart\", "
            "peer_app!=\"\"}[60s])) or sum by (peer_ns, peer_pod, ns, app, status) "
            "(increase(mesh_requests_total{side=\"server\", ns=\"shop\", app=\"cart\", "
            "peer_app=\"\"}[60s])), \"smi_edge\", \"from\", \"\", \"\")");
}

// resource.pod_owner: the labels naming a pod's workload, with its kind when the series say it;
// pod queries are grouped by them and each pod's sample carries that owner.
TEST(ProfileYaml, PodOwnerNamesTheWorkloadOfAPodsSeries) {
  std::string yaml = kCustom;
  const std::string objects = "    deployment: {namespace: ns, name: app}\nedges:";
  const auto at = yaml.find(objects);
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, objects.size(),
               "    deployment: {namespace: ns, name: app}\n    pod: {namespace: ns, name: pod}\n"
               "  pod_owner: {kind: statefulset, namespace: ns, name: app}\nedges:");
  const MeshProfile p(ParseProfileYaml(yaml, "my.yaml"));
  const auto q = BuildQueries(p, Q(ResourceKind::kPod, "shop", ""));
  EXPECT_EQ(q.buckets,
            "sum by (ns, pod, app, le) (increase(mesh_latency_seconds_bucket{side=\"server\", "
            "cluster=\"east\", path!~\"/health.*\", ns=\"shop\", pod!=\"\"}[60s]))");
  const auto s = ToSamples(p, Q(ResourceKind::kPod, "shop", ""),
                           {{{{"ns", "shop"}, {"pod", "cart-0"}, {"app", "cart"}}, 3}}, {});
  ASSERT_EQ(s.resources.size(), 1u);
  ASSERT_TRUE(s.resources[0].owner.has_value());
  EXPECT_EQ(s.resources[0].owner->kind, "StatefulSet");
  EXPECT_EQ(s.resources[0].owner->name, "cart");

  // Only a workload kind can own a pod.
  std::string bad = yaml;
  bad.replace(bad.find("kind: statefulset"), 17, "kind: pod");
  try {
    MeshProfile(ParseProfileYaml(bad, "my.yaml"));
    ADD_FAILURE() << "a pod as a pod's owner was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("resource.pod_owner.kind"), std::string::npos) << e.what();
  }
}

TEST(ProfileYaml, NoPromQLCanBeSmuggledIn) {
  // Label names are identifiers: a profile cannot close a selector through them.
  EXPECT_NE(Error(Custom("{label: side, value: server}",
                         "{label: 'side=\"x\"} or up{a', value: "
                         "server}"))
                .find("resource.selector[0].label: "),
            std::string::npos);
  EXPECT_NE(Error(Custom("name: app}\nedges", "name: \"app) or vector(1\"}\nedges"))
                .find("is not a PromQL label name"),
            std::string::npos);
  EXPECT_NE(Error(Custom("{label: side, value: server}", "{label: __name__, value: server}"))
                .find("is not a PromQL label name"),
            std::string::npos);
  // Values (literal or parameter) are escaped string bodies.
  const MeshProfile p(ParseProfileYaml(
      Custom("parameters: {cluster: east}", "parameters: {cluster: 'a\"} or vector(1) or x{y=\"'}"),
      "my.yaml"));
  const auto q = BuildQueries(p, Q(ResourceKind::kDeployment, "shop", "cart"));
  EXPECT_NE(q.counts.find("cluster=\"a\\\"} or vector(1) or x{y=\\\"\""), std::string::npos)
      << q.counts;
  // Request names are validated before any profile sees them.
  EXPECT_THROW(BuildQueries(p, Q(ResourceKind::kDeployment, "shop", "cart\"}")),
               std::invalid_argument);
}

}  // namespace
}  // namespace smi::sources::prometheus
