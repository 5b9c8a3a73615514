// Mesh profiles (--mesh-profile-file, mesh.profile): any YAML parses to a spec or fails with
// std::invalid_argument naming the key; a parsed spec becomes a MeshProfile or is refused with
// std::invalid_argument, and a profile builds its queries.
#include <chrono>
#include <vector>

#include "fuzz_input.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/profile_yaml.h"
#include "sources/prometheus/promql_builder.h"

namespace prom = smi::sources::prometheus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    prom::MeshProfile profile(
        prom::ParseProfileYaml(std::string(smi::fuzz::Text(data, size)), "fuzz.yaml"));
    using smi::model::ResourceKind;
    namespace src = smi::sources;
    for (const src::QueryShape& shape : std::vector<src::QueryShape>{
             src::ResourceScope{ResourceKind::kDeployment, "emojivoto", "web"},
             src::ResourceScope{ResourceKind::kPod, "emojivoto", "web"},
             src::ResourceScope{ResourceKind::kNamespace, "", "web"},
             src::ObjectEdges{ResourceKind::kDeployment, "emojivoto", "web"},
             src::ObjectEdges{ResourceKind::kPod, "emojivoto", "web"},
             src::ObjectEdges{ResourceKind::kNamespace, "", "web"},
             src::NamespacePodEdges{"emojivoto", ResourceKind::kDeployment},
             src::AllWorkloads{"emojivoto", ""},
             src::TrafficSplitBackends{{{"emojivoto", "web", {"web-v1"}}}}}) {
      smi::sources::SampleQuery query;
      query.shape = shape;
      query.at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
      try {
        prom::BuildQueries(profile, query);
      } catch (const std::invalid_argument&) {
      }
    }
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
