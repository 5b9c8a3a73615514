// Which pods sidecar mode scrapes and how their series are labelled: the meshed pods of the
// Kubernetes caches, as the mesh profile's `sidecars` section finds them, each with the target
// labels the mesh's usual Prometheus relabelling would attach (so the same profile queries both).
#pragma once

#include <string>
#include <vector>

#include "kube/cluster_state.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/sidecars/scraper.h"
#include "sources/sidecars/series_store.h"

namespace smi::sources::sidecars {

struct Target {
  ScrapeTarget scrape;
  LabelSet labels;  // job, instance, namespace, pod and the relabelled pod labels
  bool operator==(const Target&) const = default;
};

// The meshed pods of `snapshot` that can be scraped (Running or Pending with an IP), sorted by
// id ("namespace/pod"). `job`: the value of the `job` target label.
std::vector<Target> MeshedTargets(const prometheus::SidecarTargets& how, const std::string& job,
                                  const kube::ClusterSnapshot& snapshot);

// Prometheus' sanitising of a Kubernetes label name in a label map: every character outside
// [a-zA-Z0-9_] becomes `_`.
std::string SanitizeLabelName(std::string_view name);

}  // namespace smi::sources::sidecars
