// End to end: the mesh simulator, a real Prometheus scraping it, the server, real kubectl.
// Every number the server answers is compared with PromQL's own answer at the response's
// timestamp over the response's window; every edge with the simulator's topology.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <set>
#include <tuple>

#include "e2e_env.h"

namespace smi::e2e {
namespace {

using nlohmann::json;
const std::string kBase = "/apis/metrics.smi-spec.io/v1alpha1";

// ---- The simulator's topology, read independently of the server -------------------------------

struct Workload {
  std::string ns, kind, name;  // kind as Kubernetes spells it: Deployment, StatefulSet, DaemonSet
  auto operator<=>(const Workload&) const = default;
};

// meshsim spells kinds in lower case ("deployment"); the API as Kubernetes does.
std::string KubernetesKind(const std::string& sim_kind) {
  if (sim_kind == "deployment") return "Deployment";
  if (sim_kind == "statefulset") return "StatefulSet";
  if (sim_kind == "daemonset") return "DaemonSet";
  if (sim_kind == "replicaset") return "ReplicaSet";
  if (sim_kind == "job") return "Job";
  throw std::runtime_error("unexpected workload kind in the topology: " + sim_kind);
}

Workload Ref(const json& w) {
  return {w.at("namespace"), KubernetesKind(w.at("kind")), w.at("name")};
}

std::vector<json> Pods() { return GetEnv().topology.at("pods").get<std::vector<json>>(); }

Workload OwnerOf(const json& pod) {
  return {pod.at("namespace"), KubernetesKind(pod.at("owner").at("kind")),
          pod.at("owner").at("name")};
}

std::vector<Workload> Workloads() {
  std::vector<Workload> out;
  for (const auto& w : GetEnv().topology.at("workloads")) out.push_back(Ref(w));
  return out;
}

std::vector<Workload> Deployments() {
  std::vector<Workload> out;
  for (const auto& w : Workloads()) {
    if (w.kind == "Deployment") out.push_back(w);
  }
  if (out.size() < 4)
    throw std::runtime_error("the simulator's topology should have several deployments");
  return out;
}

struct Call {
  Workload client, server;
};

std::vector<Call> Calls() {
  std::vector<Call> out;
  for (const auto& c : GetEnv().topology.at("calls")) {
    out.push_back({Ref(c.at("client")), Ref(c.at("server"))});
  }
  return out;
}

// The workload kinds the mesh's series name (a Deployment, StatefulSet, DaemonSet); other kinds
// exist only through the Kubernetes caches.
bool MeshNamesKind(const std::string& kind) {
  return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet";
}

// Workloads that clients outside the mesh call: only their own proxies see those callers.
std::vector<Workload> UnmeshedServers() {
  std::vector<Workload> out;
  for (const auto& c : GetEnv().topology.value("unmeshed_calls", json::array())) {
    out.push_back(Ref(c.at("server")));
  }
  if (out.empty()) throw std::runtime_error("the simulator's topology should have unmeshed calls");
  return out;
}

bool CalledFromOutsideTheMesh(const Workload& w) {
  for (const auto& s : UnmeshedServers()) {
    if (s == w) return true;
  }
  return false;
}

// The peer of an edge the mesh cannot name (docs/decisions.md, decision 6): kind Unknown, named
// by nothing Linkerd records about an unmeshed caller.
const EdgeKey kUnmeshedCaller{"from", "server", "Unknown", "", ""};

// The resource path of a workload: /namespaces/NS/deployments/NAME, statefulsets, daemonsets.
std::string PathOf(const Workload& w) {
  std::string plural = w.kind;
  for (char& c : plural) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return "/namespaces/" + w.ns + "/" + plural + "s/" + w.name;
}

std::set<std::string> Namespaces() {
  std::set<std::string> out;
  for (const auto& w : Workloads()) out.insert(w.ns);
  return out;
}

// ---- The oracle: PromQL written here, evaluated by Prometheus ---------------------------------

std::string LabelFor(const std::string& kind) {
  if (kind == "Pod") return "pod";
  if (kind == "Deployment") return "deployment";
  if (kind == "StatefulSet") return "statefulset";
  if (kind == "DaemonSet") return "daemonset";
  if (kind == "Namespace") return "namespace";
  throw std::runtime_error("unexpected kind " + kind);
}

// Matchers selecting `ref`'s series, as the source (prefix "") or destination ("dst_") of traffic.
std::string Matchers(const json& ref, const std::string& prefix) {
  const std::string kind = ref.at("kind");
  if (kind == "Namespace")
    return prefix + "namespace=\"" + ref.at("name").get<std::string>() + "\"";
  return prefix + "namespace=\"" + ref.at("namespace").get<std::string>() + "\"," + prefix +
         LabelFor(kind) + "=\"" + ref.at("name").get<std::string>() + "\"";
}

// Checks every metric of one TrafficMetrics item against PromQL.
void VerifyItem(const json& item) {
  SCOPED_TRACE(item.dump());
  const long long at = ParseTimestamp(item.at("timestamp"));
  const std::string window = WindowRange(item);
  const json& edge = item.at("edge");
  std::string selector;
  if (edge.at("resource").is_null()) {
    ASSERT_EQ(edge.at("direction"), "from");
    ASSERT_EQ(edge.at("side"), "server");
    selector = "direction=\"inbound\"," + Matchers(item.at("resource"), "");
  } else if (edge.at("resource").at("kind") == "Unknown") {
    // Callers only the server's proxy saw: its inbound series without a client identity.
    ASSERT_EQ(edge.at("direction"), "from");
    ASSERT_EQ(edge.at("side"), "server");
    selector = "direction=\"inbound\",client_id=\"\"," + Matchers(item.at("resource"), "");
  } else {
    ASSERT_EQ(edge.at("side"), "client");  // Linkerd records edges at the client
    const bool to = edge.at("direction") == "to";
    selector = "direction=\"outbound\"," +
               Matchers(to ? item.at("resource") : edge.at("resource"), "") + "," +
               Matchers(to ? edge.at("resource") : item.at("resource"), "dst_");
  }
  std::map<std::string, double> expected;
  for (const char* cls : {"success", "failure"}) {
    bool present = false;
    const double v = OracleScalar("sum(increase(response_total{" + selector + ",classification=\"" +
                                      cls + "\"}[" + window + "]))",
                                  at, &present);
    expected[std::string(cls) + "_count"] = v;
  }
  QuantileBands bands;
  QuantileOracle(
      "sum by (le) (increase(response_latency_ms_bucket{" + selector + "}[" + window + "]))", at,
      window, &expected, &bands);

  ExpectMetricsMatch(item, expected, bands);
}

// ---- Tests ------------------------------------------------------------------------------------

TEST(EndToEnd, GetEveryDeploymentMatchesPromQL) {
  bool saw_idle = false;
  for (const auto& w : Deployments()) {
    const json tm = GetJson(kBase + "/namespaces/" + w.ns + "/deployments/" + w.name);
    EXPECT_EQ(tm.at("kind"), "TrafficMetrics");
    EXPECT_EQ(tm.at("resource"),
              (json{{"kind", "Deployment"}, {"namespace", w.ns}, {"name", w.name}}));
    VerifyItem(tm);
    for (const auto& idle : GetEnv().topology.at("idle")) {
      if (idle.at("namespace") == w.ns && idle.at("name") == w.name) {
        saw_idle = true;
        // An idle deployment answers zeros and no latency: never an error, never NaN.
        EXPECT_EQ(tm.at("metrics"), (json{{{"name", "success_count"}, {"value", "0"}},
                                          {{"name", "failure_count"}, {"value", "0"}}}));
      }
    }
  }
  EXPECT_TRUE(saw_idle) << "the simulator's topology should include an idle deployment";
}

TEST(EndToEnd, ListDeploymentsPerNamespaceAndEverywhere) {
  std::set<std::string> all;
  for (const auto& ns : Namespaces()) {
    const json list = GetJson(kBase + "/namespaces/" + ns + "/deployments");
    EXPECT_EQ(list.at("kind"), "TrafficMetricsList");
    EXPECT_EQ(list.at("resource"), (json{{"kind", "Deployment"}, {"namespace", ns}}));
    std::set<std::string> want;
    for (const auto& w : Workloads()) {
      if (w.kind == "Deployment" && w.ns == ns) want.insert(w.ns + "/" + w.name);
    }
    EXPECT_EQ(ItemNames(list), want);
    for (const auto& item : list.at("items")) VerifyItem(item);
    all.insert(want.begin(), want.end());
  }
  const json everywhere = GetJson(kBase + "/deployments");
  EXPECT_EQ(everywhere.at("resource"), (json{{"kind", "Deployment"}}));
  EXPECT_EQ(ItemNames(everywhere), all);
  for (const auto& item : everywhere.at("items")) VerifyItem(item);
}

TEST(EndToEnd, PodsGetAndList) {
  std::set<std::string> want;
  for (const auto& pod : Pods())
    want.insert(pod.at("namespace").get<std::string>() + "/" + pod.at("name").get<std::string>());
  const json list = GetJson(kBase + "/pods");
  EXPECT_EQ(ItemNames(list), want);
  for (const auto& item : list.at("items")) VerifyItem(item);

  const json pod = Pods().front();
  const json one = GetJson(kBase + "/namespaces/" + pod.at("namespace").get<std::string>() +
                           "/pods/" + pod.at("name").get<std::string>());
  EXPECT_EQ(one.at("resource").at("kind"), "Pod");
  VerifyItem(one);
}

TEST(EndToEnd, NamespacesGetAndList) {
  const json list = GetJson(kBase + "/namespaces");
  EXPECT_EQ(list.at("resource"), (json{{"kind", "Namespace"}}));
  std::set<std::string> want;
  for (const auto& ns : Namespaces()) want.insert("/" + ns);
  EXPECT_EQ(ItemNames(list), want);
  for (const auto& item : list.at("items")) VerifyItem(item);
  for (const auto& ns : Namespaces()) {
    const json one = GetJson(kBase + "/namespaces/" + ns);
    EXPECT_EQ(one.at("resource"), (json{{"kind", "Namespace"}, {"name", ns}}));
    VerifyItem(one);
  }
}

// Every workload of every kind: each peer with its own kind (a Deployment calling a StatefulSet
// sees a StatefulSet), unmeshed callers as the one Unknown peer, idle workloads without edges.
TEST(EndToEnd, WorkloadEdgesFollowTheTopologyWithEachPeersKind) {
  size_t edges_seen = 0;
  std::set<std::string> peer_kinds;
  size_t mesh_named_calls = 0;
  for (const auto& c : Calls()) {
    if (MeshNamesKind(c.client.kind) && MeshNamesKind(c.server.kind)) ++mesh_named_calls;
  }
  for (const auto& w : Workloads()) {
    if (!MeshNamesKind(w.kind)) continue;  // kinds only the caches know (decision 17)
    std::set<EdgeKey> want;
    for (const auto& c : Calls()) {
      if (c.client == w) want.insert({"to", "client", c.server.kind, c.server.ns, c.server.name});
      if (c.server == w) want.insert({"from", "client", c.client.kind, c.client.ns, c.client.name});
    }
    if (CalledFromOutsideTheMesh(w)) want.insert(kUnmeshedCaller);
    const json list = GetJson(kBase + PathOf(w) + "/edges");
    EXPECT_EQ(list.at("resource"), (json{{"kind", w.kind}, {"namespace", w.ns}, {"name", w.name}}));
    EXPECT_EQ(EdgeKeys(list), want) << w.ns << "/" << w.name;
    for (const auto& item : list.at("items")) VerifyItem(item);
    for (const auto& key : want) peer_kinds.insert(std::get<2>(key));
    edges_seen += want.size();
  }
  EXPECT_GE(edges_seen, 2 * mesh_named_calls);  // each call is seen from both of its ends
  EXPECT_EQ(peer_kinds,
            (std::set<std::string>{"Deployment", "StatefulSet", "DaemonSet", "Unknown"}))
      << "the simulator's calls should join every workload kind and unmeshed callers";
}

// Two workloads calling each other, and a workload calling itself: one item per direction, each
// with the numbers of its own direction.
TEST(EndToEnd, BothDirectionsAndSelfCallsAreSeparateItems) {
  int both_ways = 0, self_calls = 0;
  for (const auto& c : Calls()) {
    const bool self = c.client == c.server;
    bool reverse = false;
    for (const auto& r : Calls())
      reverse = reverse || (r.client == c.server && r.server == c.client);
    if (!self && !reverse) continue;
    self ? ++self_calls : ++both_ways;
    const json list = GetJson(kBase + PathOf(c.client) + "/edges");
    int to = 0, from = 0;
    for (const auto& item : list.at("items")) {
      const json& peer = item.at("edge").at("resource");
      if (peer.at("kind") != c.server.kind || peer.value("namespace", "") != c.server.ns ||
          peer.value("name", "") != c.server.name) {
        continue;
      }
      (item.at("edge").at("direction") == "to" ? to : from)++;
      VerifyItem(item);
    }
    EXPECT_EQ(to, 1) << c.client.name << " -> " << c.server.name;
    EXPECT_EQ(from, 1) << c.client.name << " <- " << c.server.name;
  }
  EXPECT_GE(both_ways, 2) << "the simulator should have two workloads calling each other";
  EXPECT_GE(self_calls, 1) << "the simulator should have a workload calling itself";
}

TEST(EndToEnd, CrossNamespaceEdgeIsSeenFromBothEnds) {
  int cross = 0;
  for (const auto& c : Calls()) {
    if (c.client.ns == c.server.ns) continue;
    ++cross;
    const json from_server = GetJson(kBase + PathOf(c.server) + "/edges");
    EXPECT_TRUE(
        EdgeKeys(from_server).count({"from", "client", c.client.kind, c.client.ns, c.client.name}));
    const json ns_edges = GetJson(kBase + "/namespaces/" + c.client.ns + "/edges");
    EXPECT_TRUE(EdgeKeys(ns_edges).count({"to", "client", "Namespace", "", c.server.ns}));
    for (const auto& item : ns_edges.at("items")) VerifyItem(item);
  }
  EXPECT_GE(cross, 1) << "the simulator's topology should include a cross-namespace call";
}

TEST(EndToEnd, PodEdgesFollowTheTopology) {
  for (const auto& pod : Pods()) {
    const Workload owner = OwnerOf(pod);
    std::set<EdgeKey> want;
    for (const auto& c : Calls()) {
      for (const auto& peer : Pods()) {
        if (c.client == owner && OwnerOf(peer) == c.server) {
          want.insert({"to", "client", "Pod", peer.at("namespace"), peer.at("name")});
        }
        if (c.server == owner && OwnerOf(peer) == c.client) {
          want.insert({"from", "client", "Pod", peer.at("namespace"), peer.at("name")});
        }
      }
    }
    if (CalledFromOutsideTheMesh(owner)) want.insert(kUnmeshedCaller);
    const json list = GetJson(kBase + "/namespaces/" + pod.at("namespace").get<std::string>() +
                              "/pods/" + pod.at("name").get<std::string>() + "/edges");
    EXPECT_EQ(EdgeKeys(list), want) << pod.dump();
    for (const auto& item : list.at("items")) VerifyItem(item);
  }
}

TEST(EndToEnd, WindowParameterChangesTheWindow) {
  const auto w = Calls().front().server;
  const json tm = GetJson(kBase + "/namespaces/" + w.ns + "/deployments/" + w.name + "?window=10s");
  EXPECT_EQ(tm.at("window"), "10s");
  VerifyItem(tm);
  const json edges =
      GetJson(kBase + "/namespaces/" + w.ns + "/deployments/" + w.name + "/edges?t=1m");
  for (const auto& item : edges.at("items")) {
    EXPECT_EQ(item.at("window"), "1m0s");
    VerifyItem(item);
  }
}

// A window shorter than two scrapes holds at most one sample of a counter and would read as
// idle (docs/decisions.md, decision 21): it is a 400 naming the smallest window that works. The
// harness scrapes every 1s, in both modes. Sidecar mode knows its own interval: always refused.
// Prometheus mode learns it from series that already had samples 5 minutes before (asked again 5
// minutes later while unknown), which the harness' series may not be yet: there a refusal must
// name the same smallest window, or an upper bound of it (tested exactly in
// test/sources/scrape_interval_test.cpp).
TEST(EndToEnd, AWindowShorterThanTwoScrapesIsRefused) {
  const auto w = Calls().front().server;
  const std::string path = kBase + "/namespaces/" + w.ns + "/deployments/" + w.name;
  const auto answer = ServerGet(path + "?window=1s");
  if (!SidecarMode() && answer.status == 200) return;
  ASSERT_EQ(answer.status, 400) << answer.body;
  const json s = json::parse(answer.body);
  EXPECT_EQ(s.at("reason"), "BadRequest");
  const std::string message = s.at("message");
  // 1s scrapes: 2s; learned from the series an upper bound, which rounds up to at most 3s.
  const bool names_it =
      message.find("the smallest window that can be answered is 2s") != std::string::npos ||
      (!SidecarMode() &&
       message.find("the smallest window that can be answered is 3s") != std::string::npos);
  EXPECT_TRUE(names_it) << message;
  EXPECT_NE(message.find("shorter than two scrapes"), std::string::npos) << message;
  GetJson(path + "?window=3s");  // the smallest window named is answered
}

TEST(EndToEnd, ErrorsAreKubernetesStatus) {
  json s = GetJson(kBase + "/namespaces/emojivoto/deployments/no-such-thing", 404);
  EXPECT_EQ(s.at("kind"), "Status");
  EXPECT_EQ(s.at("reason"), "NotFound");
  EXPECT_EQ(s.at("message"), "deployments.metrics.smi-spec.io \"no-such-thing\" not found");
  s = GetJson(kBase + "/namespaces/emojivoto/deployments/no-such-thing/edges", 404);
  EXPECT_EQ(s.at("reason"), "NotFound");
  s = GetJson(kBase + "/namespaces/emojivoto/deployments/web?window=soon", 400);
  EXPECT_EQ(s.at("reason"), "BadRequest");
  s = GetJson(kBase + "/namespaces/emojivoto/widgets", 404);
  EXPECT_EQ(s.at("reason"), "NotFound");
  const auto anon = ServerGet(kBase + "/namespaces/emojivoto/deployments", /*anonymous=*/true);
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(json::parse(anon.body).at("reason"), "Unauthorized");
  EXPECT_EQ(ServerGet("/readyz", /*anonymous=*/true).status, 200);
}

// ---- The same paths through the real kubectl over HTTPS ---------------------------------------

std::string Kubectl(const std::string& args, int* exit_code, bool merge_stderr = false) {
  const Env& env = GetEnv();
  std::string out;
  *exit_code =
      RunCommand(env.kubectl + " --kubeconfig " + env.kubeconfig + " " + args, &out, merge_stderr);
  return out;
}

TEST(EndToEnd, KubectlGetRawEverySpecPath) {
  const auto web = Deployments().front();
  const json pod = Pods().front();
  const std::string pod_path = "/namespaces/" + pod.at("namespace").get<std::string>() + "/pods/" +
                               pod.at("name").get<std::string>();
  const std::vector<std::string> paths = {
      "/namespaces/" + web.ns + "/deployments/",
      "/namespaces/" + web.ns + "/deployments/" + web.name,
      "/namespaces/" + web.ns + "/deployments/" + web.name + "/edges",
      "/deployments",
      "/pods",
      "/namespaces/" + pod.at("namespace").get<std::string>() + "/pods",
      pod_path,
      pod_path + "/edges",
      "/namespaces",
      "/namespaces/" + web.ns,
      "/namespaces/" + web.ns + "/edges",
  };
  for (const auto& p : paths) {
    SCOPED_TRACE(p);
    int code = 0;
    const std::string out = Kubectl("get --raw '" + kBase + p + "'", &code);
    ASSERT_EQ(code, 0) << out;
    const json body = json::parse(out);
    if (body.at("kind") == "TrafficMetricsList") {
      for (const auto& item : body.at("items")) VerifyItem(item);
    } else {
      ASSERT_EQ(body.at("kind"), "TrafficMetrics");
      VerifyItem(body);
    }
  }
  int code = 0;
  const std::string discovery = Kubectl("get --raw " + kBase, &code);
  ASSERT_EQ(code, 0);
  EXPECT_EQ(json::parse(discovery).at("kind"), "APIResourceList");
}

TEST(EndToEnd, KubectlShowsNotFoundLikeKubernetes) {
  int code = 0;
  const std::string out =
      Kubectl("get --raw " + kBase + "/namespaces/emojivoto/deployments/missing", &code,
              /*merge_stderr=*/true);
  EXPECT_EQ(code, 1);
  EXPECT_NE(
      out.find(
          "Error from server (NotFound): deployments.metrics.smi-spec.io \"missing\" not found"),
      std::string::npos)
      << out;
}

}  // namespace
}  // namespace smi::e2e
