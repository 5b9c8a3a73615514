#include "aggregation/traffic_metrics_service.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "aggregation/histogram_quantile.h"
#include "model/duration.h"

namespace smi::aggregation {

using model::ObjectReference;
using model::ResourceKind;

namespace {

model::TrafficMetrics NewItem(const ObjectReference& resource,
                              const sources::TrafficSamples& samples,
                              std::chrono::milliseconds window) {
  model::TrafficMetrics tm;
  tm.resource = resource;
  tm.timestamp = samples.evaluated_at;
  tm.window = window;
  return tm;
}

ObjectReference ObjectOf(const MetricsQuery& q) {
  ObjectReference ref{std::string(model::KindName(q.kind)), q.ns, q.name, ""};
  if (q.kind == ResourceKind::kNamespace) ref.ns.clear();
  return ref;
}

}  // namespace

std::vector<model::Metric> MetricsFromCounts(const sources::TrafficCounts& counts) {
  std::vector<model::Metric> metrics;
  const std::pair<std::string_view, double> quantiles[] = {
      {model::kP99Latency, 0.99}, {model::kP90Latency, 0.90}, {model::kP50Latency, 0.50}};
  for (const auto& [name, q] : quantiles) {
    const double seconds = BucketQuantile(q, counts.latency_buckets);
    if (std::isfinite(seconds)) {
      metrics.push_back({std::string(name), "seconds",
                         model::Quantity::FromDouble(seconds, model::kSecondsScale)});
    }
  }
  metrics.push_back({std::string(model::kSuccessCount), "",
                     model::Quantity::FromDouble(counts.success, model::kCountScale)});
  metrics.push_back({std::string(model::kFailureCount), "",
                     model::Quantity::FromDouble(counts.failure, model::kCountScale)});
  return metrics;
}

TrafficMetricsService::TrafficMetricsService(sources::TrafficSource& source,
                                             const model::Clock& clock, Options options)
    : source_(source), clock_(clock), options_(options) {}

void TrafficMetricsService::CheckWindow(std::chrono::milliseconds window) const {
  if (window < options_.min_window) {
    throw InvalidWindow("window " + model::FormatGoDuration(window) +
                        " is shorter than the minimum of " +
                        model::FormatGoDuration(options_.min_window));
  }
  if (const auto retention = source_.Retention(); retention && window > *retention) {
    throw InvalidWindow("window " + model::FormatGoDuration(window) +
                        " is longer than the metrics source keeps data (" +
                        model::FormatGoDuration(*retention) + ")");
  }
}

sources::TrafficSamples TrafficMetricsService::Fetch(const MetricsQuery& query, bool edges) {
  CheckWindow(query.window);
  sources::SampleQuery sq;
  sq.kind = query.kind;
  sq.ns = query.kind == ResourceKind::kNamespace ? "" : query.ns;
  sq.name = query.name;
  sq.edges = edges;
  sq.window = query.window;
  const auto now = clock_.Now() - options_.evaluation_delay;
  sq.at = std::chrono::floor<std::chrono::seconds>(now);
  auto samples = source_.Fetch(sq);
  samples.evaluated_at = sq.at;
  return samples;
}

model::TrafficMetrics TrafficMetricsService::Get(const MetricsQuery& query) {
  const auto samples = Fetch(query, /*edges=*/false);
  const ObjectReference want = ObjectOf(query);
  for (const auto& sample : samples.resources) {
    if (sample.resource == want) {
      auto tm = NewItem(want, samples, query.window);
      tm.metrics = MetricsFromCounts(sample.counts);
      return tm;
    }
  }
  if (std::find(samples.known_objects.begin(), samples.known_objects.end(), want) ==
      samples.known_objects.end()) {
    throw ObjectNotFound(query.kind, query.name);
  }
  auto tm = NewItem(want, samples, query.window);
  tm.metrics = MetricsFromCounts({});
  return tm;
}

model::TrafficMetricsList TrafficMetricsService::List(const MetricsQuery& query) {
  const auto samples = Fetch(query, /*edges=*/false);
  // Every object the source knows, with its counts when it had traffic; ordered by namespace, name.
  std::map<std::pair<std::string, std::string>, std::pair<ObjectReference, sources::TrafficCounts>>
      rows;
  for (const auto& ref : samples.known_objects) rows[{ref.ns, ref.name}] = {ref, {}};
  for (const auto& sample : samples.resources) {
    rows[{sample.resource.ns, sample.resource.name}] = {sample.resource, sample.counts};
  }
  model::TrafficMetricsList list;
  list.resource.kind = model::KindName(query.kind);
  if (query.kind != ResourceKind::kNamespace) list.resource.ns = query.ns;
  for (const auto& [key, row] : rows) {
    auto tm = NewItem(row.first, samples, query.window);
    tm.metrics = MetricsFromCounts(row.second);
    list.items.push_back(std::move(tm));
  }
  return list;
}

model::TrafficMetricsList TrafficMetricsService::Edges(const MetricsQuery& query) {
  const auto samples = Fetch(query, /*edges=*/true);
  const ObjectReference self = ObjectOf(query);
  const bool known = std::find(samples.known_objects.begin(), samples.known_objects.end(), self) !=
                     samples.known_objects.end();
  model::TrafficMetricsList list;
  list.resource = self;
  for (const auto& edge : samples.edges) {
    if (edge.resource != self) continue;
    auto tm = NewItem(self, samples, query.window);
    tm.edge.direction = edge.direction;
    tm.edge.side = edge.side;
    tm.edge.resource = edge.peer;
    tm.metrics = MetricsFromCounts(edge.counts);
    list.items.push_back(std::move(tm));
  }
  if (!known && list.items.empty()) throw ObjectNotFound(query.kind, query.name);
  return list;
}

}  // namespace smi::aggregation
