#include "aggregation/traffic_metrics_service.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "aggregation/histogram_quantile.h"
#include "kube/cluster_state.h"
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
                                             const model::Clock& clock, Options options,
                                             const kube::ClusterState* cluster)
    : source_(source), clock_(clock), options_(options), cluster_(cluster) {}

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

std::optional<int> WorkloadKindRank(std::string_view kind_name) {
  if (kind_name == model::KindName(ResourceKind::kDeployment)) return 0;
  if (kind_name == model::KindName(ResourceKind::kStatefulSet)) return 1;
  if (kind_name == model::KindName(ResourceKind::kDaemonSet)) return 2;
  return std::nullopt;
}

sources::TrafficSamples TrafficMetricsService::Fetch(const MetricsQuery& query, bool edges,
                                                     bool all_workload_kinds) {
  CheckWindow(query.window);
  sources::SampleQuery sq;
  sq.all_workload_kinds = all_workload_kinds;
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

namespace {

// Workload rows of a multi-kind answer: every known workload (idle ones with zero counts) and
// every workload with traffic, keyed by (namespace, name, kind rank). The source is asked for the
// namespace and name already; the filter here only keeps what the resource is defined to hold.
using WorkloadRows = std::map<std::tuple<std::string, std::string, int>,
                              std::pair<ObjectReference, sources::TrafficCounts>>;

WorkloadRows CollectWorkloads(const sources::TrafficSamples& samples, const MetricsQuery& query) {
  WorkloadRows rows;
  const auto wanted = [&](const ObjectReference& ref) -> std::optional<int> {
    if (!query.ns.empty() && ref.ns != query.ns) return std::nullopt;
    if (!query.name.empty() && ref.name != query.name) return std::nullopt;
    return WorkloadKindRank(ref.kind);
  };
  for (const auto& ref : samples.known_objects) {
    if (const auto rank = wanted(ref)) rows[{ref.ns, ref.name, *rank}] = {ref, {}};
  }
  for (const auto& sample : samples.resources) {
    const auto& ref = sample.resource;
    if (const auto rank = wanted(ref)) rows[{ref.ns, ref.name, *rank}] = {ref, sample.counts};
  }
  return rows;
}

}  // namespace

model::TrafficMetricsList TrafficMetricsService::ListWorkloads(const MetricsQuery& query) {
  MetricsQuery q = query;
  q.name.clear();
  const auto samples = Fetch(q, /*edges=*/false, /*all_workload_kinds=*/true);
  model::TrafficMetricsList list;
  list.resource.ns = q.ns;
  for (const auto& [key, row] : CollectWorkloads(samples, q)) {
    auto tm = NewItem(row.first, samples, q.window);
    tm.metrics = MetricsFromCounts(row.second);
    list.items.push_back(std::move(tm));
  }
  return list;
}

model::TrafficMetrics TrafficMetricsService::GetWorkload(const MetricsQuery& query) {
  const auto samples = Fetch(query, /*edges=*/false, /*all_workload_kinds=*/true);
  const auto rows = CollectWorkloads(samples, query);
  // Keys sort by rank within one (namespace, name): the first row is the resolved kind.
  if (rows.empty()) throw ObjectNotFound(ResourceKind::kDeployment, query.name);
  const auto& [ref, counts] = rows.begin()->second;
  auto tm = NewItem(ref, samples, query.window);
  tm.metrics = MetricsFromCounts(counts);
  return tm;
}

model::TrafficMetricsList TrafficMetricsService::WorkloadEdges(const MetricsQuery& query) {
  const auto resolved = GetWorkload(query);
  MetricsQuery q = query;
  for (auto kind :
       {ResourceKind::kDeployment, ResourceKind::kStatefulSet, ResourceKind::kDaemonSet}) {
    if (model::KindName(kind) == resolved.resource.kind) q.kind = kind;
  }
  return Edges(q);
}

}  // namespace smi::aggregation
