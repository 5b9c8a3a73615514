// Kubernetes objects as kube-apiserver (or a `kubectl get -o json` file) sends them: trimmed
// parsing at each depth, then every decoder. Whatever arrives, an object decodes or fails with
// the documented std::invalid_argument (the caches then skip it), and JSON fails only with
// json::parse_error.
//
// Input: byte 0 chooses the depth (1: one object, 2: a watch event, 3: a list); the rest is JSON.
#include <nlohmann/json.hpp>

#include "fuzz_input.h"
#include "kube/cluster_state.h"
#include "kube/objects.h"

namespace {

using namespace smi::kube;
using nlohmann::json;

void DecodeEvery(const json& object) {
  const auto attempt = [](auto decode) {
    try {
      decode();
    } catch (const std::invalid_argument&) {
    }
  };
  attempt([&] { DecodeMeta(object); });
  attempt([&] { DecodePod(object); });
  for (WorkloadKind kind : {WorkloadKind::kReplicaSet, WorkloadKind::kDeployment,
                            WorkloadKind::kStatefulSet, WorkloadKind::kDaemonSet}) {
    attempt([&] {
      const Workload w = DecodeWorkload(kind, object);
      w.selector.Matches({{"app", "web"}});
      w.selector.String();
    });
  }
  attempt([&] { DecodeNamespace(object); });
  attempt([&] {
    const TrafficSplit t = DecodeTrafficSplit(object, "");
    for (const auto& b : t.backends) {
      if (b.weight_milli < 0 || b.weight < 0) smi::fuzz::Fail("a negative weight decoded");
    }
  });
  if (object.is_object()) {
    const auto kind = object.find("kind");
    const auto api_version = object.find("apiVersion");
    if (kind != object.end() && kind->is_string() && api_version != object.end() &&
        api_version->is_string()) {
      ResourceForKind(api_version->get<std::string>(), kind->get<std::string>());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int depth = 1 + data[0] % 3;
  const std::string_view text = smi::fuzz::Text(data + 1, size - 1);
  try {
    ParseQuantityMilli(text);
  } catch (const std::invalid_argument&) {
  }
  json parsed;
  try {
    parsed = ParseTrimmed(text, depth);
  } catch (const json::parse_error&) {
    return 0;
  }
  if (depth == 1) {
    DecodeEvery(parsed);
  } else if (depth == 2) {
    if (parsed.is_object() && parsed.contains("object")) DecodeEvery(parsed["object"]);
  } else if (parsed.is_object() && parsed.contains("items") && parsed["items"].is_array()) {
    for (const json& item : parsed["items"]) DecodeEvery(item);
  }
  // What a --kube-objects file goes through (StaticClusterState::FromFile).
  try {
    StaticClusterState state;
    state.Load(parsed);
    state.Snapshot();
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
