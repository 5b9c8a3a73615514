#include "fakekube/fake_kube_api.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include <httplib.h>

#include "fakekube/pki.h"

namespace smi::fakekube {

using nlohmann::json;

struct FakeKubeApi::ResourceInfo {
  std::string group;
  std::string version;  // empty: any served split version
  std::string plural;
  std::string kind;
  bool namespaced;
};

namespace {

std::string Now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string NewUid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
    s += hex[rng() & 15];
  }
  return s;
}

json Status(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

void Reply(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream s(path);
  std::string part;
  while (std::getline(s, part, '/')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::string Base64Decode(const std::string& in) {
  static const std::string k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    const size_t p = k.find(c);
    if (p == std::string::npos) throw std::invalid_argument("bad base64");
    val = (val << 6) + static_cast<int>(p);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

}  // namespace

static const FakeKubeApi::ResourceInfo kResources[] = {
    {"", "v1", "pods", "Pod", true},
    {"", "v1", "namespaces", "Namespace", false},
    {"apps", "v1", "replicasets", "ReplicaSet", true},
    {"apps", "v1", "deployments", "Deployment", true},
    {"apps", "v1", "statefulsets", "StatefulSet", true},
    {"apps", "v1", "daemonsets", "DaemonSet", true},
    {"split.smi-spec.io", "", "trafficsplits", "TrafficSplit", true},
    {"", "v1", "replicationcontrollers", "ReplicationController", true},
    {"batch", "v1", "jobs", "Job", true},
    {"", "v1", "nodes", "Node", false},
    {"", "v1", "services", "Service", true},
};

struct FakeKubeApi::ListSnapshot {
  int64_t rv;
  std::vector<std::pair<std::string, std::shared_ptr<const json>>> items;  // key "ns/name"
};

FakeKubeApi::FakeKubeApi() : FakeKubeApi(Options{}) {}

FakeKubeApi::FakeKubeApi(Options options) : options_(std::move(options)) {
  serving_ca_ = MakeCa("fake-kube-ca");
  serving_cert_ = IssueCert(serving_ca_, "kube-apiserver", {}, {"127.0.0.1"},
                            {"localhost", "kubernetes.default.svc"}, true);
  client_ca_ = MakeCa("fake-kube-client-ca");
  for (const auto& ri : kResources) objects_[ri.plural];
}

FakeKubeApi::~FakeKubeApi() { Stop(); }

std::string FakeKubeApi::url() const { return "https://127.0.0.1:" + std::to_string(port_); }

PemPair FakeKubeApi::IssueClientCert(const std::string& user,
                                     const std::vector<std::string>& groups) {
  return IssueCert(client_ca_, user, groups, {}, {}, false);
}

PemPair FakeKubeApi::UntrustedClientCert(const std::string& user) {
  return IssueCert(MakeCa("someone-else"), user, {}, {}, {}, false);
}

std::string FakeKubeApi::Kubeconfig(const std::string& token, const PemPair* client) const {
  std::string y =
      "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: " + url() +
      "\n    certificate-authority-data: " + Base64(ca_pem()) +
      "\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n"
      "current-context: fake\nusers:\n- name: tester\n  user:\n";
  if (client) {
    y += "    client-certificate-data: " + Base64(client->cert) + "\n";
    y += "    client-key-data: " + Base64(client->key) + "\n";
  }
  if (!token.empty()) y += "    token: " + token + "\n";
  if (!client && token.empty()) y += "    {}\n";
  return y;
}

void FakeKubeApi::Start() {
  if (server_) return;
  auto setup = [this](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    BIO* b =
        BIO_new_mem_buf(serving_cert_.cert.data(), static_cast<int>(serving_cert_.cert.size()));
    X509* cert = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    b = BIO_new_mem_buf(serving_cert_.key.data(), static_cast<int>(serving_cert_.key.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    b = BIO_new_mem_buf(client_ca_.cert.data(), static_cast<int>(client_ca_.cert.size()));
    X509* client_ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    const bool ok = cert && key && client_ca && SSL_CTX_use_certificate(&ctx, cert) == 1 &&
                    SSL_CTX_use_PrivateKey(&ctx, key) == 1;
    if (ok) {
      // As kube-apiserver: ask for a client certificate, accept the handshake whatever comes,
      // and let the request's authentication decide (an untrusted certificate is a 401).
      X509_STORE_add_cert(SSL_CTX_get_cert_store(&ctx), client_ca);
      STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
      sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(client_ca)));
      SSL_CTX_set_client_CA_list(&ctx, names);
      SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    X509_free(client_ca);
    return ok;
  };
  auto server = std::make_unique<httplib::SSLServer>(setup);
  if (!server->is_valid()) throw std::runtime_error("fakekube: TLS setup failed");
  server->new_task_queue = [] { return new httplib::ThreadPool(48); };
  server->set_keep_alive_max_count(100000);
  server->set_keep_alive_timeout(30);
  server->set_tcp_nodelay(true);
  server->Get(".*",
              [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
  auto refuse = [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 405, Status(405, "MethodNotAllowed", "the fake API server is read-only"));
  };
  server->Post(
      ".*", [this](const httplib::Request& req, httplib::Response& res) { HandlePost(req, res); });
  server->Put(".*", refuse);
  server->Delete(".*", refuse);
  port_ = server->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fakekube: cannot bind 127.0.0.1");
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  server_ = std::move(server);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  for (int i = 0; i < 400 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void FakeKubeApi::Stop() {
  if (!server_) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

const FakeKubeApi::ResourceInfo* FakeKubeApi::FindResourceForKind(const std::string& kind) const {
  for (const auto& ri : kResources) {
    if (ri.kind == kind) return &ri;
  }
  return nullptr;
}

// ---- objects ---------------------------------------------------------------------------------

int64_t FakeKubeApi::ApplyLocked(json object, bool send_event) {
  const ResourceInfo* ri = FindResourceForKind(object.value("kind", ""));
  if (!ri) throw std::invalid_argument("fakekube: kind not served: " + object.value("kind", ""));
  json& md = object["metadata"];
  const std::string name = md.value("name", "");
  if (name.empty()) throw std::invalid_argument("fakekube: object without a name");
  std::string ns = ri->namespaced ? md.value("namespace", "default") : "";
  if (ri->namespaced) md["namespace"] = ns;
  auto& store = objects_[ri->plural];
  const auto key = std::make_pair(ns, name);
  const auto existing = store.find(key);
  if (!md.contains("uid")) {
    md["uid"] = existing != store.end() ? (*existing->second)["metadata"]["uid"] : json(NewUid());
  }
  if (!md.contains("creationTimestamp")) md["creationTimestamp"] = Now();
  if (ri->group == "apps") {
    const int64_t gen =
        existing != store.end() ? (*existing->second)["metadata"].value("generation", 1) + 1 : 1;
    md["generation"] = gen;
  }
  const int64_t rv = ++rv_;
  md["resourceVersion"] = std::to_string(rv);
  auto ptr = std::make_shared<const json>(std::move(object));
  const bool added = existing == store.end();
  store[key] = ptr;
  if (send_event) events_[ri->plural].push_back({rv, added ? "ADDED" : "MODIFIED", ptr});
  return rv;
}

void FakeKubeApi::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("fakekube: cannot read " + path);
  Load(json::parse(in));
}

void FakeKubeApi::Load(const json& list) {
  {
    std::lock_guard lock(mu_);
    for (const auto& item : list.at("items")) {
      if (FindResourceForKind(item.value("kind", "")))
        ApplyLocked(item, false);  // skip Services...
    }
    compacted_rv_ = rv_;
    for (auto& [k, e] : events_) e.clear();
  }
  cv_.notify_all();
}

int64_t FakeKubeApi::Apply(json object) {
  int64_t rv;
  {
    std::lock_guard lock(mu_);
    rv = ApplyLocked(std::move(object), true);
  }
  cv_.notify_all();
  return rv;
}

bool FakeKubeApi::Delete(const std::string& kind, const std::string& ns, const std::string& name) {
  {
    std::lock_guard lock(mu_);
    const ResourceInfo* ri = FindResourceForKind(kind);
    if (!ri) return false;
    auto& store = objects_[ri->plural];
    auto it = store.find({ri->namespaced ? ns : "", name});
    if (it == store.end()) return false;
    json gone = *it->second;
    const int64_t rv = ++rv_;
    gone["metadata"]["resourceVersion"] = std::to_string(rv);
    gone["metadata"]["deletionTimestamp"] = Now();
    store.erase(it);
    events_[ri->plural].push_back({rv, "DELETED", std::make_shared<const json>(std::move(gone))});
  }
  cv_.notify_all();
  return true;
}

json FakeKubeApi::Get(const std::string& kind, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  const ResourceInfo* ri = FindResourceForKind(kind);
  if (!ri) return nullptr;
  auto& store = objects_[ri->plural];
  auto it = store.find({ri->namespaced ? ns : "", name});
  return it == store.end() ? json() : *it->second;
}

int64_t FakeKubeApi::resource_version() const {
  std::lock_guard lock(mu_);
  return rv_;
}

void FakeKubeApi::Compact() {
  std::lock_guard lock(mu_);
  compacted_rv_ = rv_;
  for (auto& [k, e] : events_) e.clear();
  snapshots_.clear();
}

void FakeKubeApi::SetGoneMode(GoneMode mode) {
  std::lock_guard lock(mu_);
  options_.gone_mode = mode;
}

void FakeKubeApi::DropWatches() {
  {
    std::lock_guard lock(mu_);
    ++drop_generation_;
  }
  cv_.notify_all();
}

void FakeKubeApi::SendBookmarks() {
  {
    std::lock_guard lock(mu_);
    ++bookmark_generation_;
  }
  cv_.notify_all();
}

void FakeKubeApi::SetTokens(std::vector<std::string> tokens) {
  std::lock_guard lock(mu_);
  options_.tokens = std::move(tokens);
}

void FakeKubeApi::SetSplitVersions(std::vector<std::string> versions) {
  std::lock_guard lock(mu_);
  options_.split_versions = std::move(versions);
}

void FakeKubeApi::SetListPageDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  page_delay_ = delay;
}

void FakeKubeApi::FailResource(const std::string& resource, int status) {
  std::lock_guard lock(mu_);
  if (status == 0) {
    failing_.erase(resource);
  } else {
    failing_[resource] = status;
  }
}

FakeKubeApi::Counters FakeKubeApi::counters(const std::string& resource) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(resource);
  return it == counters_.end() ? Counters{} : it->second;
}

int FakeKubeApi::open_watches() const {
  std::lock_guard lock(mu_);
  return open_watches_;
}

std::set<std::string> FakeKubeApi::access_log() const {
  std::lock_guard lock(mu_);
  return access_;
}

void FakeKubeApi::SetTokenReview(const std::string& token, json status) {
  std::lock_guard lock(mu_);
  token_statuses_[token] = std::move(status);
}

void FakeKubeApi::SetAccessDecider(std::function<json(const json&)> decide) {
  std::lock_guard lock(mu_);
  access_decider_ = std::move(decide);
}

void FakeKubeApi::FailReviews(int status) {
  std::lock_guard lock(mu_);
  review_failure_ = status;
}

std::vector<json> FakeKubeApi::token_reviews() const {
  std::lock_guard lock(mu_);
  return token_reviews_;
}

std::vector<json> FakeKubeApi::access_reviews() const {
  std::lock_guard lock(mu_);
  return access_reviews_;
}

void FakeKubeApi::SetAuthenticationConfigMap(json data) {
  std::lock_guard lock(mu_);
  auth_configmap_data_ = std::move(data);
}

int FakeKubeApi::configmap_reads() const {
  std::lock_guard lock(mu_);
  return configmap_reads_;
}

void FakeKubeApi::HandlePost(const httplib::Request& req, httplib::Response& res) {
  const std::string who = Authenticate(req);
  if (who.empty()) {
    std::lock_guard lock(mu_);
    ++counters_[""].unauthorized;
    Reply(res, 401, Status(401, "Unauthorized", "Unauthorized"));
    return;
  }
  const bool token_review = req.path == "/apis/authentication.k8s.io/v1/tokenreviews";
  const bool access_review = req.path == "/apis/authorization.k8s.io/v1/subjectaccessreviews";
  if (!token_review && !access_review) {
    Reply(res, 405, Status(405, "MethodNotAllowed", "the fake API server is read-only"));
    return;
  }
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::exception& e) {
    Reply(res, 400, Status(400, "BadRequest", e.what()));
    return;
  }
  const std::string kind = token_review ? "TokenReview" : "SubjectAccessReview";
  const std::string api_version =
      token_review ? "authentication.k8s.io/v1" : "authorization.k8s.io/v1";
  if (body.value("kind", "") != kind || body.value("apiVersion", "") != api_version ||
      !body.contains("spec")) {
    Reply(res, 400, Status(400, "BadRequest", "expected a " + api_version + " " + kind));
    return;
  }
  json status;
  std::function<json(const json&)> decide;
  {
    std::lock_guard lock(mu_);
    users_.insert(who);
    access_.insert("create " + std::string(token_review
                                               ? "authentication.k8s.io/tokenreviews"
                                               : "authorization.k8s.io/subjectaccessreviews"));
    (token_review ? token_reviews_ : access_reviews_).push_back(body["spec"]);
    if (review_failure_) {
      Reply(res, review_failure_,
            Status(review_failure_, "InternalError", "injected failure for " + kind));
      return;
    }
    if (token_review) {
      const auto it = token_statuses_.find(body["spec"].value("token", ""));
      status = it != token_statuses_.end()
                   ? it->second
                   : json{{"authenticated", false}, {"error", "invalid bearer token"}};
    } else {
      decide = access_decider_;
    }
  }
  if (access_review) status = decide ? decide(body["spec"]) : json{{"allowed", false}};
  body["status"] = status;
  body["metadata"] = {{"creationTimestamp", nullptr}};
  Reply(res, 201, body);
}

std::set<std::string> FakeKubeApi::authenticated_users() const {
  std::lock_guard lock(mu_);
  return users_;
}

// ---- serving ---------------------------------------------------------------------------------

std::string FakeKubeApi::Authenticate(const httplib::Request& req) {
  if (req.ssl) {
    X509* cert = SSL_get0_peer_certificate(req.ssl);
    if (cert && SSL_get_verify_result(req.ssl) == X509_V_OK) {
      char cn[256] = {0};
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
      return std::string("cert:") + cn;
    }
  }
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) {
    const std::string token = auth.substr(7);
    std::lock_guard lock(mu_);
    if (std::find(options_.tokens.begin(), options_.tokens.end(), token) != options_.tokens.end()) {
      return "token:" + token;
    }
  }
  return "";
}

json FakeKubeApi::Finish(json object, const ResourceInfo& ri, const std::string& version,
                         bool list_item) const {
  if (ri.group == "split.smi-spec.io") {
    object["apiVersion"] = ri.group + "/" + version;  // custom resources keep kind in lists
    return object;
  }
  if (list_item) {
    object.erase("kind");
    object.erase("apiVersion");
  }
  return object;
}

void FakeKubeApi::ServeDiscovery(const std::string& path, httplib::Response& res) {
  std::vector<std::string> split_versions;
  {
    std::lock_guard lock(mu_);
    split_versions = options_.split_versions;
    access_.insert("get " + path);
  }
  auto group = [](const std::string& name, const std::vector<std::string>& versions) {
    json g = {{"name", name}, {"versions", json::array()}};
    for (const auto& v : versions) {
      g["versions"].push_back({{"groupVersion", name + "/" + v}, {"version", v}});
    }
    // The preferred version of a CRD group is the highest-priority served one: the newest here.
    std::vector<std::string> sorted = versions;
    std::sort(sorted.rbegin(), sorted.rend());
    if (!sorted.empty())
      g["preferredVersion"] = {{"groupVersion", name + "/" + sorted[0]}, {"version", sorted[0]}};
    return g;
  };
  if (path == "/api") {
    Reply(res, 200,
          {{"kind", "APIVersions"},
           {"versions", {"v1"}},
           {"serverAddressByClientCIDRs",
            {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", "127.0.0.1:6443"}}}}});
    return;
  }
  if (path == "/apis") {
    json groups = json::array({group("apps", {"v1"}), group("batch", {"v1"})});
    if (!split_versions.empty()) groups.push_back(group("split.smi-spec.io", split_versions));
    Reply(res, 200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}});
    return;
  }
  if (path == "/apis/apps") {
    json g = group("apps", {"v1"});
    g["kind"] = "APIGroup";
    g["apiVersion"] = "v1";
    Reply(res, 200, g);
    return;
  }
  if (path == "/apis/split.smi-spec.io" && !split_versions.empty()) {
    json g = group("split.smi-spec.io", split_versions);
    g["kind"] = "APIGroup";
    g["apiVersion"] = "v1";
    Reply(res, 200, g);
    return;
  }
  Reply(res, 404, Status(404, "NotFound", "the server could not find the requested resource"));
}

void FakeKubeApi::Handle(const httplib::Request& req, httplib::Response& res) {
  const std::string who = Authenticate(req);
  if (who.empty()) {
    std::lock_guard lock(mu_);
    ++counters_[""].unauthorized;
    Reply(res, 401, Status(401, "Unauthorized", "Unauthorized"));
    return;
  }
  {
    std::lock_guard lock(mu_);
    users_.insert(who);
  }
  if (req.path == "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication") {
    std::lock_guard lock(mu_);
    ++configmap_reads_;
    access_.insert("get /configmaps");
    if (auth_configmap_data_.is_null()) {
      Reply(res, 404,
            Status(404, "NotFound", "configmaps \"extension-apiserver-authentication\" not found"));
    } else {
      Reply(res, 200,
            {{"kind", "ConfigMap"},
             {"apiVersion", "v1"},
             {"metadata",
              {{"name", "extension-apiserver-authentication"}, {"namespace", "kube-system"}}},
             {"data", auth_configmap_data_}});
    }
    return;
  }
  const std::vector<std::string> seg = Split(req.path);
  auto not_found = [&] {
    Reply(res, 404, Status(404, "NotFound", "the server could not find the requested resource"));
  };
  if (seg.empty()) return not_found();
  // Discovery documents.
  if ((seg.size() == 1) || (seg.size() == 2 && seg[0] == "apis")) {
    return ServeDiscovery(req.path, res);
  }
  // /api/v1/..., /apis/<group>/<version>/...
  std::string group, version;
  size_t i = 0;
  if (seg[0] == "api") {
    version = seg[1];
    i = 2;
  } else if (seg[0] == "apis" && seg.size() >= 3) {
    group = seg[1];
    version = seg[2];
    i = 3;
  } else {
    return not_found();
  }
  std::string ns;
  std::string plural;
  std::string name;
  const std::vector<std::string> rest(seg.begin() + i, seg.end());
  if (rest.size() == 1) {
    plural = rest[0];
  } else if (rest.size() == 2) {  // /api/v1/namespaces/<name>, /apis/apps/v1/deployments/<x>
    plural = rest[0];
    name = rest[1];
  } else if (rest.size() >= 3 && rest[0] == "namespaces") {
    ns = rest[1];
    plural = rest[2];
    if (rest.size() == 4) name = rest[3];
    if (rest.size() > 4) return not_found();
  } else {
    return not_found();
  }
  const ResourceInfo* ri = nullptr;
  for (const auto& r : kResources) {
    if (r.plural == plural && r.group == group) ri = &r;
  }
  if (!ri) return not_found();
  if (ri->group == "split.smi-spec.io") {
    std::lock_guard lock(mu_);
    const auto& v = options_.split_versions;
    if (std::find(v.begin(), v.end(), version) == v.end()) {
      res.status = 404;
      res.set_content("404 page not found\n", "text/plain");
      return;
    }
  } else if (version != ri->version) {
    return not_found();
  }
  if (!ns.empty() && !ri->namespaced) return not_found();
  {
    std::lock_guard lock(mu_);
    if (auto it = failing_.find(plural); it != failing_.end()) {
      ++counters_[plural].failed;
      Reply(res, it->second,
            Status(it->second, it->second == 403 ? "Forbidden" : "InternalError",
                   "injected failure for " + plural));
      return;
    }
  }
  if (!name.empty()) {
    // GET of one object.
    json obj;
    {
      std::lock_guard lock(mu_);
      access_.insert("get " + group + "/" + plural);
      auto& store = objects_[plural];
      auto it = store.find({ri->namespaced ? ns : "", name});
      if (it != store.end()) obj = *it->second;
    }
    if (obj.is_null()) {
      Reply(res, 404, Status(404, "NotFound", plural + " \"" + name + "\" not found"));
      return;
    }
    Reply(res, 200, Finish(obj, *ri, version, false));
    return;
  }
  const std::string watch = req.get_param_value("watch");
  if (watch == "1" || watch == "true") return ServeWatch(*ri, version, ns, req, res);
  ServeList(*ri, version, ns, req, res);
}

void FakeKubeApi::ServeList(const ResourceInfo& ri, const std::string& version,
                            const std::string& ns, const httplib::Request& req,
                            httplib::Response& res) {
  int64_t limit = 0;
  if (req.has_param("limit")) limit = std::stoll(req.get_param_value("limit"));
  const std::string cont = req.get_param_value("continue");
  std::chrono::milliseconds delay;
  std::shared_ptr<ListSnapshot> snap;
  size_t start = 0;
  {
    std::lock_guard lock(mu_);
    access_.insert("list " + ri.group + "/" + ri.plural);
    auto& c = counters_[ri.plural];
    ++c.lists;
    delay = page_delay_;
    if (!cont.empty()) {
      json token;
      try {
        token = json::parse(Base64Decode(cont));
      } catch (const std::exception&) {
        Reply(res, 400,
              Status(400, "BadRequest", "continue key is not valid: illegal base64 data"));
        return;
      }
      const int64_t rv = token.value("rv", int64_t{0});
      auto it = snapshots_.find(ri.plural + "|" + ns + "|" + std::to_string(rv));
      if (rv <= compacted_rv_ && it == snapshots_.end()) {
        ++c.gone;
        Reply(res, 410,
              Status(410, "Expired",
                     "The provided continue parameter is too old to display a consistent list "
                     "result. You can start a new list without the continue parameter, or use the "
                     "continue token in this response to retrieve the remainder of the results. "
                     "Continuing with the provided token results in an inconsistent list - objects "
                     "that were created, modified, or deleted between the time the first chunk "
                     "was returned and now may show up in the list."));
        return;
      }
      if (it == snapshots_.end()) {
        Reply(res, 400, Status(400, "BadRequest", "continue key is not valid"));
        return;
      }
      snap = it->second;
      const std::string after = token.value("start", "");
      const std::string after_key = after.substr(0, after.size() - 1);  // strip the \0
      start =
          std::upper_bound(snap->items.begin(), snap->items.end(), after_key,
                           [](const std::string& k, const auto& item) { return k < item.first; }) -
          snap->items.begin();
    } else {
      ++c.first_pages;
      snap = std::make_shared<ListSnapshot>();
      snap->rv = rv_;
      for (const auto& [key, obj] : objects_[ri.plural]) {
        if (!ns.empty() && key.first != ns) continue;
        snap->items.emplace_back(key.first + "/" + key.second, obj);
      }
      std::sort(snap->items.begin(), snap->items.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      if (limit > 0 && static_cast<int64_t>(snap->items.size()) > limit) {
        snapshots_[ri.plural + "|" + ns + "|" + std::to_string(snap->rv)] = snap;
      }
    }
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  const size_t end = limit > 0 ? std::min(snap->items.size(), start + static_cast<size_t>(limit))
                               : snap->items.size();
  const std::string gv = ri.group.empty() ? version : ri.group + "/" + version;
  std::string body = "{\"kind\":\"" + ri.kind + "List\",\"apiVersion\":\"" + gv +
                     "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(snap->rv) + "\"";
  if (end < snap->items.size()) {
    const json token = {{"v", "meta.k8s.io/v1"},
                        {"rv", snap->rv},
                        {"start", snap->items[end - 1].first + std::string(1, '\0')}};
    body += ",\"continue\":\"" + Base64(token.dump()) +
            "\",\"remainingItemCount\":" + std::to_string(snap->items.size() - end);
  }
  body += "},\"items\":[";
  for (size_t i = start; i < end; ++i) {
    if (i > start) body += ",";
    body += Finish(*snap->items[i].second, ri, version, true).dump();
  }
  body += "]}\n";
  res.status = 200;
  res.set_content(body, "application/json");
}

struct FakeKubeApi::Watcher {
  std::string plural;
  std::string ns;
  int64_t pos = 0;
  bool bookmarks = false;
  uint64_t drop_gen = 0;
  uint64_t bookmark_gen = 0;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::steady_clock::time_point next_bookmark;
  std::string pending;  // initial events (watch from "0")
};

void FakeKubeApi::ServeWatch(const ResourceInfo& ri, const std::string& version,
                             const std::string& ns, const httplib::Request& req,
                             httplib::Response& res) {
  const std::string rv_param = req.get_param_value("resourceVersion");
  int64_t timeout_s = 1800;
  if (req.has_param("timeoutSeconds"))
    timeout_s = std::stoll(req.get_param_value("timeoutSeconds"));
  auto w = std::make_shared<Watcher>();
  w->plural = ri.plural;
  w->ns = ns;
  w->bookmarks = req.get_param_value("allowWatchBookmarks") == "true";
  w->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  const std::string gv = ri.group.empty() ? version : ri.group + "/" + version;
  std::string gone_message;
  GoneMode gone_mode;
  {
    std::lock_guard lock(mu_);
    access_.insert("watch " + ri.group + "/" + ri.plural);
    auto& c = counters_[ri.plural];
    gone_mode = options_.gone_mode;
    w->drop_gen = drop_generation_;
    w->bookmark_gen = bookmark_generation_;
    w->next_bookmark = std::chrono::steady_clock::now() + options_.bookmark_interval;
    if (rv_param.empty() || rv_param == "0") {
      // Start with synthetic ADDED events for every current object.
      for (const auto& [key, obj] : objects_[ri.plural]) {
        if (!ns.empty() && key.first != ns) continue;
        w->pending += json{{"type", "ADDED"}, {"object", Finish(*obj, ri, version, false)}}.dump();
        w->pending += "\n";
      }
      w->pos = rv_;
    } else {
      w->pos = std::stoll(rv_param);
      if (w->pos < compacted_rv_) {
        ++c.gone;
        gone_message = "too old resource version: " + std::to_string(w->pos) + " (" +
                       std::to_string(compacted_rv_ + 1) + ")";
      }
    }
    if (gone_message.empty() || gone_mode == GoneMode::kErrorEvent) ++c.watches;
  }
  if (!gone_message.empty()) {
    const json status = Status(410, "Expired", gone_message);
    if (gone_mode == GoneMode::kHttpStatus) {
      Reply(res, 410, status);
      return;
    }
    const std::string line = json{{"type", "ERROR"}, {"object", status}}.dump() + "\n";
    res.status = 200;
    res.set_chunked_content_provider("application/json", [line](size_t, httplib::DataSink& sink) {
      sink.write(line.data(), line.size());
      sink.done();
      return true;
    });
    return;
  }
  {
    std::lock_guard lock(mu_);
    ++open_watches_;
  }
  res.status = 200;
  res.set_chunked_content_provider(
      "application/json",
      [this, w, ri, version, gv](size_t, httplib::DataSink& sink) {
        std::string out;
        out.swap(w->pending);
        bool end = false;
        {
          std::unique_lock lock(mu_);
          auto has_news = [&] {
            if (stopping_ || drop_generation_ != w->drop_gen) return true;
            if (w->bookmarks && bookmark_generation_ != w->bookmark_gen) return true;
            const auto& ev = events_[w->plural];
            return !ev.empty() && ev.back().rv > w->pos;
          };
          if (out.empty()) cv_.wait_for(lock, std::chrono::milliseconds(100), has_news);
          if (stopping_ || drop_generation_ != w->drop_gen) return false;  // abrupt close
          const auto& ev = events_[w->plural];
          auto it = std::upper_bound(ev.begin(), ev.end(), w->pos,
                                     [](int64_t rv, const Event& e) { return rv < e.rv; });
          for (; it != ev.end(); ++it) {
            w->pos = it->rv;
            if (!w->ns.empty() && (*it->object)["metadata"].value("namespace", "") != w->ns) {
              continue;
            }
            out += json{{"type", it->type}, {"object", Finish(*it->object, ri, version, false)}}
                       .dump();
            out += "\n";
          }
          const auto now = std::chrono::steady_clock::now();
          bool bookmark = w->bookmarks && bookmark_generation_ != w->bookmark_gen;
          if (w->bookmarks && options_.bookmark_interval.count() > 0 && now >= w->next_bookmark) {
            bookmark = true;
            w->next_bookmark = now + options_.bookmark_interval;
          }
          if (bookmark) {
            w->bookmark_gen = bookmark_generation_;
            w->pos = std::max(w->pos, rv_);
            out += json{{"type", "BOOKMARK"},
                        {"object",
                         {{"kind", ri.kind},
                          {"apiVersion", gv},
                          {"metadata",
                           {{"resourceVersion", std::to_string(rv_)},
                            {"creationTimestamp", nullptr}}}}}}
                       .dump();
            out += "\n";
          }
          end = now >= w->deadline;
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) return false;
        if (end) {
          sink.done();
          return true;
        }
        return sink.is_writable();
      },
      [this](bool) {
        std::lock_guard lock(mu_);
        --open_watches_;
      });
}

// ---- real-shaped objects ---------------------------------------------------------------------

namespace {

json ManagedFields(const std::string& manager, const std::string& api_version) {
  return json::array({{{"manager", manager},
                       {"operation", "Update"},
                       {"apiVersion", api_version},
                       {"time", Now()},
                       {"fieldsType", "FieldsV1"},
                       {"fieldsV1",
                        {{"f:metadata", {{"f:labels", {{".", json::object()}}}}},
                         {"f:spec", {{"f:replicas", json::object()}}}}}}});
}

json PodTemplate(const json& labels) {
  return {
      {"metadata", {{"creationTimestamp", nullptr}, {"labels", labels}}},
      {"spec",
       {{"containers",
         json::array(
             {{{"name", "app"},
               {"image", "docker.io/buoyantio/emojivoto-web:v11"},
               {"ports",
                json::array({{{"containerPort", 8080}, {"name", "http"}, {"protocol", "TCP"}}})},
               {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "64Mi"}}}}},
               {"terminationMessagePath", "/dev/termination-log"},
               {"terminationMessagePolicy", "File"},
               {"imagePullPolicy", "IfNotPresent"}}})},
        {"restartPolicy", "Always"},
        {"terminationGracePeriodSeconds", 30},
        {"dnsPolicy", "ClusterFirst"},
        {"serviceAccountName", "default"},
        {"schedulerName", "default-scheduler"},
        {"securityContext", json::object()}}}};
}

json Owner(const json& owner) {
  return {{"apiVersion", owner.value("apiVersion", "apps/v1")},
          {"kind", owner.at("kind")},
          {"name", owner.at("metadata").at("name")},
          {"uid", owner.at("metadata").at("uid")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

}  // namespace

json MakeNamespace(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata",
           {{"name", name},
            {"uid", NewUid()},
            {"labels", {{"kubernetes.io/metadata.name", name}}},
            {"managedFields", ManagedFields("kubectl-create", "v1")}}},
          {"spec", {{"finalizers", {"kubernetes"}}}},
          {"status", {{"phase", "Active"}}}};
}

json MakeDeployment(const std::string& ns, const std::string& name, const json& match_labels,
                    int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"uid", NewUid()},
            {"labels", match_labels},
            {"annotations",
             {{"deployment.kubernetes.io/revision", "1"},
              {"kubectl.kubernetes.io/last-applied-configuration", std::string(600, 'x')}}},
            {"managedFields", ManagedFields("kubectl-client-side-apply", "apps/v1")}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", match_labels}}},
            {"template", PodTemplate(match_labels)},
            {"strategy",
             {{"type", "RollingUpdate"},
              {"rollingUpdate", {{"maxUnavailable", "25%"}, {"maxSurge", "25%"}}}}},
            {"revisionHistoryLimit", 10},
            {"progressDeadlineSeconds", 600}}},
          {"status",
           {{"observedGeneration", 1},
            {"replicas", replicas},
            {"updatedReplicas", replicas},
            {"readyReplicas", replicas},
            {"availableReplicas", replicas},
            {"conditions", json::array({{{"type", "Available"},
                                         {"status", "True"},
                                         {"reason", "MinimumReplicasAvailable"},
                                         {"message", "Deployment has minimum availability."}}})}}}};
}

json MakeReplicaSet(const json& deployment, const std::string& hash) {
  const auto& dmd = deployment.at("metadata");
  json labels = deployment.at("spec").at("selector").at("matchLabels");
  labels["pod-template-hash"] = hash;
  const int replicas = deployment.at("spec").value("replicas", 1);
  return {{"apiVersion", "apps/v1"},
          {"kind", "ReplicaSet"},
          {"metadata",
           {{"name", dmd.at("name").get<std::string>() + "-" + hash},
            {"namespace", dmd.at("namespace")},
            {"uid", NewUid()},
            {"labels", labels},
            {"annotations",
             {{"deployment.kubernetes.io/desired-replicas", std::to_string(replicas)},
              {"deployment.kubernetes.io/max-replicas", std::to_string(replicas + 1)},
              {"deployment.kubernetes.io/revision", "1"}}},
            {"ownerReferences", json::array({Owner(deployment)})},
            {"managedFields", ManagedFields("kube-controller-manager", "apps/v1")}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", labels}}},
            {"template", PodTemplate(labels)}}},
          {"status",
           {{"replicas", replicas},
            {"fullyLabeledReplicas", replicas},
            {"readyReplicas", replicas},
            {"availableReplicas", replicas},
            {"observedGeneration", 1}}}};
}

json MakePod(const std::string& ns, const std::string& name, const json& labels, const json& owner,
             const std::string& ip) {
  json md = {{"name", name},
             {"namespace", ns},
             {"uid", NewUid()},
             {"labels", labels},
             {"annotations",
              {{"linkerd.io/created-by", "linkerd/proxy-injector stable-2.14.10"},
               {"linkerd.io/inject", "enabled"},
               {"linkerd.io/proxy-version", "stable-2.14.10"},
               {"viz.linkerd.io/tap-enabled", "true"}}},
             {"managedFields", ManagedFields("kubelet", "v1")}};
  if (owner.is_object()) {
    md["ownerReferences"] = json::array({Owner(owner)});
    md["generateName"] = owner.at("metadata").at("name").get<std::string>() + "-";
  }
  json spec = PodTemplate(labels)["spec"];
  spec["nodeName"] = "node-1";
  spec["containers"].push_back(
      {{"name", "linkerd-proxy"},
       {"image", "cr.l5d.io/linkerd/proxy:stable-2.14.10"},
       {"ports", json::array({{{"containerPort", 4143}, {"name", "linkerd-proxy"}},
                              {{"containerPort", 4191}, {"name", "linkerd-admin"}}})}});
  spec["volumes"] = json::array(
      {{{"name", "kube-api-access"},
        {"projected",
         {{"sources", json::array({{{"serviceAccountToken",
                                     {{"expirationSeconds", 3607}, {"path", "token"}}}}})},
          {"defaultMode", 420}}}}});
  spec["tolerations"] = json::array({{{"key", "node.kubernetes.io/not-ready"},
                                      {"operator", "Exists"},
                                      {"effect", "NoExecute"},
                                      {"tolerationSeconds", 300}}});
  return {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", md},
      {"spec", spec},
      {"status",
       {{"phase", "Running"},
        {"conditions", json::array({{{"type", "Initialized"}, {"status", "True"}},
                                    {{"type", "Ready"}, {"status", "True"}},
                                    {{"type", "ContainersReady"}, {"status", "True"}},
                                    {{"type", "PodScheduled"}, {"status", "True"}}})},
        {"hostIP", "172.18.0.2"},
        {"hostIPs", json::array({{{"ip", "172.18.0.2"}}})},
        {"podIP", ip},
        {"podIPs", json::array({{{"ip", ip}}})},
        {"startTime", Now()},
        {"qosClass", "Burstable"},
        {"containerStatuses", json::array({{{"name", "app"},
                                            {"ready", true},
                                            {"restartCount", 0},
                                            {"image", "docker.io/buoyantio/emojivoto-web:v11"},
                                            {"containerID", "containerd://" + std::string(64, 'a')},
                                            {"started", true},
                                            {"state", {{"running", {{"startedAt", Now()}}}}}},
                                           {{"name", "linkerd-proxy"},
                                            {"ready", true},
                                            {"restartCount", 0},
                                            {"image", "cr.l5d.io/linkerd/proxy:stable-2.14.10"},
                                            {"containerID", "containerd://" + std::string(64, 'b')},
                                            {"started", true},
                                            {"state", {{"running", {{"startedAt", Now()}}}}}}})}}}};
}

json MakeStatefulSet(const std::string& ns, const std::string& name, const json& match_labels) {
  json d = MakeDeployment(ns, name, match_labels, 1);
  d["kind"] = "StatefulSet";
  d["spec"].erase("strategy");
  d["spec"].erase("progressDeadlineSeconds");
  d["spec"]["serviceName"] = name;
  d["spec"]["podManagementPolicy"] = "OrderedReady";
  d["spec"]["updateStrategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 0}}}};
  return d;
}

json MakeDaemonSet(const std::string& ns, const std::string& name, const json& match_labels) {
  json d = MakeDeployment(ns, name, match_labels, 1);
  d["kind"] = "DaemonSet";
  d["spec"].erase("strategy");
  d["spec"].erase("replicas");
  d["spec"].erase("progressDeadlineSeconds");
  d["spec"]["updateStrategy"] = {{"type", "RollingUpdate"},
                                 {"rollingUpdate", {{"maxUnavailable", 1}, {"maxSurge", 0}}}};
  d["status"] = {{"currentNumberScheduled", 1},
                 {"desiredNumberScheduled", 1},
                 {"numberReady", 1},
                 {"observedGeneration", 1}};
  return d;
}

json MakeTrafficSplit(const std::string& api_version, const std::string& ns,
                      const std::string& name, const std::string& service, const json& backends) {
  json bs = json::array();
  for (const auto& b : backends) bs.push_back({{"service", b.at(0)}, {"weight", b.at(1)}});
  return {{"apiVersion", api_version},
          {"kind", "TrafficSplit"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"uid", NewUid()},
            {"generation", 1},
            {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}}},
            {"managedFields", ManagedFields("kubectl-client-side-apply", api_version)}}},
          {"spec", {{"service", service}, {"backends", bs}}}};
}

}  // namespace smi::fakekube
