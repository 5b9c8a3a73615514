// End to end with Kubernetes knowledge: the server watches the fake API server (HTTPS, token),
// fed with the simulator's objects, over the simulator's series in a real Prometheus. Objects
// created, relabelled and deleted on the fake API show in the answers after the watch events;
// label selectors pick objects; existence is the caches'; a Deployment keeps the traffic of its
// pods deleted within the window. Run by run_e2e.sh with
// SMI_E2E_KUBE=fakekube, after the numbers were checked against PromQL by the other binaries.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "e2e_env.h"

namespace smi::e2e {
namespace {

using nlohmann::json;
const std::string kBase = "/apis/metrics.smi-spec.io/v1alpha1";

std::string EnvOr(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The simulator's Kubernetes objects (the file the fake API server was fed with).
const json& KubeObjects() {
  static const json objects = [] {
    std::ifstream in(EnvOr("SMI_E2E_KUBE_OBJECTS"));
    if (!in) throw std::runtime_error("SMI_E2E_KUBE_OBJECTS cannot be read");
    return json::parse(in);
  }();
  return objects;
}

json FindObject(const std::string& kind, const std::string& ns, const std::string& name) {
  for (const auto& o : KubeObjects().at("items")) {
    if (o.at("kind") == kind && o.at("metadata").value("namespace", "") == ns &&
        o.at("metadata").at("name") == name) {
      return o;
    }
  }
  throw std::runtime_error("no " + kind + " " + ns + "/" + name + " in the simulator's objects");
}

// Workloads of a kind in the simulator's objects: namespace -> names.
std::map<std::string, std::set<std::string>> ObjectsOfKind(const std::string& kind) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& o : KubeObjects().at("items")) {
    if (o.at("kind") == kind) {
      out[o.at("metadata").value("namespace", "")].insert(o.at("metadata").at("name"));
    }
  }
  return out;
}

// One command to the fake API server (fakekube-server --control).
void Control(const std::string& line) {
  const std::string path = EnvOr("SMI_E2E_FAKEKUBE_CONTROL");
  const int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << "cannot open " << path;
  const std::string text = line + "\n";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
}

// Polls until `done` holds; the watch delivers changes within a moment, the limit is generous
// and no assertion is about how long it took.
bool Eventually(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::set<std::string> Listed(const std::string& path, const std::string& label_selector,
                             const std::string& field_selector = "") {
  std::string query;
  if (!label_selector.empty()) query += "labelSelector=" + Escape(label_selector);
  if (!field_selector.empty()) {
    query += (query.empty() ? "" : "&") + std::string("fieldSelector=") + Escape(field_selector);
  }
  return ItemNames(GetJson(kBase + path + (query.empty() ? "" : "?" + query)));
}

class KubeEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (EnvOr("SMI_E2E_KUBE") != "fakekube") GTEST_SKIP() << "needs SMI_E2E_KUBE=fakekube";
  }
};

TEST_F(KubeEndToEnd, ReadyOnceTheCachesSynced) {
  // run_e2e.sh saw 503 naming pods while the fake refused them; now everything is synced.
  const auto r = ServerGet("/readyz", /*anonymous=*/true);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(KubeEndToEnd, ListsAreTheCachesObjects) {
  for (const auto& [ns, names] : ObjectsOfKind("Deployment")) {
    std::set<std::string> want;
    for (const auto& n : names) want.insert(ns + "/" + n);
    EXPECT_EQ(ItemNames(GetJson(kBase + "/namespaces/" + ns + "/deployments")), want) << ns;
  }
  std::set<std::string> namespaces;  // ItemNames spells a namespace "/name"
  for (const auto& [ns, names] : ObjectsOfKind("Namespace")) {
    for (const auto& n : names) namespaces.insert("/" + n);
  }
  EXPECT_EQ(ItemNames(GetJson(kBase + "/namespaces")), namespaces);
}

TEST_F(KubeEndToEnd, LabelSelectorsPickObjects) {
  const auto deployments = ObjectsOfKind("Deployment");
  ASSERT_FALSE(deployments.empty());
  const auto& [ns, names] = *deployments.begin();
  ASSERT_GE(names.size(), 2u);
  const std::string a = *names.begin(), b = *std::next(names.begin());
  const std::string list = "/namespaces/" + ns + "/deployments";
  EXPECT_EQ(Listed(list, "app=" + a), (std::set<std::string>{ns + "/" + a}));
  EXPECT_EQ(Listed(list, "app in (" + a + "," + b + ")"),
            (std::set<std::string>{ns + "/" + a, ns + "/" + b}));
  std::set<std::string> rest;
  for (const auto& n : names) {
    if (n != a) rest.insert(ns + "/" + n);
  }
  EXPECT_EQ(Listed(list, "app!=" + a), rest);
  EXPECT_EQ(Listed(list, "app notin (" + a + ")"), rest);
  EXPECT_EQ(Listed(list, "!app"), std::set<std::string>{});
  EXPECT_EQ(Listed(list, "app").size(), names.size());
  EXPECT_EQ(Listed("/deployments", "", "metadata.name=" + a).count(ns + "/" + a), 1u);
  EXPECT_EQ(Listed("/deployments", "", "metadata.namespace=" + ns).size(), names.size());

  // The selector is echoed as the spec shows it.
  const json body =
      GetJson(kBase + list + "?labelSelector=" + Escape("app=" + a + ",tier notin (x)"));
  EXPECT_EQ(
      body.at("selector"),
      json::parse(R"({"matchLabels":{"app":")" + a +
                  R"("},"matchExpressions":[{"key":"tier","operator":"NotIn","values":["x"]}]})"));
  // Pods by their own labels: those of the workload.
  for (const auto& pod : Listed("/namespaces/" + ns + "/pods", "app=" + a)) {
    EXPECT_EQ(pod.rfind(ns + "/" + a + "-", 0), 0u) << pod;
  }
  // Malformed: 400 with the parser's message.
  const json bad = GetJson(kBase + list + "?labelSelector=" + Escape("app in (x"), 400);
  EXPECT_EQ(bad.at("reason"), "BadRequest");
  const json bad_field = GetJson(kBase + list + "?fieldSelector=spec.nodeName%3Dx", 400);
  EXPECT_EQ(bad_field.at("reason"), "BadRequest");
}

TEST_F(KubeEndToEnd, MissingObjectsAreNotFound) {
  EXPECT_EQ(GetJson(kBase + "/namespaces/emojivoto/deployments/no-such-thing", 404).at("reason"),
            "NotFound");
  EXPECT_EQ(GetJson(kBase + "/namespaces/emojivoto/pods/no-such-pod", 404).at("reason"),
            "NotFound");
  EXPECT_EQ(GetJson(kBase + "/namespaces/no-such-namespace", 404).at("reason"), "NotFound");
  EXPECT_EQ(GetJson(kBase + "/namespaces/emojivoto/trafficmetrics/no-such-thing", 404).at("reason"),
            "NotFound");
}

TEST_F(KubeEndToEnd, CreatedObjectsAppearIdle) {
  json fresh = FindObject("Deployment", "emojivoto", "web");
  fresh["metadata"] = {
      {"name", "e2e-fresh"}, {"namespace", "emojivoto"}, {"labels", {{"app", "e2e-fresh"}}}};
  Control("apply " + fresh.dump());
  const std::string path = kBase + "/namespaces/emojivoto/deployments/e2e-fresh";
  ASSERT_TRUE(Eventually([&] { return ServerGet(path).status == 200; }));
  const json tm = GetJson(path);
  std::set<std::string> metrics;
  for (const auto& m : tm.at("metrics")) {
    metrics.insert(m.at("name"));
    if (m.at("name") == "success_count" || m.at("name") == "failure_count") {
      EXPECT_EQ(m.at("value"), "0");
    }
  }
  EXPECT_EQ(metrics, (std::set<std::string>{"success_count", "failure_count"}));
  EXPECT_EQ(Listed("/namespaces/emojivoto/deployments", "app=e2e-fresh"),
            (std::set<std::string>{"emojivoto/e2e-fresh"}));

  Control("delete Deployment emojivoto e2e-fresh");
  EXPECT_TRUE(Eventually([&] { return ServerGet(path).status == 404; }));
}

TEST_F(KubeEndToEnd, RelabelledObjectsAreSelectedByTheirNewLabels) {
  const json original = FindObject("Deployment", "emojivoto", "web");
  json relabelled = original;
  relabelled["metadata"]["labels"]["e2e"] = "relabelled";
  Control("apply " + relabelled.dump());
  const std::string list = "/namespaces/emojivoto/deployments";
  EXPECT_TRUE(Eventually(
      [&] { return Listed(list, "e2e=relabelled") == std::set<std::string>{"emojivoto/web"}; }));
  Control("apply " + original.dump());
  EXPECT_TRUE(Eventually([&] { return Listed(list, "e2e=relabelled").empty(); }));
}

TEST_F(KubeEndToEnd, DeletedObjectsAreNotFoundEvenWithSeries) {
  // web has traffic series in Prometheus; once the fake deletes it, the caches say it is gone.
  const json original = FindObject("Deployment", "emojivoto", "web");
  const std::string path = kBase + "/namespaces/emojivoto/deployments/web";
  ASSERT_EQ(ServerGet(path).status, 200);
  Control("delete Deployment emojivoto web");
  EXPECT_TRUE(Eventually([&] { return ServerGet(path).status == 404; }));
  EXPECT_EQ(ItemNames(GetJson(kBase + "/namespaces/emojivoto/deployments")).count("emojivoto/web"),
            0u);
  Control("apply " + original.dump());
  EXPECT_TRUE(Eventually([&] { return ServerGet(path).status == 200; }));
}

bool Istio() {
  const char* mesh = std::getenv("SMI_E2E_MESH");
  return mesh != nullptr && std::string(mesh) == "istio";
}

// PromQL's own numbers for a Deployment's inbound traffic over the item's window, summed by the
// series' workload label (whichever pods carried it), written here without the server's code.
std::map<std::string, double> DeploymentOracle(const json& item, const std::string& ns,
                                               const std::string& name, QuantileBands* bands) {
  const long long at = ParseTimestamp(item.at("timestamp"));
  const std::string window = WindowRange(item);
  std::string requests, buckets, success, failure;
  if (Istio()) {
    const std::string selector = "reporter=\"destination\",destination_workload_namespace=\"" + ns +
                                 "\",destination_workload=\"" + name + "\"";
    requests = "istio_requests_total{" + selector;
    buckets = "istio_request_duration_milliseconds_bucket{" + selector + "}";
    success = ",response_code!~\"5..\"}";
    failure = ",response_code=~\"5..\"}";
  } else {
    const std::string selector =
        "direction=\"inbound\",namespace=\"" + ns + "\",deployment=\"" + name + "\"";
    requests = "response_total{" + selector;
    buckets = "response_latency_ms_bucket{" + selector + "}";
    success = ",classification=\"success\"}";
    failure = ",classification=\"failure\"}";
  }
  std::map<std::string, double> expected;
  bool present = false;
  expected["success_count"] =
      OracleScalar("sum(increase(" + requests + success + "[" + window + "]))", at, &present);
  expected["failure_count"] =
      OracleScalar("sum(increase(" + requests + failure + "[" + window + "]))", at, &present);
  QuantileOracle("sum by (le) (increase(" + buckets + "[" + window + "]))", at, window, &expected,
                 bands);
  return expected;
}

// The Deployment `ns/name`'s numbers over 30s and 1m (only 30s where the harness says the server's
// history holds no more: SMI_E2E_LONGEST_WINDOW), got, listed and as a `trafficmetrics` item, each
// equal to PromQL's sum over the workload label for its window.
void ExpectDeploymentMatchesPromQL(const std::string& ns, const std::string& name) {
  const std::string longest = EnvOr("SMI_E2E_LONGEST_WINDOW");
  std::vector<std::string> windows = {"30s"};
  if (longest.empty() || std::stoi(longest) >= 60) windows.push_back("1m");
  const auto check = [&](const json& item) {
    SCOPED_TRACE(item.dump());
    QuantileBands bands;
    const auto expected = DeploymentOracle(item, ns, name, &bands);
    ASSERT_GT(expected.at("success_count"), 0) << "no traffic to compare";
    ExpectMetricsMatch(item, expected, bands);
  };
  for (const std::string& window : windows) {
    SCOPED_TRACE(window);
    check(GetJson(kBase + "/namespaces/" + ns + "/deployments/" + name + "?window=" + window));
    check(GetJson(kBase + "/namespaces/" + ns + "/trafficmetrics/" + name + "?window=" + window));
    for (const auto& list :
         {GetJson(kBase + "/namespaces/" + ns + "/deployments?window=" + window),
          GetJson(kBase + "/namespaces/" + ns + "/trafficmetrics?window=" + window)}) {
      bool seen = false;
      for (const auto& item : list.at("items")) {
        if (item.at("resource").at("name") == name &&
            item.at("resource").at("kind") == "Deployment") {
          seen = true;
          check(item);
        }
      }
      EXPECT_TRUE(seen) << list.dump();
    }
  }
}

// A pod that ran and ended before the server started (run_e2e.sh deletes it from the fake API
// before the server's first list, SMI_E2E_UNKNOWN_POD) was never in the caches, yet its proxy's
// series fill the window: the Deployment its series name still counts them, so its numbers equal
// PromQL's sum over the workload label (docs/decisions.md, decision 16).
TEST_F(KubeEndToEnd, PodsTheCachesNeverKnewCountForTheWorkloadTheirSeriesName) {
  const std::string unknown = EnvOr("SMI_E2E_UNKNOWN_POD");
  if (unknown.empty()) GTEST_SKIP() << "needs SMI_E2E_UNKNOWN_POD (run_e2e.sh)";
  const auto slash = unknown.find('/');
  ASSERT_NE(slash, std::string::npos) << unknown;
  const std::string ns = unknown.substr(0, slash), pod = unknown.substr(slash + 1);
  // The caches never knew it, and Prometheus holds its traffic.
  EXPECT_EQ(ServerGet(kBase + "/namespaces/" + ns + "/pods/" + pod).status, 404);
  const json owner = FindObject("Pod", ns, pod).at("metadata").at("ownerReferences").at(0);
  ASSERT_EQ(owner.at("kind"), "ReplicaSet") << "the test needs a Deployment's pod";
  const std::string rs = owner.at("name");
  const std::string deployment = rs.substr(0, rs.rfind('-'));
  const std::string counter = Istio() ? "istio_requests_total{reporter=\"destination\""
                                      : "response_total{direction=\"inbound\"";
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  bool present = false;
  const double own = OracleScalar(
      "sum(increase(" + counter + ",namespace=\"" + ns + "\",pod=\"" + pod + "\"}[30s]))", now - 2,
      &present);
  ASSERT_GT(own, 0) << "the unknown pod has no traffic to count";
  ExpectDeploymentMatchesPromQL(ns, deployment);
}

// During a rollout or a scale-down a Deployment's pods end while the window still holds their
// traffic: the Deployment's numbers keep it (they equal PromQL's sum over the workload label),
// whether the server sums by that label (Linkerd) or rolls pods up through the caches (Istio,
// whose caches remember which workload a deleted pod belonged to).
TEST_F(KubeEndToEnd, DeletedPodsStayInTheirDeploymentForTheWindow) {
  const std::string ns = "emojivoto", name = "web";
  std::vector<json> pods;
  for (const auto& o : KubeObjects().at("items")) {
    if (o.at("kind") == "Pod" && o.at("metadata").value("namespace", "") == ns &&
        o.at("metadata").at("name").get<std::string>().rfind(name + "-", 0) == 0) {
      pods.push_back(o);
    }
  }
  ASSERT_GE(pods.size(), 2u) << "the test needs a Deployment with two pods";
  const json gone = pods.front();
  const std::string gone_name = gone.at("metadata").at("name");
  // The replacement a ReplicaSet would create: same owner, a new name and UID, no traffic yet.
  json replacement = gone;
  replacement["metadata"]["name"] = gone_name + "-next";
  replacement["metadata"].erase("uid");
  replacement["metadata"].erase("resourceVersion");
  const std::string replacement_name = replacement["metadata"]["name"];
  const std::string pod_path = kBase + "/namespaces/" + ns + "/pods/";

  // Deleted and replaced while its proxy's series keep counting.
  Control("delete Pod " + ns + " " + gone_name);
  Control("apply " + replacement.dump());
  ASSERT_TRUE(Eventually([&] {
    return ServerGet(pod_path + gone_name).status == 404 &&
           ServerGet(pod_path + replacement_name).status == 200;
  }));
  if (SidecarMode()) {
    // The server scrapes the pods its caches hold: the gone pod's series end at its deletion and
    // the replacement's (the same simulated proxy, at the same address) begin. Wait until the
    // replacement's own series show traffic, so the window holds both pods' parts; Prometheus
    // scraped the proxy throughout, under the old pod's name.
    std::string last;
    ASSERT_TRUE(Eventually([&] {
      const auto r = ServerGet(pod_path + replacement_name + "?window=30s");
      last = std::to_string(r.status) + " " + r.body;
      if (r.status != 200) return false;
      const json item = json::parse(r.body);
      for (const auto& m : item.at("metrics")) {
        if (m.at("name") == "success_count") {
          return ParseQuantity(m.at("value").get<std::string>()) > 0;
        }
      }
      return false;
    })) << "the replacement pod's series never showed traffic: "
        << last;
  }
  ExpectDeploymentMatchesPromQL(ns, name);

  Control("delete Pod " + ns + " " + replacement_name);
  Control("apply " + gone.dump());
  EXPECT_TRUE(Eventually([&] {
    return ServerGet(pod_path + gone_name).status == 200 &&
           ServerGet(pod_path + replacement_name).status == 404;
  }));
}

TEST_F(KubeEndToEnd, KubectlGetWithALabelSelector) {
  const Env& env = GetEnv();
  std::string out;
  const int code = RunCommand(env.kubectl + " --kubeconfig " + env.kubeconfig +
                                  " get trafficmetrics -n emojivoto -l app=web",
                              &out, /*merge_stderr=*/true);
  ASSERT_EQ(code, 0) << out;
  std::istringstream lines(out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) rows.push_back(line);
  }
  ASSERT_EQ(rows.size(), 2u) << out;
  EXPECT_EQ(rows[0].rfind("NAME", 0), 0u) << out;
  EXPECT_EQ(rows[1].rfind("web ", 0), 0u) << out;
  EXPECT_NE(rows[1].find("Deployment"), std::string::npos) << out;
}

}  // namespace
}  // namespace smi::e2e
