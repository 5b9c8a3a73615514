// RequestInfo attributes for every path shape the server serves, as kube-apiserver derives them.
#include <gtest/gtest.h>

#include "apiserver/request_info.h"

namespace smi::apiserver {
namespace {

constexpr const char* kB = "/apis/metrics.smi-spec.io/v1alpha1";

struct Expect {
  bool resource;
  std::string verb, group, version, ns, resource_name, subresource, name;
};

void Check(const RequestInfo& i, const Expect& e) {
  EXPECT_EQ(i.is_resource_request, e.resource) << i.path;
  EXPECT_EQ(i.verb, e.verb) << i.path;
  EXPECT_EQ(i.api_group, e.group) << i.path;
  EXPECT_EQ(i.api_version, e.version) << i.path;
  EXPECT_EQ(i.ns, e.ns) << i.path;
  EXPECT_EQ(i.resource, e.resource_name) << i.path;
  EXPECT_EQ(i.subresource, e.subresource) << i.path;
  EXPECT_EQ(i.name, e.name) << i.path;
}

std::string B(const std::string& rest) { return std::string(kB) + rest; }

TEST(RequestInfoTest, NamespacedObjectsListsAndEdges) {
  const std::string g = "metrics.smi-spec.io";
  Check(NewRequestInfo("GET", B("/namespaces/default/deployments/foo")),
        {true, "get", g, "v1alpha1", "default", "deployments", "", "foo"});
  Check(NewRequestInfo("GET", B("/namespaces/default/deployments")),
        {true, "list", g, "v1alpha1", "default", "deployments", "", ""});
  Check(NewRequestInfo("GET", B("/namespaces/default/deployments/foo/edges")),
        {true, "get", g, "v1alpha1", "default", "deployments", "edges", "foo"});
  Check(NewRequestInfo("GET", B("/namespaces/default/pods/web-1/edges")),
        {true, "get", g, "v1alpha1", "default", "pods", "edges", "web-1"});
  for (const char* kind : {"pods", "statefulsets", "daemonsets"}) {
    Check(NewRequestInfo("GET", B(std::string("/namespaces/ns/") + kind + "/x")),
          {true, "get", g, "v1alpha1", "ns", kind, "", "x"});
  }
}

// Nodes are cluster-scoped: their paths carry no namespace, as kube-apiserver computes them.
TEST(RequestInfoTest, NodesAndTheOtherPodGroups) {
  const std::string g = "metrics.smi-spec.io";
  Check(NewRequestInfo("GET", B("/nodes")), {true, "list", g, "v1alpha1", "", "nodes", "", ""});
  Check(NewRequestInfo("GET", B("/nodes/worker-1")),
        {true, "get", g, "v1alpha1", "", "nodes", "", "worker-1"});
  Check(NewRequestInfo("GET", B("/nodes/worker-1/edges")),
        {true, "get", g, "v1alpha1", "", "nodes", "edges", "worker-1"});
  for (const char* kind : {"replicasets", "replicationcontrollers", "jobs", "services"}) {
    Check(NewRequestInfo("GET", B(std::string("/namespaces/ns/") + kind + "/x/edges")),
          {true, "get", g, "v1alpha1", "ns", kind, "edges", "x"});
    Check(NewRequestInfo("GET", B(std::string("/") + kind)),
          {true, "list", g, "v1alpha1", "", kind, "", ""});
  }
}

TEST(RequestInfoTest, TheTrafficMetricsResource) {
  const std::string g = "metrics.smi-spec.io";
  Check(NewRequestInfo("GET", B("/namespaces/emojivoto/trafficmetrics")),
        {true, "list", g, "v1alpha1", "emojivoto", "trafficmetrics", "", ""});
  Check(NewRequestInfo("GET", B("/namespaces/emojivoto/trafficmetrics/web")),
        {true, "get", g, "v1alpha1", "emojivoto", "trafficmetrics", "", "web"});
  Check(NewRequestInfo("GET", B("/namespaces/emojivoto/trafficmetrics/web/edges")),
        {true, "get", g, "v1alpha1", "emojivoto", "trafficmetrics", "edges", "web"});
  Check(NewRequestInfo("GET", B("/trafficmetrics")),
        {true, "list", g, "v1alpha1", "", "trafficmetrics", "", ""});
}

TEST(RequestInfoTest, ClusterScopeAndVersions) {
  const std::string g = "metrics.smi-spec.io";
  Check(NewRequestInfo("GET", B("/deployments")),
        {true, "list", g, "v1alpha1", "", "deployments", "", ""});
  Check(NewRequestInfo("GET", "/apis/metrics.smi-spec.io/v1alpha2/pods"),
        {true, "list", g, "v1alpha2", "", "pods", "", ""});
}

TEST(RequestInfoTest, NamespaceQuirks) {
  const std::string g = "metrics.smi-spec.io";
  // /namespaces: the cluster-scoped list of namespaces.
  Check(NewRequestInfo("GET", B("/namespaces")),
        {true, "list", g, "v1alpha1", "", "namespaces", "", ""});
  // /namespaces/foo: resource namespaces, name foo AND namespace foo.
  Check(NewRequestInfo("GET", B("/namespaces/foo")),
        {true, "get", g, "v1alpha1", "foo", "namespaces", "", "foo"});
  // /namespaces/foo/edges: resource "edges" listed in namespace foo (not namespaces/edges).
  Check(NewRequestInfo("GET", B("/namespaces/foo/edges")),
        {true, "list", g, "v1alpha1", "foo", "edges", "", ""});
  // status and finalize stay subresources of the namespace.
  Check(NewRequestInfo("GET", B("/namespaces/foo/status")),
        {true, "get", g, "v1alpha1", "foo", "namespaces", "status", "foo"});
}

TEST(RequestInfoTest, ListVerbsFromParameters) {
  const std::string g = "metrics.smi-spec.io";
  Check(NewRequestInfo("GET", B("/namespaces/d/pods"), {{"watch", "true"}}),
        {true, "watch", g, "v1alpha1", "d", "pods", "", ""});
  Check(NewRequestInfo("GET", B("/namespaces/d/pods"), {{"watch", "1"}}),
        {true, "watch", g, "v1alpha1", "d", "pods", "", ""});
  Check(NewRequestInfo("GET", B("/namespaces/d/pods"), {{"watch", ""}}),
        {true, "watch", g, "v1alpha1", "d", "pods", "", ""});
  Check(NewRequestInfo("GET", B("/namespaces/d/pods"), {{"watch", "False"}}),
        {true, "list", g, "v1alpha1", "d", "pods", "", ""});
  Check(NewRequestInfo("GET", B("/namespaces/d/pods"), {{"watch", "0"}}),
        {true, "list", g, "v1alpha1", "d", "pods", "", ""});
  Check(NewRequestInfo("GET", B("/watch/namespaces/d/pods")),
        {true, "watch", g, "v1alpha1", "d", "pods", "", ""});
  // An exact metadata.name field selector names the object.
  Check(NewRequestInfo("GET", B("/namespaces/d/pods"), {{"fieldSelector", "metadata.name=web"}}),
        {true, "list", g, "v1alpha1", "d", "pods", "", "web"});
  Check(NewRequestInfo("GET", B("/namespaces/d/pods"), {{"fieldSelector", "metadata.name!=web"}}),
        {true, "list", g, "v1alpha1", "d", "pods", "", ""});
  Check(NewRequestInfo("GET", B("/namespaces/d/pods"), {{"labelSelector", "app=x"}}),
        {true, "list", g, "v1alpha1", "d", "pods", "", ""});
  Check(NewRequestInfo("HEAD", B("/namespaces/d/pods/x")),
        {true, "get", g, "v1alpha1", "d", "pods", "", "x"});
}

TEST(RequestInfoTest, WritesHaveTheirVerbs) {
  const std::string g = "metrics.smi-spec.io";
  Check(NewRequestInfo("POST", B("/namespaces/d/pods")),
        {true, "create", g, "v1alpha1", "d", "pods", "", ""});
  Check(NewRequestInfo("DELETE", B("/namespaces/d/pods")),
        {true, "deletecollection", g, "v1alpha1", "d", "pods", "", ""});
  Check(NewRequestInfo("DELETE", B("/namespaces/d/pods/x")),
        {true, "delete", g, "v1alpha1", "d", "pods", "", "x"});
  Check(NewRequestInfo("PUT", B("/namespaces/d/pods/x")),
        {true, "update", g, "v1alpha1", "d", "pods", "", "x"});
  Check(NewRequestInfo("PATCH", B("/namespaces/d/pods/x")),
        {true, "patch", g, "v1alpha1", "d", "pods", "", "x"});
}

TEST(RequestInfoTest, NonResourcePaths) {
  for (const char* path :
       {"/apis", "/apis/metrics.smi-spec.io", "/apis/metrics.smi-spec.io/v1alpha1", "/openapi/v2",
        "/openapi/v3", "/openapi/v3/apis/metrics.smi-spec.io/v1alpha1", "/metrics", "/version",
        "/healthz", "/", "/api"}) {
    const auto i = NewRequestInfo("GET", path);
    EXPECT_FALSE(i.is_resource_request) << path;
    EXPECT_EQ(i.verb, "get") << path;
    EXPECT_EQ(i.path, path);
  }
  // The verb of a non-resource request is the lower-cased method.
  EXPECT_EQ(NewRequestInfo("HEAD", "/metrics").verb, "head");
  EXPECT_EQ(NewRequestInfo("POST", "/apis").verb, "post");
}

TEST(RequestInfoTest, TheCoreGroup) {
  Check(NewRequestInfo("GET", "/api/v1/namespaces/foo"),
        {true, "get", "", "v1", "foo", "namespaces", "", "foo"});
  Check(NewRequestInfo("GET", "/api/v1/namespaces"),
        {true, "list", "", "v1", "", "namespaces", "", ""});
}

}  // namespace
}  // namespace smi::apiserver
