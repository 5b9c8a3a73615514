// A TrafficSource that answers from samples set by the test, for unit tests of the stages above
// the sources. The integration tests use the real Prometheus source.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mocks/manual_clock.h"
#include "sources/traffic_source.h"

namespace smi::testing {

class FakeSource : public sources::TrafficSource {
 public:
  sources::TrafficSamples Fetch(const sources::SampleQuery& query) override {
    queries.push_back(query);
    if (unavailable) throw sources::SourceUnavailable(*unavailable);
    return query.edges ? edge_samples : resource_samples;
  }
  bool Ready(std::string* why) override {
    if (unavailable && why) *why = *unavailable;
    return !unavailable;
  }
  std::optional<std::chrono::milliseconds> Retention() const override { return retention; }
  bool PodEdgesNamePeerPods() const override { return pod_edges_name_peer_pods; }

  sources::TrafficSamples resource_samples;
  sources::TrafficSamples edge_samples;
  std::optional<std::string> unavailable;
  std::optional<std::chrono::milliseconds> retention;
  bool pod_edges_name_peer_pods = false;
  std::vector<sources::SampleQuery> queries;
};

using FakeClock = ManualClock;

}  // namespace smi::testing
