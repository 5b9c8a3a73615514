// Learning how often Prometheus scrapes the mesh's proxies from the series themselves, so that a
// window too short to hold two samples is refused (docs/decisions.md, decision 21).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "sources/prometheus/mesh_profile.h"
#include "sources/prometheus/prometheus_client.h"

namespace smi::sources::prometheus {

// How far back the samples are counted.
inline constexpr std::chrono::minutes kScrapeIntervalLookback{5};

// The most samples any series of the profile's first existence source (`up{job="linkerd-proxy"}`
// for the built-in profiles: one sample per scrape of a proxy) has over kScrapeIntervalLookback,
// among the series that already had samples before it (a younger series has fewer samples than
// its interval gives, and would over-state it):
// `max(count_over_time(up{job="linkerd-proxy"}[5m]) and up{job="linkerd-proxy"} offset 5m)`.
// Throws std::invalid_argument when the profile has no existence source.
std::string ScrapeIntervalQuery(const MeshProfile& profile);

// The scrape interval from that answer: n samples within the lookback are at most
// lookback / (n - 1) apart, so this never under-states the interval. nullopt when no series has
// two samples (nothing scraped yet, or scrapes rarer than half the lookback).
std::optional<std::chrono::milliseconds> ScrapeIntervalFromAnswer(
    const std::vector<VectorSample>& samples);

}  // namespace smi::sources::prometheus
