// Mesh profiles from YAML (the format is documented in README.md, "Mesh profiles").
#pragma once

#include <string>

#include "sources/prometheus/mesh_profile.h"

namespace smi::sources::prometheus {

// Parses a profile from YAML text. `where` prefixes every error message (a file name, or the key
// of an inline profile, e.g. "config.yaml: mesh.profile"); errors name the key that is wrong
// ("istio.yaml: edges.to.selector[0].op: \"==\" is not one of =, !=, =~, !~"). Throws
// std::invalid_argument. The result is also checked by MeshProfile's constructor.
MeshProfileSpec ParseProfileYaml(const std::string& yaml_text, const std::string& where);
// Reads and parses a profile file; errors are prefixed with its path.
MeshProfileSpec LoadProfileFile(const std::string& path);

}  // namespace smi::sources::prometheus
