#include "sources/prometheus/prometheus_source.h"

#include <algorithm>
#include <future>
#include <stdexcept>
#include <utility>

namespace smi::sources::prometheus {

PrometheusSource::PrometheusSource(std::unique_ptr<PrometheusClient> client, MeshProfile profile)
    : client_(std::move(client)), profile_(std::move(profile)) {
  if (!client_) throw std::invalid_argument("PrometheusSource needs a client");
}

PrometheusSource::PrometheusSource(ClientOptions options, MeshProfile profile)
    : PrometheusSource(std::make_unique<PrometheusClient>(std::move(options)), std::move(profile)) {
}

TrafficSamples PrometheusSource::Fetch(const SampleQuery& query) {
  const ProfileQueries queries = profile_.BuildQueries(query);
  const TimePoint at = std::chrono::floor<std::chrono::seconds>(query.at);
  // The latency query runs on its own thread while this one asks for the counts: a request waits
  // for the slower of the two, not their sum.
  auto buckets =
      std::async(std::launch::async, [&] { return client_->Query(queries.buckets, at); });
  QueryResult counts;
  try {
    counts = client_->Query(queries.counts, at);
  } catch (...) {
    buckets.wait();  // never leave the other query running against references that go away
    throw;
  }
  const QueryResult bucket_result = buckets.get();

  TrafficSamples out = profile_.ToSamples(query, counts.samples, bucket_result.samples);
  out.evaluated_at = at;
  std::vector<std::string> warnings = counts.warnings;
  for (const auto& w : bucket_result.warnings) {
    if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
  }
  warnings.insert(warnings.end(), out.warnings.begin(), out.warnings.end());
  out.warnings = std::move(warnings);
  return out;
}

bool PrometheusSource::Ready(std::string* why) { return client_->Ready(why); }

std::optional<std::chrono::milliseconds> PrometheusSource::Retention() const {
  std::lock_guard lock(retention_mu_);
  if (retention_known_) return retention_;
  try {
    retention_ = client_->Retention();
    retention_known_ = true;
  } catch (const SourceUnavailable&) {
    return std::nullopt;  // unknown for now; asked again next time
  }
  return retention_;
}

}  // namespace smi::sources::prometheus
