// The list+watch caches against the fake Kubernetes API server over HTTPS. Every wait is a
// condition polled with a generous timeout; nothing asserts on timing.
#include "kube/watched_cluster.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fakekube/fake_kube_api.h"
#include "support/temp_dir.h"

namespace smi::kube {
namespace {

using fakekube::FakeKubeApi;
using nlohmann::json;

bool Eventually(const std::function<bool()>& cond,
                std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

WatchedClusterState::Options FastOptions() {
  WatchedClusterState::Options o;
  o.reflector.initial_backoff = std::chrono::milliseconds(20);
  o.reflector.max_backoff = std::chrono::milliseconds(500);
  o.split_discovery_interval = std::chrono::milliseconds(200);
  return o;
}

std::string Fixture() { return std::string(SMI_FAKEKUBE_FIXTURES) + "/emojivoto.json"; }

RestConfig TokenConfig(const FakeKubeApi& api, const std::string& token = "fake-token") {
  return ParseKubeconfig(api.Kubeconfig(token), "");
}

class WatchedClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.LoadFile(Fixture());
    api_.Start();
  }
  std::unique_ptr<WatchedClusterState> StartClient(
      WatchedClusterState::Options options = FastOptions()) {
    auto c = std::make_unique<WatchedClusterState>(TokenConfig(api_), options);
    c->Start();
    std::string why;
    EXPECT_TRUE(Eventually([&] { return c->Synced(&why); })) << why;
    return c;
  }
  FakeKubeApi api_;
};

TEST_F(WatchedClusterTest, SyncsWhatTheApiServes) {
  auto c = StartClient();
  auto snap = c->Snapshot();
  EXPECT_EQ(snap->Namespaces().size(), 3u);
  EXPECT_EQ(snap->Workloads(WorkloadKind::kDeployment, "emojivoto").size(), 3u);
  EXPECT_EQ(snap->Count(Resource::kReplicaSets), 4u);
  EXPECT_EQ(snap->Pods().size(), 8u);
  EXPECT_EQ(c->TrafficSplitVersion(), "v1alpha2");
  EXPECT_EQ(snap->traffic_split_version(), "v1alpha2");
  ASSERT_NE(snap->FindTrafficSplit("emojivoto", "web-split"), nullptr);
  const Pod* pod = snap->FindPod("emojivoto", "web-5f7b9c6d4b-x8k2p");
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->ip, "10.244.0.11");
  EXPECT_EQ(snap->OwnerOf(*pod), (WorkloadRef{WorkloadKind::kDeployment, "emojivoto", "web"}));
}

TEST_F(WatchedClusterTest, PagedListsOfEveryResourceAtOneResourceVersion) {
  // Every resource listed two objects a page, all at the same resourceVersion: each list's
  // continue tokens must lead through its own items only.
  auto options = FastOptions();
  options.reflector.page_size = 2;
  auto c = StartClient(options);
  auto snap = c->Snapshot();
  EXPECT_EQ(snap->Namespaces().size(), 3u);
  EXPECT_EQ(snap->Count(Resource::kDeployments), 3u);
  EXPECT_EQ(snap->Count(Resource::kReplicaSets), 4u);
  EXPECT_EQ(snap->Pods().size(), 8u);
  EXPECT_GE(c->Stats(Resource::kPods).list_pages, 4u);
}

TEST_F(WatchedClusterTest, CreatedRelabelledDeletedObjectsFollowTheWatch) {
  auto c = StartClient();
  const auto canary = LabelSelector::Parse("track=canary");
  auto has = [&](const char* name) {
    return c->Snapshot()->FindWorkload(WorkloadKind::kDeployment, "emojivoto", name) != nullptr;
  };
  auto selected = [&](const char* name) {
    auto s = c->Snapshot();
    const Workload* w = s->FindWorkload(WorkloadKind::kDeployment, "emojivoto", name);
    return w && canary.Matches(w->meta.labels);
  };
  json d = fakekube::MakeDeployment("emojivoto", "web-canary", {{"app", "web-canary"}});
  api_.Apply(d);
  EXPECT_TRUE(Eventually([&] { return has("web-canary"); }));
  EXPECT_FALSE(selected("web-canary"));

  d = api_.Get("Deployment", "emojivoto", "web-canary");
  d["metadata"]["labels"]["track"] = "canary";
  api_.Apply(d);
  EXPECT_TRUE(Eventually([&] { return selected("web-canary"); }));

  ASSERT_TRUE(api_.Delete("Deployment", "emojivoto", "web-canary"));
  EXPECT_TRUE(Eventually([&] { return !has("web-canary"); }));

  // A pod and its owner chain created at run time resolve through the caches.
  const json dep = api_.Get("Deployment", "emojivoto", "emoji");
  const json rs = fakekube::MakeReplicaSet(dep, "n3w");
  api_.Apply(rs);
  api_.Apply(fakekube::MakePod("emojivoto", "emoji-n3w-1", {{"app", "emoji-svc"}}, rs, "10.1.1.1"));
  EXPECT_TRUE(Eventually([&] {
    auto s = c->Snapshot();
    const Pod* p = s->FindPod("emojivoto", "emoji-n3w-1");
    return p && s->OwnerOf(*p) == WorkloadRef{WorkloadKind::kDeployment, "emojivoto", "emoji"};
  }));
  // All of it through the one watch per resource: no re-list.
  EXPECT_EQ(api_.counters("deployments").first_pages, 1);
  EXPECT_EQ(c->Stats(Resource::kDeployments).lists, 1u);
  EXPECT_GE(c->Stats(Resource::kDeployments).events, 3u);
}

class GoneTest : public WatchedClusterTest,
                 public ::testing::WithParamInterface<fakekube::GoneMode> {};

TEST_P(GoneTest, GoneLeadsToARelist) {
  api_.SetGoneMode(GetParam());
  auto c = StartClient();
  ASSERT_EQ(api_.counters("pods").first_pages, 1);
  // A pod created without a watch event (as if the events had been compacted away), then the
  // watch drops: the reflector watches again from its resourceVersion, which is now too old.
  api_.Load(json{
      {"items", {fakekube::MakePod("default", "unseen", {{"run", "x"}}, nullptr, "10.9.9.9")}}});
  api_.DropWatches();
  EXPECT_TRUE(Eventually([&] { return c->Snapshot()->FindPod("default", "unseen") != nullptr; }));
  EXPECT_GE(api_.counters("pods").gone, 1);
  EXPECT_GE(api_.counters("pods").first_pages, 2);
  EXPECT_GE(c->Stats(Resource::kPods).relists_after_gone, 1u);
  // Still watching afterwards.
  api_.Apply(fakekube::MakePod("default", "after", {{"run", "y"}}, nullptr, "10.9.9.8"));
  EXPECT_TRUE(Eventually([&] { return c->Snapshot()->FindPod("default", "after") != nullptr; }));
}

INSTANTIATE_TEST_SUITE_P(BothWays, GoneTest,
                         ::testing::Values(fakekube::GoneMode::kErrorEvent,
                                           fakekube::GoneMode::kHttpStatus),
                         [](const auto& info) {
                           return info.param == fakekube::GoneMode::kErrorEvent ? "ErrorEvent"
                                                                                : "HttpStatus";
                         });

TEST_F(WatchedClusterTest, DroppedWatchReconnectsWithoutRelisting) {
  auto c = StartClient();
  ASSERT_TRUE(Eventually([&] { return api_.counters("pods").watches >= 1; }));
  const int watches = api_.counters("pods").watches;
  api_.DropWatches();
  EXPECT_TRUE(Eventually([&] { return api_.counters("pods").watches > watches; }));
  api_.Apply(fakekube::MakePod("default", "later", {{"run", "later"}}, nullptr, "10.2.2.2"));
  EXPECT_TRUE(Eventually([&] { return c->Snapshot()->FindPod("default", "later") != nullptr; }));
  EXPECT_EQ(api_.counters("pods").first_pages, 1);
  EXPECT_EQ(c->Stats(Resource::kPods).lists, 1u);
}

TEST_F(WatchedClusterTest, BookmarkAdvancesTheResourceVersion) {
  auto c = StartClient();
  ASSERT_TRUE(Eventually([&] { return api_.counters("pods").watches >= 1; }));
  // Other resources change: the pods watch sees nothing, its resourceVersion falls behind.
  api_.Apply(fakekube::MakeNamespace("ns-1"));
  api_.Apply(fakekube::MakeNamespace("ns-2"));
  EXPECT_TRUE(Eventually([&] { return c->Snapshot()->FindNamespace("ns-2") != nullptr; }));
  api_.SendBookmarks();
  const std::string now = std::to_string(api_.resource_version());
  EXPECT_TRUE(Eventually([&] { return c->Stats(Resource::kPods).resource_version == now; }));
  EXPECT_GE(c->Stats(Resource::kPods).bookmarks, 1u);
  // Thanks to the bookmark, compaction followed by a dropped watch needs no re-list.
  api_.Compact();
  const int watches = api_.counters("pods").watches;
  api_.DropWatches();
  EXPECT_TRUE(Eventually([&] { return api_.counters("pods").watches > watches; }));
  EXPECT_EQ(api_.counters("pods").gone, 0);
  EXPECT_EQ(api_.counters("pods").first_pages, 1);
}

TEST(WatchedCluster, HalfBuiltCacheIsNeverServed) {
  FakeKubeApi api;
  json items = json::array();
  for (int i = 0; i < 1000; ++i) {
    items.push_back(fakekube::MakePod("load", "pod-" + std::to_string(i), {{"app", "load"}},
                                      nullptr, "10.3.0.1"));
  }
  api.Load(json{{"items", items}});
  api.SetListPageDelay(std::chrono::milliseconds(20));
  api.Start();
  auto options = FastOptions();
  options.reflector.page_size = 50;  // 20 pages, a slow list
  WatchedClusterState c(TokenConfig(api), options);
  c.Start();
  std::set<size_t> seen;
  bool synced_early = false;
  auto watch_counts = [&](size_t until) {
    return Eventually([&] {
      const size_t n = c.Snapshot()->Pods().size();
      seen.insert(n);
      if (n != until && c.Synced()) synced_early = true;
      return n == until;
    });
  };
  EXPECT_TRUE(watch_counts(1000));
  EXPECT_TRUE(Eventually([&] { return c.Synced(); }));  // the other resources too
  EXPECT_FALSE(synced_early);
  EXPECT_EQ(seen, (std::set<size_t>{0, 1000}));
  EXPECT_GE(c.Stats(Resource::kPods).list_pages, 20u);

  // A re-list (after 410) replaces the store at once: the old 1000, then the new 1100.
  json more = json::array();
  for (int i = 1000; i < 1100; ++i) {
    more.push_back(fakekube::MakePod("load", "pod-" + std::to_string(i), {{"app", "load"}}, nullptr,
                                     "10.3.0.1"));
  }
  api.Load(json{{"items", more}});
  api.DropWatches();
  seen.clear();
  EXPECT_TRUE(watch_counts(1100));
  EXPECT_EQ(seen, (std::set<size_t>{1000, 1100}));
  EXPECT_GE(c.Stats(Resource::kPods).relists_after_gone, 1u);
}

TEST(WatchedCluster, RotatedServiceAccountTokenIsPickedUp) {
  FakeKubeApi::Options fo;
  fo.tokens = {"token-1"};
  FakeKubeApi api(fo);
  api.LoadFile(Fixture());
  api.Start();
  const test_support::TempDir tmp("kube-sa");
  const std::string& dir = tmp.path();
  std::ofstream(dir + "/token") << "token-1";
  std::ofstream(dir + "/ca.crt") << api.ca_pem();
  InClusterPaths paths;
  paths.token_file = dir + "/token";
  paths.ca_file = dir + "/ca.crt";
  paths.host = "127.0.0.1";
  paths.port = std::to_string(api.port());
  WatchedClusterState c(InClusterConfig(paths), FastOptions());
  c.Start();
  ASSERT_TRUE(Eventually([&] { return c.Synced(); }));
  // The kubelet rotates the token; the old one stops working at the API server.
  std::ofstream(dir + "/token.tmp") << "token-2";
  std::filesystem::rename(dir + "/token.tmp", dir + "/token");
  api.SetTokens({"token-2"});
  api.DropWatches();
  api.Apply(fakekube::MakePod("default", "after-rotation", {{"run", "x"}}, nullptr, "10.4.4.4"));
  EXPECT_TRUE(
      Eventually([&] { return c.Snapshot()->FindPod("default", "after-rotation") != nullptr; }));
  EXPECT_TRUE(api.authenticated_users().count("token:token-2"));
  c.Stop();
}

TEST(WatchedCluster, ClientCertificatesAsKubeApiserverChecksThem) {
  FakeKubeApi api;
  api.LoadFile(Fixture());
  api.Start();
  const auto good = api.IssueClientCert("system:serviceaccount:smi:metrics", {"smi"});
  WatchedClusterState ok(ParseKubeconfig(api.Kubeconfig("", &good), ""), FastOptions());
  ok.Start();
  EXPECT_TRUE(Eventually([&] { return ok.Synced(); }));
  EXPECT_TRUE(api.authenticated_users().count("cert:system:serviceaccount:smi:metrics"));
  ok.Stop();

  // A certificate from another CA, and no token: 401, never synced, and the reason is visible.
  const auto bad = api.UntrustedClientCert("intruder");
  WatchedClusterState refused(ParseKubeconfig(api.Kubeconfig("", &bad), ""), FastOptions());
  refused.Start();
  std::string why;
  EXPECT_TRUE(Eventually([&] {
    refused.Synced(&why);
    return why.find("401 Unauthorized") != std::string::npos;
  })) << why;
  EXPECT_FALSE(refused.Synced());
  EXPECT_GT(api.counters("").unauthorized, 0);
  // A wrong bearer token is refused the same way.
  WatchedClusterState wrong(TokenConfig(api, "not-the-token"), FastOptions());
  wrong.Start();
  EXPECT_TRUE(Eventually([&] {
    wrong.Synced(&why);
    return why.find("401 Unauthorized") != std::string::npos;
  })) << why;
}

TEST(WatchedCluster, ServerCertificateIsVerified) {
  FakeKubeApi api;
  api.Start();
  RestConfig config = TokenConfig(api);
  FakeKubeApi other;  // a different CA
  config.ca_pem = other.ca_pem();
  WatchedClusterState c(config, FastOptions());
  c.Start();
  std::string why;
  EXPECT_TRUE(Eventually([&] {
    c.Synced(&why);
    return why.find("certificate") != std::string::npos;
  })) << why;
  EXPECT_FALSE(c.Synced());
}

TEST(WatchedCluster, TrafficSplitVersionsAreDiscovered) {
  FakeKubeApi::Options fo;
  fo.split_versions = {"v1alpha1", "v1alpha3"};
  FakeKubeApi api(fo);
  api.Apply(fakekube::MakeNamespace("shop"));
  api.Apply(fakekube::MakeTrafficSplit("split.smi-spec.io/v1alpha3", "shop", "cart", "cart",
                                       json::array({{"cart-v1", 80}, {"cart-v2", 20}})));
  api.Start();
  WatchedClusterState c(TokenConfig(api), FastOptions());
  c.Start();
  ASSERT_TRUE(Eventually([&] { return c.Synced(); }));
  EXPECT_EQ(c.TrafficSplitVersion(), "v1alpha3");  // the newest served
  auto snap = c.Snapshot();
  const TrafficSplit* t = snap->FindTrafficSplit("shop", "cart");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->api_version, "split.smi-spec.io/v1alpha3");
  EXPECT_EQ(t->backends.at(1).weight, 20);
}

TEST(WatchedCluster, AbsentSplitGroupIsToleratedAndLaterInstallsArePickedUp) {
  FakeKubeApi::Options fo;
  fo.split_versions = {};
  FakeKubeApi api(fo);
  api.LoadFile(Fixture());  // its TrafficSplit is stored but not served while the group is absent
  api.Start();
  WatchedClusterState c(TokenConfig(api), FastOptions());
  c.Start();
  ASSERT_TRUE(Eventually([&] { return c.Synced(); }));
  EXPECT_EQ(c.TrafficSplitVersion(), "");
  EXPECT_EQ(c.Snapshot()->Count(Resource::kTrafficSplits), 0u);
  // The CRD is installed (v1alpha4): the next discovery finds it and the split is listed.
  api.SetSplitVersions({"v1alpha4"});
  EXPECT_TRUE(Eventually([&] {
    return c.TrafficSplitVersion() == "v1alpha4" &&
           c.Snapshot()->FindTrafficSplit("emojivoto", "web-split") != nullptr;
  }));
  EXPECT_TRUE(c.Synced());
  // And removed again: the splits go.
  api.SetSplitVersions({});
  EXPECT_TRUE(Eventually([&] { return c.Snapshot()->Count(Resource::kTrafficSplits) == 0; }));
}

TEST(WatchedCluster, ServerErrorsAreRetriedUntilTheyStop) {
  FakeKubeApi api;
  api.LoadFile(Fixture());
  api.FailResource("deployments", 500);
  api.Start();
  WatchedClusterState c(TokenConfig(api), FastOptions());
  c.Start();
  std::string why;
  EXPECT_TRUE(Eventually([&] {
    c.Synced(&why);
    return why.find("deployments not listed yet (deployments: list: 500") != std::string::npos;
  })) << why;
  EXPECT_TRUE(Eventually([&] { return api.counters("deployments").failed >= 3; }));
  api.FailResource("deployments", 0);
  EXPECT_TRUE(Eventually([&] { return c.Synced(); }));
}

TEST(WatchedCluster, UsesOnlyTheDocumentedRbac) {
  FakeKubeApi api;
  api.LoadFile(Fixture());
  api.Start();
  WatchedClusterState c(TokenConfig(api), FastOptions());
  c.Start();
  ASSERT_TRUE(Eventually([&] { return c.Synced(); }));
  ASSERT_TRUE(Eventually([&] { return api.counters("trafficsplits").watches >= 1; }));
  ASSERT_TRUE(Eventually([&] { return api.counters("daemonsets").watches >= 1; }));
  const std::set<std::string> expected = {
      "get /apis/split.smi-spec.io",  // discovery: open to all (system:discovery)
      "list /pods", "watch /pods", "list /namespaces", "watch /namespaces", "list apps/replicasets",
      "watch apps/replicasets", "list apps/deployments", "watch apps/deployments",
      "list apps/statefulsets", "watch apps/statefulsets", "list apps/daemonsets",
      "watch apps/daemonsets",
      // The kinds formed from pods (decisions 17-19).
      "list /replicationcontrollers", "watch /replicationcontrollers", "list batch/jobs",
      "watch batch/jobs", "list /nodes", "watch /nodes", "list /services", "watch /services",
      "list split.smi-spec.io/trafficsplits", "watch split.smi-spec.io/trafficsplits"};
  EXPECT_TRUE(Eventually([&] { return api.access_log() == expected; }));
  EXPECT_EQ(api.access_log(), expected);
}

TEST(WatchedCluster, StopsPromptlyWithWatchesOpen) {
  FakeKubeApi api;
  api.LoadFile(Fixture());
  api.Start();
  auto c = std::make_unique<WatchedClusterState>(TokenConfig(api), FastOptions());
  c->Start();
  ASSERT_TRUE(Eventually([&] { return c->Synced() && api.open_watches() >= 7; }));
  c->Stop();
  c.reset();
  EXPECT_TRUE(Eventually([&] { return api.open_watches() == 0; }));
}

}  // namespace
}  // namespace smi::kube
