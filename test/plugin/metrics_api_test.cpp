// The API client against a plain-HTTP server of the test's: discovery of the version, the paths it
// asks, and every kind of failure worded as kubectl words it. Also where the credentials come from.
#include "plugin/metrics_api.h"

#include <gtest/gtest.h>

#include <httplib.h>

#include <cstdlib>
#include <mutex>
#include <thread>

#include "support/free_port.h"
#include "support/temp_dir.h"

namespace smi::plugin {
namespace {

using nlohmann::json;

class ApiServer {
 public:
  ApiServer() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind a test port");
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::string target = req.path;
      if (!req.params.empty()) {
        target += "?";
        for (const auto& [k, v] : req.params) target += k + "=" + v + "&";
        target.pop_back();
      }
      std::lock_guard lock(mu_);
      asked_.push_back(target);
      const auto it = answers_.find(req.path);
      if (it == answers_.end()) {
        res.status = 404;
        res.set_content("404 page not found", "text/plain");
        return;
      }
      res.status = it->second.first;
      res.set_content(it->second.second, "application/json");
    });
    // Bound and listening already: connections wait in the backlog until the loop accepts them.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ApiServer() {
    // stop() only ends a loop that has started: wait for it (bounded) before stopping.
    for (int i = 0; i < 2000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    server_.stop();
    thread_.join();
  }

  void Answer(const std::string& path, int status, const std::string& body) {
    std::lock_guard lock(mu_);
    answers_[path] = {status, body};
  }
  std::vector<std::string> asked() {
    std::lock_guard lock(mu_);
    return asked_;
  }
  kube::RestConfig Config() const {
    kube::RestConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(port_);
    c.description = "test";
    return c;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> answers_;
  std::vector<std::string> asked_;
};

const char* kGroup = R"({"kind":"APIGroup","apiVersion":"v1","name":"metrics.smi-spec.io",
  "versions":[{"groupVersion":"metrics.smi-spec.io/v1alpha2","version":"v1alpha2"},
              {"groupVersion":"metrics.smi-spec.io/v1alpha1","version":"v1alpha1"}],
  "preferredVersion":{"groupVersion":"metrics.smi-spec.io/v1alpha2","version":"v1alpha2"}})";

std::string ErrorOf(MetricsApi& api, const ApiRequest& request) {
  try {
    api.Get(request);
  } catch (const KubectlError& e) {
    return e.what();
  }
  return "no error";
}

ApiRequest Deployment(const std::string& name) {
  ApiRequest r;
  r.resource = "deployments";
  r.ns = "emojivoto";
  r.name = name;
  return r;
}

TEST(ApiRequest, PathsOfTheSpec) {
  ApiRequest r;
  r.resource = "pods";
  EXPECT_EQ(r.Path(), "/pods");
  r.ns = "a";
  EXPECT_EQ(r.Path(), "/namespaces/a/pods");
  r.name = "x";
  r.edges = true;
  r.window = std::chrono::seconds(90);
  EXPECT_EQ(r.Path(), "/namespaces/a/pods/x/edges?window=90s");
  EXPECT_EQ(r.Describe(), "pods.metrics.smi-spec.io x");
  ApiRequest ns;
  ns.resource = "namespaces";
  ns.name = "a";
  ns.edges = true;
  EXPECT_EQ(ns.Path(), "/namespaces/a/edges");
  ns.name = "";
  ns.edges = false;
  ns.label_selector = "team=a b";
  EXPECT_EQ(ns.Path(), "/namespaces?labelSelector=team%3Da%20b");
}

TEST(MetricsApi, ReadsThePreferredVersion) {
  ApiServer server;
  server.Answer("/apis/metrics.smi-spec.io", 200, kGroup);
  server.Answer("/apis/metrics.smi-spec.io/v1alpha2/namespaces/emojivoto/deployments/web", 200,
                R"({"kind":"TrafficMetrics"})");
  MetricsApi api(server.Config(), std::chrono::seconds(5));
  EXPECT_EQ(api.Get(Deployment("web")), json::parse(R"({"kind":"TrafficMetrics"})"));
  EXPECT_EQ(api.Get(Deployment("web")).at("kind"), "TrafficMetrics");
  // Discovery once, then the object twice.
  EXPECT_EQ(server.asked(),
            (std::vector<std::string>{
                "/apis/metrics.smi-spec.io",
                "/apis/metrics.smi-spec.io/v1alpha2/namespaces/emojivoto/deployments/web",
                "/apis/metrics.smi-spec.io/v1alpha2/namespaces/emojivoto/deployments/web"}));
}

TEST(MetricsApi, AServerWithoutTheApiIsNamedAsSuch) {
  ApiServer server;  // answers 404 to everything
  MetricsApi api(server.Config(), std::chrono::seconds(5));
  const std::string error = ErrorOf(api, Deployment("web"));
  EXPECT_EQ(error.rfind("error: the server http://127.0.0.1:", 0), 0u) << error;
  EXPECT_NE(error.find(" does not serve the SMI Traffic Metrics API (metrics.smi-spec.io)"),
            std::string::npos)
      << error;
}

TEST(MetricsApi, ErrorsAsKubectlPrintsThem) {
  ApiServer server;
  server.Answer("/apis/metrics.smi-spec.io", 200, kGroup);
  const std::string base = "/apis/metrics.smi-spec.io/v1alpha2/namespaces/emojivoto/deployments/";
  server.Answer(base + "missing", 404,
                R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound",
                    "message":"deployments.metrics.smi-spec.io \"missing\" not found","code":404})");
  server.Answer(base + "down", 503, "service unavailable\n");
  server.Answer(base + "broken", 500, "boom");
  server.Answer(base + "anonymous", 401,
                R"({"kind":"Status","reason":"Unauthorized","message":"Unauthorized","code":401})");
  server.Answer(base + "teapot", 418, "");
  server.Answer(base + "garbage", 200, "<html>");
  MetricsApi api(server.Config(), std::chrono::seconds(5));
  EXPECT_EQ(ErrorOf(api, Deployment("missing")),
            "Error from server (NotFound): deployments.metrics.smi-spec.io \"missing\" not found");
  EXPECT_EQ(ErrorOf(api, Deployment("down")),
            "Error from server (ServiceUnavailable): the server is currently unable to handle the "
            "request (get deployments.metrics.smi-spec.io down)");
  EXPECT_EQ(
      ErrorOf(api, Deployment("broken")),
      "Error from server (InternalError): an error on the server (\"boom\") has prevented the "
      "request from succeeding (get deployments.metrics.smi-spec.io broken)");
  EXPECT_EQ(ErrorOf(api, Deployment("anonymous")),
            "error: You must be logged in to the server (Unauthorized)");
  EXPECT_EQ(ErrorOf(api, Deployment("teapot")),
            "Error from server: the server responded with the status code 418 but did not return "
            "more information (get deployments.metrics.smi-spec.io teapot)");
  EXPECT_EQ(ErrorOf(api, Deployment("garbage")),
            "error: the server answered GET " + base + "garbage with something that is not JSON");
}

TEST(MetricsApi, NoServerAtAll) {
  kube::RestConfig c;
  c.server = "http://127.0.0.1:" + std::to_string(test_support::FreePort());
  c.description = "test";
  MetricsApi api(c, std::chrono::seconds(2));
  const std::string error = ErrorOf(api, Deployment("web"));
  EXPECT_EQ(error.rfind("Unable to connect to the server: ", 0), 0u) << error;
}

TEST(ResolveConnection, KubeconfigContextAndNamespace) {
  const test_support::TempDir dir("plugin-kubeconfig");
  const std::string path = dir.Write("config", R"(apiVersion: v1
kind: Config
current-context: one
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:1"}
users:
- name: u
  user: {token: secret}
contexts:
- name: one
  context: {cluster: c, user: u, namespace: emojivoto}
- name: two
  context: {cluster: c, user: u}
)");
  Connection c = ResolveConnection(path, "");
  EXPECT_EQ(c.rest.server, "http://127.0.0.1:1");
  EXPECT_EQ(c.context_namespace, "emojivoto");
  EXPECT_EQ(ResolveConnection(path, "two").context_namespace, "");
  try {
    ResolveConnection(path, "three");
    ADD_FAILURE() << "an unknown context was accepted";
  } catch (const KubectlError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("error: ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("three"), std::string::npos) << e.what();
  }
  // $KUBECONFIG: the first of its files that exists.
  setenv("KUBECONFIG", (dir.File("missing") + ":" + path).c_str(), 1);
  EXPECT_EQ(ResolveConnection("", "").context_namespace, "emojivoto");
  setenv("KUBECONFIG", dir.File("missing").c_str(), 1);
  unsetenv("KUBERNETES_SERVICE_HOST");
  try {
    ResolveConnection("", "");
    ADD_FAILURE() << "no kubeconfig, yet a connection";
  } catch (const KubectlError& e) {
    EXPECT_EQ(std::string(e.what()), "error: no kubeconfig found (looked for " +
                                         dir.File("missing") +
                                         "); name one with --kubeconfig or $KUBECONFIG");
  }
  unsetenv("KUBECONFIG");
}

}  // namespace
}  // namespace smi::plugin
