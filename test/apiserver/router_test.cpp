#include "apiserver/router.h"

#include <gtest/gtest.h>

namespace smi::apiserver {
namespace {

// The kind a route names; fails the test when it names the workloads or TrafficSplits instead.
model::ResourceKind KindOf(const Route& r) {
  const auto* k = std::get_if<KindResource>(&r.resource);
  if (!k) {
    ADD_FAILURE() << "route names no single kind";
    return model::ResourceKind::kDeployment;
  }
  return k->kind;
}

using model::ResourceKind;
constexpr const char* kBase = "/apis/metrics.smi-spec.io/v1alpha1";

Route At(const std::string& rest) { return MatchRoute(std::string(kBase) + rest); }

TEST(RouterTest, DiscoveryAndHealthPaths) {
  EXPECT_EQ(MatchRoute("/apis").endpoint, Endpoint::kApis);
  EXPECT_EQ(MatchRoute("/apis/").endpoint, Endpoint::kApis);
  EXPECT_EQ(MatchRoute("/apis/metrics.smi-spec.io").endpoint, Endpoint::kApiGroup);
  EXPECT_EQ(MatchRoute(kBase).endpoint, Endpoint::kResourceList);
  EXPECT_EQ(MatchRoute(std::string(kBase) + "/").endpoint, Endpoint::kResourceList);
  EXPECT_EQ(MatchRoute("/apis/metrics.smi-spec.io/v1alpha2").version, "v1alpha2");
  EXPECT_EQ(MatchRoute("/apis/metrics.smi-spec.io/v1").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(MatchRoute("/apis/metrics.k8s.io/v1beta1").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(MatchRoute("/version").endpoint, Endpoint::kVersion);
  EXPECT_EQ(MatchRoute("/healthz").endpoint, Endpoint::kHealthz);
  EXPECT_EQ(MatchRoute("/livez").endpoint, Endpoint::kLivez);
  EXPECT_EQ(MatchRoute("/readyz").endpoint, Endpoint::kReadyz);
  EXPECT_EQ(MatchRoute("/api").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(MatchRoute("/").endpoint, Endpoint::kNotFound);
}

TEST(RouterTest, SpecPathTable) {
  auto r = At("/pods");
  EXPECT_EQ(r.endpoint, Endpoint::kList);
  EXPECT_EQ(KindOf(r), ResourceKind::kPod);
  EXPECT_EQ(r.ns, "");

  r = At("/namespaces/default/deployments/");  // the spec's own example has a trailing slash
  EXPECT_EQ(r.endpoint, Endpoint::kList);
  EXPECT_EQ(KindOf(r), ResourceKind::kDeployment);
  EXPECT_EQ(r.ns, "default");

  r = At("/namespaces/emojivoto/deployments/web");
  EXPECT_EQ(r.endpoint, Endpoint::kGet);
  EXPECT_EQ(r.name, "web");

  r = At("/namespaces/emojivoto/pods/web-5d8f7c9b4c-abcde/edges");
  EXPECT_EQ(r.endpoint, Endpoint::kEdges);
  EXPECT_EQ(KindOf(r), ResourceKind::kPod);
  EXPECT_EQ(r.ns, "emojivoto");
  EXPECT_EQ(r.name, "web-5d8f7c9b4c-abcde");

  r = At("/namespaces");
  EXPECT_EQ(r.endpoint, Endpoint::kList);
  EXPECT_EQ(KindOf(r), ResourceKind::kNamespace);

  r = At("/namespaces/emojivoto");
  EXPECT_EQ(r.endpoint, Endpoint::kGet);
  EXPECT_EQ(KindOf(r), ResourceKind::kNamespace);
  EXPECT_EQ(r.name, "emojivoto");

  r = At("/namespaces/emojivoto/edges");
  EXPECT_EQ(r.endpoint, Endpoint::kEdges);
  EXPECT_EQ(KindOf(r), ResourceKind::kNamespace);
  EXPECT_EQ(r.name, "emojivoto");
}

TEST(RouterTest, UnknownShapesAreNotFound) {
  EXPECT_EQ(At("/widgets").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(At("/namespaces/a/namespaces").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(At("/namespaces/a/deployments/b/metrics").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(At("/namespaces/a/deployments/b/edges/c").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(At("/deployments/web").endpoint, Endpoint::kNotFound);
}

TEST(RouterTest, NamesThatCannotExistAreFlagged) {
  EXPECT_FALSE(At("/namespaces/emojivoto/deployments/web").invalid_name);
  EXPECT_TRUE(At("/namespaces/emojivoto/deployments/Web").invalid_name);
  EXPECT_TRUE(At("/namespaces/emojivoto/deployments/web\"}or{x=\"").invalid_name);
  EXPECT_TRUE(At("/namespaces/emoji.voto/deployments/web").invalid_name);  // namespaces are labels
  EXPECT_FALSE(At("/namespaces/emojivoto/pods/web.v2-abc").invalid_name);  // names are subdomains
  EXPECT_TRUE(At("/namespaces/" + std::string(64, 'a')).invalid_name);
}

}  // namespace
}  // namespace smi::apiserver
