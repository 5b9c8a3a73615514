// YAML as kubectl -o yaml prints it.
#include "plugin/yaml_output.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace smi::plugin {
namespace {

TEST(Yaml, LikeKubectl) {
  const auto doc = nlohmann::json::parse(R"({
    "kind": "TrafficMetricsList", "apiVersion": "metrics.smi-spec.io/v1alpha1", "metadata": {},
    "items": [{"edge": {"direction": "from", "resource": null, "side": "server"},
               "metadata": {"creationTimestamp": "2024-01-01T00:00:00Z", "name": "web"},
               "metrics": [{"name": "success_count", "value": "600"},
                           {"name": "p99_response_latency", "unit": "seconds", "value": "47m"}],
               "window": "30s"}],
    "odd": ["", "true", "a: b", " x", 3, false, [], {}, "yes", "1e3", "-x", "#c", "0x1F", "ok"]})");
  EXPECT_EQ(ToYaml(doc),
            "apiVersion: metrics.smi-spec.io/v1alpha1\n"
            "items:\n"
            "- edge:\n"
            "    direction: from\n"
            "    resource: null\n"
            "    side: server\n"
            "  metadata:\n"
            "    creationTimestamp: \"2024-01-01T00:00:00Z\"\n"
            "    name: web\n"
            "  metrics:\n"
            "  - name: success_count\n"
            "    value: \"600\"\n"
            "  - name: p99_response_latency\n"
            "    unit: seconds\n"
            "    value: 47m\n"
            "  window: 30s\n"
            "kind: TrafficMetricsList\n"
            "metadata: {}\n"
            "odd:\n"
            "- \"\"\n"
            "- \"true\"\n"
            "- \"a: b\"\n"
            "- \" x\"\n"
            "- 3\n"
            "- false\n"
            "- []\n"
            "- {}\n"
            "- \"yes\"\n"
            "- \"1e3\"\n"
            "- \"-x\"\n"
            "- \"#c\"\n"
            "- \"0x1F\"\n"
            "- ok\n");
}

}  // namespace
}  // namespace smi::plugin
