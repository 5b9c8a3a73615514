// Turns source samples into TrafficMetrics: which objects exist, quantiles, zeros for idle objects.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/clock.h"
#include "kube/field_selector.h"
#include "kube/label_selector.h"
#include "model/traffic_metrics.h"
#include "sources/traffic_source.h"

namespace smi::kube {
class ClusterState;
class ClusterSnapshot;
struct TrafficSplit;
}  // namespace smi::kube

namespace smi::aggregation {

// What the API layer asks for, already validated (names are DNS-1123, the window is in range).
struct MetricsQuery {
  model::ResourceKind kind = model::ResourceKind::kDeployment;
  std::string ns;    // empty: all namespaces (lists only); unused for namespaces
  std::string name;  // empty for lists
  std::chrono::milliseconds window{30000};
  // Lists only (docs/decisions.md, decision 8): which objects appear; never which series are
  // summed. Label selectors need Kubernetes knowledge (std::invalid_argument without it); the
  // field selector (metadata.name, metadata.namespace) also filters what the series name.
  std::optional<kube::LabelSelector> label_selector;
  std::optional<kube::FieldSelector> field_selector;
};

// The object asked for does not exist (docs/decisions.md, decision 7: 404, never made-up zeros).
class ObjectNotFound : public std::runtime_error {
 public:
  ObjectNotFound(model::ResourceKind kind, std::string name)
      : std::runtime_error("not found"), kind_(kind), name_(std::move(name)) {}
  model::ResourceKind kind() const { return kind_; }
  const std::string& name() const { return name_; }

 private:
  model::ResourceKind kind_;
  std::string name_;
};

// The server cannot answer yet, through no fault of the backend: the Kubernetes caches have not
// synced, so an answer could miss objects. The API answers 503 with the message.
class NotReady : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The window the user asked for cannot be served (too short, or beyond the source's retention).
class InvalidWindow : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// What one answer is computed from: the evaluation second and the Kubernetes caches' snapshot that
// every part of a request uses, and the source answers the computation used. Equal queries on
// equal bases give equal answers, byte for byte, whoever asks; the API reuses encoded answers on
// that ground (docs/serving.md, "Answer cache").
struct AnswerBasis {
  model::TimePoint evaluated_at;  // a whole second
  // The wall-clock time until which a request starting now would choose `evaluated_at`.
  model::TimePoint current_until;
  std::shared_ptr<const kube::ClusterSnapshot> snapshot;  // null: no Kubernetes knowledge
  // Filled while answering: every source answer used, and whether each can be recognised again
  // (a source answer with warnings or without an id makes the answer not reusable).
  std::vector<sources::SourceAnswer> source_answers;
  bool reusable = true;
  // Filled while answering: what the source said about its answers (backend warnings, partial
  // answers, buckets it could not read), each once, for the client (docs/kubernetes-api.md,
  // "Warnings").
  std::vector<std::string> warnings;
};

class TrafficMetricsService {
 public:
  struct Options {
    // Evaluation happens at the whole second at least this far in the past, so that a scrape
    // still in flight at "now" cannot change the answer after it was given.
    std::chrono::milliseconds evaluation_delay{1000};
    std::chrono::milliseconds min_window{1000};
    // The window of a request that does not ask for one (docs/decisions.md, decision 4).
    std::chrono::milliseconds default_window{30000};
  };

  // `cluster`: what the Kubernetes caches know (objects, TrafficSplits); nullptr when the server
  // runs without Kubernetes knowledge. Not owned; must outlive the service.
  TrafficMetricsService(sources::TrafficSource& source, const base::Clock& clock, Options options,
                        const kube::ClusterState* cluster = nullptr);

  // The basis a request starting now answers from. Throws NotReady until the Kubernetes caches
  // have synced.
  AnswerBasis Basis() const;
  // Whether the source still holds every one of `answers` (AnswerBasis::source_answers), so that
  // an answer computed from them is what computing it again on the same basis gives.
  bool StillCurrent(const std::vector<sources::SourceAnswer>& answers);

  // Each request below comes in two forms: on a basis the caller took with Basis() (which the
  // call completes with the source answers it used), or on a basis of its own.

  // One object's resource scope. Throws ObjectNotFound, InvalidWindow, NotReady,
  // sources::SourceUnavailable.
  model::TrafficMetrics Get(const MetricsQuery& query);
  model::TrafficMetrics Get(const MetricsQuery& query, AnswerBasis& basis);
  // Every known object of the kind (in the namespace, or everywhere), idle ones with zero counts.
  model::TrafficMetricsList List(const MetricsQuery& query);
  model::TrafficMetricsList List(const MetricsQuery& query, AnswerBasis& basis);
  // The edges of one object: one item per (direction, side, peer).
  model::TrafficMetricsList Edges(const MetricsQuery& query);
  model::TrafficMetricsList Edges(const MetricsQuery& query, AnswerBasis& basis);

  // The `trafficmetrics` resource (docs/decisions.md, decisions 10 and 17): workload-level
  // TrafficMetrics of every workload kind (Deployment, StatefulSet, DaemonSet; with the caches
  // also ReplicaSets no Deployment controls, ReplicationControllers and Jobs) at once, in the two
  // queries of one kind; `query.kind` is ignored. Items are ordered by namespace, name, then kind
  // in that order.
  model::TrafficMetricsList ListWorkloads(const MetricsQuery& query);
  model::TrafficMetricsList ListWorkloads(const MetricsQuery& query, AnswerBasis& basis);
  // One workload by name. A name shared by workloads of several kinds resolves to the first of
  // Deployment, StatefulSet, DaemonSet. Throws ObjectNotFound when no workload has the name.
  model::TrafficMetrics GetWorkload(const MetricsQuery& query);
  model::TrafficMetrics GetWorkload(const MetricsQuery& query, AnswerBasis& basis);
  // The edges of the workload GetWorkload resolves (one resource-scope fetch, then the edges).
  model::TrafficMetricsList WorkloadEdges(const MetricsQuery& query);
  model::TrafficMetricsList WorkloadEdges(const MetricsQuery& query, AnswerBasis& basis);

  // The `trafficsplits` resource (docs/spec-notes.md, "TrafficSplits"; traffic_splits.cpp): one
  // item per backend of each TrafficSplit in the Kubernetes caches, with `backend {apex, name,
  // weight}` from the object and the traffic sent to the apex and routed to that backend,
  // measured at the clients (`edge {from, client, resource: {}}`). Without Kubernetes knowledge
  // no split exists: Get throws ObjectNotFound and List is empty. Throws NotReady until the
  // caches have synced.
  model::TrafficMetricsList GetTrafficSplit(const MetricsQuery& query);
  model::TrafficMetricsList GetTrafficSplit(const MetricsQuery& query, AnswerBasis& basis);
  model::TrafficMetricsList ListTrafficSplits(const MetricsQuery& query);
  model::TrafficMetricsList ListTrafficSplits(const MetricsQuery& query, AnswerBasis& basis);

  // Rejects windows the source cannot answer; the message is what the user reads.
  void CheckWindow(std::chrono::milliseconds window) const;
  // Whether CheckWindow accepted `window` the last time it knew the source's retention, without
  // asking the source now (which may wait on the backend). False also while no retention has
  // been seen.
  bool WindowAcceptedWithoutAsking(std::chrono::milliseconds window) const;
  std::chrono::milliseconds default_window() const { return options_.default_window; }

 private:
  // Asks the source for `shape` over `window`, evaluated at the basis' second, and records the
  // source answers used in `basis`.
  sources::TrafficSamples Fetch(AnswerBasis& basis, std::chrono::milliseconds window,
                                sources::QueryShape shape);
  // The resource scope of every pod in `ns` (empty: everywhere), to roll up to owners.
  sources::TrafficSamples FetchPods(const MetricsQuery& query, AnswerBasis& basis);
  // Whether objects of `kind` are rolled up from pods through the caches: workload kinds the
  // source's series do not name (TrafficSource::SeriesNameWorkloads).
  bool RollsUpPods(model::ResourceKind kind) const;
  // Counts of the objects of `query.kind` in the samples: rolled up from pods where RollsUpPods
  // (the samples are then FetchPods'), as the source keyed them otherwise.
  std::map<model::ObjectReference, sources::TrafficCounts> CountsByObject(
      const kube::ClusterSnapshot& snapshot, model::ResourceKind kind,
      const sources::TrafficSamples& samples) const;
  // Get/List/ListWorkloads/GetWorkload answered from the caches' objects (basis.snapshot).
  model::TrafficMetrics GetFromCluster(const MetricsQuery& query, AnswerBasis& basis);
  model::TrafficMetricsList ListFromCluster(const MetricsQuery& query, AnswerBasis& basis);
  model::TrafficMetricsList EdgesOf(const MetricsQuery& query, AnswerBasis& basis);
  // With the caches, a workload's edges: asked for by its name where the series name it, else,
  // with a source whose pod edges name peer pods, rolled up from the edges of every pod of its
  // namespace (one edge fetch either way); peer pods become their owners of the same kind.
  model::TrafficMetricsList WorkloadEdgesFromPods(const MetricsQuery& query, AnswerBasis& basis);
  model::TrafficMetricsList ListWorkloadsFromCluster(const MetricsQuery& query, AnswerBasis& basis);
  // The edges of a pod-group kind's object (cluster_view.h, IsPodGroupKind) from pod edges.
  model::TrafficMetricsList PodGroupEdges(const MetricsQuery& query, AnswerBasis& basis);
  // The items of TrafficSplits' backends (traffic_splits.cpp).
  model::TrafficMetricsList SplitItems(AnswerBasis& basis, std::chrono::milliseconds window,
                                       const std::vector<const kube::TrafficSplit*>& splits);

  sources::TrafficSource& source_;
  const base::Clock& clock_;
  Options options_;
  const kube::ClusterState* cluster_ = nullptr;
  // The source's retention as CheckWindow last saw it, in ms; -1: never known.
  mutable std::atomic<int64_t> retention_seen_ms_{-1};
  // The smallest window CheckWindow last allowed for the scrape interval, in ms; 0: none known.
  mutable std::atomic<int64_t> smallest_window_seen_ms_{0};
};

// The smallest window the data can answer when proxies are scraped every `scrape_interval`: two
// intervals, rounded up to a whole second (docs/decisions.md, decision 21).
std::chrono::milliseconds SmallestWindow(std::chrono::milliseconds scrape_interval);

// The five metrics for one key, in the spec's order. Latencies are omitted when there were no
// observations (docs/decisions.md, decision 7: never NaN, never a made-up 0 latency).
std::vector<model::Metric> MetricsFromCounts(const sources::TrafficCounts& counts);

// The workload kinds the `trafficmetrics` resource covers, in name-resolution order:
// 0 Deployment, 1 StatefulSet, 2 DaemonSet, 3 ReplicaSet, 4 ReplicationController, 5 Job (the
// last three with Kubernetes knowledge only); nullopt for any other kind name.
std::optional<int> WorkloadKindRank(std::string_view kind_name);

}  // namespace smi::aggregation
