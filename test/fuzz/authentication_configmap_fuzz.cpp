// The kube-system/extension-apiserver-authentication ConfigMap as kube-apiserver answers it: any
// JSON decodes or fails with ConfigError (the poller then keeps the last good configuration).
#include <nlohmann/json.hpp>

#include "fuzz_input.h"
#include "kube/authentication_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json configmap =
      nlohmann::json::parse(smi::fuzz::Text(data, size), nullptr, /*allow_exceptions=*/false);
  if (configmap.is_discarded()) return 0;
  try {
    smi::kube::ParseAuthenticationConfigMap(configmap);
  } catch (const smi::kube::ConfigError&) {
  }
  return 0;
}
