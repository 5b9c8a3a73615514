// Kubeconfig files: any YAML yields a configuration or a ConfigError naming what is wrong.
// Relative file names resolve under a folder that does not exist, so that what the input names
// is not read.
#include "fuzz_input.h"
#include "kube/credentials.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(smi::fuzz::Text(data, size));
  for (const char* context : {"", "dev"}) {
    try {
      smi::kube::ParseKubeconfig(yaml, "/nonexistent-smi-fuzz", context, "fuzz");
    } catch (const smi::kube::ConfigError&) {
    }
  }
  return 0;
}
