// Mesh profiles (--mesh-profile-file, mesh.profile): any YAML parses to a spec or fails with
// std::invalid_argument naming the key; a parsed spec becomes a MeshProfile or is refused with
// std::invalid_argument, and a profile builds its queries.
#include <chrono>

#include "fuzz_input.h"
#include "sources/prometheus/mesh_profile.h"

namespace prom = smi::sources::prometheus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    prom::MeshProfile profile(
        prom::ParseProfileYaml(std::string(smi::fuzz::Text(data, size)), "fuzz.yaml"));
    for (auto kind : {smi::model::ResourceKind::kDeployment, smi::model::ResourceKind::kPod,
                      smi::model::ResourceKind::kNamespace}) {
      smi::sources::SampleQuery query;
      query.kind = kind;
      query.ns = kind == smi::model::ResourceKind::kNamespace ? "" : "emojivoto";
      query.name = "web";
      query.at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
      for (bool edges : {false, true}) {
        query.edges = edges;
        try {
          profile.BuildQueries(query);
        } catch (const std::invalid_argument&) {
        }
      }
    }
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
