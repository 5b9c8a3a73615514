#include "aggregation/traffic_metrics_service.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <map>
#include <set>
#include <tuple>

#include "aggregation/cluster_view.h"
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

bool FieldSelected(const MetricsQuery& q, const ObjectReference& ref);

// One item per row (a resource and its counts) that the field selector keeps, in the rows' order.
template <typename Rows>
void AppendItems(const Rows& rows, const MetricsQuery& query,
                 const sources::TrafficSamples& samples, model::TrafficMetricsList& list) {
  for (const auto& [key, row] : rows) {
    if (!FieldSelected(query, row.first)) continue;
    auto tm = NewItem(row.first, samples, query.window);
    tm.metrics = MetricsFromCounts(row.second);
    list.items.push_back(std::move(tm));
  }
}

// Without Kubernetes knowledge no label is known, so a label selector cannot be honoured.
void RequireNoLabelSelector(const MetricsQuery& q) {
  if (q.label_selector && !q.label_selector->MatchesEverything()) {
    throw std::invalid_argument(
        "labelSelector needs Kubernetes knowledge: this server runs without it (start it with "
        "--kubeconfig, --in-cluster or --kube-objects to filter by labels)");
  }
}

bool FieldSelected(const MetricsQuery& q, const ObjectReference& ref) {
  return !q.field_selector || q.field_selector->Matches(ref.ns, ref.name);
}

// The kinds of the `trafficmetrics` collection, in name-resolution order (docs/decisions.md,
// decisions 10 and 17): each pod's top-level controller.
constexpr ResourceKind kCollectionKinds[] = {
    ResourceKind::kDeployment, ResourceKind::kStatefulSet,           ResourceKind::kDaemonSet,
    ResourceKind::kReplicaSet, ResourceKind::kReplicationController, ResourceKind::kJob};

// Whether the object is a workload of the `trafficmetrics` collection: a ReplicaSet only when
// nothing controls it (a Deployment's ReplicaSets are its Deployment's there).
bool InCollection(const kube::ClusterSnapshot& snapshot, ResourceKind kind, std::string_view ns,
                  std::string_view name) {
  if (kind != ResourceKind::kReplicaSet) return ObjectExists(snapshot, kind, ns, name);
  const kube::Workload* rs = snapshot.FindWorkload(kube::WorkloadKind::kReplicaSet, ns, name);
  return rs && rs->meta.Controller() == nullptr;
}

// The workload a name means in the caches: the Deployment, else the StatefulSet, else the
// DaemonSet, else the ReplicaSet, ReplicationController or Job of that name (the order of
// docs/decisions.md, decision 10).
ResourceKind ResolveWorkload(const kube::ClusterSnapshot& snapshot, const MetricsQuery& q) {
  for (auto kind : kCollectionKinds) {
    if (InCollection(snapshot, kind, q.ns, q.name)) return kind;
  }
  throw ObjectNotFound(ResourceKind::kDeployment, q.name);
}

// The resource scope of the objects `q` names (a namespace is named without one).
sources::ResourceScope ScopeOf(const MetricsQuery& q) {
  return {q.kind, q.kind == ResourceKind::kNamespace ? "" : q.ns, q.name};
}

// Every workload kind at once, for the names `q` gives.
sources::AllWorkloads AllWorkloadsOf(const MetricsQuery& q) {
  return {q.kind == ResourceKind::kNamespace ? "" : q.ns, q.name};
}

// The edges of the object `q` names; pods without a name stand for every pod of the namespace.
sources::QueryShape EdgesShapeOf(const MetricsQuery& q) {
  if (q.kind == ResourceKind::kPod && q.name.empty()) {
    return sources::NamespacePodEdges{q.ns, std::nullopt};
  }
  return sources::ObjectEdges{q.kind, q.kind == ResourceKind::kNamespace ? "" : q.ns, q.name};
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
                                             const base::Clock& clock, Options options,
                                             const kube::ClusterState* cluster)
    : source_(source), clock_(clock), options_(options), cluster_(cluster) {}

std::chrono::milliseconds SmallestWindow(std::chrono::milliseconds scrape_interval) {
  return std::chrono::ceil<std::chrono::seconds>(2 * scrape_interval);
}

void TrafficMetricsService::CheckWindow(std::chrono::milliseconds window) const {
  if (window < options_.min_window) {
    throw InvalidWindow("window " + model::FormatGoDuration(window) +
                        " is shorter than the minimum of " +
                        model::FormatGoDuration(options_.min_window));
  }
  // Below two scrapes an increase has at most one sample and every object would read as idle
  // (docs/decisions.md, decision 21): refuse, naming the smallest window that works.
  const auto interval = source_.ScrapeInterval();
  const auto smallest = interval ? SmallestWindow(*interval) : std::chrono::milliseconds(0);
  smallest_window_seen_ms_.store(smallest.count());
  if (interval && window < smallest) {
    const std::string origin = source_.ScrapeIntervalOrigin();
    throw InvalidWindow("window " + model::FormatGoDuration(window) +
                        " is shorter than two scrapes of the mesh's proxies (every " +
                        model::FormatGoDuration(*interval) + (origin.empty() ? "" : "; " + origin) +
                        "), so it would hold at most one sample of each counter and read as no "
                        "traffic; the smallest window that can be answered is " +
                        model::FormatGoDuration(smallest));
  }
  const auto retention = source_.Retention();
  if (retention) retention_seen_ms_.store(retention->count());
  // Deleted pods must be remembered for as long as the longest window may reach back
  // (docs/decisions.md, decision 16).
  if (retention && cluster_) {
    cluster_->RememberDepartedPodsFor(*retention + options_.evaluation_delay +
                                      std::chrono::seconds(1));
  }
  if (retention && window > *retention) {
    const std::string hint = source_.RetentionHint();
    throw InvalidWindow("window " + model::FormatGoDuration(window) +
                        " is longer than the metrics source keeps data (" +
                        model::FormatGoDuration(*retention) + ")" +
                        (hint.empty() ? "" : "; " + hint));
  }
}

bool TrafficMetricsService::WindowAcceptedWithoutAsking(std::chrono::milliseconds window) const {
  const int64_t retention = retention_seen_ms_.load();
  return window >= options_.min_window && window.count() >= smallest_window_seen_ms_.load() &&
         retention >= 0 && window.count() <= retention;
}

std::optional<int> WorkloadKindRank(std::string_view kind_name) {
  if (kind_name == model::KindName(ResourceKind::kDeployment)) return 0;
  if (kind_name == model::KindName(ResourceKind::kStatefulSet)) return 1;
  if (kind_name == model::KindName(ResourceKind::kDaemonSet)) return 2;
  if (kind_name == model::KindName(ResourceKind::kReplicaSet)) return 3;
  if (kind_name == model::KindName(ResourceKind::kReplicationController)) return 4;
  if (kind_name == model::KindName(ResourceKind::kJob)) return 5;
  return std::nullopt;
}

AnswerBasis TrafficMetricsService::Basis() const {
  AnswerBasis basis;
  // The whole second `evaluation_delay` ago: a new request chooses it until the next second
  // passes that far back.
  basis.evaluated_at =
      std::chrono::floor<std::chrono::seconds>(clock_.Now() - options_.evaluation_delay);
  basis.current_until = basis.evaluated_at + std::chrono::seconds(1) + options_.evaluation_delay;
  if (cluster_) {
    std::string why;
    if (!cluster_->Synced(&why)) {
      throw NotReady("the Kubernetes object caches have not synced yet: " + why);
    }
    basis.snapshot = cluster_->Snapshot();
  }
  return basis;
}

bool TrafficMetricsService::StillCurrent(const std::vector<sources::SourceAnswer>& answers) {
  return answers.empty() || source_.StillAnswers(answers);
}

sources::TrafficSamples TrafficMetricsService::Fetch(AnswerBasis& basis,
                                                     std::chrono::milliseconds window,
                                                     sources::QueryShape shape) {
  CheckWindow(window);
  sources::SampleQuery sq;
  sq.shape = std::move(shape);
  sq.window = window;
  sq.at = basis.evaluated_at;
  auto samples = source_.Fetch(sq);
  samples.evaluated_at = sq.at;
  if (!samples.warnings.empty() || samples.answers.empty()) basis.reusable = false;
  for (auto& w : samples.warnings) {
    if (std::find(basis.warnings.begin(), basis.warnings.end(), w) == basis.warnings.end()) {
      basis.warnings.push_back(std::move(w));
    }
  }
  samples.warnings.clear();
  for (auto& answer : samples.answers) {
    if (answer.id == 0) basis.reusable = false;
    basis.source_answers.push_back(std::move(answer));
  }
  samples.answers.clear();
  return samples;
}

model::TrafficMetrics TrafficMetricsService::Get(const MetricsQuery& query) {
  auto basis = Basis();
  return Get(query, basis);
}

model::TrafficMetrics TrafficMetricsService::Get(const MetricsQuery& query, AnswerBasis& basis) {
  if (basis.snapshot) return GetFromCluster(query, basis);
  // Groups of pods only the caches can form: without them none exists (docs/decisions.md,
  // decision 17).
  if (IsPodGroupKind(query.kind)) throw ObjectNotFound(query.kind, query.name);
  const auto samples = Fetch(basis, query.window, ScopeOf(query));
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
  auto basis = Basis();
  return List(query, basis);
}

model::TrafficMetricsList TrafficMetricsService::List(const MetricsQuery& query,
                                                      AnswerBasis& basis) {
  if (basis.snapshot) return ListFromCluster(query, basis);
  RequireNoLabelSelector(query);
  if (IsPodGroupKind(query.kind)) {
    model::TrafficMetricsList list;
    list.resource.kind = model::KindName(query.kind);
    if (model::IsNamespaced(query.kind)) list.resource.ns = query.ns;
    return list;
  }
  const auto samples = Fetch(basis, query.window, ScopeOf(query));
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
  AppendItems(rows, query, samples, list);
  return list;
}

model::TrafficMetricsList TrafficMetricsService::Edges(const MetricsQuery& query) {
  auto basis = Basis();
  return Edges(query, basis);
}

model::TrafficMetricsList TrafficMetricsService::Edges(const MetricsQuery& query,
                                                       AnswerBasis& basis) {
  return EdgesOf(query, basis);
}

model::TrafficMetricsList TrafficMetricsService::EdgesOf(const MetricsQuery& query,
                                                         AnswerBasis& basis) {
  const kube::ClusterSnapshot* snapshot = basis.snapshot.get();
  // With the caches, existence is theirs alone (docs/decisions.md, decision 7); peers keep the
  // mesh's identity (docs/decisions.md, decision 6).
  if (snapshot && !ObjectExists(*snapshot, query.kind, query.ns, query.name)) {
    throw ObjectNotFound(query.kind, query.name);
  }
  if (IsPodGroupKind(query.kind)) {
    if (!snapshot) throw ObjectNotFound(query.kind, query.name);
    return PodGroupEdges(query, basis);
  }
  if (snapshot && CachedWorkloadKind(query.kind) &&
      (source_.SeriesNameWorkloads(query.kind) || source_.PodEdgesNamePeerPods())) {
    return WorkloadEdgesFromPods(query, basis);
  }
  const auto samples = Fetch(basis, query.window, EdgesShapeOf(query));
  const ObjectReference self = ObjectOf(query);
  const bool known = std::find(samples.known_objects.begin(), samples.known_objects.end(), self) !=
                     samples.known_objects.end();
  model::TrafficMetricsList list;
  list.resource = self;
  for (const auto& edge : samples.edges) {
    if (edge.resource != self || !HadTraffic(edge.counts)) continue;
    auto tm = NewItem(self, samples, query.window);
    tm.edge.direction = edge.direction;
    tm.edge.side = edge.side;
    tm.edge.resource = snapshot ? PeerOfItsOwnKind(*snapshot, edge.peer) : edge.peer;
    tm.metrics = MetricsFromCounts(edge.counts);
    list.items.push_back(std::move(tm));
  }
  if (!snapshot && !known && list.items.empty()) throw ObjectNotFound(query.kind, query.name);
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
  auto basis = Basis();
  return ListWorkloads(query, basis);
}

model::TrafficMetricsList TrafficMetricsService::ListWorkloads(const MetricsQuery& query,
                                                               AnswerBasis& basis) {
  MetricsQuery q = query;
  q.name.clear();
  if (basis.snapshot) return ListWorkloadsFromCluster(q, basis);
  RequireNoLabelSelector(q);
  const auto samples = Fetch(basis, q.window, AllWorkloadsOf(q));
  model::TrafficMetricsList list;
  list.resource.ns = q.ns;
  AppendItems(CollectWorkloads(samples, q), q, samples, list);
  return list;
}

model::TrafficMetrics TrafficMetricsService::GetWorkload(const MetricsQuery& query) {
  auto basis = Basis();
  return GetWorkload(query, basis);
}

model::TrafficMetrics TrafficMetricsService::GetWorkload(const MetricsQuery& query,
                                                         AnswerBasis& basis) {
  if (basis.snapshot) {
    MetricsQuery q = query;
    q.kind = ResolveWorkload(*basis.snapshot, query);
    return GetFromCluster(q, basis);
  }
  const auto samples = Fetch(basis, query.window, AllWorkloadsOf(query));
  const auto rows = CollectWorkloads(samples, query);
  // Keys sort by rank within one (namespace, name): the first row is the resolved kind.
  if (rows.empty()) throw ObjectNotFound(ResourceKind::kDeployment, query.name);
  const auto& [ref, counts] = rows.begin()->second;
  auto tm = NewItem(ref, samples, query.window);
  tm.metrics = MetricsFromCounts(counts);
  return tm;
}

model::TrafficMetricsList TrafficMetricsService::WorkloadEdges(const MetricsQuery& query) {
  auto basis = Basis();
  return WorkloadEdges(query, basis);
}

model::TrafficMetricsList TrafficMetricsService::WorkloadEdges(const MetricsQuery& query,
                                                               AnswerBasis& basis) {
  if (basis.snapshot) {
    // The caches resolve the name, so the request costs only the edge queries.
    MetricsQuery q = query;
    q.kind = ResolveWorkload(*basis.snapshot, query);
    return EdgesOf(q, basis);
  }
  const auto resolved = GetWorkload(query, basis);
  MetricsQuery q = query;
  for (auto kind :
       {ResourceKind::kDeployment, ResourceKind::kStatefulSet, ResourceKind::kDaemonSet}) {
    if (model::KindName(kind) == resolved.resource.kind) q.kind = kind;
  }
  return EdgesOf(q, basis);
}

// ---- Answers from the Kubernetes caches
// ----------------------------------------------------------

// A workload's edges rolled up from the pod edges of its namespace through the caches: its own
// pods by OwnerOf, and each peer pod to its owning workload of whichever kind (peers the caches
// cannot map keep the mesh's identity), so the answer does not depend on the series' workload
// labels.
model::TrafficMetricsList TrafficMetricsService::WorkloadEdgesFromPods(const MetricsQuery& query,
                                                                       AnswerBasis& basis) {
  const kube::ClusterSnapshot& snapshot = *basis.snapshot;
  // Where the series name the workload, its own edges are asked for by its name (peers the
  // series do not name as workloads of its kind come by pod); otherwise every pod edge of the
  // namespace, rolled up here.
  const sources::QueryShape shape =
      source_.SeriesNameWorkloads(query.kind)
          ? sources::QueryShape(
                sources::ObjectEdges{query.kind, query.ns, query.name, ResourceKind::kPod})
          : sources::QueryShape(sources::NamespacePodEdges{query.ns, query.kind});
  const auto samples = Fetch(basis, query.window, shape);
  const ObjectReference self = ReferenceOf(query.kind, query.ns, query.name);
  model::TrafficMetricsList list;
  list.resource = self;
  for (const auto& edge : RollUpPodEdges(snapshot, query.kind, self, samples.edges)) {
    if (!HadTraffic(edge.counts)) continue;
    auto tm = NewItem(self, samples, query.window);
    tm.edge.direction = edge.direction;
    tm.edge.side = edge.side;
    tm.edge.resource = edge.peer;
    tm.metrics = MetricsFromCounts(edge.counts);
    list.items.push_back(std::move(tm));
  }
  return list;
}

// The edges of a group of pods (a ReplicaSet, Job, Node, Service...) rolled up from pod edges
// through the caches: those of its namespace's pods, or of every pod for a node.
model::TrafficMetricsList TrafficMetricsService::PodGroupEdges(const MetricsQuery& query,
                                                               AnswerBasis& basis) {
  const kube::ClusterSnapshot& snapshot = *basis.snapshot;
  const std::string ns = model::IsNamespaced(query.kind) ? query.ns : "";
  const auto samples = Fetch(basis, query.window, sources::NamespacePodEdges{ns, std::nullopt});
  const ObjectReference self = ReferenceOf(query.kind, ns, query.name);
  model::TrafficMetricsList list;
  list.resource = self;
  for (const auto& edge : RollUpPodGroupEdges(snapshot, query.kind, self, samples.edges)) {
    if (!HadTraffic(edge.counts)) continue;  // decision 6, as for every other kind
    auto tm = NewItem(self, samples, query.window);
    tm.edge.direction = edge.direction;
    tm.edge.side = edge.side;
    tm.edge.resource = edge.peer;
    tm.metrics = MetricsFromCounts(edge.counts);
    list.items.push_back(std::move(tm));
  }
  return list;
}

sources::TrafficSamples TrafficMetricsService::FetchPods(const MetricsQuery& query,
                                                         AnswerBasis& basis) {
  MetricsQuery q = query;
  q.kind = ResourceKind::kPod;
  q.name.clear();
  return Fetch(basis, q.window, ScopeOf(q));
}

bool TrafficMetricsService::RollsUpPods(ResourceKind kind) const {
  return CachedWorkloadKind(kind).has_value() && !source_.SeriesNameWorkloads(kind);
}

std::map<ObjectReference, sources::TrafficCounts> TrafficMetricsService::CountsByObject(
    const kube::ClusterSnapshot& snapshot, ResourceKind kind,
    const sources::TrafficSamples& samples) const {
  if (IsPodGroupKind(kind)) return RollUpPodGroups(snapshot, kind, samples.resources);
  if (RollsUpPods(kind)) return RollUpPods(snapshot, samples.resources);
  std::map<ObjectReference, sources::TrafficCounts> out;
  for (const auto& sample : samples.resources) AddCounts(out[sample.resource], sample.counts);
  return out;
}

// Workloads of a kind the series name (SeriesNameWorkloads) are summed by that label at the
// source, asked for by name; other workloads are rolled up from their pods through the caches
// (deleted pods by the owner they had), so the answer does not depend on series that cannot
// name them. Pods and namespaces are what the source keys by (every series carries the namespace
// and pod target labels, and a namespace's series include those of pods that ended within the
// window, which the caches no longer hold).
model::TrafficMetrics TrafficMetricsService::GetFromCluster(const MetricsQuery& query,
                                                            AnswerBasis& basis) {
  const kube::ClusterSnapshot& snapshot = *basis.snapshot;
  if (!ObjectExists(snapshot, query.kind, query.ns, query.name)) {
    throw ObjectNotFound(query.kind, query.name);
  }
  const bool from_pods = RollsUpPods(query.kind) || IsPodGroupKind(query.kind);
  const auto samples =
      from_pods ? FetchPods(query, basis) : Fetch(basis, query.window, ScopeOf(query));
  const auto counts = CountsByObject(snapshot, query.kind, samples);
  const ObjectReference want = ReferenceOf(query.kind, query.ns, query.name);
  auto tm = NewItem(want, samples, query.window);
  const auto it = counts.find(want);
  tm.metrics = MetricsFromCounts(it == counts.end() ? sources::TrafficCounts{} : it->second);
  tm.annotations = PodGroupAnnotations(snapshot, want);
  return tm;
}

model::TrafficMetricsList TrafficMetricsService::ListFromCluster(const MetricsQuery& query,
                                                                 AnswerBasis& basis) {
  const kube::ClusterSnapshot& snapshot = *basis.snapshot;
  const std::string ns = model::IsNamespaced(query.kind) ? query.ns : "";
  const auto objects = SelectedObjects(snapshot, query.kind, ns,
                                       query.label_selector.value_or(kube::LabelSelector{}),
                                       query.field_selector.value_or(kube::FieldSelector{}));
  const bool from_pods = RollsUpPods(query.kind) || IsPodGroupKind(query.kind);
  const auto samples =
      from_pods ? FetchPods(query, basis) : Fetch(basis, query.window, ScopeOf(query));
  const auto counts = CountsByObject(snapshot, query.kind, samples);
  model::TrafficMetricsList list;
  list.resource.kind = model::KindName(query.kind);
  list.resource.ns = ns;
  if (query.label_selector) list.selector = EchoSelector(*query.label_selector);
  for (const auto& ref : objects) {
    auto tm = NewItem(ref, samples, query.window);
    const auto it = counts.find(ref);
    tm.metrics = MetricsFromCounts(it == counts.end() ? sources::TrafficCounts{} : it->second);
    tm.annotations = PodGroupAnnotations(snapshot, ref);
    list.items.push_back(std::move(tm));
  }
  return list;
}

model::TrafficMetricsList TrafficMetricsService::ListWorkloadsFromCluster(const MetricsQuery& query,
                                                                          AnswerBasis& basis) {
  const kube::ClusterSnapshot& snapshot = *basis.snapshot;
  const auto labels = query.label_selector.value_or(kube::LabelSelector{});
  const auto fields = query.field_selector.value_or(kube::FieldSelector{});
  // (namespace, name, kind rank) order, as without the caches.
  std::map<std::tuple<std::string, std::string, int>, ObjectReference> rows;
  for (auto kind : kCollectionKinds) {
    for (auto& ref : SelectedObjects(snapshot, kind, query.ns, labels, fields)) {
      if (!InCollection(snapshot, kind, ref.ns, ref.name)) continue;
      const int rank = *WorkloadKindRank(ref.kind);
      rows[{ref.ns, ref.name, rank}] = std::move(ref);
    }
  }
  // Summed by the series' workload labels where they name the workload, else rolled up from pods
  // through the caches: when the series name every kind of the collection, all of it is summed by
  // those labels; when they name the kinds of AllWorkloads (Deployments, StatefulSets and
  // DaemonSets) but not the others, those are summed by their labels and only the pods whose
  // series name no workload (a Job's, a bare ReplicaSet's or pod's) are rolled up, so the answer
  // costs what it returns rather than every pod's series; otherwise every pod is rolled up.
  const auto named = [&](ResourceKind k) { return source_.SeriesNameWorkloads(k); };
  const bool labelled =
      std::all_of(std::begin(kCollectionKinds), std::end(kCollectionKinds), named);
  const bool partly = !labelled && named(ResourceKind::kDeployment) &&
                      named(ResourceKind::kStatefulSet) && named(ResourceKind::kDaemonSet);
  // The pods are asked for at the same time as the workloads: the request waits for the slower
  // of the two, not their sum. (Should the workloads fail, the future's destructor waits.)
  AnswerBasis pods_basis;
  std::future<sources::TrafficSamples> unlabelled_pods;
  if (partly) {
    pods_basis.evaluated_at = basis.evaluated_at;
    pods_basis.current_until = basis.current_until;
    pods_basis.snapshot = basis.snapshot;
    unlabelled_pods = std::async(std::launch::async, [&] {
      sources::ResourceScope unlabelled{ResourceKind::kPod, query.ns, ""};
      unlabelled.without_workload_labels = true;
      return Fetch(pods_basis, query.window, unlabelled);
    });
  }
  const auto samples = labelled || partly ? Fetch(basis, query.window, AllWorkloadsOf(query))
                                          : FetchPods(query, basis);
  std::map<ObjectReference, sources::TrafficCounts> counts;
  if (labelled || partly) {
    for (const auto& sample : samples.resources) AddCounts(counts[sample.resource], sample.counts);
  } else {
    counts = RollUpPods(snapshot, samples.resources);
  }
  if (partly) {
    const auto pods = unlabelled_pods.get();
    for (auto& [ref, c] : RollUpPods(snapshot, pods.resources)) AddCounts(counts[ref], c);
    basis.reusable = basis.reusable && pods_basis.reusable;
    for (auto& answer : pods_basis.source_answers) basis.source_answers.push_back(answer);
    for (auto& w : pods_basis.warnings) {
      if (std::find(basis.warnings.begin(), basis.warnings.end(), w) == basis.warnings.end()) {
        basis.warnings.push_back(std::move(w));
      }
    }
  }
  model::TrafficMetricsList list;
  list.resource.ns = query.ns;
  if (query.label_selector) list.selector = EchoSelector(*query.label_selector);
  for (const auto& [key, ref] : rows) {
    auto tm = NewItem(ref, samples, query.window);
    const auto it = counts.find(ref);
    tm.metrics = MetricsFromCounts(it == counts.end() ? sources::TrafficCounts{} : it->second);
    list.items.push_back(std::move(tm));
  }
  return list;
}

}  // namespace smi::aggregation
