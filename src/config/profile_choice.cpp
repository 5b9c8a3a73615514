#include "config/profile_choice.h"

#include <stdexcept>

#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/profile_yaml.h"

namespace smi::config {

// The profile in use: an inline one from the config file, a profile file, or a built-in one;
// then --proxy-job. Errors name where the profile came from.
void ResolveProfile(ServerFlags& flags) {
  namespace prom = sources::prometheus;
  if (flags.inline_profile) {
    flags.profile = *flags.inline_profile;
  } else if (!flags.mesh_profile_file.empty()) {
    flags.profile = prom::LoadProfileFile(flags.mesh_profile_file);
  } else if (prom::BuiltinProfileYaml(flags.mesh)) {
    flags.profile = prom::BuiltinProfileSpec(flags.mesh);
  } else {
    std::string names;
    for (const auto& n : prom::BuiltinProfileNames()) names += (names.empty() ? "" : ", ") + n;
    throw std::invalid_argument("--mesh=" + flags.mesh + ": supported meshes are: " + names +
                                " (or a profile of your own: --mesh-profile-file)");
  }
  if (!flags.proxy_job.empty()) flags.profile.parameters["job"] = flags.proxy_job;
  try {
    prom::MeshProfile check(flags.profile);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("mesh profile " + flags.profile.name + ": " + e.what());
  }
}

}  // namespace smi::config
