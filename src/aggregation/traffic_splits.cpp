// The `trafficsplits` resource (docs/spec-notes.md, "TrafficSplits"): the traffic sent to a
// TrafficSplit's apex service, one TrafficMetrics per backend, measured at the clients. What a
// split is (its apex, backends and weights) only the Kubernetes caches know; the numbers come from
// the source in one fetch (two queries) for every split of the answer.
#include <chrono>
#include <map>
#include <memory>
#include <tuple>

#include "aggregation/cluster_view.h"
#include "aggregation/traffic_metrics_service.h"
#include "kube/cluster_state.h"

namespace smi::aggregation {

using model::ObjectReference;

namespace {

constexpr std::string_view kTrafficSplitKind = "TrafficSplit";

ObjectReference SplitReference(const kube::TrafficSplit& split) {
  return ObjectReference{std::string(kTrafficSplitKind), split.meta.ns, split.meta.name, ""};
}

}  // namespace

// One item per backend of each split, in the splits' order and each split's backend order.
model::TrafficMetricsList TrafficMetricsService::SplitItems(
    AnswerBasis& basis, std::chrono::milliseconds window,
    const std::vector<const kube::TrafficSplit*>& splits) {
  const model::TimePoint at = basis.evaluated_at;
  model::TrafficMetricsList list;
  sources::TrafficSplitBackends query;
  for (const kube::TrafficSplit* split : splits) {
    sources::TrafficSplitQuery t{split->meta.ns, split->service, {}};
    for (const auto& backend : split->backends) t.backends.push_back(backend.service);
    if (!t.backends.empty()) query.splits.push_back(std::move(t));
  }
  sources::TrafficSamples samples;
  // Splits without backends have no items, and need no query.
  if (!query.splits.empty()) samples = Fetch(basis, window, std::move(query));
  using Key = std::tuple<std::string, std::string, std::string>;  // namespace, apex, backend
  std::map<Key, const sources::BackendSample*> by_backend;
  for (const auto& b : samples.backends) by_backend[{b.ns, b.apex, b.backend}] = &b;

  for (const kube::TrafficSplit* split : splits) {
    for (const auto& backend : split->backends) {
      model::TrafficMetrics tm;
      tm.resource = SplitReference(*split);
      tm.timestamp = at;
      tm.window = window;
      // Every request sent to the apex, measured by the clients: an empty (not null) resource.
      tm.edge.direction = model::Direction::kFrom;
      tm.edge.side = model::Side::kClient;
      tm.edge.resource = ObjectReference{};
      tm.backend = model::Backend{split->service, backend.service, backend.weight};
      const auto it = by_backend.find({split->meta.ns, split->service, backend.service});
      if (it != by_backend.end()) {
        tm.edge.side = it->second->side;
        tm.metrics = MetricsFromCounts(it->second->counts);
      } else {
        tm.metrics = MetricsFromCounts({});
      }
      list.items.push_back(std::move(tm));
    }
  }
  return list;
}

model::TrafficMetricsList TrafficMetricsService::GetTrafficSplit(const MetricsQuery& query) {
  CheckWindow(query.window);
  if (cluster_ == nullptr) throw ObjectNotFound(query.kind, query.name);
  auto basis = Basis();
  return GetTrafficSplit(query, basis);
}

model::TrafficMetricsList TrafficMetricsService::GetTrafficSplit(const MetricsQuery& query,
                                                                 AnswerBasis& basis) {
  CheckWindow(query.window);
  if (!basis.snapshot) throw ObjectNotFound(query.kind, query.name);
  const kube::TrafficSplit* split = basis.snapshot->FindTrafficSplit(query.ns, query.name);
  if (split == nullptr) throw ObjectNotFound(query.kind, query.name);
  auto list = SplitItems(basis, query.window, {split});
  list.resource = SplitReference(*split);
  return list;
}

model::TrafficMetricsList TrafficMetricsService::ListTrafficSplits(const MetricsQuery& query) {
  CheckWindow(query.window);
  auto basis = Basis();
  return ListTrafficSplits(query, basis);
}

model::TrafficMetricsList TrafficMetricsService::ListTrafficSplits(const MetricsQuery& query,
                                                                   AnswerBasis& basis) {
  CheckWindow(query.window);
  model::TrafficMetricsList list;
  if (basis.snapshot) {
    const auto& snapshot = basis.snapshot;
    // Selectors filter the TrafficSplit objects (docs/decisions.md, decision 8), as for every
    // other list.
    std::vector<const kube::TrafficSplit*> splits;
    for (const auto* split : snapshot->TrafficSplits(query.ns)) {
      if (kube::Selected(split->meta, query.label_selector.value_or(kube::LabelSelector{}),
                         query.field_selector.value_or(kube::FieldSelector{}))) {
        splits.push_back(split);
      }
    }
    list = SplitItems(basis, query.window, splits);
  }
  if (query.label_selector) list.selector = EchoSelector(*query.label_selector);
  list.resource = ObjectReference{std::string(kTrafficSplitKind), query.ns, "", ""};
  return list;
}

}  // namespace smi::aggregation
