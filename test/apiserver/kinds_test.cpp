// ReplicaSets, ReplicationControllers, Jobs, Services (namespaced) and Nodes (cluster-scoped, as
// namespaces are): their paths, discovery entries and OpenAPI paths in both served versions.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "apiserver/discovery.h"
#include "apiserver/openapi.h"
#include "apiserver/router.h"

namespace smi::apiserver {
namespace {

using model::ResourceKind;
using nlohmann::json;

model::ResourceKind KindOf(const Route& r) {
  const auto* k = std::get_if<KindResource>(&r.resource);
  if (!k) {
    ADD_FAILURE() << "route names no single kind";
    return ResourceKind::kDeployment;
  }
  return k->kind;
}

TEST(KindsTest, NamespacedKindsHaveTheSpecsPaths) {
  for (const auto& [plural, kind] :
       {std::pair{"replicasets", ResourceKind::kReplicaSet},
        std::pair{"replicationcontrollers", ResourceKind::kReplicationController},
        std::pair{"jobs", ResourceKind::kJob}, std::pair{"services", ResourceKind::kService}}) {
    for (const std::string version : {"v1alpha1", "v1alpha2"}) {
      SCOPED_TRACE(std::string(plural) + " " + version);
      const std::string base = "/apis/metrics.smi-spec.io/" + version;
      auto r = MatchRoute(base + "/" + plural);
      EXPECT_EQ(r.endpoint, Endpoint::kList);
      EXPECT_EQ(KindOf(r), kind);
      EXPECT_EQ(r.ns, "");
      r = MatchRoute(base + "/namespaces/batch/" + plural);
      EXPECT_EQ(r.endpoint, Endpoint::kList);
      EXPECT_EQ(r.ns, "batch");
      r = MatchRoute(base + "/namespaces/batch/" + plural + "/export");
      EXPECT_EQ(r.endpoint, Endpoint::kGet);
      EXPECT_EQ(KindOf(r), kind);
      EXPECT_EQ(r.name, "export");
      r = MatchRoute(base + "/namespaces/batch/" + plural + "/export/edges");
      EXPECT_EQ(r.endpoint, Endpoint::kEdges);
      EXPECT_EQ(r.version, version);
      // Not cluster-scoped: no /{kind}/{name}.
      EXPECT_EQ(MatchRoute(base + "/" + plural + "/export").endpoint, Endpoint::kNotFound);
    }
  }
}

TEST(KindsTest, NodesAreClusterScoped) {
  const std::string base = "/apis/metrics.smi-spec.io/v1alpha2";
  auto r = MatchRoute(base + "/nodes");
  EXPECT_EQ(r.endpoint, Endpoint::kList);
  EXPECT_EQ(KindOf(r), ResourceKind::kNode);
  r = MatchRoute(base + "/nodes/worker-1");
  EXPECT_EQ(r.endpoint, Endpoint::kGet);
  EXPECT_EQ(KindOf(r), ResourceKind::kNode);
  EXPECT_EQ(r.ns, "");
  EXPECT_EQ(r.name, "worker-1");
  EXPECT_FALSE(r.invalid_name);
  r = MatchRoute(base + "/nodes/worker-1/edges");
  EXPECT_EQ(r.endpoint, Endpoint::kEdges);
  EXPECT_EQ(r.name, "worker-1");
  EXPECT_TRUE(MatchRoute(base + "/nodes/Worker_1").invalid_name);
  EXPECT_EQ(MatchRoute(base + "/nodes/worker-1/other").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(MatchRoute(base + "/namespaces/default/nodes").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(MatchRoute(base + "/namespaces/default/nodes/worker-1").endpoint, Endpoint::kNotFound);
  // Other kinds keep their scope.
  EXPECT_EQ(MatchRoute(base + "/pods/web").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(MatchRoute(base + "/deployments/web/edges").endpoint, Endpoint::kNotFound);
}

TEST(KindsTest, DiscoveryListsEveryKindWithTrafficMetricsLast) {
  for (const std::string version : {"v1alpha1", "v1alpha2"}) {
    const json doc = json::parse(ApiResourceListJson(version));
    std::map<std::string, json> by_name;
    std::string last_kind_resource;
    for (const auto& r : doc.at("resources")) {
      by_name[r.at("name")] = r;
      if (r.at("kind") == "TrafficMetrics") last_kind_resource = r.at("name");
    }
    EXPECT_EQ(last_kind_resource, "trafficmetrics");
    for (const char* name :
         {"replicasets", "replicationcontrollers", "jobs", "services", "nodes"}) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(by_name.contains(name));
      ASSERT_TRUE(by_name.contains(std::string(name) + "/edges"));
      EXPECT_EQ(by_name[name].at("namespaced"), std::string(name) != "nodes");
      EXPECT_EQ(by_name[name].at("kind"), "TrafficMetrics");
      EXPECT_EQ(by_name[name].at("verbs"), json({"get", "list"}));
    }
    const json aggregated = json::parse(AggregatedDiscoveryJson("apidiscovery.k8s.io/v2"));
    for (const auto& v : aggregated.at("items").at(0).at("versions")) {
      const auto& resources = v.at("resources");
      EXPECT_EQ(resources.back().at("resource"), "trafficmetrics");
      bool nodes = false;
      for (const auto& r : resources) {
        if (r.at("resource") == "nodes") {
          nodes = true;
          EXPECT_EQ(r.at("scope"), "Cluster");
        }
      }
      EXPECT_TRUE(nodes);
    }
  }
}

TEST(KindsTest, OpenApiHasThePathsOfEveryKind) {
  for (const std::string version : {"v1alpha1", "v1alpha2"}) {
    const json paths = json::parse(OpenApiV3VersionJson(version)).at("paths");
    const std::string base = "/apis/metrics.smi-spec.io/" + version;
    for (const char* plural : {"replicasets", "replicationcontrollers", "jobs", "services"}) {
      EXPECT_TRUE(paths.contains(base + "/" + plural));
      EXPECT_TRUE(paths.contains(base + "/namespaces/{namespace}/" + plural + "/{name}/edges"));
    }
    EXPECT_TRUE(paths.contains(base + "/nodes"));
    EXPECT_TRUE(paths.contains(base + "/nodes/{name}"));
    EXPECT_TRUE(paths.contains(base + "/nodes/{name}/edges"));
  }
  const json v2 = json::parse(OpenApiV2Json()).at("paths");
  EXPECT_TRUE(v2.contains("/apis/metrics.smi-spec.io/v1alpha1/nodes/{name}/edges"));
}

}  // namespace
}  // namespace smi::apiserver
