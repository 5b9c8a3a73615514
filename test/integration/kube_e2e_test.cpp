// End to end with Kubernetes knowledge: the server watches the fake API server (HTTPS, token),
// fed with the simulator's objects, over the simulator's series in a real Prometheus. Objects
// created, relabelled and deleted on the fake API show in the answers after the watch events;
// label selectors pick objects; existence is the caches'. Run by run_e2e.sh with
// SMI_E2E_KUBE=fakekube, after the numbers were checked against PromQL by the other binaries.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

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
