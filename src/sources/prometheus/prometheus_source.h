// The TrafficSource that asks Prometheus (or an API-compatible server) through a mesh profile.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/prometheus_client.h"
#include "sources/traffic_source.h"

namespace smi::sources::prometheus {

class PrometheusSource : public TrafficSource {
 public:
  PrometheusSource(std::unique_ptr<PrometheusClient> client, MeshProfile profile);
  explicit PrometheusSource(ClientOptions options, MeshProfile profile = LinkerdProfile());

  // Issues the profile's two queries concurrently, both evaluated at query.at (whole seconds).
  // Throws SourceUnavailable (backend failures) and std::invalid_argument (invalid names).
  TrafficSamples Fetch(const SampleQuery& query) override;
  bool Ready(std::string* why) override;
  // Asked once successfully, then remembered; nullopt while the backend cannot be asked.
  std::optional<std::chrono::milliseconds> Retention() const override;

  const PrometheusClient& client() const { return *client_; }
  const MeshProfile& profile() const { return profile_; }

 private:
  std::unique_ptr<PrometheusClient> client_;
  MeshProfile profile_;
  mutable std::mutex retention_mu_;
  mutable bool retention_known_ = false;
  mutable std::optional<std::chrono::milliseconds> retention_;
};

}  // namespace smi::sources::prometheus
