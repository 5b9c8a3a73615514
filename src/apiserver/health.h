// Readiness as a list of named checks that each part of the server registers (the Kubernetes
// caches, the source of numbers), so that the API handler knows none of those parts. /readyz
// answers 200 "ok" when every required check passes, otherwise 503 naming those that fail, in the
// generic apiserver's wording ("[-]<name> failed: <why>"). An informational check never makes the
// server unready: it is reported by /readyz?verbose only (docs/decisions.md, decision 14: a
// metrics backend that is down must not take discovery down with it).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace smi::apiserver {

struct HealthCheck {
  std::string name;  // "kubernetes-caches", "source"
  // Whether the part is ready; on false `why` says what is wrong. Must answer at once: kubelet
  // probes time out after a second.
  std::function<bool(std::string* why)> ready;
  // Reported in /readyz?verbose, never a reason for a 503.
  bool informational = false;
};

using HealthChecks = std::vector<HealthCheck>;

struct HealthAnswer {
  int status = 200;
  std::string body;
};

// The /readyz answer. Without `verbose`: "ok", or 503 with a line per failing required check.
// With `verbose`: a line per check ("[+]name ok", "[-]name failed: why", informational ones marked
// so), then "readyz check passed" or "readyz check failed", as kube-apiserver writes it.
inline HealthAnswer ReadyzAnswer(const HealthChecks& checks, bool verbose) {
  std::string lines, failures;
  for (const auto& check : checks) {
    if (check.informational && !verbose) continue;
    std::string why;
    if (check.ready(&why)) {
      lines += "[+]" + check.name + " ok\n";
    } else if (check.informational) {
      lines +=
          "[-]" + check.name + " failed (informational, not a readiness condition): " + why + "\n";
    } else {
      const std::string line = "[-]" + check.name + " failed: " + why + "\n";
      lines += line;
      failures += line;
    }
  }
  if (!failures.empty()) return {503, (verbose ? lines : failures) + "readyz check failed\n"};
  return {200, verbose ? lines + "readyz check passed\n" : "ok"};
}

}  // namespace smi::apiserver
