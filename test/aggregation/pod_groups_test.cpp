// ReplicaSets, ReplicationControllers, Jobs, Nodes and Services: groups of pods the caches form
// (docs/decisions.md, decisions 17 to 19), over a fake source answering at pod granularity. The
// expected numbers are sums of the pod samples set here, worked by hand.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "aggregation/cluster_view.h"
#include "aggregation/traffic_metrics_service.h"
#include "fakekube/fake_kube_api.h"
#include "kube/cluster_state.h"
#include "mocks/fake_source.h"

namespace smi::aggregation {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using fakekube::MakeDeployment;
using fakekube::MakeNamespace;
using fakekube::MakePod;
using fakekube::MakeReplicaSet;
using model::ObjectReference;
using model::ResourceKind;

constexpr double kInf = std::numeric_limits<double>::infinity();

ObjectReference PodRef(const std::string& ns, const std::string& name) {
  return {"Pod", ns, name, ""};
}

json Controller(const std::string& api_version, const std::string& kind, const std::string& ns,
                const std::string& name, const std::string& uid, const json& selector) {
  return {{"apiVersion", api_version},
          {"kind", kind},
          {"metadata", {{"name", name}, {"namespace", ns}, {"uid", uid}, {"labels", selector}}},
          {"spec", {{"selector", selector}}}};
}

json Node(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"uid", "uid-" + name}}},
          {"status", {{"images", json::array({{{"names", {"busybox"}}, {"sizeBytes", 1}}})}}}};
}

json Service(const std::string& ns, const std::string& name, const json& spec) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"uid", "uid-" + name}}},
          {"spec", spec}};
}

json On(json pod, const std::string& node, const std::string& phase = "Running") {
  pod["spec"]["nodeName"] = node;
  pod["status"]["phase"] = phase;
  return pod;
}

class PodGroupsTest : public ::testing::Test {
 protected:
  PodGroupsTest()
      : clock_(std::chrono::system_clock::time_point(1700000000500ms)),
        service_(source_, clock_, {}, &cluster_) {
    cluster_.Upsert(MakeNamespace("emojivoto"));
    cluster_.Upsert(MakeNamespace("batch"));
    for (const char* n : {"node-a", "node-b", "node-c"}) cluster_.Upsert(Node(n));
    const json web = MakeDeployment("emojivoto", "web", {{"app", "web"}}, 2);
    const json web_rs = MakeReplicaSet(web, "5f7b9c");
    // A ReplicaSet nothing controls, a ReplicationController and a Job (batch/v1, whose selector
    // is a LabelSelector; a ReplicationController's is a plain map).
    const json cache = Controller("apps/v1", "ReplicaSet", "emojivoto", "cache", "uid-cache",
                                  {{"matchLabels", {{"app", "cache"}}}});
    const json rc = Controller("v1", "ReplicationController", "emojivoto", "legacy", "uid-rc",
                               {{"app", "legacy"}});
    const json job = Controller("batch/v1", "Job", "batch", "export", "uid-job",
                                {{"matchLabels", {{"job-name", "export"}}}});
    for (const auto& o : {web, web_rs, cache, rc, job}) cluster_.Upsert(o);
    cluster_.Upsert(
        On(MakePod("emojivoto", "web-a", {{"app", "web"}, {"tier", "front"}}, web_rs, "10.0.0.1"),
           "node-a"));
    cluster_.Upsert(
        On(MakePod("emojivoto", "web-b", {{"app", "web"}, {"tier", "front"}}, web_rs, "10.0.0.2"),
           "node-b"));
    cluster_.Upsert(
        On(MakePod("emojivoto", "cache-x", {{"app", "cache"}, {"tier", "back"}}, cache, "10.0.0.3"),
           "node-a"));
    cluster_.Upsert(
        On(MakePod("emojivoto", "legacy-y", {{"app", "legacy"}, {"tier", "back"}}, rc, "10.0.0.4"),
           "node-b"));
    // One of the Job's pods finished within the window: it still counts for the Job.
    cluster_.Upsert(On(MakePod("batch", "export-1", {{"job-name", "export"}}, job, "10.0.1.1"),
                       "node-a", "Succeeded"));
    cluster_.Upsert(
        On(MakePod("batch", "export-2", {{"job-name", "export"}}, job, "10.0.1.2"), "node-a"));

    cluster_.Upsert(Service("emojivoto", "web-svc", {{"selector", {{"app", "web"}}}}));
    cluster_.Upsert(Service("emojivoto", "web-headless",
                            {{"clusterIP", "None"}, {"selector", {{"app", "web"}}}}));
    cluster_.Upsert(Service("emojivoto", "backends", {{"selector", {{"tier", "back"}}}}));
    cluster_.Upsert(Service("emojivoto", "cache-svc", {{"selector", {{"app", "cache"}}}}));
    // Endpoints kept by hand, and a DNS alias: neither selects a pod.
    cluster_.Upsert(Service("emojivoto", "manual", {{"ports", json::array()}}));
    cluster_.Upsert(Service("emojivoto", "alias",
                            {{"type", "ExternalName"},
                             {"externalName", "example.com"},
                             {"selector", {{"app", "web"}}}}));

    sources::TrafficCounts web_a, web_b, cache_x, legacy_y, export_1, export_2;
    web_a.success = 10;
    web_a.latency_buckets = {{0.010, 10}, {0.020, 10}, {kInf, 10}};
    web_b.success = 8;
    web_b.failure = 2;
    web_b.latency_buckets = {{0.010, 0}, {0.020, 10}, {kInf, 10}};
    cache_x.success = 4;
    legacy_y.failure = 3;
    export_1.success = 6;
    export_2.success = 1;
    source_.resource_samples.resources = {
        {PodRef("emojivoto", "web-a"), web_a},      {PodRef("emojivoto", "web-b"), web_b},
        {PodRef("emojivoto", "cache-x"), cache_x},  {PodRef("emojivoto", "legacy-y"), legacy_y},
        {PodRef("batch", "export-1"), export_1},    {PodRef("batch", "export-2"), export_2},
        {PodRef("emojivoto", "unknown-pod"), web_a}};
  }

  static MetricsQuery Query(ResourceKind kind, std::string ns, std::string name = "") {
    MetricsQuery q;
    q.kind = kind;
    q.ns = std::move(ns);
    q.name = std::move(name);
    return q;
  }

  static std::string Metric(const model::TrafficMetrics& tm, std::string_view name) {
    for (const auto& m : tm.metrics) {
      if (m.name == name) return m.value.ToString();
    }
    return "<absent>";
  }

  // "kind ns/name success failure" of every item.
  static std::vector<std::string> Rows(const model::TrafficMetricsList& list) {
    std::vector<std::string> out;
    for (const auto& i : list.items) {
      out.push_back(i.resource.kind + " " + (i.resource.ns.empty() ? "" : i.resource.ns + "/") +
                    i.resource.name + " " + Metric(i, "success_count") + " " +
                    Metric(i, "failure_count"));
    }
    return out;
  }

  const sources::ResourceScope& OnlyPodQuery() {
    EXPECT_EQ(source_.queries.size(), 1u);
    const auto& q = testing::ShapeAs<sources::ResourceScope>(source_.queries.at(0));
    EXPECT_EQ(q.kind, ResourceKind::kPod);
    EXPECT_EQ(q.name, "");
    return q;
  }

  kube::StaticClusterState cluster_;
  testing::FakeSource source_;
  testing::FakeClock clock_;
  TrafficMetricsService service_;
};

TEST_F(PodGroupsTest, ADeploymentsReplicaSetIsServedInItsOwnRight) {
  const auto tm = service_.Get(Query(ResourceKind::kReplicaSet, "emojivoto", "web-5f7b9c"));
  EXPECT_EQ(OnlyPodQuery().ns, "emojivoto");
  EXPECT_EQ(tm.resource, (ObjectReference{"ReplicaSet", "emojivoto", "web-5f7b9c", ""}));
  EXPECT_EQ(Metric(tm, "success_count"), "18");
  EXPECT_EQ(Metric(tm, "failure_count"), "2");
  // The same quantiles as its Deployment's: rank 18 of 20 is 8/10 into (10ms, 20ms].
  EXPECT_EQ(Metric(tm, "p90_response_latency"), "18m");
  // The Deployment is still rolled up through the ReplicaSet to itself.
  const auto d = service_.Get(Query(ResourceKind::kDeployment, "emojivoto", "web"));
  EXPECT_EQ(Metric(d, "success_count"), "18");
}

TEST_F(PodGroupsTest, ListsOfWorkloadKindsHoldEveryObjectIdleOnesIncluded) {
  EXPECT_EQ(Rows(service_.List(Query(ResourceKind::kReplicaSet, "emojivoto"))),
            (std::vector<std::string>{"ReplicaSet emojivoto/cache 4 0",
                                      "ReplicaSet emojivoto/web-5f7b9c 18 2"}));
  EXPECT_EQ(Rows(service_.List(Query(ResourceKind::kReplicationController, ""))),
            (std::vector<std::string>{"ReplicationController emojivoto/legacy 0 3"}));
  // A Job's pods that finished inside the window count: 6 + 1.
  EXPECT_EQ(Rows(service_.List(Query(ResourceKind::kJob, ""))),
            (std::vector<std::string>{"Job batch/export 7 0"}));
  EXPECT_TRUE(service_.List(Query(ResourceKind::kJob, "emojivoto")).items.empty());
}

TEST_F(PodGroupsTest, MissingObjectsAreNotFoundWithoutAQuery) {
  for (auto [kind, ns, name] : {std::tuple{ResourceKind::kReplicaSet, "emojivoto", "web"},
                                std::tuple{ResourceKind::kJob, "emojivoto", "export"},
                                std::tuple{ResourceKind::kReplicationController, "batch", "x"},
                                std::tuple{ResourceKind::kNode, "", "node-z"},
                                std::tuple{ResourceKind::kService, "batch", "web-svc"}}) {
    SCOPED_TRACE(name);
    EXPECT_THROW(service_.Get(Query(kind, ns, name)), ObjectNotFound);
    EXPECT_THROW(service_.Edges(Query(kind, ns, name)), ObjectNotFound);
  }
  EXPECT_TRUE(source_.queries.empty());
}

TEST_F(PodGroupsTest, NodesSumThePodsScheduledOnThemInEveryNamespace) {
  const auto list = service_.List(Query(ResourceKind::kNode, ""));
  EXPECT_EQ(OnlyPodQuery().ns, "");
  EXPECT_EQ(list.resource.kind, "Node");
  EXPECT_EQ(list.resource.ns, "");
  // node-a: web-a 10, cache-x 4, export-1 6, export-2 1; node-b: web-b 8/2, legacy-y 0/3;
  // node-c runs nothing: listed, idle.
  EXPECT_EQ(Rows(list),
            (std::vector<std::string>{"Node node-a 21 0", "Node node-b 8 5", "Node node-c 0 0"}));
  EXPECT_EQ(Metric(list.items[2], "p50_response_latency"), "<absent>");
  source_.queries.clear();
  const auto tm = service_.Get(Query(ResourceKind::kNode, "", "node-b"));
  EXPECT_EQ(OnlyPodQuery().ns, "");
  EXPECT_EQ(tm.resource, (ObjectReference{"Node", "", "node-b", ""}));
  EXPECT_EQ(Metric(tm, "failure_count"), "5");
}

TEST_F(PodGroupsTest, ServicesSumThePodsTheirSelectorPicks) {
  EXPECT_EQ(Rows(service_.List(Query(ResourceKind::kService, "emojivoto"))),
            (std::vector<std::string>{
                "Service emojivoto/alias 0 0",          // ExternalName: no pods
                "Service emojivoto/backends 4 3",       // cache-x and legacy-y
                "Service emojivoto/cache-svc 4 0",      // cache-x again: a pod counts for each
                "Service emojivoto/manual 0 0",         // no selector: no pods
                "Service emojivoto/web-headless 18 2",  // headless: the same pods as web-svc
                "Service emojivoto/web-svc 18 2"}));
  // A Service that selects no pod says so, in the object's annotations.
  const auto list = service_.List(Query(ResourceKind::kService, "emojivoto"));
  std::map<std::string, std::string> notes;
  for (const auto& item : list.items) {
    for (const auto& [k, v] : item.annotations) notes[item.resource.name + " " + k] = v;
  }
  EXPECT_EQ(notes, (std::map<std::string, std::string>{
                       {"alias metrics.smi-spec.io/pods",
                        "none: an ExternalName Service is a DNS name, it selects no pods"},
                       {"manual metrics.smi-spec.io/pods",
                        "none: the Service has no selector, so its traffic is not seen through "
                        "pods"}}));
  const auto manual = service_.Get(Query(ResourceKind::kService, "emojivoto", "manual"));
  const json wire = model::ToJson(manual, "metrics.smi-spec.io/v1alpha1");
  EXPECT_EQ(wire.at("metadata").at("annotations").size(), 1u);
  EXPECT_FALSE(model::ToJson(service_.Get(Query(ResourceKind::kService, "emojivoto", "web-svc")),
                             "metrics.smi-spec.io/v1alpha1")
                   .at("metadata")
                   .contains("annotations"));
  // Field selectors choose Services by name.
  auto q = Query(ResourceKind::kService, "emojivoto");
  q.field_selector = kube::FieldSelector::Parse("metadata.name=web-svc");
  EXPECT_EQ(Rows(service_.List(q)), (std::vector<std::string>{"Service emojivoto/web-svc 18 2"}));
}

TEST_F(PodGroupsTest, TheWorkloadCollectionHoldsEachPodsTopLevelController) {
  const auto list = service_.ListWorkloads(Query(ResourceKind::kDeployment, ""));
  // The Deployment's ReplicaSet is the Deployment's there, so no pod counts twice.
  EXPECT_EQ(Rows(list),
            (std::vector<std::string>{"Job batch/export 7 0", "ReplicaSet emojivoto/cache 4 0",
                                      "ReplicationController emojivoto/legacy 0 3",
                                      "Deployment emojivoto/web 18 2"}));
  EXPECT_EQ(service_.GetWorkload(Query(ResourceKind::kDeployment, "batch", "export")).resource.kind,
            "Job");
  EXPECT_EQ(
      service_.GetWorkload(Query(ResourceKind::kDeployment, "emojivoto", "cache")).resource.kind,
      "ReplicaSet");
  EXPECT_THROW(service_.GetWorkload(Query(ResourceKind::kDeployment, "emojivoto", "web-5f7b9c")),
               ObjectNotFound);
}

// Series that name Deployments, StatefulSets and DaemonSets (Linkerd's): those are summed by their
// labels, and only the pods whose series name no workload are rolled up through the caches (a
// Job's, a bare ReplicaSet's, a ReplicationController's, a bare pod's), so the collection does
// not fetch every pod's series.
TEST_F(PodGroupsTest, TheCollectionRollsUpOnlyPodsWhoseSeriesNameNoWorkload) {
  source_.named_workloads = {ResourceKind::kDeployment, ResourceKind::kStatefulSet,
                             ResourceKind::kDaemonSet};
  sources::TrafficCounts web, cache_x, legacy_y, export_1;
  web.success = 30;  // the workload label's sum, departed pods included
  web.latency_buckets = {{0.010, 30}, {kInf, 30}};
  cache_x.success = 4;
  legacy_y.failure = 3;
  export_1.success = 6;
  sources::TrafficSamples workloads, unlabelled;
  workloads.resources = {{{"Deployment", "emojivoto", "web", ""}, web},
                         // Series of a Deployment the caches do not hold: no item.
                         {{"Deployment", "emojivoto", "gone", ""}, export_1}};
  unlabelled.resources = {{PodRef("emojivoto", "cache-x"), cache_x},
                          {PodRef("emojivoto", "legacy-y"), legacy_y},
                          {PodRef("batch", "export-1"), export_1},
                          {PodRef("emojivoto", "unknown-pod"), web}};
  source_.resource_samples = workloads;
  source_.unlabelled_pod_samples = unlabelled;

  const auto list = service_.ListWorkloads(Query(ResourceKind::kDeployment, ""));
  EXPECT_EQ(Rows(list),
            (std::vector<std::string>{"Job batch/export 6 0", "ReplicaSet emojivoto/cache 4 0",
                                      "ReplicationController emojivoto/legacy 0 3",
                                      "Deployment emojivoto/web 30 0"}));
  // Two shapes, asked for at once (in either order).
  const auto shapes = [&](const std::string& ns) {
    ASSERT_EQ(source_.queries.size(), 2u);
    const bool workloads_first =
        std::holds_alternative<sources::AllWorkloads>(source_.queries[0].shape);
    const auto& all = source_.queries[workloads_first ? 0 : 1];
    const auto& pods =
        testing::ShapeAs<sources::ResourceScope>(source_.queries[workloads_first ? 1 : 0]);
    EXPECT_EQ(testing::ShapeAs<sources::AllWorkloads>(all).ns, ns);
    EXPECT_EQ(pods.kind, ResourceKind::kPod);
    EXPECT_EQ(pods.ns, ns);
    EXPECT_TRUE(pods.without_workload_labels);
  };
  shapes("");

  // One namespace: both queries are of that namespace.
  source_.queries.clear();
  service_.ListWorkloads(Query(ResourceKind::kDeployment, "batch"));
  shapes("batch");
}

sources::EdgeSample Edge(ObjectReference pod, model::Direction direction, ObjectReference peer,
                         double success) {
  sources::EdgeSample e;
  e.resource = std::move(pod);
  e.direction = direction;
  e.side = model::Side::kClient;
  e.peer = std::move(peer);
  e.counts.success = success;
  return e;
}

std::vector<std::string> EdgeRows(const model::TrafficMetricsList& list) {
  std::vector<std::string> out;
  for (const auto& item : list.items) {
    const auto& peer = *item.edge.resource;
    std::string count;
    for (const auto& m : item.metrics) {
      if (m.name == model::kSuccessCount) count = m.value.ToString();
    }
    out.push_back(std::string(model::DirectionName(item.edge.direction)) + " " + peer.kind + " " +
                  (peer.ns.empty() ? "" : peer.ns + "/") + peer.name + " " + count);
  }
  return out;
}

TEST_F(PodGroupsTest, NodeEdgesGoNodeToNodeFromPodEdgesOfEveryNamespace) {
  const auto to = model::Direction::kTo;
  const auto from = model::Direction::kFrom;
  source_.edge_samples.edges = {
      Edge(PodRef("emojivoto", "web-a"), to, PodRef("emojivoto", "legacy-y"), 5),   // a -> b
      Edge(PodRef("batch", "export-2"), to, PodRef("emojivoto", "web-b"), 2),       // a -> b
      Edge(PodRef("emojivoto", "web-a"), to, PodRef("emojivoto", "cache-x"), 3),    // a -> a
      Edge(PodRef("emojivoto", "cache-x"), from, PodRef("emojivoto", "web-a"), 3),  // a <- a
      Edge(PodRef("emojivoto", "web-a"), to, PodRef("emojivoto", "gone"), 1),       // unknown
      Edge(PodRef("emojivoto", "web-b"), to, PodRef("emojivoto", "web-a"), 9),      // b's
  };
  const auto list = service_.Edges(Query(ResourceKind::kNode, "", "node-a"));
  ASSERT_EQ(source_.queries.size(), 1u);
  const auto& q = testing::ShapeAs<sources::NamespacePodEdges>(source_.queries[0]);
  EXPECT_EQ(q.ns, "");
  EXPECT_EQ(q.peer_kind, std::nullopt);
  EXPECT_EQ(list.resource, (ObjectReference{"Node", "", "node-a", ""}));
  EXPECT_EQ(EdgeRows(list),
            (std::vector<std::string>{"to Node node-a 3", "to Node node-b 7",
                                      "to Pod emojivoto/gone 1", "from Node node-a 3"}));
}

TEST_F(PodGroupsTest, ServiceEdgesMapPeersToEveryServiceSelectingThem) {
  const auto to = model::Direction::kTo;
  source_.edge_samples.edges = {
      Edge(PodRef("emojivoto", "web-a"), to, PodRef("emojivoto", "cache-x"), 3),
      Edge(PodRef("emojivoto", "web-b"), to, PodRef("emojivoto", "legacy-y"), 2),
      // A peer the mesh names by workload only (Istio) keeps that identity.
      Edge(PodRef("emojivoto", "web-b"), to, {"Deployment", "identity", "auth", ""}, 1),
  };
  const auto list = service_.Edges(Query(ResourceKind::kService, "emojivoto", "web-svc"));
  ASSERT_EQ(source_.queries.size(), 1u);
  EXPECT_EQ(testing::ShapeAs<sources::NamespacePodEdges>(source_.queries[0]).ns, "emojivoto");
  EXPECT_EQ(EdgeRows(list), (std::vector<std::string>{"to Deployment identity/auth 1",
                                                      "to Service emojivoto/backends 5",
                                                      "to Service emojivoto/cache-svc 3"}));
}

TEST_F(PodGroupsTest, JobEdgesKeepPeerPodsOfOtherKinds) {
  source_.edge_samples.edges = {
      Edge(PodRef("batch", "export-1"), model::Direction::kTo, PodRef("emojivoto", "web-a"), 4),
      Edge(PodRef("batch", "export-2"), model::Direction::kTo, PodRef("emojivoto", "web-a"), 1),
      // A series that did not move in the window: no edge (decision 6).
      Edge(PodRef("batch", "export-2"), model::Direction::kTo, PodRef("emojivoto", "web-b"), 0),
  };
  const auto list = service_.Edges(Query(ResourceKind::kJob, "batch", "export"));
  EXPECT_EQ(EdgeRows(list), (std::vector<std::string>{"to Pod emojivoto/web-a 5"}));
}

// Without Kubernetes knowledge no group of pods can be formed: none exists, as no TrafficSplit
// does, and the source is not asked.
TEST(PodGroupsWithoutCachesTest, NoneExists) {
  testing::FakeSource source;
  testing::FakeClock clock(std::chrono::system_clock::time_point(1700000000500ms));
  TrafficMetricsService service(source, clock, {});
  for (auto kind : {ResourceKind::kReplicaSet, ResourceKind::kReplicationController,
                    ResourceKind::kJob, ResourceKind::kNode, ResourceKind::kService}) {
    MetricsQuery q;
    q.kind = kind;
    q.ns = model::IsNamespaced(kind) ? "emojivoto" : "";
    const auto list = service.List(q);
    EXPECT_TRUE(list.items.empty());
    EXPECT_EQ(list.resource.kind, model::KindName(kind));
    q.name = "x";
    EXPECT_THROW(service.Get(q), ObjectNotFound);
    EXPECT_THROW(service.Edges(q), ObjectNotFound);
  }
  EXPECT_TRUE(source.queries.empty());
}

}  // namespace
}  // namespace smi::aggregation
