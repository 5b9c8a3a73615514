// Discovery as the clients that map kinds read it (docs/kubernetes-api.md, "Every kind of client").
// Each client's resolution is written out here from its own source, not from the server's code:
// client-go's discovery RESTMapper (restmapper.NewDiscoveryRESTMapper, DefaultRESTMapper.
// AddSpecific: a kind maps to the LAST resource of that kind), which kubectl uses too, and the
// Kubernetes Python client's dynamic client (kubernetes/dynamic/discovery.py: resources grouped by
// kind, a kind shared by several resources is ResourceNotUniqueError, and names are resolved
// through each `<Kind>List`'s base kind). Both must take every resource back to itself.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "apiserver/discovery.h"
#include "apiserver/openapi.h"

namespace smi::apiserver {
namespace {

using nlohmann::json;

std::string ToLower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The top-level resources of a legacy APIResourceList (subresources have a '/').
std::vector<json> TopLevel(const json& list) {
  std::vector<json> out;
  for (const auto& r : list.at("resources")) {
    if (r.at("name").get<std::string>().find('/') == std::string::npos) out.push_back(r);
  }
  return out;
}

// client-go's DefaultRESTMapper as NewDiscoveryRESTMapper fills it for one group version.
struct RestMapper {
  std::map<std::string, std::string> resource_to_kind;  // plural and singular -> kind
  std::map<std::string, std::string> kind_to_plural;    // last resource of the kind wins
  void AddSpecific(const std::string& kind, const std::string& plural,
                   const std::string& singular) {
    resource_to_kind[singular] = kind;
    resource_to_kind[plural] = kind;
    kind_to_plural[kind] = plural;
  }
};

RestMapper ClientGoMapper(const json& list) {
  RestMapper m;
  for (const auto& r : TopLevel(list)) {
    const std::string kind = r.at("kind");
    std::string singular = r.value("singularName", "");
    if (singular.empty()) singular = ToLower(kind);  // meta.UnsafeGuessKindToResource
    m.AddSpecific(ToLower(kind), r.at("name"), singular);
    m.AddSpecific(kind, r.at("name"), singular);
  }
  return m;
}

TEST(DiscoveryClientsTest, ClientGoRestMapperTakesEveryResourceBackToItself) {
  for (const std::string version : {"v1alpha1", "v1alpha2"}) {
    const json list = json::parse(ApiResourceListJson(version));
    const RestMapper m = ClientGoMapper(list);
    for (const auto& r : TopLevel(list)) {
      const std::string name = r.at("name");
      // kubectl get <name>: KindFor(resource), then RESTMapping(kind) -> the resource requested.
      const std::string kind = m.resource_to_kind.at(name);
      EXPECT_EQ(m.kind_to_plural.at(kind), name)
          << version << " " << name << " is read as " << m.kind_to_plural.at(kind);
      const std::string singular = r.at("singularName");
      ASSERT_FALSE(singular.empty()) << name;
      EXPECT_EQ(m.kind_to_plural.at(m.resource_to_kind.at(singular)), name) << singular;
    }
    // The kind TrafficMetrics still names the resource of the same name.
    EXPECT_EQ(m.kind_to_plural.at("TrafficMetrics"), "trafficmetrics");
  }
}

TEST(DiscoveryClientsTest, PythonDynamicClientFindsOneResourcePerKind) {
  for (const std::string version : {"v1alpha1", "v1alpha2"}) {
    const json list = json::parse(ApiResourceListJson(version));
    // discovery.py: resources[kind] gets the Resource, resources[kind + "List"] its ResourceList;
    // get(kind=...) of a kind with several entries of one type is ResourceNotUniqueError.
    std::map<std::string, int> by_kind;
    for (const auto& r : TopLevel(list)) {
      ++by_kind[r.at("kind").get<std::string>()];
      ++by_kind[r.at("kind").get<std::string>() + "List"];
    }
    for (const auto& [kind, n] : by_kind) EXPECT_EQ(n, 1) << version << " kind " << kind;
  }
}

// The rule names every resource of TrafficMetrics by what it measures; spot checks of its result,
// written out by hand.
TEST(DiscoveryClientsTest, EachResourceIsNamedByWhatItMeasures) {
  const json list = json::parse(ApiResourceListJson("v1alpha1"));
  std::map<std::string, std::pair<std::string, std::string>> got;  // name -> kind, singular
  for (const auto& r : TopLevel(list)) got[r.at("name")] = {r.at("kind"), r.at("singularName")};
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(got.at("deployments"), (P{"DeploymentTrafficMetrics", "deployment"}));
  EXPECT_EQ(got.at("statefulsets"), (P{"StatefulSetTrafficMetrics", "statefulset"}));
  EXPECT_EQ(got.at("daemonsets"), (P{"DaemonSetTrafficMetrics", "daemonset"}));
  EXPECT_EQ(got.at("pods"), (P{"PodTrafficMetrics", "pod"}));
  EXPECT_EQ(got.at("namespaces"), (P{"NamespaceTrafficMetrics", "namespace"}));
  EXPECT_EQ(got.at("trafficmetrics"), (P{"TrafficMetrics", "trafficmetrics"}));
  EXPECT_EQ(got.at("trafficsplits"), (P{"TrafficSplitMetrics", "trafficsplit"}));
}

TEST(DiscoveryClientsTest, AggregatedDiscoveryHasTheSameKinds) {
  const json doc = json::parse(AggregatedDiscoveryJson("apidiscovery.k8s.io/v2"));
  for (const auto& v : doc.at("items").at(0).at("versions")) {
    const json list = json::parse(ApiResourceListJson(v.at("version").get<std::string>()));
    std::map<std::string, std::pair<std::string, std::string>> legacy;
    for (const auto& r : TopLevel(list)) {
      legacy[r.at("name")] = {r.at("kind"), r.at("singularName")};
    }
    std::set<std::string> kinds;
    for (const auto& r : v.at("resources")) {
      const std::string name = r.at("resource");
      const std::string kind = r.at("responseKind").at("kind");
      EXPECT_EQ(legacy.at(name), std::make_pair(kind, r.at("singularResource").get<std::string>()));
      EXPECT_TRUE(kinds.insert(kind).second) << "kind " << kind << " is shared";
    }
    EXPECT_EQ(kinds.size(), legacy.size());
  }
}

// kubectl explain looks a resource's kind up in OpenAPI by group-version-kind.
TEST(DiscoveryClientsTest, OpenApiNamesEveryKindOfTrafficMetrics) {
  for (const std::string version : {"v1alpha1", "v1alpha2"}) {
    const json doc = json::parse(OpenApiV3VersionJson(version));
    const auto& schemas = doc.at("components").at("schemas");
    std::set<std::string> object_kinds, list_kinds;
    for (const auto& g : schemas.at("io.smi-spec.metrics." + version + ".TrafficMetrics")
                             .at("x-kubernetes-group-version-kind")) {
      EXPECT_EQ(g.at("version"), version);
      object_kinds.insert(g.at("kind"));
    }
    for (const auto& g : schemas.at("io.smi-spec.metrics." + version + ".TrafficMetricsList")
                             .at("x-kubernetes-group-version-kind")) {
      list_kinds.insert(g.at("kind"));
    }
    for (const auto& r : TopLevel(json::parse(ApiResourceListJson(version)))) {
      const std::string kind = r.at("kind");
      if (r.at("name") == "trafficsplits") continue;  // answers lists: its own kind
      EXPECT_TRUE(object_kinds.count(kind)) << kind;
      EXPECT_TRUE(list_kinds.count(kind + "List")) << kind;
    }
  }
}

}  // namespace
}  // namespace smi::apiserver
