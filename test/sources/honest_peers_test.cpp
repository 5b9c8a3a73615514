// Peers as the built-in profiles answer them (docs/decisions.md, decision 6): a peer the mesh
// cannot name is kept as kind Unknown (named by the host called, where the series say), never
// invented as an object; a workload peer answers with its own kind where the series say it; the
// same peer in both directions and a workload calling itself are separate samples; every count
// selects the profile's scrape job; Istio's response_code 0 is a failure. The rows fed to the
// decoder are written here as Prometheus would answer the built queries.
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sources/prometheus/answer_decoding.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/promql_builder.h"

namespace smi::sources::prometheus {
namespace {

using std::chrono::seconds;

SampleQuery At(QueryShape shape) {
  SampleQuery q;
  q.shape = std::move(shape);
  q.window = seconds(30);
  q.at = TimePoint(seconds(1700000000));
  return q;
}

VectorSample Row(std::map<std::string, std::string> labels, double value) {
  return {std::move(labels), value};
}

// "direction side kind namespace/name success failure" of every edge sample.
std::vector<std::string> Edges(const TrafficSamples& s) {
  std::vector<std::string> out;
  for (const auto& e : s.edges) {
    out.push_back(std::string(model::DirectionName(e.direction)) + " " +
                  std::string(model::SideName(e.side)) + " " + e.peer.kind + " " + e.peer.ns + "/" +
                  e.peer.name + " " + std::to_string(static_cast<int>(e.counts.success)) + " " +
                  std::to_string(static_cast<int>(e.counts.failure)));
  }
  return out;
}

// --- Scrape job ------------------------------------------------------------------------------

// Every selector of a counted series (inside increase()) of every query shape names the
// profile's job: a second job scraping the same proxies must not count a request twice.
TEST(ScrapeJob, EveryCountAndBucketSelectsTheProfilesJob) {
  using model::ResourceKind;
  const std::vector<QueryShape> shapes = {
      ResourceScope{ResourceKind::kPod, "shop", ""},
      ResourceScope{ResourceKind::kDeployment, "shop", "web"},
      ResourceScope{ResourceKind::kStatefulSet, "", ""},
      ResourceScope{ResourceKind::kNamespace, "", "shop"},
      AllWorkloads{"shop", ""},
      AllWorkloads{"", "web"},
      ObjectEdges{ResourceKind::kDeployment, "shop", "web"},
      ObjectEdges{ResourceKind::kDaemonSet, "shop", "agent"},
      ObjectEdges{ResourceKind::kPod, "shop", "web-1"},
      ObjectEdges{ResourceKind::kNamespace, "", "shop"},
      NamespacePodEdges{"shop", std::nullopt},
      NamespacePodEdges{"shop", ResourceKind::kDeployment},
      TrafficSplitBackends{{{"shop", "web", {"web-v1", "web-v2"}}}},
  };
  for (const auto& [profile, job] : {std::pair{LinkerdProfile("mesh-proxies"), "mesh-proxies"},
                                     std::pair{IstioProfile("envoy-stats"), "envoy-stats"}}) {
    for (const auto& shape : shapes) {
      const auto q = BuildQueries(profile, At(shape));
      int selectors = 0;
      for (const std::string& text : {q.counts, q.buckets}) {
        static const std::regex increase(R"(increase\(([a-z_]+)\{([^}]*)\})");
        for (auto it = std::sregex_iterator(text.begin(), text.end(), increase);
             it != std::sregex_iterator(); ++it) {
          ++selectors;
          EXPECT_NE((*it)[2].str().find("job=\"" + std::string(job) + "\""), std::string::npos)
              << profile.name() << ": " << (*it)[0].str();
        }
      }
      EXPECT_GE(selectors, 2) << q.counts;
    }
  }
}

// --- Istio --------------------------------------------------------------------------------------

TEST(IstioClassification, NoResponseIsAFailureAsLinkerdCountsIt) {
  const MeshProfile istio = IstioProfile();
  EXPECT_EQ(istio.Classify({{"response_code", "0"}}), MeshProfile::RowClass::kFailure);
  EXPECT_EQ(istio.Classify({{"response_code", "503"}}), MeshProfile::RowClass::kFailure);
  EXPECT_EQ(istio.Classify({{"response_code", "200"}}), MeshProfile::RowClass::kSuccess);
  EXPECT_EQ(istio.Classify({{"response_code", "404"}}), MeshProfile::RowClass::kSuccess);
  // gRPC's OK over HTTP 200 is a success; a 0 that is only part of a code is not "no response".
  EXPECT_EQ(istio.Classify({{"response_code", "200"}, {"grpc_response_status", "0"}}),
            MeshProfile::RowClass::kSuccess);
}

// Istio names callers it does not know (unmeshed) workload "unknown" in namespace "unknown", and
// destinations outside the mesh the same way with the host in destination_service.
TEST(IstioPeers, UnknownIsAPeerOfKindUnknownNotADeployment) {
  const MeshProfile istio = IstioProfile();
  const auto q = At(ObjectEdges{model::ResourceKind::kDeployment, "shop", "web"});
  const auto built = BuildQueries(istio, q);
  // The host a client called is kept for the `to` rows.
  EXPECT_NE(built.counts.find("destination_service"), std::string::npos) << built.counts;
  const std::vector<VectorSample> counts = {
      Row({{"smi_edge", "to"},
           {"source_workload_namespace", "shop"},
           {"source_workload", "web"},
           {"destination_workload_namespace", "unknown"},
           {"destination_workload", "unknown"},
           {"destination_service", "api.example.com"},
           {"response_code", "200"}},
          7),
      Row({{"smi_edge", "to"},
           {"source_workload_namespace", "shop"},
           {"source_workload", "web"},
           {"destination_workload_namespace", "shop"},
           {"destination_workload", "db"},
           {"destination_service", "db.shop.svc.cluster.local"},
           {"response_code", "0"}},
          2),
      Row({{"smi_edge", "from"},
           {"source_workload_namespace", "unknown"},
           {"source_workload", "unknown"},
           {"destination_workload_namespace", "shop"},
           {"destination_workload", "web"},
           {"response_code", "200"}},
          5),
  };
  EXPECT_EQ(Edges(ToSamples(istio, q, counts, {})),
            (std::vector<std::string>{"to client Deployment shop/db 0 2",
                                      "to client Unknown /api.example.com 7 0",
                                      "from server Unknown / 5 0"}));

  // Namespace edges: the unknown caller's namespace is not a namespace either.
  const auto ns = At(ObjectEdges{model::ResourceKind::kNamespace, "", "shop"});
  const std::vector<VectorSample> ns_counts = {Row({{"smi_edge", "from"},
                                                    {"source_workload_namespace", "unknown"},
                                                    {"destination_workload_namespace", "shop"},
                                                    {"response_code", "200"}},
                                                   5)};
  EXPECT_EQ(Edges(ToSamples(istio, ns, ns_counts, {})),
            (std::vector<std::string>{"from server Unknown / 5 0"}));
}

// --- Linkerd ------------------------------------------------------------------------------------

// A workload's peers are named by their own kind: dst_statefulset makes a StatefulSet peer of a
// Deployment, the caller's daemonset label a DaemonSet caller.
TEST(LinkerdPeers, AWorkloadsPeersHaveTheirOwnKind) {
  const MeshProfile linkerd = LinkerdProfile();
  const auto q = At(ObjectEdges{model::ResourceKind::kDeployment, "shop", "web"});
  const auto built = BuildQueries(linkerd, q);
  // Rows without a peer of the kind asked about are no longer filtered out by the query.
  EXPECT_EQ(built.counts.find("dst_deployment!=\"\""), std::string::npos) << built.counts;
  EXPECT_NE(built.counts.find("dst_statefulset"), std::string::npos) << built.counts;
  const std::vector<VectorSample> counts = {
      Row({{"smi_edge", "to"},
           {"namespace", "shop"},
           {"deployment", "web"},
           {"dst_namespace", "shop"},
           {"dst_statefulset", "db"},
           {"authority", "db.shop.svc.cluster.local:5432"},
           {"classification", "success"}},
          4),
      Row({{"smi_edge", "from"},
           {"namespace", "shop"},
           {"daemonset", "agent"},
           {"dst_namespace", "shop"},
           {"dst_deployment", "web"},
           {"classification", "failure"}},
          1),
  };
  EXPECT_EQ(Edges(ToSamples(linkerd, q, counts, {})),
            (std::vector<std::string>{"to client StatefulSet shop/db 4 0",
                                      "from client DaemonSet shop/agent 0 1"}));
}

// Egress the destination controller did not resolve has no dst_* labels: the peer is the host
// called. Unmeshed callers are seen only by the server's proxy (inbound, no client_id): the
// query asks for them, and they are one Unknown peer measured at the server.
TEST(LinkerdPeers, EgressAndUnmeshedCallersAreKeptAsUnknownPeers) {
  const MeshProfile linkerd = LinkerdProfile();
  const auto q = At(ObjectEdges{model::ResourceKind::kDeployment, "shop", "web"});
  const auto built = BuildQueries(linkerd, q);
  EXPECT_NE(built.counts.find("direction=\"inbound\", job=\"linkerd-proxy\", client_id=\"\""),
            std::string::npos)
      << built.counts;
  const std::vector<VectorSample> counts = {
      Row({{"smi_edge", "to"},
           {"namespace", "shop"},
           {"deployment", "web"},
           {"authority", "api.example.com:443"},
           {"classification", "success"}},
          3),
      Row({{"smi_edge", "to"},
           {"namespace", "shop"},
           {"deployment", "web"},
           {"authority", "10.0.0.9:8080"},
           {"classification", "success"}},
          2),
      Row({{"smi_edge", "from_unnamed"},
           {"namespace", "shop"},
           {"deployment", "web"},
           {"classification", "success"}},
          9),
  };
  EXPECT_EQ(Edges(ToSamples(linkerd, q, counts, {})),
            (std::vector<std::string>{"to client Unknown /10.0.0.9 2 0",
                                      "to client Unknown /api.example.com 3 0",
                                      "from server Unknown / 9 0"}));

  // Pod edges of a namespace (the roll-up's input) keep them too.
  const auto pods = At(NamespacePodEdges{"shop", model::ResourceKind::kDeployment});
  const std::vector<VectorSample> pod_counts = {
      Row({{"smi_edge", "from_unnamed"},
           {"namespace", "shop"},
           {"pod", "web-1"},
           {"classification", "success"}},
          9),
      Row({{"smi_edge", "to"},
           {"namespace", "shop"},
           {"pod", "web-1"},
           {"authority", "api.example.com"},
           {"classification", "success"}},
          1),
  };
  const auto samples = ToSamples(linkerd, pods, pod_counts, {});
  EXPECT_EQ(Edges(samples), (std::vector<std::string>{"to client Unknown /api.example.com 1 0",
                                                      "from server Unknown / 9 0"}));
  for (const auto& e : samples.edges) EXPECT_FALSE(e.peer_as_kind.has_value());
}

// Two workloads calling each other and a workload calling itself: each direction its own sample
// with its own numbers.
TEST(LinkerdPeers, BothDirectionsAndSelfCallsAreSeparateSamples) {
  const MeshProfile linkerd = LinkerdProfile();
  const auto q = At(ObjectEdges{model::ResourceKind::kDeployment, "shop", "web"});
  auto row = [](const char* tag, const char* caller, const char* callee, double value) {
    return Row({{"smi_edge", tag},
                {"namespace", "shop"},
                {"deployment", caller},
                {"dst_namespace", "shop"},
                {"dst_deployment", callee},
                {"classification", "success"}},
               value);
  };
  const std::vector<VectorSample> counts = {
      row("to", "web", "auth", 5),  row("from", "auth", "web", 2), row("to", "web", "web", 3),
      row("from", "web", "web", 3), row("to", "web", "db", 1),
  };
  EXPECT_EQ(Edges(ToSamples(linkerd, q, counts, {})),
            (std::vector<std::string>{
                "to client Deployment shop/auth 5 0", "to client Deployment shop/db 1 0",
                "to client Deployment shop/web 3 0", "from client Deployment shop/auth 2 0",
                "from client Deployment shop/web 3 0"}));
}

// A profile whose rows are checked for the new keys: unknown keys are refused, the host label
// must be a label name.
TEST(ProfileChecks, UnnamedPeerSettingsAreChecked) {
  MeshProfileSpec spec = BuiltinProfileSpec("linkerd");
  spec.edges_to.host_label = "not a label";
  EXPECT_THROW(MeshProfile{spec}, std::invalid_argument);
  spec = BuiltinProfileSpec("linkerd");
  spec.edges_from.peer_workloads.push_back({model::ResourceKind::kPod, "namespace", "pod"});
  EXPECT_THROW(MeshProfile{spec}, std::invalid_argument);
}

}  // namespace
}  // namespace smi::sources::prometheus
