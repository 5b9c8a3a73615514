#include "config/readiness.h"

namespace smi::config {

apiserver::HealthChecks ReadinessChecks(const kube::ClusterState* cluster,
                                        sources::TrafficSource& source) {
  apiserver::HealthChecks checks;
  if (cluster) {
    checks.push_back({"kubernetes-caches", [cluster](std::string* why) {
                        std::string caches;
                        if (cluster->Synced(&caches)) return true;
                        *why = "not synced: " + caches;
                        return false;
                      }});
  }
  checks.push_back({"source", [&source](std::string* why) { return source.Ready(why); }});
  return checks;
}

}  // namespace smi::config
