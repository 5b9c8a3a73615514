// The service with Kubernetes knowledge (StaticClusterState) over a fake source: existence from
// the caches, idle objects listed, label and field selectors on objects, roll-ups of pods to
// their owners (docs/decisions.md, decisions 7 and 8).
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "aggregation/cluster_view.h"
#include "aggregation/traffic_metrics_service.h"
#include "fakekube/fake_kube_api.h"
#include "kube/cluster_state.h"
#include "mocks/fake_source.h"
#include "mocks/unsynced_cluster.h"

namespace smi::aggregation {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using fakekube::MakeDaemonSet;
using fakekube::MakeDeployment;
using fakekube::MakeNamespace;
using fakekube::MakePod;
using fakekube::MakeReplicaSet;
using fakekube::MakeStatefulSet;
using model::ObjectReference;
using model::ResourceKind;

constexpr double kInf = std::numeric_limits<double>::infinity();

ObjectReference PodRef(const std::string& ns, const std::string& name) {
  return {"Pod", ns, name, ""};
}

// Counts of an edge that had traffic in the window (edges without are not listed).
sources::TrafficCounts Busy(double success = 1) {
  sources::TrafficCounts c;
  c.success = success;
  return c;
}

sources::EdgeSample Edge(ObjectReference self, model::Direction direction, model::Side side,
                         ObjectReference peer, sources::TrafficCounts counts) {
  sources::EdgeSample e;
  e.resource = std::move(self);
  e.direction = direction;
  e.side = side;
  e.peer = std::move(peer);
  e.counts = std::move(counts);
  return e;
}

// "direction side kind namespace/name success" of every item.
std::vector<std::string> EdgeItems(const model::TrafficMetricsList& list) {
  std::vector<std::string> out;
  for (const auto& item : list.items) {
    const auto& peer = *item.edge.resource;
    std::string success;
    for (const auto& m : item.metrics) {
      if (m.name == "success_count") success = m.value.ToString();
    }
    out.push_back(std::string(model::DirectionName(item.edge.direction)) + " " +
                  std::string(model::SideName(item.edge.side)) + " " + peer.kind + " " + peer.ns +
                  "/" + peer.name + " " + success);
  }
  return out;
}

class ClusterServiceTest : public ::testing::Test {
 protected:
  ClusterServiceTest()
      : clock_(std::chrono::system_clock::time_point(1700000000500ms)),
        service_(source_, clock_, {}, &cluster_) {
    cluster_.SetClock(clock_);
    cluster_.Upsert(MakeNamespace("emojivoto"));
    cluster_.Upsert(MakeNamespace("other"));
    cluster_.Upsert(MakeNamespace("quiet"));  // no pods, no series
    const json web = MakeDeployment("emojivoto", "web", {{"app", "web"}, {"tier", "front"}}, 2);
    const json web_rs = MakeReplicaSet(web, "5f7b9c");
    const json emoji = MakeDeployment("emojivoto", "emoji", {{"app", "emoji"}, {"tier", "back"}});
    const json emoji_rs = MakeReplicaSet(emoji, "77d8c");
    const json legacy = MakeDeployment("emojivoto", "legacy", {{"app", "legacy"}}, 0);
    const json store =
        MakeStatefulSet("emojivoto", "vote-store", {{"app", "store"}, {"tier", "back"}});
    const json logger =
        MakeDaemonSet("emojivoto", "node-logger", {{"app", "logger"}, {"version", "3"}});
    const json other_web = MakeDeployment("other", "web", {{"app", "web"}});
    const json other_rs = MakeReplicaSet(other_web, "aaaaa");
    for (const auto& o :
         {web, web_rs, emoji, emoji_rs, legacy, store, logger, other_web, other_rs}) {
      cluster_.Upsert(o);
    }
    cluster_.Upsert(MakePod("emojivoto", "web-5f7b9c-a", {{"app", "web"}}, web_rs, "10.0.0.1"));
    cluster_.Upsert(MakePod("emojivoto", "web-5f7b9c-b", {{"app", "web"}}, web_rs, "10.0.0.2"));
    cluster_.Upsert(
        MakePod("emojivoto", "emoji-77d8c-a", {{"app", "emoji"}}, emoji_rs, "10.0.0.3"));
    cluster_.Upsert(MakePod("emojivoto", "vote-store-0", {{"app", "store"}}, store, "10.0.0.4"));
    cluster_.Upsert(MakePod("emojivoto", "node-logger-x", {{"app", "logger"}}, logger, "10.0.0.5"));
    cluster_.Upsert(MakePod("emojivoto", "debug", {{"run", "debug"}}, nullptr, "10.0.0.6"));
    cluster_.Upsert(MakePod("other", "web-aaaaa-a", {{"app", "web"}}, other_rs, "10.0.1.1"));

    // Pod-level series. Two web pods: their buckets sum to {10ms: 10, 20ms: 20, +Inf: 20}.
    sources::TrafficCounts web_a, web_b, emoji_a, ghost;
    web_a.success = 10;
    web_a.latency_buckets = {{0.010, 10}, {0.020, 10}, {kInf, 10}};
    web_b.success = 8;
    web_b.failure = 2;
    web_b.latency_buckets = {{0.010, 0}, {0.020, 10}, {kInf, 10}};
    emoji_a.success = 5;
    emoji_a.latency_buckets = {{0.010, 5}, {kInf, 5}};
    ghost.success = 99;  // a pod the caches do not know: no owner to count it for
    auto& s = source_.resource_samples;
    s.resources = {{PodRef("emojivoto", "web-5f7b9c-a"), web_a},
                   {PodRef("emojivoto", "web-5f7b9c-b"), web_b},
                   {PodRef("emojivoto", "emoji-77d8c-a"), emoji_a},
                   {PodRef("emojivoto", "ghost-1"), ghost},
                   // Series of a deployment that does not exist (any more) in the caches.
                   {{"Deployment", "emojivoto", "gone", ""}, ghost},
                   {{"Namespace", "", "emojivoto", ""}, web_a}};
    s.known_objects = {{"Deployment", "emojivoto", "gone", ""}};
  }

  MetricsQuery Query(ResourceKind kind, std::string ns, std::string name = "") {
    MetricsQuery q;
    q.kind = kind;
    q.ns = std::move(ns);
    q.name = std::move(name);
    return q;
  }

  static std::vector<std::string> Names(const model::TrafficMetricsList& list) {
    std::vector<std::string> out;
    for (const auto& i : list.items) {
      out.push_back((i.resource.ns.empty() ? "" : i.resource.ns + "/") + i.resource.name);
    }
    return out;
  }

  static std::string Metric(const model::TrafficMetrics& tm, std::string_view name) {
    for (const auto& m : tm.metrics) {
      if (m.name == name) return m.value.ToString();
    }
    return "<absent>";
  }

  model::TrafficMetricsList ListWith(ResourceKind kind, std::string ns, const std::string& labels,
                                     const std::string& fields = "") {
    auto q = Query(kind, std::move(ns));
    if (!labels.empty()) q.label_selector = kube::LabelSelector::Parse(labels);
    if (!fields.empty()) q.field_selector = kube::FieldSelector::Parse(fields);
    return service_.List(q);
  }

  kube::StaticClusterState cluster_;
  testing::FakeSource source_;
  testing::FakeClock clock_;
  TrafficMetricsService service_;
};

TEST_F(ClusterServiceTest, WorkloadsRollUpFromPodsInOneFetchAtPodGranularity) {
  const auto tm = service_.Get(Query(ResourceKind::kDeployment, "emojivoto", "web"));
  ASSERT_EQ(source_.queries.size(), 1u);
  const auto& pods_of_web = testing::ShapeAs<sources::ResourceScope>(source_.queries[0]);
  EXPECT_EQ(pods_of_web.kind, ResourceKind::kPod);
  EXPECT_EQ(pods_of_web.ns, "emojivoto");
  EXPECT_EQ(pods_of_web.name, "");
  EXPECT_EQ(tm.resource, (ObjectReference{"Deployment", "emojivoto", "web", ""}));
  EXPECT_EQ(Metric(tm, "success_count"), "18");
  EXPECT_EQ(Metric(tm, "failure_count"), "2");
  // Quantiles of the summed bucket increases, worked by hand (histogram_quantile's
  // interpolation): rank 10 of 20 ends the 10ms bucket; rank 18 is 8/10 into (10ms, 20ms].
  EXPECT_EQ(Metric(tm, "p50_response_latency"), "10m");
  EXPECT_EQ(Metric(tm, "p90_response_latency"), "18m");
  EXPECT_EQ(Metric(tm, "p99_response_latency"), "19800u");
}

TEST_F(ClusterServiceTest, ExistenceIsTheCachesNotTheSeries) {
  // Series exist for emojivoto/gone, but the caches do not know it: 404.
  EXPECT_THROW(service_.Get(Query(ResourceKind::kDeployment, "emojivoto", "gone")), ObjectNotFound);
  EXPECT_THROW(service_.Get(Query(ResourceKind::kPod, "emojivoto", "ghost-1")), ObjectNotFound);
  EXPECT_THROW(service_.Get(Query(ResourceKind::kNamespace, "", "nope")), ObjectNotFound);
  EXPECT_THROW(service_.Get(Query(ResourceKind::kStatefulSet, "emojivoto", "web")), ObjectNotFound);
  EXPECT_THROW(service_.Edges(Query(ResourceKind::kDeployment, "emojivoto", "gone")),
               ObjectNotFound);
  EXPECT_THROW(service_.GetWorkload(Query(ResourceKind::kDeployment, "emojivoto", "gone")),
               ObjectNotFound);
  // An existing idle object: zero counts, no latency.
  const auto legacy = service_.Get(Query(ResourceKind::kDeployment, "emojivoto", "legacy"));
  EXPECT_EQ(Metric(legacy, "success_count"), "0");
  EXPECT_EQ(Metric(legacy, "p50_response_latency"), "<absent>");
  const auto quiet = service_.Get(Query(ResourceKind::kNamespace, "", "quiet"));
  EXPECT_EQ(Metric(quiet, "failure_count"), "0");
}

TEST_F(ClusterServiceTest, ListsShowEveryExistingObjectIdleOnesIncluded) {
  const auto deployments = service_.List(Query(ResourceKind::kDeployment, "emojivoto"));
  EXPECT_EQ(Names(deployments),
            (std::vector<std::string>{"emojivoto/emoji", "emojivoto/legacy", "emojivoto/web"}));
  EXPECT_EQ(Metric(deployments.items[0], "success_count"), "5");
  EXPECT_EQ(Metric(deployments.items[1], "success_count"), "0");
  EXPECT_EQ(Metric(deployments.items[2], "success_count"), "18");
  EXPECT_FALSE(deployments.selector.has_value());

  const auto everywhere = service_.List(Query(ResourceKind::kDeployment, ""));
  EXPECT_EQ(Names(everywhere), (std::vector<std::string>{"emojivoto/emoji", "emojivoto/legacy",
                                                         "emojivoto/web", "other/web"}));
  EXPECT_EQ(testing::ShapeAs<sources::ResourceScope>(source_.queries.back()).ns, "");

  const auto pods = service_.List(Query(ResourceKind::kPod, "emojivoto"));
  EXPECT_EQ(Names(pods),
            (std::vector<std::string>{"emojivoto/debug", "emojivoto/emoji-77d8c-a",
                                      "emojivoto/node-logger-x", "emojivoto/vote-store-0",
                                      "emojivoto/web-5f7b9c-a", "emojivoto/web-5f7b9c-b"}));
  EXPECT_EQ(Metric(pods.items[5], "failure_count"), "2");

  const auto namespaces = service_.List(Query(ResourceKind::kNamespace, ""));
  EXPECT_EQ(Names(namespaces), (std::vector<std::string>{"emojivoto", "other", "quiet"}));
  EXPECT_EQ(Metric(namespaces.items[0], "success_count"), "10");
  EXPECT_EQ(testing::ShapeAs<sources::ResourceScope>(source_.queries.back()).kind,
            ResourceKind::kNamespace);

  const auto workloads = service_.ListWorkloads(Query(ResourceKind::kDeployment, "emojivoto"));
  EXPECT_EQ(Names(workloads), (std::vector<std::string>{"emojivoto/emoji", "emojivoto/legacy",
                                                        "emojivoto/node-logger",
                                                        "emojivoto/vote-store", "emojivoto/web"}));
  EXPECT_EQ(workloads.items[2].resource.kind, "DaemonSet");
  EXPECT_EQ(workloads.items[3].resource.kind, "StatefulSet");
}

TEST_F(ClusterServiceTest, LabelSelectorsFilterObjectsWithEveryOperator) {
  const auto names = [&](const std::string& selector) {
    return Names(ListWith(ResourceKind::kDeployment, "emojivoto", selector));
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("app=web"), (V{"emojivoto/web"}));
  EXPECT_EQ(names("app==web"), (V{"emojivoto/web"}));
  EXPECT_EQ(names("app!=web"), (V{"emojivoto/emoji", "emojivoto/legacy"}));
  EXPECT_EQ(names("app in (web,legacy)"), (V{"emojivoto/legacy", "emojivoto/web"}));
  EXPECT_EQ(names("app notin (web,legacy)"), (V{"emojivoto/emoji"}));
  EXPECT_EQ(names("tier"), (V{"emojivoto/emoji", "emojivoto/web"}));
  EXPECT_EQ(names("!tier"), (V{"emojivoto/legacy"}));
  EXPECT_EQ(names("tier=back,app"), (V{"emojivoto/emoji"}));
  EXPECT_EQ(names("app=nothing"), (V{}));
  // Selection never changes the numbers: web is the same with or without it.
  EXPECT_EQ(
      Metric(ListWith(ResourceKind::kDeployment, "emojivoto", "app=web").items[0], "success_count"),
      "18");
  // Gt/Lt (integer values), on the DaemonSet's version label through the workloads list.
  auto q = Query(ResourceKind::kDeployment, "emojivoto");
  q.label_selector = kube::LabelSelector::Parse("version>2");
  EXPECT_EQ(Names(service_.ListWorkloads(q)), (V{"emojivoto/node-logger"}));
  q.label_selector = kube::LabelSelector::Parse("version<3");
  EXPECT_EQ(Names(service_.ListWorkloads(q)), (V{}));
  q.label_selector = kube::LabelSelector::Parse("tier=back");
  EXPECT_EQ(Names(service_.ListWorkloads(q)), (V{"emojivoto/emoji", "emojivoto/vote-store"}));
  // Pods by their own labels; namespaces by theirs.
  EXPECT_EQ(Names(ListWith(ResourceKind::kPod, "", "app=web")),
            (V{"emojivoto/web-5f7b9c-a", "emojivoto/web-5f7b9c-b", "other/web-aaaaa-a"}));
  EXPECT_EQ(Names(ListWith(ResourceKind::kNamespace, "", "kubernetes.io/metadata.name=other")),
            (V{"other"}));
}

TEST_F(ClusterServiceTest, FieldSelectorsOnNameAndNamespace) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Names(ListWith(ResourceKind::kDeployment, "", "", "metadata.name=web")),
            (V{"emojivoto/web", "other/web"}));
  EXPECT_EQ(Names(ListWith(ResourceKind::kDeployment, "", "", "metadata.namespace=other")),
            (V{"other/web"}));
  EXPECT_EQ(Names(ListWith(ResourceKind::kDeployment, "", "app=web", "metadata.namespace!=other")),
            (V{"emojivoto/web"}));
  EXPECT_EQ(Names(ListWith(ResourceKind::kNamespace, "", "", "metadata.name!=emojivoto")),
            (V{"other", "quiet"}));
}

TEST_F(ClusterServiceTest, TheSelectorIsEchoedAsTheSpecShowsIt) {
  const auto list =
      ListWith(ResourceKind::kPod, "emojivoto", "app=web,tier in (a,b),env!=prod,!canary,x");
  ASSERT_TRUE(list.selector.has_value());
  const json out = model::ToJson(list, "metrics.smi-spec.io/v1alpha1");
  EXPECT_EQ(out["selector"], json::parse(R"({
    "matchLabels": {"app": "web"},
    "matchExpressions": [
      {"key": "canary", "operator": "DoesNotExist"},
      {"key": "env", "operator": "NotIn", "values": ["prod"]},
      {"key": "tier", "operator": "In", "values": ["a", "b"]},
      {"key": "x", "operator": "Exists"}]})"));
}

TEST_F(ClusterServiceTest, WorkloadNamesResolveThroughTheCaches) {
  const auto tm = service_.GetWorkload(Query(ResourceKind::kDeployment, "emojivoto", "vote-store"));
  EXPECT_EQ(tm.resource.kind, "StatefulSet");
  // Edges of the resolved workload cost only the edge fetch.
  source_.queries.clear();
  source_.edge_samples.edges = {{{"StatefulSet", "emojivoto", "vote-store", ""},
                                 model::Direction::kFrom,
                                 model::Side::kClient,
                                 {"Deployment", "emojivoto", "not-in-caches", ""},
                                 Busy()}};
  const auto edges =
      service_.WorkloadEdges(Query(ResourceKind::kDeployment, "emojivoto", "vote-store"));
  ASSERT_EQ(source_.queries.size(), 1u);
  EXPECT_EQ(testing::ShapeAs<sources::ObjectEdges>(source_.queries[0]).kind,
            ResourceKind::kStatefulSet);
  // Peers keep the mesh's identity, known to the caches or not (docs/decisions.md, decision 6).
  ASSERT_EQ(edges.items.size(), 1u);
  EXPECT_EQ(edges.items[0].edge.resource->name, "not-in-caches");
}

// A source whose pod edges name peer pods (Linkerd): a workload's edges are rolled up from the
// edges of every pod of its namespace, on the object side by OwnerOf and on the peer side to the
// peer pod's owner of the same kind; peers the caches cannot map keep the mesh's identity.
TEST_F(ClusterServiceTest, WorkloadEdgesRollUpFromPodEdgesOnBothEnds) {
  source_.pod_edges_name_peer_pods = true;
  const ObjectReference emoji_deployment{"Deployment", "emojivoto", "emoji", ""};
  const auto edge = [](ObjectReference pod, model::Direction direction, ObjectReference peer,
                       sources::TrafficCounts counts,
                       std::optional<ObjectReference> peer_as_kind = std::nullopt) {
    sources::EdgeSample e;
    e.resource = std::move(pod);
    e.direction = direction;
    e.side = model::Side::kClient;
    e.peer = std::move(peer);
    e.counts = std::move(counts);
    e.peer_as_kind = std::move(peer_as_kind);
    return e;
  };
  sources::TrafficCounts a, b, one;
  a.success = 10;
  a.latency_buckets = {{0.010, 10}, {0.020, 10}, {kInf, 10}};
  b.success = 8;
  b.failure = 2;
  b.latency_buckets = {{0.010, 0}, {0.020, 10}, {kInf, 10}};
  one.success = 1;
  const auto to = model::Direction::kTo;
  const auto from = model::Direction::kFrom;
  source_.edge_samples.edges = {
      // Both web pods call emoji's pod: one edge to the Deployment emoji, summed.
      edge(PodRef("emojivoto", "web-5f7b9c-a"), to, PodRef("emojivoto", "emoji-77d8c-a"), a,
           emoji_deployment),
      edge(PodRef("emojivoto", "web-5f7b9c-b"), to, PodRef("emojivoto", "emoji-77d8c-a"), b,
           emoji_deployment),
      // A peer pod the caches do not know keeps the mesh's identity: its deployment if the
      // series name one, else the pod.
      edge(PodRef("emojivoto", "web-5f7b9c-b"), to, PodRef("emojivoto", "ghost-1"), one,
           ObjectReference{"Deployment", "emojivoto", "ghost", ""}),
      edge(PodRef("emojivoto", "web-5f7b9c-a"), to, PodRef("emojivoto", "ghost-2"), one),
      // No peer pod in the series: the peer is what the mesh names.
      edge(PodRef("emojivoto", "web-5f7b9c-a"), to, {"Deployment", "emojivoto", "voting", ""}, one,
           ObjectReference{"Deployment", "emojivoto", "voting", ""}),
      // Callers from another namespace roll up to their owner too.
      edge(PodRef("emojivoto", "web-5f7b9c-a"), from, PodRef("other", "web-aaaaa-a"), one,
           ObjectReference{"Deployment", "other", "web", ""}),
      edge(PodRef("emojivoto", "web-5f7b9c-b"), from, PodRef("other", "web-aaaaa-a"), one),
      // A known peer pod owned by another kind: its owner, with the owner's own kind.
      edge(PodRef("emojivoto", "web-5f7b9c-b"), from, PodRef("emojivoto", "vote-store-0"), one),
      // A known peer pod without an owner stays the pod.
      edge(PodRef("emojivoto", "web-5f7b9c-b"), from, PodRef("emojivoto", "debug"), one),
      // Edges of other pods, known or not, are not web's.
      edge(PodRef("emojivoto", "emoji-77d8c-a"), to, PodRef("emojivoto", "web-5f7b9c-a"), one,
           ObjectReference{"Deployment", "emojivoto", "web", ""}),
      edge(PodRef("emojivoto", "ghost-1"), to, PodRef("emojivoto", "web-5f7b9c-a"), one),
      edge(PodRef("emojivoto", "debug"), to, PodRef("emojivoto", "web-5f7b9c-a"), one),
  };
  const auto list = service_.Edges(Query(ResourceKind::kDeployment, "emojivoto", "web"));
  ASSERT_EQ(source_.queries.size(), 1u);
  const auto& q = testing::ShapeAs<sources::NamespacePodEdges>(source_.queries[0]);
  EXPECT_EQ(q.ns, "emojivoto");
  EXPECT_EQ(q.peer_kind, ResourceKind::kDeployment);

  const ObjectReference web{"Deployment", "emojivoto", "web", ""};
  EXPECT_EQ(list.resource, web);
  std::vector<std::string> keys;
  for (const auto& item : list.items) {
    EXPECT_EQ(item.resource, web);
    EXPECT_EQ(item.edge.side, model::Side::kClient);
    const auto& peer = *item.edge.resource;
    keys.push_back(std::string(model::DirectionName(item.edge.direction)) + " " + peer.kind + " " +
                   peer.ns + "/" + peer.name + " " + Metric(item, "success_count"));
  }
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "to Deployment emojivoto/emoji 18",
                      "to Deployment emojivoto/ghost 1",
                      "to Deployment emojivoto/voting 1",
                      "to Pod emojivoto/ghost-2 1",
                      "from Deployment other/web 2",
                      "from Pod emojivoto/debug 1",
                      "from StatefulSet emojivoto/vote-store 1",
                  }));
  // Counts and latency buckets summed over the pods, quantiles of the sums.
  const auto& emoji = list.items[0];
  EXPECT_EQ(Metric(emoji, "failure_count"), "2");
  EXPECT_EQ(Metric(emoji, "p50_response_latency"), "10m");
  EXPECT_EQ(Metric(emoji, "p90_response_latency"), "18m");
  EXPECT_EQ(Metric(emoji, "p99_response_latency"), "19800u");
}

// Series that exist but did not move in the window make no edge (the spec's edges are between
// resources that exchanged traffic), through either path; a latency bucket that moved is traffic.
TEST_F(ClusterServiceTest, EdgesWithoutTrafficInTheWindowAreLeftOut) {
  const ObjectReference web{"Deployment", "emojivoto", "web", ""};
  const auto to = model::Direction::kTo;
  const auto client = model::Side::kClient;
  sources::TrafficCounts only_buckets;
  only_buckets.latency_buckets = {{0.01, 3}, {kInf, 3}};
  sources::TrafficCounts still;
  still.latency_buckets = {{0.01, 0}, {kInf, 0}};
  source_.edge_samples.edges = {
      Edge(web, to, client, {"Deployment", "emojivoto", "emoji", ""}, Busy(2)),
      Edge(web, to, client, {"Deployment", "emojivoto", "legacy", ""}, still),
      Edge(web, to, client, {"Deployment", "emojivoto", "voting", ""}, only_buckets)};
  EXPECT_EQ(EdgeItems(service_.Edges(Query(ResourceKind::kDeployment, "emojivoto", "web"))),
            (std::vector<std::string>{"to client Deployment emojivoto/emoji 2",
                                      "to client Deployment emojivoto/voting 0"}));

  source_.pod_edges_name_peer_pods = true;
  source_.edge_samples.edges = {Edge(PodRef("emojivoto", "web-5f7b9c-a"), to, client,
                                     PodRef("emojivoto", "emoji-77d8c-a"), Busy(2)),
                                Edge(PodRef("emojivoto", "web-5f7b9c-b"), to, client,
                                     PodRef("emojivoto", "vote-store-0"), still)};
  EXPECT_EQ(EdgeItems(service_.Edges(Query(ResourceKind::kDeployment, "emojivoto", "web"))),
            (std::vector<std::string>{"to client Deployment emojivoto/emoji 2"}));
}

// A mesh that does not record workload kinds names every peer as the kind asked about (Istio):
// with the caches a peer workload answers with the kind they know it by; peers the mesh cannot
// name (kind Unknown) and names the caches do not know stay as they are.
TEST_F(ClusterServiceTest, PeersTakeTheKindTheCachesKnowThemBy) {
  const ObjectReference web{"Deployment", "emojivoto", "web", ""};
  const auto to = model::Direction::kTo;
  const auto from = model::Direction::kFrom;
  source_.edge_samples.edges = {
      Edge(web, to, model::Side::kClient, {"Deployment", "emojivoto", "vote-store", ""}, Busy()),
      Edge(web, to, model::Side::kClient, {"Deployment", "emojivoto", "node-logger", ""}, Busy()),
      Edge(web, to, model::Side::kClient, {"Deployment", "emojivoto", "emoji", ""}, Busy()),
      Edge(web, to, model::Side::kClient, {"Deployment", "emojivoto", "gone", ""}, Busy()),
      Edge(web, to, model::Side::kClient, {"Unknown", "", "api.example.com", ""}, Busy()),
      Edge(web, from, model::Side::kServer, {"Unknown", "", "", ""}, Busy(4))};
  EXPECT_EQ(EdgeItems(service_.Edges(Query(ResourceKind::kDeployment, "emojivoto", "web"))),
            (std::vector<std::string>{
                "to client StatefulSet emojivoto/vote-store 1",
                "to client DaemonSet emojivoto/node-logger 1",
                "to client Deployment emojivoto/emoji 1", "to client Deployment emojivoto/gone 1",
                "to client Unknown /api.example.com 1", "from server Unknown / 4"}));
}

// Rolled up from pod edges: a workload calling itself and two workloads calling each other give
// one item per direction, each summing only its own direction's pod edges; unmeshed callers
// (kind Unknown, measured at the server) stay one item of their own.
TEST_F(ClusterServiceTest, SelfCallsBothDirectionsAndUnknownCallersAreSeparateItems) {
  source_.pod_edges_name_peer_pods = true;
  const auto to = model::Direction::kTo;
  const auto from = model::Direction::kFrom;
  const auto client = model::Side::kClient;
  const auto a = PodRef("emojivoto", "web-5f7b9c-a");
  const auto b = PodRef("emojivoto", "web-5f7b9c-b");
  const auto emoji = PodRef("emojivoto", "emoji-77d8c-a");
  source_.edge_samples.edges = {
      // web's pods call each other: web calls web.
      Edge(a, to, client, b, Busy(1)), Edge(b, from, client, a, Busy(1)),
      Edge(b, to, client, a, Busy(2)), Edge(a, from, client, b, Busy(2)),
      // web calls emoji, emoji calls web.
      Edge(a, to, client, emoji, Busy(5)), Edge(b, from, client, emoji, Busy(7)),
      // Callers outside the mesh, seen by web's proxies.
      Edge(a, from, model::Side::kServer, {"Unknown", "", "", ""}, Busy(3)),
      Edge(b, from, model::Side::kServer, {"Unknown", "", "", ""}, Busy(4))};
  EXPECT_EQ(EdgeItems(service_.Edges(Query(ResourceKind::kDeployment, "emojivoto", "web"))),
            (std::vector<std::string>{
                "to client Deployment emojivoto/emoji 5", "to client Deployment emojivoto/web 3",
                "from client Deployment emojivoto/emoji 7",
                "from client Deployment emojivoto/web 3", "from server Unknown / 7"}));
}

// A source whose pod edges do not name peer pods (Istio): the workload-level edges, as before.
TEST_F(ClusterServiceTest, WorkloadEdgesStayWorkloadLevelWhenPeersAreNotPods) {
  source_.edge_samples.edges = {{{"Deployment", "emojivoto", "web", ""},
                                 model::Direction::kTo,
                                 model::Side::kClient,
                                 {"Deployment", "emojivoto", "emoji", ""},
                                 Busy()}};
  const auto list = service_.Edges(Query(ResourceKind::kDeployment, "emojivoto", "web"));
  ASSERT_EQ(source_.queries.size(), 1u);
  EXPECT_EQ(testing::ShapeAs<sources::ObjectEdges>(source_.queries[0]).kind,
            ResourceKind::kDeployment);
  EXPECT_EQ(testing::ShapeAs<sources::ObjectEdges>(source_.queries[0]).name, "web");
  ASSERT_EQ(list.items.size(), 1u);
  EXPECT_EQ(list.items[0].edge.resource->name, "emoji");
}

// A pod deleted within the window still counts for the workload that owned it (docs/decisions.md,
// decision 16), for as long as the longest window the source accepts reaches back.
TEST_F(ClusterServiceTest, DeletedPodsCountForTheirWorkloadThroughTheWindow) {
  const auto web = [&] {
    return Metric(service_.Get(Query(ResourceKind::kDeployment, "emojivoto", "web")),
                  "success_count");
  };
  ASSERT_EQ(web(), "18");
  // web-5f7b9c-b ends: its series still hold 8 successes within the window.
  ASSERT_TRUE(cluster_.Remove("v1", "Pod", "emojivoto", "web-5f7b9c-b"));
  EXPECT_EQ(web(), "18");
  EXPECT_EQ(Metric(service_.List(Query(ResourceKind::kDeployment, "emojivoto")).items[2],
                   "success_count"),
            "18");
  EXPECT_EQ(Metric(service_.ListWorkloads(Query(ResourceKind::kDeployment, "emojivoto")).items[4],
                   "success_count"),
            "18");
  // The pod itself is gone: 404, and not listed.
  EXPECT_THROW(service_.Get(Query(ResourceKind::kPod, "emojivoto", "web-5f7b9c-b")),
               ObjectNotFound);

  // A source keeping 2h: the memory grows to cover it, so 90 minutes later the pod still counts.
  source_.retention = 2h;
  EXPECT_EQ(web(), "18");
  clock_.Advance(90min);
  ASSERT_TRUE(cluster_.Remove("v1", "Pod", "emojivoto", "emoji-77d8c-a"));  // prunes the memory
  EXPECT_EQ(web(), "18");
  // Beyond the longest window it is forgotten.
  clock_.Advance(60min);
  ASSERT_TRUE(cluster_.Remove("v1", "Pod", "emojivoto", "vote-store-0"));
  EXPECT_EQ(web(), "10");
}

TEST_F(ClusterServiceTest, ADeletedPodDoesNotCountForANewWorkloadOfTheSameName) {
  ASSERT_TRUE(cluster_.Remove("v1", "Pod", "emojivoto", "web-5f7b9c-b"));
  // web is deleted and created again (a new UID): the old pod was not the new web's.
  ASSERT_TRUE(cluster_.Remove("apps/v1", "Deployment", "emojivoto", "web"));
  json again = MakeDeployment("emojivoto", "web", {{"app", "web"}}, 2);
  again["metadata"]["uid"] = "uid-of-the-new-web";
  cluster_.Upsert(again);
  EXPECT_EQ(
      Metric(service_.Get(Query(ResourceKind::kDeployment, "emojivoto", "web")), "success_count"),
      "0");
}

// A pod the caches never knew (it ended before the server started) counts for the workload its
// series name, when the caches hold exactly one workload of that name in the pod's namespace (of
// the kind the series say, where they say it); pods the caches know keep their caches' owner, or
// none (docs/decisions.md, decision 16).
TEST_F(ClusterServiceTest, APodTheCachesNeverKnewCountsForTheWorkloadItsSeriesName) {
  const auto series = [](std::string pod, double success, std::string owner_kind,
                         std::string owner_ns, std::string owner) {
    sources::ResourceSample sample{PodRef("emojivoto", std::move(pod)), Busy(success)};
    sample.owner =
        ObjectReference{std::move(owner_kind), std::move(owner_ns), std::move(owner), ""};
    return sample;
  };
  auto& r = source_.resource_samples.resources;
  r.push_back(series("web-5f7b9c-old", 7, "", "emojivoto", "web"));
  r.push_back(series("vote-store-1", 4, "StatefulSet", "emojivoto", "vote-store"));
  r.push_back(series("node-logger-old", 3, "", "emojivoto", "node-logger"));
  r.push_back(series("emoji-old", 100, "StatefulSet", "emojivoto", "emoji"));  // not its kind
  r.push_back(series("nothing-1", 100, "", "emojivoto", "nothing"));           // no such workload
  r.push_back(series("elsewhere-1", 100, "", "other", "web"));  // another namespace than the pod
  r.push_back(series("debug", 100, "", "emojivoto", "web"));    // known, without a workload owner
  r.push_back(series("web-5f7b9c-a", 0, "", "emojivoto", "emoji"));  // known: the caches' owner
  const auto get = [&](ResourceKind kind, const std::string& name) {
    return Metric(service_.Get(Query(kind, "emojivoto", name)), "success_count");
  };
  EXPECT_EQ(get(ResourceKind::kDeployment, "web"), "25");
  EXPECT_EQ(get(ResourceKind::kStatefulSet, "vote-store"), "4");
  EXPECT_EQ(get(ResourceKind::kDaemonSet, "node-logger"), "3");
  EXPECT_EQ(get(ResourceKind::kDeployment, "emoji"), "5");
  EXPECT_EQ(Metric(service_.List(Query(ResourceKind::kDeployment, "emojivoto")).items[2],
                   "success_count"),
            "25");
  EXPECT_EQ(Metric(service_.ListWorkloads(Query(ResourceKind::kDeployment, "emojivoto")).items[4],
                   "success_count"),
            "25");
  EXPECT_EQ(Metric(service_.GetWorkload(Query(ResourceKind::kDeployment, "emojivoto", "web")),
                   "success_count"),
            "25");

  // A StatefulSet named web appears: the series' "web" could be either, so the pod counts for
  // neither; the pods the caches know still count for their Deployment.
  cluster_.Upsert(MakeStatefulSet("emojivoto", "web", {{"app", "web-store"}}));
  EXPECT_EQ(get(ResourceKind::kDeployment, "web"), "18");
  EXPECT_EQ(get(ResourceKind::kStatefulSet, "web"), "0");
}

// A source whose series name the workload kind (Linkerd's deployment, statefulset, daemonset
// labels): workloads are asked for by name and summed by the source; the caches say which exist.
TEST_F(ClusterServiceTest, NamedWorkloadsAreAskedForByName) {
  source_.named_workloads = {ResourceKind::kDeployment, ResourceKind::kStatefulSet,
                             ResourceKind::kDaemonSet};
  sources::TrafficCounts web_counts, gone_counts;
  web_counts.success = 30;  // includes pods the caches no longer hold
  web_counts.failure = 1;
  web_counts.latency_buckets = {{0.010, 31}, {kInf, 31}};
  gone_counts.success = 5;
  source_.resource_samples.resources = {
      {{"Deployment", "emojivoto", "gone", ""}, gone_counts},
      {{"Deployment", "emojivoto", "web", ""}, web_counts},
      {{"StatefulSet", "emojivoto", "vote-store", ""}, gone_counts}};

  const auto tm = service_.Get(Query(ResourceKind::kDeployment, "emojivoto", "web"));
  ASSERT_EQ(source_.queries.size(), 1u);
  const auto& one = testing::ShapeAs<sources::ResourceScope>(source_.queries[0]);
  EXPECT_EQ(one.kind, ResourceKind::kDeployment);
  EXPECT_EQ(one.ns, "emojivoto");
  EXPECT_EQ(one.name, "web");
  EXPECT_EQ(Metric(tm, "success_count"), "30");
  EXPECT_EQ(Metric(tm, "failure_count"), "1");
  EXPECT_EQ(Metric(tm, "p50_response_latency"), "5m");

  // Lists: every existing object (idle ones too), never a series' object the caches lack.
  const auto list = service_.List(Query(ResourceKind::kDeployment, "emojivoto"));
  const auto& every = testing::ShapeAs<sources::ResourceScope>(source_.queries.back());
  EXPECT_EQ(every.kind, ResourceKind::kDeployment);
  EXPECT_EQ(every.name, "");
  EXPECT_EQ(Names(list),
            (std::vector<std::string>{"emojivoto/emoji", "emojivoto/legacy", "emojivoto/web"}));
  EXPECT_EQ(Metric(list.items[0], "success_count"), "0");
  EXPECT_EQ(Metric(list.items[2], "success_count"), "30");

  // The workload collection also holds kinds the series do not name (ReplicaSets nothing
  // controls, Jobs...): the named kinds are summed by their labels, and only the pods whose
  // series name no workload are rolled up.
  source_.queries.clear();
  service_.ListWorkloads(Query(ResourceKind::kDeployment, "emojivoto"));
  ASSERT_EQ(source_.queries.size(), 2u);  // asked for at once, in either order
  const bool workloads_first =
      std::holds_alternative<sources::AllWorkloads>(source_.queries[0].shape);
  EXPECT_EQ(testing::ShapeAs<sources::AllWorkloads>(source_.queries[workloads_first ? 0 : 1]).ns,
            "emojivoto");
  const auto& pods =
      testing::ShapeAs<sources::ResourceScope>(source_.queries[workloads_first ? 1 : 0]);
  EXPECT_EQ(pods.kind, ResourceKind::kPod);
  EXPECT_TRUE(pods.without_workload_labels);

  // Existence stays the caches': series of a deleted deployment are not an object.
  EXPECT_THROW(service_.Get(Query(ResourceKind::kDeployment, "emojivoto", "gone")), ObjectNotFound);
}

TEST_F(ClusterServiceTest, NamedWorkloadEdgesAreAskedForByName) {
  source_.named_workloads = {ResourceKind::kDeployment, ResourceKind::kStatefulSet,
                             ResourceKind::kDaemonSet};
  const ObjectReference web{"Deployment", "emojivoto", "web", ""};
  const auto edge = [&](model::Direction direction, ObjectReference peer, double success) {
    sources::EdgeSample e;
    e.resource = web;
    e.direction = direction;
    e.side = model::Side::kClient;
    e.peer_as_kind = peer.kind == "Pod" ? std::optional(peer) : std::nullopt;
    e.peer = std::move(peer);
    e.counts.success = success;
    return e;
  };
  const auto to = model::Direction::kTo;
  const auto from = model::Direction::kFrom;
  source_.edge_samples.edges = {
      edge(to, {"Deployment", "emojivoto", "emoji", ""}, 10),
      // A peer pod the series do not name as a deployment, which the caches know as emoji's:
      // the same peer.
      edge(to, PodRef("emojivoto", "emoji-77d8c-a"), 2),
      // A peer pod of another kind becomes its own workload (decision 6); one nobody knows is
      // kept as the pod.
      edge(to, PodRef("emojivoto", "vote-store-0"), 3),
      edge(from, PodRef("load", "bare"), 4),
      // Another object's edges are not web's.
      {{"Deployment", "emojivoto", "emoji", ""}, to, model::Side::kClient, web, {}},
  };
  const auto list = service_.Edges(Query(ResourceKind::kDeployment, "emojivoto", "web"));
  ASSERT_EQ(source_.queries.size(), 1u);
  const auto& q = testing::ShapeAs<sources::ObjectEdges>(source_.queries[0]);
  EXPECT_EQ(q.kind, ResourceKind::kDeployment);
  EXPECT_EQ(q.ns, "emojivoto");
  EXPECT_EQ(q.name, "web");
  EXPECT_EQ(q.peer_kind, ResourceKind::kPod);
  std::vector<std::string> keys;
  for (const auto& item : list.items) {
    EXPECT_EQ(item.resource, web);
    const auto& peer = *item.edge.resource;
    keys.push_back(std::string(model::DirectionName(item.edge.direction)) + " " + peer.kind + " " +
                   peer.ns + "/" + peer.name + " " + Metric(item, "success_count"));
  }
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "to Deployment emojivoto/emoji 12",
                      "to StatefulSet emojivoto/vote-store 3",
                      "from Pod load/bare 4",
                  }));
  // Edges of a statefulset the series name: by name too.
  service_.WorkloadEdges(Query(ResourceKind::kDeployment, "emojivoto", "vote-store"));
  EXPECT_EQ(testing::ShapeAs<sources::ObjectEdges>(source_.queries.back()).kind,
            ResourceKind::kStatefulSet);
}

// Caches that have not synced are the server not being ready, not the backend failing: a NotReady
// (503 naming the caches), for objects and TrafficSplits alike.
TEST_F(ClusterServiceTest, NotSyncedIsNotReady) {
  testing::UnsyncedCluster unsynced;
  TrafficMetricsService service(source_, clock_, {}, &unsynced);
  EXPECT_THROW(service.List(Query(ResourceKind::kPod, "emojivoto")), aggregation::NotReady);
  MetricsQuery splits;
  splits.ns = "emojivoto";
  EXPECT_THROW(service.ListTrafficSplits(splits), aggregation::NotReady);
  EXPECT_TRUE(source_.queries.empty());
}

// Without Kubernetes knowledge workload edges are the mesh's, whatever the source could do.
TEST(NoClusterService, WorkloadEdgesStayWorkloadLevel) {
  testing::FakeSource source;
  source.pod_edges_name_peer_pods = true;
  testing::FakeClock clock(std::chrono::system_clock::time_point(1700000000500ms));
  TrafficMetricsService service(source, clock, {});
  source.edge_samples.edges = {{{"Deployment", "emojivoto", "web", ""},
                                model::Direction::kTo,
                                model::Side::kClient,
                                {"Deployment", "emojivoto", "emoji", ""},
                                Busy()}};
  MetricsQuery q;
  q.kind = ResourceKind::kDeployment;
  q.ns = "emojivoto";
  q.name = "web";
  const auto list = service.Edges(q);
  ASSERT_EQ(source.queries.size(), 1u);
  EXPECT_EQ(testing::ShapeAs<sources::ObjectEdges>(source.queries[0]).kind,
            ResourceKind::kDeployment);
  EXPECT_EQ(testing::ShapeAs<sources::ObjectEdges>(source.queries[0]).name, "web");
  ASSERT_EQ(list.items.size(), 1u);
  EXPECT_EQ(list.items[0].edge.resource->name, "emoji");
}

TEST(NoClusterService, LabelSelectorsNeedKubernetesKnowledgeFieldSelectorsDoNot) {
  testing::FakeSource source;
  testing::FakeClock clock(std::chrono::system_clock::time_point(1700000000500ms));
  TrafficMetricsService service(source, clock, {});
  source.resource_samples.known_objects = {{"Deployment", "a", "web", ""},
                                           {"Deployment", "b", "web", ""},
                                           {"Deployment", "b", "api", ""}};
  MetricsQuery q;
  q.kind = ResourceKind::kDeployment;
  q.label_selector = kube::LabelSelector::Parse("app=web");
  try {
    service.List(q);
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--kube-objects"), std::string::npos) << e.what();
  }
  EXPECT_THROW(service.ListWorkloads(q), std::invalid_argument);
  q.label_selector.reset();
  q.field_selector = kube::FieldSelector::Parse("metadata.namespace=b,metadata.name!=api");
  const auto list = service.List(q);
  ASSERT_EQ(list.items.size(), 1u);
  EXPECT_EQ(list.items[0].resource, (ObjectReference{"Deployment", "b", "web", ""}));
}

}  // namespace
}  // namespace smi::aggregation
