// A fake kube-apiserver for tests and benchmarks (the one test double the project allows for a
// real component). HTTPS on 127.0.0.1 with its own CA; authenticates as kube-apiserver does
// (a client certificate signed by its client CA, else a bearer token, else 401 Status); serves
// pods, namespaces, apps/v1 workloads and split.smi-spec.io TrafficSplits from fixture files and
// from objects the test adds, changes and deletes; lists with resourceVersion and limit/continue;
// TokenReview and SubjectAccessReview answered as a test scripts them (every spec received is
// recorded), the kube-system/extension-apiserver-authentication ConfigMap when a test sets it;
// chunked watch streams with one JSON event per line, BOOKMARK events, 410 Gone (as an HTTP status
// or an ERROR event) for compacted resourceVersions, and dropped connections on demand.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace smi::fakekube {

struct PemPair {
  std::string cert;
  std::string key;
};

// How a watch from a compacted resourceVersion is refused.
enum class GoneMode {
  kErrorEvent,  // 200, then {"type":"ERROR","object":<Status 410 Expired>} (the watch cache's way)
  kHttpStatus,  // HTTP 410 with a Status body
};

class FakeKubeApi {
 public:
  struct Options {
    std::vector<std::string> tokens{"fake-token"};
    // split.smi-spec.io versions served (discovery and paths); empty: the group is absent.
    std::vector<std::string> split_versions{"v1alpha2"};
    // Send a BOOKMARK on every open watch this often (0: only when SendBookmarks() is called).
    std::chrono::milliseconds bookmark_interval{0};
    GoneMode gone_mode = GoneMode::kErrorEvent;
  };

  FakeKubeApi();
  explicit FakeKubeApi(Options options);
  ~FakeKubeApi();

  void Start();  // listens on 127.0.0.1, a free port
  void Stop();

  int port() const { return port_; }
  std::string url() const;  // https://127.0.0.1:<port>
  const std::string& ca_pem() const { return serving_ca_.cert; }
  // A client certificate the server trusts (CN = user, O = groups), and one it does not.
  PemPair IssueClientCert(const std::string& user, const std::vector<std::string>& groups = {});
  PemPair UntrustedClientCert(const std::string& user);
  // A kubeconfig for this server: token auth, or client certificate when `client` is given.
  std::string Kubeconfig(const std::string& token, const PemPair* client = nullptr) const;

  // ---- objects -----------------------------------------------------------------------------
  // Objects take the shape kube-apiserver gives them: uid, resourceVersion, creationTimestamp
  // and generation are filled in. `kind` and `apiVersion` say where an object goes.
  // Loads a {"kind":"List","items":[...]} file or JSON; objects are created without watch
  // events and the event history is compacted (as if they had been there for long).
  void LoadFile(const std::string& path);
  void Load(const nlohmann::json& list);
  // Creates or replaces an object, sending ADDED or MODIFIED; returns its resourceVersion.
  int64_t Apply(nlohmann::json object);
  // Deletes, sending DELETED; false if there was no such object.
  bool Delete(const std::string& kind, const std::string& ns, const std::string& name);
  nlohmann::json Get(const std::string& kind, const std::string& ns, const std::string& name);
  int64_t resource_version() const;

  // ---- failure injection ---------------------------------------------------------------------
  // Forgets the event history: watching from any earlier resourceVersion gets 410 Gone, as do
  // continue tokens of lists started before.
  void Compact();
  void SetGoneMode(GoneMode mode);
  // Closes every open watch stream abruptly (no terminating chunk), as a dying apiserver or a
  // load balancer would.
  void DropWatches();
  void SendBookmarks();
  void SetTokens(std::vector<std::string> tokens);
  void SetSplitVersions(std::vector<std::string> versions);
  // Waits this long before answering each list page (to watch a list in progress).
  void SetListPageDelay(std::chrono::milliseconds delay);
  // Answers every request for this resource (e.g. "pods") with this status until cleared (0).
  void FailResource(const std::string& resource, int status);

  // ---- delegated authentication and authorization (POSTs from authenticated callers) ---------
  // The TokenReview status answered for `token` (e.g. {"authenticated":true,"user":{...}});
  // other tokens: {"authenticated":false,"error":"invalid token"}.
  void SetTokenReview(const std::string& token, nlohmann::json status);
  // Decides SubjectAccessReviews: gets the spec, returns the status ({"allowed":true} ...).
  // Unset: {"allowed":false} (no opinion).
  void SetAccessDecider(std::function<nlohmann::json(const nlohmann::json& spec)> decide);
  // Answers every TokenReview and SubjectAccessReview with this HTTP status (0: normally).
  void FailReviews(int status);
  // The specs received, in order.
  std::vector<nlohmann::json> token_reviews() const;
  std::vector<nlohmann::json> access_reviews() const;
  // The ConfigMap's data (string values, as kube-apiserver writes them); null: 404.
  void SetAuthenticationConfigMap(nlohmann::json data);
  int configmap_reads() const;

  // ---- observations --------------------------------------------------------------------------
  struct Counters {
    int lists = 0;         // list requests (each page counts)
    int first_pages = 0;   // list requests without continue
    int watches = 0;       // watch requests accepted
    int gone = 0;          // 410 answers (status or ERROR event)
    int unauthorized = 0;  // 401 answers
    int failed = 0;        // answers of an injected failure (FailResource)
  };
  Counters counters(const std::string& resource) const;  // "pods", "trafficsplits", ...
  int open_watches() const;
  // "verb group/resource" pairs seen from authenticated callers, e.g. "list apps/deployments",
  // "watch /pods", "get split.smi-spec.io (discovery)".
  std::set<std::string> access_log() const;
  // The users (token "token:<t>" or certificate CN) that authenticated.
  std::set<std::string> authenticated_users() const;

  struct ResourceInfo;  // the served resources (defined in the .cpp)

 private:
  struct Event {
    int64_t rv;
    std::string type;
    std::shared_ptr<const nlohmann::json> object;
  };
  struct Watcher;
  struct ListSnapshot;

  const ResourceInfo* FindResourceForKind(const std::string& kind) const;
  void Handle(const httplib::Request& req, httplib::Response& res);
  void ServeList(const ResourceInfo& ri, const std::string& version, const std::string& ns,
                 const httplib::Request& req, httplib::Response& res);
  void ServeWatch(const ResourceInfo& ri, const std::string& version, const std::string& ns,
                  const httplib::Request& req, httplib::Response& res);
  void ServeDiscovery(const std::string& path, httplib::Response& res);
  std::string Authenticate(const httplib::Request& req);
  void HandlePost(const httplib::Request& req, httplib::Response& res);
  nlohmann::json Finish(nlohmann::json object, const ResourceInfo& ri, const std::string& version,
                        bool list_item) const;
  int64_t ApplyLocked(nlohmann::json object, bool send_event);

  Options options_;
  PemPair serving_ca_, serving_cert_, client_ca_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int64_t rv_ = 100;
  int64_t compacted_rv_ = 0;  // events at or below this are forgotten
  uint64_t drop_generation_ = 0;
  uint64_t bookmark_generation_ = 0;
  std::chrono::milliseconds page_delay_{0};
  // resource -> (namespace, name) -> object (as stored: with kind/apiVersion)
  std::map<std::string,
           std::map<std::pair<std::string, std::string>, std::shared_ptr<const nlohmann::json>>>
      objects_;
  std::map<std::string, std::deque<Event>> events_;
  // Lists in progress, by "resource|namespace|resourceVersion".
  std::map<std::string, std::shared_ptr<ListSnapshot>> snapshots_;
  std::map<std::string, int> failing_;
  std::map<std::string, Counters> counters_;
  std::set<std::string> access_;
  std::set<std::string> users_;
  int open_watches_ = 0;
  std::map<std::string, nlohmann::json> token_statuses_;
  std::function<nlohmann::json(const nlohmann::json&)> access_decider_;
  int review_failure_ = 0;
  std::vector<nlohmann::json> token_reviews_, access_reviews_;
  nlohmann::json auth_configmap_data_;
  int configmap_reads_ = 0;
  uint64_t uid_counter_ = 0;
};

// Real-shaped objects for tests and benchmarks.
nlohmann::json MakeNamespace(const std::string& name);
nlohmann::json MakeDeployment(const std::string& ns, const std::string& name,
                              const nlohmann::json& match_labels, int replicas = 1);
// A ReplicaSet owned by `deployment` (uid taken from it), with the pod-template-hash label.
nlohmann::json MakeReplicaSet(const nlohmann::json& deployment, const std::string& hash);
// A running pod owned by `owner` (a ReplicaSet, StatefulSet or DaemonSet object; null: bare).
nlohmann::json MakePod(const std::string& ns, const std::string& name, const nlohmann::json& labels,
                       const nlohmann::json& owner, const std::string& ip);
nlohmann::json MakeStatefulSet(const std::string& ns, const std::string& name,
                               const nlohmann::json& match_labels);
nlohmann::json MakeDaemonSet(const std::string& ns, const std::string& name,
                             const nlohmann::json& match_labels);
// `backends` is [[service, weight], ...]; weights are JSON (integers, or quantity strings for
// v1alpha1).
nlohmann::json MakeTrafficSplit(const std::string& api_version, const std::string& ns,
                                const std::string& name, const std::string& service,
                                const nlohmann::json& backends);

}  // namespace smi::fakekube
