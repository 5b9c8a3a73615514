// The border between aggregation and the sources of numbers: "increases over the window, per key".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/traffic_metrics.h"

namespace smi::sources {

using model::Direction;
using model::ObjectReference;
using model::ResourceKind;
using model::Side;
using model::TimePoint;

// One TrafficSplit's definition as the Kubernetes caches hold it (docs/spec-notes.md,
// TrafficSplit semantics): the apex service clients call and the backend services it routes to,
// all in namespace `ns`.
struct TrafficSplitQuery {
  std::string ns;
  std::string apex;
  std::vector<std::string> backends;
};

// The shapes of what aggregation asks a source for. A source answers every one of them (it visits
// SampleQuery::shape with a case per shape, so a new shape is a compile error until it is handled).

// The resource scope of objects of one kind: their inbound traffic, measured at the server side.
// Answered in TrafficSamples::resources.
struct ResourceScope {
  ResourceKind kind = ResourceKind::kDeployment;
  std::string ns;    // empty: all namespaces (for kind == kNamespace: unused)
  std::string name;  // empty: every object of the kind (in `ns`)
  // kPod only: just the pods whose series name no workload (every label of the source's
  // AllWorkloads is empty), which are exactly the series AllWorkloads does not count.
  bool without_workload_labels = false;
};

// The resource scope of every workload kind at once (deployments, statefulsets and daemonsets;
// `name` then matches a workload of any of them). This is what the `trafficmetrics` resource
// lists, in the same number of queries as one kind. Answered in TrafficSamples::resources.
struct AllWorkloads {
  std::string ns;    // empty: all namespaces
  std::string name;  // empty: every workload (in `ns`)
};

// The edges of one named object: traffic between it and its peers, both directions. Answered in
// TrafficSamples::edges.
struct ObjectEdges {
  ResourceKind kind = ResourceKind::kDeployment;
  std::string ns;  // the object's namespace (for kind == kNamespace: unused)
  std::string name;
  // kPod, for a workload kind the series name (TrafficSource::SeriesNameWorkloads): peers the
  // series do not name as objects of `kind` are kept, named by their pod where the series say
  // (then also in EdgeSample::peer_as_kind). nullopt: such peers are left out.
  std::optional<ResourceKind> peer_kind = std::nullopt;
};

// The edges of every pod of namespace `ns` (for `from` edges: callers anywhere whose peer pods are
// in `ns`), which aggregation rolls up to workloads through the Kubernetes caches. Answered in
// TrafficSamples::edges.
struct NamespacePodEdges {
  std::string ns;  // empty: every pod of every namespace (what the edges of a node need)
  // Also name each peer as the mesh names it as an object of this kind (EdgeSample::peer_as_kind),
  // where the series do; peers without a pod are then kept with that identity alone instead of
  // being left out. Not kPod.
  std::optional<ResourceKind> peer_kind;
};

// The traffic sent to these splits' apex services and routed to each of their backends, measured
// at the clients, in the same two queries however many splits there are. Answered in
// TrafficSamples::backends.
struct TrafficSplitBackends {
  std::vector<TrafficSplitQuery> splits;  // at least one
};

using QueryShape =
    std::variant<ResourceScope, AllWorkloads, ObjectEdges, NamespacePodEdges, TrafficSplitBackends>;

// What aggregation asks a source for.
struct SampleQuery {
  QueryShape shape;
  std::chrono::milliseconds window{30000};
  TimePoint at;  // evaluation time, a whole second
};

// Increases over the window for one key.
struct TrafficCounts {
  double success = 0;
  double failure = 0;
  // Latency histogram: upper bound in seconds (+Inf included) -> increase of that cumulative
  // bucket.
  std::map<double, double> latency_buckets;
};

// The resource scope of one object: its inbound traffic measured at the server side.
struct ResourceSample {
  ObjectReference resource;
  TrafficCounts counts;
  // For a pod: the workload its series name as its owner, where they do (a mesh profile's
  // `pod_owner`); `kind` empty when the series do not say the workload's kind. Aggregation uses
  // it only for pods the Kubernetes caches never knew (docs/decisions.md, decision 16).
  std::optional<ObjectReference> owner = std::nullopt;
};

// The kind of a peer the mesh cannot name: an unmeshed caller, or a destination the series do not
// identify (docs/decisions.md, decision 6). Not a Kubernetes kind, so that no client takes it for
// an object it could look up; its name is the host the client addressed where the mesh records
// it, else empty, and it has no namespace.
inline constexpr std::string_view kUnknownPeerKind = "Unknown";

// Traffic between `resource` and `peer`, in `direction`, measured at `side`.
struct EdgeSample {
  ObjectReference resource;
  Direction direction = Direction::kTo;
  Side side = Side::kClient;
  ObjectReference peer;
  TrafficCounts counts;
  // Edges of every pod of a namespace with NamespacePodEdges::peer_kind: the peer as the mesh names
  // it as an object of that kind (e.g. its Deployment), when the series say. `peer` is then the
  // peer pod, or this same reference when the series name no peer pod.
  std::optional<ObjectReference> peer_as_kind = std::nullopt;
};

// Traffic sent to the apex service `apex` (in `ns`) and routed to the backend service `backend`,
// measured at the clients.
struct BackendSample {
  std::string ns;
  std::string apex;
  std::string backend;
  Side side = Side::kClient;  // where the traffic was measured
  TrafficCounts counts;
};

// One answer of the backend that samples were computed from, as the source can recognise it again:
// `question` is what was asked (for Prometheus, the PromQL text), `at` the evaluation time, `id`
// the answer the source keeps for that question. id 0: an answer the source does not keep (it
// carried warnings, or the source's cache is off), so it cannot be recognised again. What is
// computed from answers the source still holds is what computing again would give; the API's
// answer cache relies on that (docs/serving.md, "Answer cache").
struct SourceAnswer {
  std::string question;
  TimePoint at;
  uint64_t id = 0;
};

struct TrafficSamples {
  TimePoint evaluated_at;
  // Objects the source knows to exist at evaluation time (even if idle), matching the query.
  std::vector<ObjectReference> known_objects;
  std::vector<ResourceSample> resources;  // ResourceScope, AllWorkloads
  std::vector<EdgeSample> edges;          // ObjectEdges, NamespacePodEdges
  std::vector<BackendSample> backends;    // TrafficSplitBackends (with traffic only)
  std::vector<std::string> warnings;      // non-fatal notes from the backend
  std::vector<SourceAnswer> answers;      // what the samples were computed from
};

// The backend could not answer: unreachable, timed out, refused the query or answered garbage.
// The message names the backend and the cause; the API answers 503 with it.
class SourceUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TrafficSource {
 public:
  virtual ~TrafficSource() = default;
  // Throws SourceUnavailable.
  virtual TrafficSamples Fetch(const SampleQuery& query) = 0;
  // Whether the backend answers right now (for /readyz); on failure `why` says what is wrong.
  virtual bool Ready(std::string* why) = 0;
  // How far back the backend keeps data, if it knows; windows beyond it are rejected.
  virtual std::optional<std::chrono::milliseconds> Retention() const { return std::nullopt; }
  // What a user can do about a window beyond Retention(), for the error (e.g. the flag to raise);
  // empty: nothing to add.
  virtual std::string RetentionHint() const { return ""; }
  // How often the mesh's proxies are scraped, if the source knows: its own scrape interval, or
  // learned from the series. A window shorter than two scrapes holds at most one sample of a
  // counter, which is no increase, so it would read as no traffic; such windows are refused
  // (docs/decisions.md, decision 21). nullopt: not known (only the 1s minimum applies).
  virtual std::optional<std::chrono::milliseconds> ScrapeInterval() const { return std::nullopt; }
  // Where ScrapeInterval() comes from, for the error ("--sidecar-interval", ...).
  virtual std::string ScrapeIntervalOrigin() const { return ""; }
  // Whether edges of pods name the peer pod on both ends (both directions), so that workload
  // edges can be rolled up from pod edges through the Kubernetes caches.
  virtual bool PodEdgesNamePeerPods() const { return false; }
  // Whether the series name workloads of `kind` by a label of their own, reliably: then a
  // workload's resource scope and edges are asked for by its name (ResourceScope, ObjectEdges
  // with peer_kind kPod) and summed by the source, rather than rolled up from pods through the
  // Kubernetes caches; so the traffic of its pods that ended within the window stays in.
  virtual bool SeriesNameWorkloads(ResourceKind kind) const {
    (void)kind;
    return false;
  }
  // Whether the source still holds each of `answers` (from TrafficSamples::answers) as its answer
  // to that question at that time, so that a new Fetch would be computed from the same answers.
  // A source that cannot tell says false: nothing computed from its samples is then reused.
  virtual bool StillAnswers(const std::vector<SourceAnswer>& answers) {
    (void)answers;
    return false;
  }
};

}  // namespace smi::sources
