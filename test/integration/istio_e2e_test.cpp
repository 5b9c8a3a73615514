// End to end with Istio (telemetry v2): meshsim --mesh istio (istio-agent's merged
// /stats/prometheus), a real Prometheus, the server with --mesh istio, real kubectl. Every number
// is compared with PromQL written here over the istio_* series at the response's timestamp and
// window; every edge's direction, side and peer with the simulator's topology.
//
// What the built-in istio profile promises (src/sources/prometheus/builtin_profiles.cpp):
// resource scope and `from` edges from reporter="destination" (from: side server), `to` edges
// from reporter="source" (side client); HTTP 5xx and the failing gRPC statuses are failures;
// Istio does not label the workload's kind, so a workload answers as the kind asked about and
// the peers of pod edges are workloads (kind Deployment), and with the Kubernetes caches a peer
// workload answers with the kind the caches know it by; callers Istio names "unknown" (unmeshed)
// are the one peer of kind Unknown, never an object "unknown/unknown"; a status of 0 (no response)
// is a failure; edges whose series did not move in the window are not listed.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <set>
#include <tuple>

#include "e2e_env.h"

namespace smi::e2e {
namespace {

using nlohmann::json;
const std::string kBase = "/apis/metrics.smi-spec.io/v1alpha1";
const std::string kFailingGrpc = "2|4|7|13|14|15";

struct Workload {
  std::string ns, name;
  auto operator<=>(const Workload&) const = default;
};

Workload Ref(const json& w) { return {w.at("namespace"), w.at("name")}; }
// A caller Istio cannot name (it writes "unknown" for its workload and namespace).
const Workload kUnknown{"unknown", "unknown"};

// How the server answers a peer: Istio's series do not say a workload's kind, so without the
// Kubernetes caches every peer workload is a Deployment; with them, the kind they know it by.
// Unknown callers are {kind: Unknown} without namespace or name.
bool WithCaches() {
  const char* kube = std::getenv("SMI_E2E_KUBE");
  return kube != nullptr && *kube != '\0';
}

std::string KindOf(const Workload& w) {
  if (!WithCaches()) return "Deployment";
  for (const auto& x : GetEnv().topology.at("workloads")) {
    if (Ref(x) != w) continue;
    const std::string kind = x.at("kind");
    if (kind == "statefulset") return "StatefulSet";
    if (kind == "daemonset") return "DaemonSet";
    return "Deployment";
  }
  throw std::runtime_error("no workload " + w.ns + "/" + w.name + " in the topology");
}

EdgeKey PeerKey(const std::string& direction, const std::string& side, const Workload& peer) {
  if (peer == kUnknown) return {direction, side, "Unknown", "", ""};
  return {direction, side, KindOf(peer), peer.ns, peer.name};
}

// The resource path of a workload in the kind the server knows it by.
std::string PathOf(const Workload& w) {
  std::string plural = KindOf(w);
  for (char& c : plural) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return "/namespaces/" + w.ns + "/" + plural + "s/" + w.name;
}

std::vector<json> Pods() { return GetEnv().topology.at("pods").get<std::vector<json>>(); }
Workload OwnerOf(const json& pod) { return {pod.at("namespace"), pod.at("owner").at("name")}; }

// The kinds this suite checks Istio's numbers for: Deployments, StatefulSets and DaemonSets. The
// kinds formed from pods (a bare ReplicaSet, a Job) have their own suite, which runs with Linkerd.
bool CheckedKind(const json& ref) {
  const std::string kind = ref.at("kind");
  return kind == "deployment" || kind == "statefulset" || kind == "daemonset";
}

// Every workload of the topology, of any kind: what Istio's series name as workloads.
std::vector<Workload> AllWorkloads() {
  std::vector<Workload> out;
  for (const auto& w : GetEnv().topology.at("workloads")) out.push_back(Ref(w));
  return out;
}

std::vector<Workload> Workloads() {
  std::vector<Workload> out;
  for (const auto& w : GetEnv().topology.at("workloads")) {
    if (CheckedKind(w)) out.push_back(Ref(w));
  }
  if (out.size() < 4) throw std::runtime_error("the topology should have several workloads");
  return out;
}

bool IsIdle(const Workload& w) {
  for (const auto& idle : GetEnv().topology.at("idle")) {
    if (Ref(idle) == w) return true;
  }
  return false;
}

struct Call {
  Workload client, server;
};

// Meshed calls, plus unmeshed ones (client "unknown"): what the server's sidecar records with
// traffic in the window. An idle workload's counters from before the simulator started (also
// from an unknown caller) exist but do not move, so they make no edge.
std::vector<Call> InboundCalls() {
  std::vector<Call> out;
  for (const auto& c : GetEnv().topology.at("calls")) {
    if (!CheckedKind(c.at("client")) || !CheckedKind(c.at("server"))) continue;
    out.push_back({Ref(c.at("client")), Ref(c.at("server"))});
  }
  for (const auto& c : GetEnv().topology.value("unmeshed_calls", json::array())) {
    if (!CheckedKind(c.at("server"))) continue;
    out.push_back({kUnknown, Ref(c.at("server"))});
  }
  return out;
}

std::vector<Call> MeshedCalls() {
  std::vector<Call> out;
  for (const auto& c : GetEnv().topology.at("calls")) {
    if (!CheckedKind(c.at("client")) || !CheckedKind(c.at("server"))) continue;
    out.push_back({Ref(c.at("client")), Ref(c.at("server"))});
  }
  return out;
}

std::set<std::string> Namespaces() {
  std::set<std::string> out;
  for (const auto& w : Workloads()) out.insert(w.ns);
  return out;
}

// ---- The oracle: PromQL over istio_* series, evaluated by Prometheus --------------------------

std::string Q(const std::string& label, const std::string& value) {
  return label + "=\"" + value + "\"";
}

// Matchers naming `ref` (a TrafficMetrics resource or edge peer) on side `side` ("source" or
// "destination") of series reported by `reporter`.
std::string Matchers(const json& ref, const std::string& side, const std::string& reporter) {
  const std::string kind = ref.at("kind");
  if (kind == "Unknown") return Q(side + "_workload", "unknown");
  const std::string name = ref.at("name");
  if (kind == "Namespace") return Q(side + "_workload_namespace", name);
  const std::string ns = ref.at("namespace");
  if (kind == "Pod") {
    // Pods are the reporting proxy's: only on the reporter's own side.
    if (side != reporter) throw std::runtime_error("a pod on the far side of a series");
    return Q("namespace", ns) + "," + Q("pod", name);
  }
  return Q(side + "_workload_namespace", ns) + "," + Q(side + "_workload", name);
}

void VerifyItem(const json& item) {
  SCOPED_TRACE(item.dump());
  const long long at = ParseTimestamp(item.at("timestamp"));
  const std::string window = WindowRange(item);
  const json& edge = item.at("edge");
  std::string selector;
  if (edge.at("resource").is_null()) {
    ASSERT_EQ(edge.at("direction"), "from");
    ASSERT_EQ(edge.at("side"), "server");
    selector =
        "reporter=\"destination\"," + Matchers(item.at("resource"), "destination", "destination");
  } else if (edge.at("direction") == "to") {
    ASSERT_EQ(edge.at("side"), "client");
    selector = "reporter=\"source\"," + Matchers(item.at("resource"), "source", "source") + "," +
               Matchers(edge.at("resource"), "destination", "source");
  } else {
    ASSERT_EQ(edge.at("side"), "server");
    selector = "reporter=\"destination\"," +
               Matchers(item.at("resource"), "destination", "destination") + "," +
               Matchers(edge.at("resource"), "source", "destination");
  }
  auto count = [&](const std::string& extra) {
    bool present = false;
    return OracleScalar(
        "sum(increase(istio_requests_total{" + selector + "," + extra + "}[" + window + "]))", at,
        &present);
  };
  std::map<std::string, double> expected;
  // HTTP 5xx and 0 (no response) fail, as do the failing gRPC statuses.
  expected["success_count"] =
      count("response_code!~\"5..|0\",grpc_response_status!~\"" + kFailingGrpc + "\"");
  expected["failure_count"] =
      count("response_code=~\"5..|0\"") +
      count("response_code!~\"5..|0\",grpc_response_status=~\"" + kFailingGrpc + "\"");
  QuantileBands bands;
  QuantileOracle("sum by (le) (increase(istio_request_duration_milliseconds_bucket{" + selector +
                     "}[" + window + "]))",
                 at, window, &expected, &bands);
  ExpectMetricsMatch(item, expected, bands);
}

double Count(const json& item, const std::string& metric) {
  for (const auto& m : item.at("metrics")) {
    if (m.at("name") == metric) return ParseQuantity(m.at("value"));
  }
  return 0;
}

// ---- Tests ------------------------------------------------------------------------------------

TEST(IstioEndToEnd, TheStackIsIstio) {
  EXPECT_EQ(GetEnv().topology.value("mesh", ""), "istio");
  bool present = false;
  OracleScalar("count(istio_requests_total)", std::time(nullptr) - 2, &present);
  EXPECT_TRUE(present) << "Prometheus has no istio_requests_total series";
}

TEST(IstioEndToEnd, GetEveryWorkloadMatchesPromQL) {
  for (const auto& w : Workloads()) {
    const json tm = GetJson(kBase + "/namespaces/" + w.ns + "/deployments/" + w.name);
    EXPECT_EQ(tm.at("resource"),
              (json{{"kind", "Deployment"}, {"namespace", w.ns}, {"name", w.name}}));
    VerifyItem(tm);
    if (IsIdle(w)) {
      EXPECT_EQ(tm.at("metrics"), (json{{{"name", "success_count"}, {"value", "0"}},
                                        {{"name", "failure_count"}, {"value", "0"}}}));
    }
  }
}

TEST(IstioEndToEnd, ListWorkloadsPerNamespaceAndEverywhere) {
  std::set<std::string> all;
  for (const auto& ns : Namespaces()) {
    const json list = GetJson(kBase + "/namespaces/" + ns + "/deployments");
    std::set<std::string> want;
    // Every workload Istio's series name, whatever its kind: without the caches the server
    // cannot tell a Job from a Deployment of the same name.
    for (const auto& w : AllWorkloads()) {
      if (w.ns == ns) want.insert(w.ns + "/" + w.name);
    }
    EXPECT_EQ(ItemNames(list), want);  // pure clients included: they exist as sources
    for (const auto& item : list.at("items")) VerifyItem(item);
    all.insert(want.begin(), want.end());
  }
  const json everywhere = GetJson(kBase + "/deployments");
  EXPECT_EQ(ItemNames(everywhere), all);
  for (const auto& item : everywhere.at("items")) VerifyItem(item);
}

TEST(IstioEndToEnd, PodsAndNamespaces) {
  std::set<std::string> want;
  for (const auto& pod : Pods()) {
    want.insert(pod.at("namespace").get<std::string>() + "/" + pod.at("name").get<std::string>());
  }
  const json pods = GetJson(kBase + "/pods");
  EXPECT_EQ(ItemNames(pods), want);
  for (const auto& item : pods.at("items")) VerifyItem(item);

  const json namespaces = GetJson(kBase + "/namespaces");
  std::set<std::string> want_ns;
  for (const auto& ns : Namespaces()) want_ns.insert("/" + ns);
  EXPECT_EQ(ItemNames(namespaces), want_ns);
  for (const auto& item : namespaces.at("items")) VerifyItem(item);
}

TEST(IstioEndToEnd, WorkloadEdgesFollowTheTopologyAndCountEachRequestOnce) {
  size_t edges_seen = 0;
  for (const auto& w : Workloads()) {
    std::set<EdgeKey> want;
    for (const auto& c : MeshedCalls()) {
      if (c.client == w) want.insert(PeerKey("to", "client", c.server));
    }
    for (const auto& c : InboundCalls()) {
      if (c.server == w) want.insert(PeerKey("from", "server", c.client));
    }
    const json list = GetJson(kBase + PathOf(w) + "/edges");
    EXPECT_EQ(EdgeKeys(list), want) << w.ns << "/" << w.name;
    for (const auto& item : list.at("items")) VerifyItem(item);
    edges_seen += want.size();

    // The resource scope and the `from` edges are the same requests (reporter="destination"),
    // split by caller: they add up when answered at the same second.
    const json tm = GetJson(kBase + PathOf(w));
    double from_total = 0;
    bool same_second = true;
    for (const auto& item : list.at("items")) {
      if (item.at("edge").at("direction") != "from") continue;
      same_second = same_second && item.at("timestamp") == tm.at("timestamp");
      from_total += Count(item, "success_count") + Count(item, "failure_count");
    }
    if (same_second) {
      EXPECT_NEAR(from_total, Count(tm, "success_count") + Count(tm, "failure_count"), 2e-3);
    }
  }
  EXPECT_GE(edges_seen, 2 * MeshedCalls().size());
}

TEST(IstioEndToEnd, PodEdgesNameThePeerWorkload) {
  for (const auto& pod : Pods()) {
    if (!CheckedKind(pod.at("owner"))) continue;  // a bare ReplicaSet's or a Job's pod
    const Workload owner = OwnerOf(pod);
    std::set<EdgeKey> want;
    for (const auto& c : MeshedCalls()) {
      if (c.client == owner) want.insert(PeerKey("to", "client", c.server));
    }
    for (const auto& c : InboundCalls()) {
      if (c.server == owner) want.insert(PeerKey("from", "server", c.client));
    }
    const json list = GetJson(kBase + "/namespaces/" + pod.at("namespace").get<std::string>() +
                              "/pods/" + pod.at("name").get<std::string>() + "/edges");
    EXPECT_EQ(EdgeKeys(list), want) << pod.dump();
    for (const auto& item : list.at("items")) VerifyItem(item);
  }
}

TEST(IstioEndToEnd, NamespaceEdges) {
  for (const auto& ns : Namespaces()) {
    std::set<EdgeKey> want;
    for (const auto& c : MeshedCalls()) {
      if (c.client.ns == ns) want.insert({"to", "client", "Namespace", "", c.server.ns});
    }
    for (const auto& c : InboundCalls()) {
      if (c.server.ns != ns) continue;
      want.insert(c.client == kUnknown ? PeerKey("from", "server", kUnknown)
                                       : EdgeKey{"from", "server", "Namespace", "", c.client.ns});
    }
    const json list = GetJson(kBase + "/namespaces/" + ns + "/edges");
    EXPECT_EQ(EdgeKeys(list), want) << ns;
    for (const auto& item : list.at("items")) VerifyItem(item);
  }
}

// Peers Istio cannot name are one Unknown peer, never an invented object in a namespace
// "unknown"; a workload whose series show only such a caller's old counters has no edges.
TEST(IstioEndToEnd, UnknownCallersAreNotObjects) {
  int unknown_edges = 0, idle = 0;
  for (const auto& w : Workloads()) {
    const json list = GetJson(kBase + PathOf(w) + "/edges");
    for (const auto& item : list.at("items")) {
      const json& peer = item.at("edge").at("resource");
      EXPECT_NE(peer.value("namespace", ""), "unknown") << item.dump();
      EXPECT_NE(peer.value("name", ""), "unknown") << item.dump();
      if (peer.at("kind") == "Unknown") {
        ++unknown_edges;
        EXPECT_EQ(peer, (json{{"kind", "Unknown"}})) << item.dump();
        VerifyItem(item);
      }
    }
    if (IsIdle(w)) {
      ++idle;
      EXPECT_EQ(list.at("items"), json::array()) << list.dump();
    }
  }
  EXPECT_GE(unknown_edges, 2) << "the simulator's unmeshed calls should show";
  EXPECT_GE(idle, 1) << "the simulator should have an idle workload";
}

// A Deployment calling a StatefulSet and a DaemonSet: with the caches their edges name each peer
// with its own kind; without them Istio's series cannot tell, and every peer is a Deployment.
TEST(IstioEndToEnd, PeerKindsAreTheCachesWhereTheServerHasThem) {
  std::set<std::string> kinds;
  for (const auto& c : MeshedCalls()) {
    const json list = GetJson(kBase + PathOf(c.client) + "/edges");
    EXPECT_TRUE(EdgeKeys(list).count(PeerKey("to", "client", c.server))) << list.dump();
    const json back = GetJson(kBase + PathOf(c.server) + "/edges");
    EXPECT_TRUE(EdgeKeys(back).count(PeerKey("from", "server", c.client))) << back.dump();
    kinds.insert(KindOf(c.server));
  }
  if (WithCaches()) {
    EXPECT_EQ(kinds, (std::set<std::string>{"Deployment", "StatefulSet", "DaemonSet"}));
  } else {
    EXPECT_EQ(kinds, (std::set<std::string>{"Deployment"}));
  }
}

TEST(IstioEndToEnd, KubectlGetRaw) {
  const Workload w = MeshedCalls().front().server;
  const Env& env = GetEnv();
  for (const std::string& p : {"/namespaces/" + w.ns + "/deployments/" + w.name,
                               "/namespaces/" + w.ns + "/deployments/" + w.name + "/edges"}) {
    std::string out;
    const int code = RunCommand(
        env.kubectl + " --kubeconfig " + env.kubeconfig + " get --raw '" + kBase + p + "'", &out);
    ASSERT_EQ(code, 0) << out;
    const json body = json::parse(out);
    if (body.at("kind") == "TrafficMetricsList") {
      for (const auto& item : body.at("items")) VerifyItem(item);
    } else {
      VerifyItem(body);
    }
  }
  const json missing = GetJson(kBase + "/namespaces/" + w.ns + "/deployments/no-such-thing", 404);
  EXPECT_EQ(missing.at("reason"), "NotFound");
}

}  // namespace
}  // namespace smi::e2e
