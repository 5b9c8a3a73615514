// Decoding real-shaped objects down to the fields the server uses.
#include "kube/objects.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fakekube/fake_kube_api.h"

namespace smi::kube {
namespace {

using nlohmann::json;

TEST(Objects, PodKeepsIdentityLabelsOwnerIpAndPhase) {
  const json rs = fakekube::MakeReplicaSet(
      fakekube::MakeDeployment("emojivoto", "web", {{"app", "web"}}), "5f7b9c6d4b");
  const json pod =
      fakekube::MakePod("emojivoto", "web-5f7b9c6d4b-x8k2p",
                        {{"app", "web"}, {"pod-template-hash", "5f7b9c6d4b"}}, rs, "10.244.0.11");
  const Pod p = DecodePod(pod);
  EXPECT_EQ(p.meta.name, "web-5f7b9c6d4b-x8k2p");
  EXPECT_EQ(p.meta.ns, "emojivoto");
  EXPECT_EQ(p.meta.uid, pod["metadata"]["uid"]);
  EXPECT_EQ(p.meta.labels.at("app"), "web");
  ASSERT_NE(p.meta.Controller(), nullptr);
  EXPECT_EQ(p.meta.Controller()->kind, "ReplicaSet");
  EXPECT_EQ(p.meta.Controller()->name, "web-5f7b9c6d4b");
  EXPECT_EQ(p.meta.Controller()->uid, rs["metadata"]["uid"]);
  EXPECT_EQ(p.ip, "10.244.0.11");
  EXPECT_EQ(p.phase, "Running");
}

TEST(Objects, TrimmedParseKeepsWhatDecodersRead) {
  json pod = fakekube::MakePod("ns", "p", {{"containers", "x"}, {"annotations", "y"}}, nullptr,
                               "10.0.0.1");
  pod["metadata"]["annotations"] = {
      {"prometheus.io/port", "15020"},
      {"kubectl.kubernetes.io/last-applied-configuration", std::string(4096, 'x')}};
  pod["spec"]["containers"] = json::array(
      {{{"name", "app"},
        {"image", "app:1"},
        {"env", json::array({{{"name", "A"}, {"value", "1"}}})},
        {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}}})}},
       {{"name", "linkerd-proxy"},
        {"ports", json::array({{{"name", "linkerd-admin"}, {"containerPort", 4191}}})}}});
  const json list = {
      {"kind", "PodList"}, {"metadata", {{"resourceVersion", "7"}}}, {"items", {pod}}};
  const json trimmed = ParseTrimmed(list.dump(), 3);
  const json& item = trimmed["items"][0];
  EXPECT_FALSE(item["metadata"].contains("managedFields"));
  // Annotations and containers are kept for sidecar mode, trimmed to what it reads.
  EXPECT_EQ(item["metadata"]["annotations"], (json{{"prometheus.io/port", "15020"}}));
  EXPECT_EQ(item["spec"]["containers"][0],
            (json{{"name", "app"},
                  {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}}})}}));
  EXPECT_FALSE(item["status"].contains("conditions"));
  // Labels named like dropped fields survive: only the object's own fields are trimmed.
  const Pod p = DecodePod(item);
  EXPECT_EQ(p.meta.labels.at("containers"), "x");
  EXPECT_EQ(p.meta.labels.at("annotations"), "y");
  EXPECT_EQ(p.ip, "10.0.0.1");
  EXPECT_EQ(p.containers, (std::vector<std::string>{"app", "linkerd-proxy"}));
  EXPECT_EQ(p.named_ports, (std::vector<NamedPort>{{"http", 8080}, {"linkerd-admin", 4191}}));
  EXPECT_EQ(p.annotations.at("prometheus.io/port"), "15020");
  EXPECT_EQ(trimmed["metadata"]["resourceVersion"], "7");
}

TEST(Objects, WorkloadSelector) {
  const Workload d = DecodeWorkload(WorkloadKind::kDeployment,
                                    fakekube::MakeDeployment("ns", "web", {{"app", "web"}}));
  EXPECT_EQ(d.selector.String(), "app=web");
  EXPECT_TRUE(d.selector.Matches({{"app", "web"}, {"x", "y"}}));
}

TEST(Objects, TrafficSplitWeightsIntegerVersions) {
  const TrafficSplit t = DecodeTrafficSplit(
      fakekube::MakeTrafficSplit("split.smi-spec.io/v1alpha4", "ns", "s", "web",
                                 json::array({{"web-v1", 900}, {"web-v2", 100}})),
      "");
  EXPECT_EQ(t.api_version, "split.smi-spec.io/v1alpha4");
  EXPECT_EQ(t.service, "web");
  ASSERT_EQ(t.backends.size(), 2u);
  EXPECT_EQ(t.backends[0].service, "web-v1");
  EXPECT_EQ(t.backends[0].weight, 900);
  EXPECT_EQ(t.backends[1].weight, 100);
  EXPECT_EQ(t.backends[1].weight_milli, 100000);
}

TEST(Objects, TrafficSplitWeightsV1alpha1Quantities) {
  // Whole quantities stay as stated.
  TrafficSplit t =
      DecodeTrafficSplit(fakekube::MakeTrafficSplit("split.smi-spec.io/v1alpha1", "ns", "s", "web",
                                                    json::array({{"a", "1"}, {"b", "3"}})),
                         "split.smi-spec.io/v1alpha1");
  EXPECT_EQ(t.backends[0].weight, 1);
  EXPECT_EQ(t.backends[1].weight, 3);
  // Fractions: every backend in thousandths, so that the ratios survive.
  t = DecodeTrafficSplit(fakekube::MakeTrafficSplit("split.smi-spec.io/v1alpha1", "ns", "s", "web",
                                                    json::array({{"a", "500m"}, {"b", "1"}})),
                         "");
  EXPECT_EQ(t.backends[0].weight_milli, 500);
  EXPECT_EQ(t.backends[0].weight, 500);
  EXPECT_EQ(t.backends[1].weight, 1000);
}

TEST(Objects, Quantities) {
  EXPECT_EQ(ParseQuantityMilli("1"), 1000);
  EXPECT_EQ(ParseQuantityMilli("500m"), 500);
  EXPECT_EQ(ParseQuantityMilli("1.5"), 1500);
  EXPECT_EQ(ParseQuantityMilli("2k"), 2000000);
  EXPECT_EQ(ParseQuantityMilli("1Ki"), 1024000);
  EXPECT_EQ(ParseQuantityMilli("1e3"), 1000000);
  EXPECT_EQ(ParseQuantityMilli("1n"), 1);  // rounded up, as MilliValue()
  EXPECT_THROW(ParseQuantityMilli("x"), std::invalid_argument);
  EXPECT_THROW(ParseQuantityMilli("1q"), std::invalid_argument);
}

// A TrafficSplit as kube-apiserver would send it, with one backend whose weight is the JSON text
// `weight`, so that each input below is decoded exactly as it arrived.
TrafficSplit DecodeSplitWithWeight(const std::string& weight) {
  return DecodeTrafficSplit(
      json::parse(R"({"apiVersion": "split.smi-spec.io/v1alpha4", "kind": "TrafficSplit",
                      "metadata": {"name": "s", "namespace": "ns"},
                      "spec": {"service": "web", "backends": [
                        {"service": "web-v1", "weight": )" +
                  weight + "}]}}"),
      "");
}

// Inputs found by fuzzing: each was undefined behaviour (a NaN or out-of-range value converted to
// an integer, a signed overflow) or escaped as another exception than the documented one.
TEST(Objects, QuantityZeroWithAHugeExponentIsZero) {
  // 0 x 10^53130 was 0 x inf = NaN, then converted to int64.
  EXPECT_EQ(ParseQuantityMilli("0e053130"), 0);
  const TrafficSplit t = DecodeSplitWithWeight(R"("0e053130")");
  ASSERT_EQ(t.backends.size(), 1u);
  EXPECT_EQ(t.backends[0].weight_milli, 0);
  EXPECT_EQ(t.backends[0].weight, 0);
}

TEST(Objects, IntegerWeightTooLargeForThousandthsIsInvalid) {
  // 10^16 x 1000 overflowed int64.
  EXPECT_THROW(DecodeSplitWithWeight("10000000000000000"), std::invalid_argument);
  EXPECT_THROW(DecodeSplitWithWeight("18446744073709551615"), std::invalid_argument);
  // The largest accepted integer weight, reported capped at INT32_MAX as before.
  const TrafficSplit t = DecodeSplitWithWeight("9000000000000000");
  EXPECT_EQ(t.backends[0].weight_milli, 9000000000000000000);
  EXPECT_EQ(t.backends[0].weight, INT32_MAX);
}

TEST(Objects, FloatingWeightTooLargeIsInvalid) {
  // 1e300 x 1000 does not fit an int64.
  EXPECT_THROW(DecodeSplitWithWeight("1e300"), std::invalid_argument);
  EXPECT_THROW(DecodeSplitWithWeight("-1e300"), std::invalid_argument);
  EXPECT_EQ(DecodeSplitWithWeight("0.5").backends[0].weight_milli, 500);
}

TEST(Objects, QuantityExponentBeyondIntIsInvalidArgument) {
  // std::stoi threw std::out_of_range, which is not the documented std::invalid_argument.
  EXPECT_THROW(ParseQuantityMilli("2e2222222222223"), std::invalid_argument);
  EXPECT_THROW(DecodeSplitWithWeight(R"("2e2222222222223")"), std::invalid_argument);
  EXPECT_THROW(ParseQuantityMilli("1e99999"), std::invalid_argument);  // inf
  EXPECT_THROW(ParseQuantityMilli("1" + std::string(5000, '0')), std::invalid_argument);
  EXPECT_THROW(ParseQuantityMilli("1e 5"), std::invalid_argument);
  EXPECT_THROW(ParseQuantityMilli("1.2.3"), std::invalid_argument);
  EXPECT_EQ(ParseQuantityMilli("1e+3"), 1000000);
  EXPECT_EQ(ParseQuantityMilli("1e-3"), 1);
}

TEST(Objects, NegativeWeightIsInvalid) {
  EXPECT_THROW(DecodeSplitWithWeight("-1"), std::invalid_argument);
  EXPECT_THROW(DecodeSplitWithWeight("-0.5"), std::invalid_argument);
  EXPECT_THROW(DecodeSplitWithWeight(R"("-500m")"), std::invalid_argument);
  EXPECT_EQ(ParseQuantityMilli("-500m"), -500);  // quantities themselves may be negative
}

TEST(Objects, NumberBeyondDoubleIsAParseError) {
  // Found by fuzzing: nlohmann's out_of_range escaped where parse_error is documented.
  EXPECT_THROW(ParseTrimmed(R"({"spec": {"backends": [{"weight": 1e380}]}})", 1),
               nlohmann::json::parse_error);
}

TEST(Objects, MissingNameIsRejected) {
  EXPECT_THROW(DecodePod(json{{"metadata", json::object()}}), std::invalid_argument);
  EXPECT_THROW(DecodePod(json::array()), std::invalid_argument);
}

TEST(Objects, ResourcesAndKinds) {
  EXPECT_EQ(CollectionPath(Resource::kPods), "/api/v1/pods");
  EXPECT_EQ(CollectionPath(Resource::kDaemonSets), "/apis/apps/v1/daemonsets");
  EXPECT_EQ(CollectionPath(Resource::kTrafficSplits, "v1alpha3"),
            "/apis/split.smi-spec.io/v1alpha3/trafficsplits");
  EXPECT_EQ(ResourceForKind("apps/v1", "Deployment"), Resource::kDeployments);
  EXPECT_EQ(ResourceForKind("split.smi-spec.io/v1alpha1", "TrafficSplit"),
            Resource::kTrafficSplits);
  EXPECT_EQ(ResourceForKind("v1", "Service"), Resource::kServices);
  EXPECT_EQ(ResourceForKind("v1", "Node"), Resource::kNodes);
  EXPECT_EQ(ResourceForKind("v1", "ReplicationController"), Resource::kReplicationControllers);
  EXPECT_EQ(ResourceForKind("batch/v1", "Job"), Resource::kJobs);
  EXPECT_EQ(ResourceForKind("apps/v1", "Job"), std::nullopt);
  EXPECT_EQ(CollectionPath(Resource::kJobs), "/apis/batch/v1/jobs");
  EXPECT_EQ(CollectionPath(Resource::kNodes), "/api/v1/nodes");
  EXPECT_EQ(ResourceForKind("v1", "ConfigMap"), std::nullopt);
  EXPECT_EQ(ResourceForKind("extensions/v1beta1", "Deployment"), std::nullopt);
}

// What grouping pods by node and by Service needs, and nothing the API validated away.
TEST(Objects, NodesServicesAndControllers) {
  const json pod = {{"metadata", {{"name", "p"}, {"namespace", "ns"}}},
                    {"spec", {{"nodeName", "worker-2"}}}};
  EXPECT_EQ(DecodePod(pod).node, "worker-2");
  EXPECT_EQ(DecodeNode({{"metadata", {{"name", "worker-2"}}}}).meta.name, "worker-2");
  const Service web =
      DecodeService({{"metadata", {{"name", "web"}, {"namespace", "ns"}}},
                     {"spec", {{"clusterIP", "None"}, {"selector", {{"app", "web"}}}}}});
  EXPECT_TRUE(web.has_selector);
  EXPECT_TRUE(web.headless);
  EXPECT_EQ(web.type, "ClusterIP");
  EXPECT_TRUE(web.selector.Matches({{"app", "web"}, {"x", "y"}}));
  EXPECT_FALSE(web.selector.Matches({{"app", "api"}}));
  const Service manual =
      DecodeService({{"metadata", {{"name", "m"}, {"namespace", "ns"}}}, {"spec", json::object()}});
  EXPECT_FALSE(manual.has_selector);
  EXPECT_FALSE(manual.selector.Matches({}));
  const Service alias = DecodeService({{"metadata", {{"name", "a"}, {"namespace", "ns"}}},
                                       {"spec",
                                        {{"type", "ExternalName"},
                                         {"externalName", "example.com"},
                                         {"selector", {{"app", "web"}}}}}});
  EXPECT_FALSE(alias.has_selector);
  // A ReplicationController's selector is a plain map; an empty one selects nothing.
  const Workload rc = DecodeWorkload(WorkloadKind::kReplicationController,
                                     {{"metadata", {{"name", "rc"}, {"namespace", "ns"}}},
                                      {"spec", {{"selector", {{"app", "x"}}}}}});
  EXPECT_TRUE(rc.selector.Matches({{"app", "x"}}));
  EXPECT_EQ(WorkloadKindFromName("Job"), WorkloadKind::kJob);
  EXPECT_EQ(WorkloadResource(WorkloadKind::kReplicationController),
            Resource::kReplicationControllers);
}

}  // namespace
}  // namespace smi::kube
