// The cluster state fed from a file of Kubernetes objects (no cluster): the read interface.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fakekube/fake_kube_api.h"
#include "kube/cluster_state.h"
#include "mocks/manual_clock.h"

namespace smi::kube {
namespace {

using nlohmann::json;

std::unique_ptr<StaticClusterState> Fixture() {
  return StaticClusterState::FromFile(std::string(SMI_FAKEKUBE_FIXTURES) + "/emojivoto.json");
}

std::vector<std::string> Names(const auto& objects) {
  std::vector<std::string> out;
  for (const auto* o : objects) out.push_back(o->meta.name);
  return out;
}

TEST(StaticCluster, LoadsTheFixture) {
  auto state = Fixture();
  EXPECT_TRUE(state->Synced());
  auto snap = state->Snapshot();
  EXPECT_EQ(Names(snap->Namespaces()),
            (std::vector<std::string>{"default", "emojivoto", "kube-system"}));
  EXPECT_EQ(Names(snap->Workloads(WorkloadKind::kDeployment, "emojivoto")),
            (std::vector<std::string>{"emoji", "voting", "web"}));
  EXPECT_TRUE(snap->Workloads(WorkloadKind::kDeployment, "default").empty());
  EXPECT_EQ(snap->Workloads(WorkloadKind::kStatefulSet).size(), 1u);
  EXPECT_EQ(snap->Workloads(WorkloadKind::kDaemonSet).size(), 1u);
  EXPECT_EQ(snap->Count(Resource::kReplicaSets), 4u);
  EXPECT_EQ(snap->Pods("emojivoto").size(), 8u);
  EXPECT_EQ(snap->Count(Resource::kTrafficSplits), 1u);
  EXPECT_EQ(snap->traffic_split_version(), "v1alpha2");
  const Workload* web = snap->FindWorkload(WorkloadKind::kDeployment, "emojivoto", "web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->meta.labels.at("app.kubernetes.io/part-of"), "emojivoto");
  EXPECT_EQ(snap->FindWorkload(WorkloadKind::kDeployment, "emojivoto", "nope"), nullptr);
  EXPECT_EQ(snap->FindNamespace("emojivoto")->phase, "Active");
}

TEST(StaticCluster, PodsRollUpToTheirOwners) {
  auto state = Fixture();
  auto snap = state->Snapshot();
  auto owner = [&](const char* pod) {
    const Pod* p = snap->FindPod("emojivoto", pod);
    EXPECT_NE(p, nullptr) << pod;
    return p ? snap->OwnerOf(*p) : std::nullopt;
  };
  EXPECT_EQ(owner("web-5f7b9c6d4b-x8k2p"),
            (WorkloadRef{WorkloadKind::kDeployment, "emojivoto", "web"}));
  EXPECT_EQ(owner("vote-db-0"), (WorkloadRef{WorkloadKind::kStatefulSet, "emojivoto", "vote-db"}));
  EXPECT_EQ(owner("node-agent-7x2kq"),
            (WorkloadRef{WorkloadKind::kDaemonSet, "emojivoto", "node-agent"}));
  EXPECT_EQ(owner("vote-bot-28592140-k2j4h"), std::nullopt);  // a Job's pod
  EXPECT_EQ(owner("debug"), std::nullopt);                    // a bare pod
  EXPECT_EQ(Names(snap->PodsOf({WorkloadKind::kDeployment, "emojivoto", "web"})),
            (std::vector<std::string>{"web-5f7b9c6d4b-q9m4z", "web-5f7b9c6d4b-x8k2p"}));
  EXPECT_TRUE(snap->PodsOf({WorkloadKind::kDeployment, "emojivoto", "nope"}).empty());
}

TEST(StaticCluster, OwnerUidMustMatch) {
  StaticClusterState state;
  json d = fakekube::MakeDeployment("ns", "web", {{"app", "web"}});
  json rs = fakekube::MakeReplicaSet(d, "abc");
  json pod = fakekube::MakePod("ns", "web-abc-1", {{"app", "web"}}, rs, "10.0.0.1");
  state.Upsert(d);
  state.Upsert(rs);
  state.Upsert(pod);
  auto snap = state.Snapshot();
  EXPECT_TRUE(snap->OwnerOf(*snap->FindPod("ns", "web-abc-1")).has_value());
  // The deployment deleted and created again under the same name: the old ReplicaSet is orphaned.
  state.Upsert(fakekube::MakeDeployment("ns", "web", {{"app", "web"}}));
  auto after = state.Snapshot();
  EXPECT_FALSE(after->OwnerOf(*after->FindPod("ns", "web-abc-1")).has_value());
}

// Deleted pods' owners are remembered (docs/decisions.md, decision 16): for the memory announced,
// at least; while the owner (the same object, by UID) exists; resolved later when the owner was
// not in the caches when the pod went.
TEST(StaticCluster, DeletedPodsKeepTheirOwnerForTheMemory) {
  smi::testing::ManualClock clock(
      std::chrono::system_clock::time_point(std::chrono::hours(500000)));
  StaticClusterState state;
  state.SetClock(clock);
  const json d = fakekube::MakeDeployment("ns", "web", {{"app", "web"}});
  const json rs = fakekube::MakeReplicaSet(d, "abc");
  const json s = fakekube::MakeStatefulSet("ns", "db", {{"app", "db"}});
  state.Upsert(d);
  state.Upsert(rs);
  state.Upsert(s);
  for (const char* name : {"web-abc-1", "web-abc-2", "web-abc-3"}) {
    state.Upsert(fakekube::MakePod("ns", name, {{"app", "web"}}, rs, "10.0.0.1"));
  }
  state.Upsert(fakekube::MakePod("ns", "db-0", {{"app", "db"}}, s, "10.0.0.2"));
  const WorkloadRef web{WorkloadKind::kDeployment, "ns", "web"};

  const auto before = state.Snapshot();
  ASSERT_TRUE(state.Remove("v1", "Pod", "ns", "web-abc-1"));
  ASSERT_TRUE(state.Remove("v1", "Pod", "ns", "db-0"));
  auto snap = state.Snapshot();
  EXPECT_NE(snap->version(), before->version());
  EXPECT_EQ(before->FindDepartedPod("ns", "web-abc-1"), nullptr);  // snapshots do not change
  EXPECT_EQ(snap->FindPod("ns", "web-abc-1"), nullptr);
  ASSERT_NE(snap->FindDepartedPod("ns", "web-abc-1"), nullptr);
  EXPECT_EQ(snap->PodOwner("ns", "web-abc-1"), web);
  EXPECT_EQ(snap->PodOwner("ns", "web-abc-2"), web);  // a live pod: its owner now
  EXPECT_EQ(snap->PodOwner("ns", "db-0"), (WorkloadRef{WorkloadKind::kStatefulSet, "ns", "db"}));
  EXPECT_EQ(snap->PodOwner("ns", "never-known"), std::nullopt);
  EXPECT_TRUE(snap->Pods("ns").size() == 2u);  // lists hold the live pods only

  // A pod whose ReplicaSet went first is resolved when its owners are back.
  ASSERT_TRUE(
      state.Remove("apps/v1", "ReplicaSet", "ns", rs["metadata"]["name"].get<std::string>()));
  ASSERT_TRUE(state.Remove("v1", "Pod", "ns", "web-abc-2"));
  EXPECT_EQ(state.Snapshot()->PodOwner("ns", "web-abc-2"), std::nullopt);
  state.Upsert(rs);
  EXPECT_EQ(state.Snapshot()->PodOwner("ns", "web-abc-2"), web);

  // The default memory is an hour; a longer one announced is kept, a shorter one ignored.
  state.RememberDepartedPodsFor(std::chrono::hours(3));
  state.RememberDepartedPodsFor(std::chrono::minutes(1));
  clock.Advance(std::chrono::minutes(170));
  ASSERT_TRUE(state.Remove("v1", "Pod", "ns", "web-abc-3"));  // departures prune the memory
  EXPECT_EQ(state.Snapshot()->PodOwner("ns", "web-abc-1"), web);
  clock.Advance(std::chrono::minutes(20));
  state.Upsert(fakekube::MakePod("ns", "web-abc-4", {{"app", "web"}}, rs, "10.0.0.4"));
  ASSERT_TRUE(state.Remove("v1", "Pod", "ns", "web-abc-4"));
  snap = state.Snapshot();
  EXPECT_EQ(snap->PodOwner("ns", "web-abc-1"), std::nullopt);
  EXPECT_EQ(snap->PodOwner("ns", "db-0"), std::nullopt);
  EXPECT_EQ(snap->PodOwner("ns", "web-abc-3"), web);

  // A workload deleted and created again (a new UID) does not adopt the old one's pods.
  ASSERT_TRUE(state.Remove("apps/v1", "Deployment", "ns", "web"));
  json again = d;
  again["metadata"]["uid"] = "a-new-uid";
  state.Upsert(again);
  EXPECT_EQ(state.Snapshot()->PodOwner("ns", "web-abc-3"), std::nullopt);
}

TEST(StaticCluster, SnapshotsAreImmutableAndVersioned) {
  auto state = Fixture();
  auto before = state->Snapshot();
  EXPECT_EQ(state->Snapshot().get(), before.get());  // unchanged: the same snapshot
  json pod = fakekube::MakePod("emojivoto", "extra", {{"app", "web-svc"}}, nullptr, "10.0.0.9");
  EXPECT_TRUE(state->Upsert(pod));
  auto after = state->Snapshot();
  EXPECT_GT(after->version(), before->version());
  EXPECT_EQ(before->Pods("emojivoto").size(), 8u);
  EXPECT_EQ(after->Pods("emojivoto").size(), 9u);
  EXPECT_TRUE(state->Remove("v1", "Pod", "emojivoto", "extra"));
  EXPECT_FALSE(state->Remove("v1", "Pod", "emojivoto", "extra"));
  EXPECT_EQ(state->Snapshot()->Pods("emojivoto").size(), 8u);
  EXPECT_EQ(after->Pods("emojivoto").size(), 9u);
}

TEST(StaticCluster, SelectorsFilterObjects) {
  auto state = Fixture();
  auto snap = state->Snapshot();
  const auto sel = LabelSelector::Parse("app in (web-svc,emoji-svc)");
  const auto none = FieldSelector();
  std::vector<std::string> picked;
  for (const auto* d : snap->Workloads(WorkloadKind::kDeployment)) {
    if (Selected(d->meta, sel, none)) picked.push_back(d->meta.name);
  }
  EXPECT_EQ(picked, (std::vector<std::string>{"emoji", "web"}));
  picked.clear();
  const auto by_name = FieldSelector::Parse("metadata.name!=web");
  for (const auto* d : snap->Workloads(WorkloadKind::kDeployment)) {
    if (Selected(d->meta, LabelSelector(), by_name)) picked.push_back(d->meta.name);
  }
  EXPECT_EQ(picked, (std::vector<std::string>{"emoji", "voting"}));
}

TEST(StaticCluster, TrafficSplitBackends) {
  auto state = Fixture();
  auto snap = state->Snapshot();
  const TrafficSplit* t = snap->FindTrafficSplit("emojivoto", "web-split");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->service, "web-svc");
  ASSERT_EQ(t->backends.size(), 2u);
  EXPECT_EQ(t->backends[0].service, "web-svc-v11");
  EXPECT_EQ(t->backends[0].weight, 900);
  EXPECT_EQ(t->backends[1].weight, 100);
  EXPECT_EQ(snap->TrafficSplits("default").size(), 0u);
}

TEST(StaticCluster, TypedListsAndErrors) {
  StaticClusterState state;
  const json pod = fakekube::MakePod("ns", "p", {{"a", "b"}}, nullptr, "10.0.0.1");
  json item = pod;
  item.erase("kind");
  item.erase("apiVersion");
  EXPECT_EQ(state.Load(json{{"kind", "PodList"}, {"apiVersion", "v1"}, {"items", {item}}}), 1u);
  EXPECT_NE(state.Snapshot()->FindPod("ns", "p"), nullptr);
  EXPECT_THROW(
      state.Load(json{{"kind", "Pod"}, {"apiVersion", "v1"}, {"metadata", json::object()}}),
      std::invalid_argument);
  EXPECT_THROW(StaticClusterState::FromFile("/nonexistent.json"), std::runtime_error);
}

}  // namespace
}  // namespace smi::kube
