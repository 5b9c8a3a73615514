// The configuration file (--config): any YAML is applied or fails with std::invalid_argument
// naming the file and the key.
#include "config/config_file.h"
#include "config/flags.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smi::config::ServerFlags flags;
  try {
    smi::config::ApplyConfigYaml(std::string(smi::fuzz::Text(data, size)),
                                 "/nonexistent-smi-fuzz/config.yaml", flags);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
