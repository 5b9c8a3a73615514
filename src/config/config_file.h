// The configuration file (YAML; its keys are in README.md, "Configuration file"): read into the
// same ServerFlags the command line fills, before the flags, so that flags override it.
#pragma once

#include <string>

#include "config/flags.h"

namespace smi::config {

// Applies a configuration file's YAML text to `flags`. `path` names the file in messages and
// anchors its relative paths. Throws std::invalid_argument naming the file and the key
// ("config.yaml: prometheus.timeout: \"5x\" is not a duration: ...").
void ApplyConfigYaml(const std::string& yaml_text, const std::string& path, ServerFlags& flags);

}  // namespace smi::config
