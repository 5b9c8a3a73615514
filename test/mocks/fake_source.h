// A TrafficSource that answers from samples set by the test, for unit tests of the stages above
// the sources. The integration tests use the real Prometheus source.
#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "base/overloaded.h"
#include "mocks/manual_clock.h"
#include "sources/traffic_source.h"

namespace smi::testing {

class FakeSource : public sources::TrafficSource {
 public:
  sources::TrafficSamples Fetch(const sources::SampleQuery& query) override {
    std::lock_guard lock(mu_);  // aggregation may ask for two shapes at once
    queries.push_back(query);
    if (unavailable) throw sources::SourceUnavailable(*unavailable);
    return std::visit(base::Overloaded{
                          [&](const sources::ResourceScope& q) {
                            if (!q.without_workload_labels) return resource_samples;
                            // Never the whole answer: the pods whose series name no workload.
                            return unlabelled_pod_samples.value_or(sources::TrafficSamples{});
                          },
                          [&](const sources::AllWorkloads&) { return resource_samples; },
                          [&](const sources::ObjectEdges&) { return edge_samples; },
                          [&](const sources::NamespacePodEdges&) { return edge_samples; },
                          // The test sets what the splits' answer holds in resource_samples.
                          [&](const sources::TrafficSplitBackends&) { return resource_samples; },
                      },
                      query.shape);
  }
  bool Ready(std::string* why) override {
    if (unavailable && why) *why = *unavailable;
    return !unavailable;
  }
  std::optional<std::chrono::milliseconds> Retention() const override { return retention; }
  bool PodEdgesNamePeerPods() const override { return pod_edges_name_peer_pods; }
  std::optional<std::chrono::milliseconds> ScrapeInterval() const override {
    return scrape_interval;
  }
  std::string ScrapeIntervalOrigin() const override { return scrape_interval_origin; }
  bool SeriesNameWorkloads(model::ResourceKind kind) const override {
    return named_workloads.contains(kind);
  }

  sources::TrafficSamples resource_samples;
  sources::TrafficSamples edge_samples;
  // The answer for pods whose series name no workload (ResourceScope::without_workload_labels).
  std::optional<sources::TrafficSamples> unlabelled_pod_samples;
  std::optional<std::string> unavailable;
  std::optional<std::chrono::milliseconds> retention;
  bool pod_edges_name_peer_pods = false;
  std::optional<std::chrono::milliseconds> scrape_interval;
  std::string scrape_interval_origin;
  std::set<model::ResourceKind> named_workloads;
  std::vector<sources::SampleQuery> queries;

 private:
  std::mutex mu_;
};

using FakeClock = ManualClock;

// The shape of `query` as a T; throws std::bad_variant_access (failing the test) when it has
// another shape.
template <typename T>
const T& ShapeAs(const sources::SampleQuery& query) {
  return std::get<T>(query.shape);
}

}  // namespace smi::testing
