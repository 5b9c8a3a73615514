// The TrafficSource that asks Prometheus (or an API-compatible server) through a mesh profile.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <prometheus/registry.h>

#include "base/clock.h"
#include "sources/prometheus/builtin_profiles.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/prometheus_client.h"
#include "sources/query_coalescer.h"
#include "sources/source_metrics.h"
#include "sources/traffic_source.h"

namespace boost::asio {
class thread_pool;
}

namespace smi::sources::prometheus {

// How the source shares work between requests and where it counts it. Defaults suit a server.
struct SourceOptions {
  // Identical queries (same PromQL, same evaluation second) in flight are always coalesced;
  // successful answers without warnings are reused for `cache.ttl` (0: never). See
  // query_coalescer.h for why 5s is the default.
  CacheOptions cache;
  // Where the smi_prometheus_* metrics go (source_metrics.h); null: a registry of the source's
  // own (see metrics_registry()).
  std::shared_ptr<::prometheus::Registry> registry;
  // Threads that run the second query of a request while its own thread runs the first (only
  // when that answer is not cached already). Past this many uncached requests at once, second
  // queries wait for a thread; keep it at least the serving worker threads (--threads).
  int query_threads = 64;
};

class PrometheusSource : public TrafficSource {
 public:
  // `clock` (which must outlive the source) drives cache expiry and the query latency in the
  // metrics; the deadline of a query is real time, as it bounds real socket and condition-variable
  // waits.
  PrometheusSource(std::unique_ptr<PrometheusClient> client, MeshProfile profile,
                   SourceOptions options = {}, const base::Clock& clock = base::DefaultClock());
  explicit PrometheusSource(ClientOptions options, MeshProfile profile = LinkerdProfile(),
                            SourceOptions source_options = {},
                            const base::Clock& clock = base::DefaultClock());
  ~PrometheusSource() override;

  // Issues the profile's two queries concurrently, both evaluated at query.at (whole seconds),
  // each through the coalescer and cache. Throws SourceUnavailable (a QueryError: backend
  // failures, no later than the client's timeout after the call) and std::invalid_argument
  // (invalid names). Backend warnings (partial responses included) are passed on in
  // TrafficSamples::warnings; such answers are not cached.
  TrafficSamples Fetch(const SampleQuery& query) override;
  bool Ready(std::string* why) override;
  // Asked once successfully, then remembered; nullopt while the backend cannot be asked.
  std::optional<std::chrono::milliseconds> Retention() const override;
  // Learned from the series (scrape_interval.h) when first asked; asked again 10 minutes later
  // once known, 5 minutes later while no series is old enough, a minute later when the backend
  // failed; nullopt while it cannot be told.
  std::optional<std::chrono::milliseconds> ScrapeInterval() const override;
  std::string ScrapeIntervalOrigin() const override;
  bool PodEdgesNamePeerPods() const override { return profile_.PodEdgesNamePeerPods(); }
  bool SeriesNameWorkloads(ResourceKind kind) const override {
    return profile_.SeriesNameWorkloads(kind);
  }
  // True while the query cache still holds each answer (the same answer, by id).
  bool StillAnswers(const std::vector<SourceAnswer>& answers) override;

  const PrometheusClient& client() const { return *client_; }
  const MeshProfile& profile() const { return profile_; }
  const std::shared_ptr<::prometheus::Registry>& metrics_registry() const {
    return metrics_->registry();
  }

 private:
  std::unique_ptr<PrometheusClient> client_;
  MeshProfile profile_;
  std::shared_ptr<SourceMetrics> metrics_;
  QueryCoalescer<QueryResult> coalescer_;
  mutable std::mutex retention_mu_;
  mutable bool retention_known_ = false;
  mutable std::optional<std::chrono::milliseconds> retention_;
  const base::Clock& clock_;
  mutable std::mutex interval_mu_;
  mutable std::optional<std::chrono::milliseconds> interval_;
  mutable std::optional<std::chrono::steady_clock::time_point> interval_next_ask_;
  // Last, so that it is joined first: its tasks use the members above.
  std::unique_ptr<boost::asio::thread_pool> query_pool_;
};

}  // namespace smi::sources::prometheus
