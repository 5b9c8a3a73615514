#include "deploy/server_access.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "fakekube/fake_kube_api.h"
#include "kube/authentication_config.h"
#include "support/free_port.h"
#include "support/temp_dir.h"

namespace smi::deploy_test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// The server's child process, stopped (SIGTERM, then waited for) when this goes away.
class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> args, const std::string& log) {
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~ServerProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  bool Exited() { return waitpid(pid_, nullptr, WNOHANG) == pid_ && (pid_ = -1, true); }

 private:
  pid_t pid_ = -1;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "list apps/deployments" -> list of deployments in group apps, cluster-wide (the caches list and
// watch every namespace at once); "get /configmaps" is the one ConfigMap the server reads;
// "get /apis/..." a discovery document.
Permission ToPermission(const std::string& entry) {
  const size_t space = entry.find(' ');
  const std::string verb = entry.substr(0, space);
  const std::string what = entry.substr(space + 1);
  if (what == "/configmaps") {
    // kube-system/extension-apiserver-authentication, from the path the client reads.
    const std::string path =
        kube::kAuthenticationConfigMapPath;  // /api/v1/namespaces/NS/configmaps/NAME
    const std::string after_ns = path.substr(path.find("/namespaces/") + 12);
    const std::string ns = after_ns.substr(0, after_ns.find('/'));
    const std::string name = after_ns.substr(after_ns.rfind('/') + 1);
    return {ns, "", "configmaps", name, verb, ""};
  }
  if (what.starts_with("/api")) return {"", "", "", "", verb, what};
  const size_t slash = what.find('/');
  return {"", what.substr(0, slash), what.substr(slash + 1), "", verb, ""};
}

bool Has(const std::set<std::string>& log, const std::string& entry) { return log.count(entry); }

// Every list has its watch (the reflectors have moved on from their first list), and the reviews
// and the ConfigMap read have happened.
bool Complete(const std::set<std::string>& log) {
  if (!Has(log, "create authentication.k8s.io/tokenreviews") ||
      !Has(log, "create authorization.k8s.io/subjectaccessreviews") ||
      !Has(log, "get /configmaps")) {
    return false;
  }
  int lists = 0;
  for (const auto& e : log) {
    if (e.starts_with("list ")) {
      ++lists;
      if (!Has(log, "watch " + e.substr(5))) return false;
    }
  }
  return lists > 0;
}

}  // namespace

ServerAccess ObserveServerAccess(const std::string& server_binary,
                                 std::vector<std::string>* log_lines) {
  fakekube::FakeKubeApi kube;
  kube.LoadFile(std::string(SMI_FAKEKUBE_FIXTURES) + "/emojivoto.json");
  kube.SetAuthenticationConfigMap({{"client-ca-file", kube.ca_pem()}});
  kube.SetTokenReview(
      "reader-token",
      {{"authenticated", true},
       {"user", {{"username", "reader"}, {"groups", json::array({"system:authenticated"})}}}});
  kube.SetAccessDecider([](const json&) { return json{{"allowed", true}}; });
  kube.Start();

  test_support::TempDir dir("smi-rbac");
  const std::string kubeconfig = dir.Write("kubeconfig", kube.Kubeconfig("fake-token"));
  const std::string log = dir.File("server.log");
  const int port = test_support::FreePort();
  // Prometheus is not needed (nothing here asks for numbers): a port nothing listens on.
  ServerProcess server(
      {server_binary, "--bind-address=127.0.0.1", "--secure-port=" + std::to_string(port),
       "--kubeconfig=" + kubeconfig,
       "--prometheus-url=http://127.0.0.1:" + std::to_string(test_support::FreePort())},
      log);

  httplib::SSLClient client("127.0.0.1", port);
  client.enable_server_certificate_verification(false);
  client.set_connection_timeout(2s);
  client.set_read_timeout(10s);
  auto fail = [&](const std::string& what) {
    throw std::runtime_error(what + "; the server's log:\n" + ReadAll(log));
  };
  // Ready: listening, caches synced (polled; the deadline only bounds a broken run).
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (true) {
    if (auto r = client.Get("/readyz"); r && r->status == 200) break;
    if (server.Exited()) fail("the server exited");
    if (std::chrono::steady_clock::now() > deadline) fail("the server never became ready");
    std::this_thread::sleep_for(50ms);
  }
  // A bearer token: a TokenReview, then a SubjectAccessReview.
  auto r =
      client.Get("/apis/metrics.smi-spec.io/v1alpha1", {{"Authorization", "Bearer reader-token"}});
  if (!r || r->status != 200) fail("discovery with a bearer token was not answered 200");
  while (!Complete(kube.access_log())) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::string seen;
      for (const auto& e : kube.access_log()) seen += "  " + e + "\n";
      fail("the server's client never did all it does; seen:\n" + seen);
    }
    std::this_thread::sleep_for(50ms);
  }

  ServerAccess access;
  for (const auto& e : kube.access_log()) {
    if (log_lines) log_lines->push_back(e);
    access.used.insert(ToPermission(e));
  }
  return access;
}

}  // namespace smi::deploy_test
