// End to end, with Kubernetes knowledge: ReplicaSets, Jobs, ReplicationControllers, Nodes and
// Services, the kinds the server forms from pods through its caches. Which pods each object holds
// is read here from the simulator's topology (owners, nodes, the app label its Services select);
// every number is compared with PromQL written here over exactly those pods' series, at the
// response's timestamp over its window.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "e2e_env.h"

namespace smi::e2e {
namespace {

using nlohmann::json;
const std::string kBase = "/apis/metrics.smi-spec.io/v1alpha1";

struct PodId {
  std::string ns, name;
  auto operator<=>(const PodId&) const = default;
};
using PodSet = std::set<PodId>;

// A group of pods as the server should name it: kind, namespace (empty for nodes), name.
struct Group {
  std::string kind, ns, name;
  auto operator<=>(const Group&) const = default;
};

PodId IdOf(const json& pod) { return {pod.at("namespace"), pod.at("name")}; }

// ---- What the topology says each object holds --------------------------------------------------

// The objects of `kind` a pod counts for. The simulator's Deployments run one ReplicaSet,
// <name>-<pod-template-hash>; its Services select `app=<workload name>` (an apex: its first
// backend's pods); a pod's app label is its workload's name.
std::vector<Group> GroupsOf(const std::string& kind, const json& pod) {
  const json& topo = GetEnv().topology;
  const std::string ns = pod.at("namespace");
  const std::string owner_kind = pod.at("owner").at("kind");
  const std::string owner = pod.at("owner").at("name");
  std::vector<Group> out;
  if (kind == "Node") {
    out.push_back({"Node", "", pod.at("node").get<std::string>()});
  } else if (kind == "ReplicaSet") {
    if (owner_kind == "deployment")
      out.push_back({kind, ns, owner + "-" + pod.at("pod_template_hash").get<std::string>()});
    if (owner_kind == "replicaset") out.push_back({kind, ns, owner});
  } else if (kind == "Job") {
    if (owner_kind == "job") out.push_back({kind, ns, owner});
  } else if (kind == "Service") {
    std::set<std::string> services;
    for (const auto& w : topo.at("workloads")) {
      if (w.at("namespace") == ns && w.at("name") == owner)
        services.insert(w.at("service").get<std::string>());
    }
    for (const auto& split : topo.at("trafficsplits")) {
      const auto& first = split.at("backends").at(0).at("workload");
      if (split.at("namespace") == ns && first.at("name") == owner)
        services.insert(split.at("apex").get<std::string>());
    }
    for (const auto& s : services) out.push_back({kind, ns, s});
  }
  return out;
}

std::map<Group, PodSet> PodsByGroup(const std::string& kind) {
  std::map<Group, PodSet> out;
  for (const auto& pod : GetEnv().topology.at("pods")) {
    for (const auto& g : GroupsOf(kind, pod)) out[g].insert(IdOf(pod));
  }
  return out;
}

// ---- The oracle ---------------------------------------------------------------------------------

std::string PodRegex(const PodSet& pods, const std::string& ns) {
  std::string out;
  for (const auto& p : pods) {
    if (p.ns != ns) continue;
    out += (out.empty() ? "" : "|") + p.name;
  }
  return out;
}

std::set<std::string> NamespacesOf(const PodSet& pods) {
  std::set<std::string> out;
  for (const auto& p : pods) out.insert(p.ns);
  return out;
}

// `increase(metric{...}[window])` over the series of `pods` (inbound) or between `callers` and
// `callees` (outbound, as the callers' proxies see it): one `or` branch per namespace pair, so
// the branches' label sets differ and all are kept.
std::string Increases(const std::string& metric, const std::string& matchers, const PodSet& callers,
                      const PodSet& callees, const std::string& window) {
  std::string out;
  const auto branch = [&](const std::string& selector) {
    out += (out.empty() ? "" : " or ") + std::string("increase(") + metric + "{" + matchers +
           selector + "}[" + window + "])";
  };
  if (callers.empty()) {  // inbound
    for (const auto& ns : NamespacesOf(callees)) {
      branch(",direction=\"inbound\",namespace=\"" + ns + "\",pod=~\"" + PodRegex(callees, ns) +
             "\"");
    }
    return out;
  }
  for (const auto& ns : NamespacesOf(callers)) {
    for (const auto& dst_ns : NamespacesOf(callees)) {
      branch(",direction=\"outbound\",namespace=\"" + ns + "\",pod=~\"" + PodRegex(callers, ns) +
             "\",dst_namespace=\"" + dst_ns + "\",dst_pod=~\"" + PodRegex(callees, dst_ns) + "\"");
    }
  }
  return out;
}

// Checks one item against PromQL over the traffic received by `pods` (callers empty), or sent by
// `callers` to `callees`.
void VerifyPods(const json& item, const PodSet& callers, const PodSet& callees) {
  SCOPED_TRACE(item.dump());
  ASSERT_FALSE(callees.empty());
  const long long at = ParseTimestamp(item.at("timestamp"));
  const std::string window = WindowRange(item);
  std::map<std::string, double> expected;
  for (const char* cls : {"success", "failure"}) {
    bool present = false;
    const double v =
        OracleScalar("sum(" +
                         Increases("response_total", std::string("classification=\"") + cls + "\"",
                                   callers, callees, window) +
                         ")",
                     at, &present);
    expected[std::string(cls) + "_count"] = v;
  }
  QuantileBands bands;
  QuantileOracle("sum by (le) (" +
                     Increases("response_latency_ms_bucket", "le!=\"\"", callers, callees, window) +
                     ")",
                 at, window, &expected, &bands);
  ExpectMetricsMatch(item, expected, bands);
}

std::string PathOf(const Group& g) {
  if (g.kind == "Node") return kBase + "/nodes/" + g.name;
  std::string plural = g.kind == "ReplicaSet" ? "replicasets"
                       : g.kind == "Job"      ? "jobs"
                                              : "services";
  return kBase + "/namespaces/" + g.ns + "/" + plural + "/" + g.name;
}

// The server needs Kubernetes knowledge to form these kinds; this suite runs where it has it.
bool HasKubernetesKnowledge() {
  const char* kube = std::getenv("SMI_E2E_KUBE");
  return kube != nullptr && *kube != '\0';
}

#define REQUIRE_KUBE()                                                                   \
  if (!HasKubernetesKnowledge()) {                                                       \
    GTEST_SKIP() << "the server runs without Kubernetes knowledge (SMI_E2E_KUBE unset)"; \
  }

// ---- Tests ------------------------------------------------------------------------------------

// Every object of the kind, listed everywhere and got one by one, matches PromQL over its pods.
void CheckKind(const std::string& kind, const std::string& plural, size_t at_least) {
  const auto groups = PodsByGroup(kind);
  ASSERT_GE(groups.size(), at_least) << "the simulator's topology should hold " << plural;
  const json list = GetJson(kBase + "/" + plural);
  EXPECT_EQ(list.at("resource"), (json{{"kind", kind}}));
  std::set<std::string> want;
  for (const auto& [g, pods] : groups) want.insert(g.ns + "/" + g.name);
  EXPECT_EQ(ItemNames(list), want);
  for (const auto& item : list.at("items")) {
    const json& r = item.at("resource");
    const Group g{r.at("kind"), r.value("namespace", ""), r.at("name")};
    if (groups.contains(g)) VerifyPods(item, {}, groups.at(g));
  }
  for (const auto& [g, pods] : groups) {
    const json one = GetJson(PathOf(g));
    EXPECT_EQ(one.at("kind"), "TrafficMetrics");
    VerifyPods(one, {}, pods);
  }
}

TEST(KindsEndToEnd, ReplicaSetsOfDeploymentsAndBareOnesMatchPromQL) {
  REQUIRE_KUBE();
  CheckKind("ReplicaSet", "replicasets", 2);
  const json ns_list = GetJson(kBase + "/namespaces/emojivoto/replicasets");
  EXPECT_EQ(ns_list.at("resource"), (json{{"kind", "ReplicaSet"}, {"namespace", "emojivoto"}}));
  EXPECT_TRUE(ItemNames(ns_list).contains("emojivoto/vote-cache"));
}

TEST(KindsEndToEnd, JobsMatchPromQL) {
  REQUIRE_KUBE();
  CheckKind("Job", "jobs", 1);
}

TEST(KindsEndToEnd, NodesSumTheirPodsInEveryNamespace) {
  REQUIRE_KUBE();
  const auto groups = PodsByGroup("Node");
  ASSERT_GE(groups.size(), 2u) << "the simulator should schedule pods on two nodes or more";
  std::set<std::string> namespaces;
  for (const auto& [g, pods] : groups) {
    for (const auto& ns : NamespacesOf(pods)) namespaces.insert(ns);
  }
  EXPECT_GE(namespaces.size(), 2u) << "a node should run pods of several namespaces";
  CheckKind("Node", "nodes", 2);
  const json missing = GetJson(kBase + "/nodes/no-such-node", 404);
  EXPECT_EQ(missing.at("message"), "nodes.metrics.smi-spec.io \"no-such-node\" not found");
}

TEST(KindsEndToEnd, ServicesSumThePodsTheirSelectorPicks) {
  REQUIRE_KUBE();
  CheckKind("Service", "services", 4);
}

TEST(KindsEndToEnd, ReplicationControllersExistOnlyInTheCaches) {
  REQUIRE_KUBE();
  // The simulator runs none: an empty list, and a 404 for any name.
  const json list = GetJson(kBase + "/replicationcontrollers");
  EXPECT_EQ(list.at("resource"), (json{{"kind", "ReplicationController"}}));
  EXPECT_TRUE(list.at("items").empty());
  GetJson(kBase + "/namespaces/emojivoto/replicationcontrollers/web", 404);
}

// Edges: for each call, every (client pod, server pod) pair is an edge between the groups of the
// two pods (a peer pod that is in no group of the kind keeps its pod identity), seen from both
// ends; the numbers are PromQL over the outbound series between the two pod sets.
void CheckEdges(const std::string& kind, const Group& self) {
  SCOPED_TRACE(self.kind + " " + self.ns + "/" + self.name);
  const auto groups = PodsByGroup(kind);
  const PodSet& own = groups.at(self);
  // (direction, peer) -> the peer's pods on the other end of the traffic.
  std::map<EdgeKey, PodSet> want;
  const auto peer_key = [&](const std::string& direction, const json& peer_pod) {
    std::vector<std::pair<EdgeKey, PodSet>> out;
    for (const auto& g : GroupsOf(kind, peer_pod)) {
      out.push_back({{direction, "client", g.kind, g.ns, g.name}, groups.at(g)});
    }
    if (out.empty()) {
      out.push_back({{direction, "client", "Pod", peer_pod.at("namespace"), peer_pod.at("name")},
                     {IdOf(peer_pod)}});
    }
    return out;
  };
  const auto pods_of = [](const json& ref) {
    std::vector<json> out;
    for (const auto& pod : GetEnv().topology.at("pods")) {
      if (pod.at("namespace") == ref.at("namespace") &&
          pod.at("owner").at("kind") == ref.at("kind") &&
          pod.at("owner").at("name") == ref.at("name")) {
        out.push_back(pod);
      }
    }
    return out;
  };
  for (const auto& c : GetEnv().topology.at("calls")) {
    for (const auto& client : pods_of(c.at("client"))) {
      for (const auto& server : pods_of(c.at("server"))) {
        if (own.contains(IdOf(client))) {
          for (auto& [k, pods] : peer_key("to", server)) want[k] = pods;
        }
        if (own.contains(IdOf(server))) {
          for (auto& [k, pods] : peer_key("from", client)) want[k] = pods;
        }
      }
    }
  }
  const json list = GetJson(PathOf(self) + "/edges");
  std::set<EdgeKey> want_keys;
  for (const auto& [k, pods] : want) want_keys.insert(k);
  // An unmeshed caller of one of the object's pods is the one peer the mesh cannot name
  // (docs/decisions.md, decision 6): recorded by the server's proxy, without a name in Linkerd.
  for (const auto& c : GetEnv().topology.at("unmeshed_calls")) {
    for (const auto& server : pods_of(c.at("server"))) {
      if (own.contains(IdOf(server))) want_keys.insert({"from", "server", "Unknown", "", ""});
    }
  }
  EXPECT_EQ(EdgeKeys(list), want_keys);
  for (const auto& item : list.at("items")) {
    const json& peer = item.at("edge").at("resource");
    const EdgeKey key{item.at("edge").at("direction"), item.at("edge").at("side"), peer.at("kind"),
                      peer.value("namespace", ""), peer.value("name", "")};
    if (!want.contains(key)) continue;
    // Only the pods of each side that exchanged traffic have series between them.
    if (std::get<0>(key) == "to") {
      VerifyPods(item, own, want.at(key));
    } else {
      VerifyPods(item, want.at(key), own);
    }
  }
}

TEST(KindsEndToEnd, EdgesOfEveryNewKindFollowTheTopology) {
  REQUIRE_KUBE();
  size_t checked = 0;
  for (const std::string kind : {"ReplicaSet", "Job", "Node", "Service"}) {
    for (const auto& [g, pods] : PodsByGroup(kind)) {
      CheckEdges(kind, g);
      ++checked;
    }
  }
  EXPECT_GE(checked, 8u);
}

// A Service selecting no pod (the simulator's objects have none; the server's own unit tests cover
// selector-less ones) and pods of several namespaces on one node were checked above; here the
// kinds are in discovery with `trafficmetrics` still last.
TEST(KindsEndToEnd, DiscoveryListsTheKindsWithTrafficMetricsLast) {
  const json doc = GetJson(kBase);
  std::set<std::string> names;
  std::string last;
  for (const auto& r : doc.at("resources")) {
    names.insert(r.at("name"));
    if (r.at("kind") == "TrafficMetrics") last = r.at("name");
  }
  for (const char* n : {"replicasets", "replicationcontrollers", "jobs", "nodes", "services"}) {
    EXPECT_TRUE(names.contains(n)) << n;
    EXPECT_TRUE(names.contains(std::string(n) + "/edges")) << n;
  }
  EXPECT_EQ(last, "trafficmetrics");
}

// The `trafficmetrics` collection holds each pod's top-level controller: the bare ReplicaSet and
// the Job beside the Deployments, never a Deployment's own ReplicaSet. The Job's and the bare
// ReplicaSet's items (pods whose series name no workload, rolled up through the caches) equal
// PromQL's sums over their pods.
TEST(KindsEndToEnd, TheWorkloadCollectionHoldsJobsAndBareReplicaSets) {
  REQUIRE_KUBE();
  const json list = GetJson(kBase + "/namespaces/emojivoto/trafficmetrics");
  std::set<std::string> kinds_names;
  for (const auto& item : list.at("items")) {
    const std::string kind = item.at("resource").at("kind");
    const std::string name = item.at("resource").at("name");
    kinds_names.insert(kind + " " + name);
    if ((kind == "Job" && name == "vote-audit") || (kind == "ReplicaSet" && name == "vote-cache")) {
      VerifyPods(item, {}, PodsByGroup(kind).at({kind, "emojivoto", name}));
    }
  }
  EXPECT_TRUE(kinds_names.contains("ReplicaSet vote-cache"));
  EXPECT_TRUE(kinds_names.contains("Job vote-audit"));
  for (const auto& [g, pods] : PodsByGroup("ReplicaSet")) {
    if (g.name != "vote-cache") {
      EXPECT_FALSE(kinds_names.contains("ReplicaSet " + g.name));
    }
  }
  const auto groups = PodsByGroup("Job");
  const json job = GetJson(kBase + "/namespaces/emojivoto/trafficmetrics/vote-audit");
  EXPECT_EQ(job.at("resource").at("kind"), "Job");
  VerifyPods(job, {}, groups.at({"Job", "emojivoto", "vote-audit"}));
}

}  // namespace
}  // namespace smi::e2e
