#include "apiserver/negotiation.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace smi::apiserver {
namespace {

// What kubectl 1.32 sends (docs/measurements.md, "kubectl 1.32 behaviour").
constexpr const char* kKubectlGet =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/"
    "json;as=Table;v=v1beta1;g=meta.k8s.io,"
    "application/json";
constexpr const char* kKubectlDiscovery =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"
    "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

TEST(NegotiationTest, ParsesParametersAndOrdersByQuality) {
  const auto ranges = ParseAccept("text/plain;q=0.5, Application/JSON;as=Table;v=v1 ,*/*;q=0");
  ASSERT_EQ(ranges.size(), 2u);  // q=0 is "not acceptable"
  EXPECT_EQ(ranges[0].type, "application");
  EXPECT_EQ(ranges[0].subtype, "json");
  EXPECT_EQ(ranges[0].params.at("as"), "Table");
  EXPECT_EQ(ranges[0].params.at("v"), "v1");
  EXPECT_EQ(ranges[1].subtype, "plain");
  EXPECT_DOUBLE_EQ(ranges[1].q, 0.5);
}

TEST(NegotiationTest, TablesForKubectlJsonOtherwise) {
  EXPECT_EQ(NegotiateObject(kKubectlGet), Representation::kTableV1);
  EXPECT_EQ(NegotiateObject("application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"),
            Representation::kTableV1beta1);
  EXPECT_EQ(NegotiateObject(""), Representation::kJson);
  EXPECT_EQ(NegotiateObject("application/json, */*"), Representation::kJson);  // get --raw
  EXPECT_EQ(NegotiateObject("*/*"), Representation::kJson);
  EXPECT_EQ(NegotiateObject("application/*"), Representation::kJson);
  // A Table of another group version is skipped in favour of what follows, else 406.
  EXPECT_EQ(NegotiateObject("application/json;as=Table;v=v2;g=meta.k8s.io,application/json"),
            Representation::kJson);
  EXPECT_EQ(NegotiateObject("application/json;as=Table;v=v2;g=meta.k8s.io"), std::nullopt);
  EXPECT_EQ(NegotiateObject("application/vnd.kubernetes.protobuf"), std::nullopt);
  EXPECT_EQ(NegotiateObject("application/yaml"), std::nullopt);
  // Quality beats order.
  EXPECT_EQ(NegotiateObject("application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io"),
            Representation::kTableV1);
}

TEST(NegotiationTest, AggregatedDiscoveryOnlyWhenAskedByGvk) {
  EXPECT_EQ(NegotiateDiscovery(kKubectlDiscovery), DiscoveryFormat::kAggregatedV2);
  EXPECT_EQ(NegotiateDiscovery("application/json;g=apidiscovery.k8s.io;v=v2beta1;"
                               "as=APIGroupDiscoveryList,application/json"),
            DiscoveryFormat::kAggregatedV2beta1);
  EXPECT_EQ(NegotiateDiscovery(""), DiscoveryFormat::kLegacy);
  EXPECT_EQ(NegotiateDiscovery("application/json, */*"), DiscoveryFormat::kLegacy);
  EXPECT_EQ(
      NegotiateDiscovery("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"),
      std::nullopt);
  EXPECT_EQ(DiscoveryContentType(DiscoveryFormat::kAggregatedV2),
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  EXPECT_EQ(DiscoveryContentType(DiscoveryFormat::kAggregatedV2beta1),
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList");
}

TEST(NegotiationTest, IncludeObject) {
  // docs/kubernetes-api.md, "Content negotiation and Tables".
  EXPECT_EQ(ParseIncludeObject(std::nullopt), IncludeObject::kMetadata);
  EXPECT_EQ(ParseIncludeObject(""), IncludeObject::kMetadata);
  EXPECT_EQ(ParseIncludeObject("Metadata"), IncludeObject::kMetadata);
  EXPECT_EQ(ParseIncludeObject("Object"), IncludeObject::kObject);
  EXPECT_EQ(ParseIncludeObject("None"), IncludeObject::kNone);
  try {
    ParseIncludeObject("object");
    FAIL() << "lower-case accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unrecognized includeObject value: \"object\"");
  }
}

}  // namespace
}  // namespace smi::apiserver
