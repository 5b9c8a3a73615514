// Which mesh profile the server uses, from the configuration file's inline profile, a profile
// file or a built-in mesh, with the proxy job applied.
#pragma once

#include "config/flags.h"

namespace smi::config {

// Sets flags.profile: an inline profile from the configuration file, else --mesh-profile-file,
// else the built-in --mesh; then --proxy-job. Throws std::invalid_argument naming where the
// profile came from and what is wrong with it.
void ResolveProfile(ServerFlags& flags);

}  // namespace smi::config
