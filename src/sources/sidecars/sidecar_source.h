// The TrafficSource that scrapes the mesh proxies itself: a small Prometheus inside the server.
// It finds the meshed pods in the Kubernetes caches (targets.h), scrapes them on the server's
// event loop (scraper.h), keeps what the mesh profile reads over the retention (series_store.h)
// and answers each SampleQuery by evaluating the profile's own PromQL over that store
// (promql_eval.h), decoded by the same engine as Prometheus' answers. Aggregation cannot tell the
// two sources apart; for the same traffic both give the same numbers.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <prometheus/registry.h>

#include "base/clock.h"
#include "kube/cluster_state.h"
#include "sources/prometheus/mesh_profile.h"
#include "sources/traffic_source.h"

namespace smi::sources::sidecars {

struct SidecarOptions {
  std::chrono::milliseconds interval{10000};    // between two scrapes of a proxy
  std::chrono::milliseconds timeout{0};         // per scrape; 0: the interval, at most 10s
  std::chrono::milliseconds retention{300000};  // how far back samples are kept (at most 1h)
  size_t max_body_bytes = 16 << 20;             // per scrape, decompressed
  size_t max_concurrent = 64;                   // scrapes in flight at once
  // How often the pod caches are compared with the targets being scraped.
  std::chrono::milliseconds discovery_period{1000};
  // Where smi_sidecar_* go; null: a registry of the source's own (metrics_registry()).
  std::shared_ptr<::prometheus::Registry> registry;
};

// The largest retention sidecar mode accepts.
inline constexpr std::chrono::milliseconds kMaxSidecarRetention{3600000};

class SidecarSource : public TrafficSource {
 public:
  // Throws std::invalid_argument when the profile has no `sidecars` section or an option is out
  // of range. `cluster` and `clock` must outlive the source.
  SidecarSource(const kube::ClusterState& cluster, prometheus::MeshProfile profile,
                SidecarOptions options, const base::Clock& clock = base::DefaultClock());
  ~SidecarSource() override;

  // Starts discovery and scraping on an event loop of the source's own, run by one thread of
  // its own (named "smi-scrape"): every scrape's I/O, parse and ingest happen there, so that
  // no scrape wakes another thread (docs/decisions.md, decision 23). Serving stays on the
  // server's loop and reads the store under its locks.
  void Start();
  // Cancels discovery and scraping and ends the thread; no scrape is ingested after it returns.
  // Not from the scraping thread itself.
  void Stop();

  // Evaluates the profile's queries over the store at query.at. Throws SourceUnavailable before
  // the first full round of scrapes, std::invalid_argument as promql_builder.h says.
  TrafficSamples Fetch(const SampleQuery& query) override;
  // Ready once every meshed pod known at the time was scraped once (successfully or not).
  bool Ready(std::string* why) override;
  std::optional<std::chrono::milliseconds> Retention() const override;
  std::string RetentionHint() const override;
  // Its own interval between two scrapes of a proxy (--sidecar-interval).
  std::optional<std::chrono::milliseconds> ScrapeInterval() const override;
  std::string ScrapeIntervalOrigin() const override;
  bool PodEdgesNamePeerPods() const override;
  bool SeriesNameWorkloads(ResourceKind kind) const override;

  const std::shared_ptr<::prometheus::Registry>& metrics_registry() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace smi::sources::sidecars
