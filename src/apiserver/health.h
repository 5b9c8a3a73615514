// Readiness as a list of named checks that each part of the server registers (the Kubernetes
// caches, the source of numbers), so that the API handler knows none of those parts. /readyz
// answers 200 "ok" when every check passes, otherwise 503 naming the first that fails, in the
// generic apiserver's wording ("[-]<name> failed: <why>").
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace smi::apiserver {

struct HealthCheck {
  std::string name;  // "kubernetes-caches", "source"
  // Whether the part is ready; on false `why` says what is wrong.
  std::function<bool(std::string* why)> ready;
};

using HealthChecks = std::vector<HealthCheck>;

}  // namespace smi::apiserver
