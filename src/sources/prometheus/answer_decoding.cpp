#include "sources/prometheus/answer_decoding.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>

#include "base/overloaded.h"
#include "sources/prometheus/api_decoding.h"

namespace smi::sources::prometheus {
namespace {

using Labels = std::map<std::string, std::string>;

const std::string* Find(const Labels& labels, const std::string& key) {
  auto it = labels.find(key);
  return it == labels.end() ? nullptr : &it->second;
}

bool Has(const Labels& labels, const std::string& key, std::string_view value) {
  const std::string* v = Find(labels, key);
  return v != nullptr && *v == value;
}

// The value of `smi_exists` on the rows of existence source `i` (as promql_builder.cpp sets it).
std::string ExistsTag(size_t i) { return i == 0 ? "true" : "true" + std::to_string(i); }

// The latency bound of a bucket row in seconds; nullopt when its `le` is missing or not a number.
std::optional<double> BucketBound(const Labels& labels, double units_per_second) {
  const std::string* le_text = Find(labels, "le");
  double le = 0;
  if (le_text == nullptr || !ParseSampleValue(*le_text, &le) || std::isnan(le)) {
    return std::nullopt;
  }
  return le / units_per_second;
}

std::string BadBucketsWarning(const std::string& what) {
  return "latency buckets without a numeric \"le\" label were ignored (query: " + what + ")";
}

// The object a row names through `o`; nullopt when its labels are missing or empty. `asked`: the
// kind asked about, for labels that do not say their kind.
std::optional<ObjectReference> Ref(const Labels& labels, const ObjectLabels& o,
                                   ResourceKind asked) {
  const ResourceKind kind = o.kind.value_or(asked);
  const std::string* name = Find(labels, o.name_label);
  if (name == nullptr || name->empty()) return std::nullopt;
  ObjectReference r;
  r.kind = std::string(model::KindName(kind));
  r.name = *name;
  if (kind != ResourceKind::kNamespace) {
    const std::string* ns = Find(labels, o.ns_label);
    if (ns == nullptr || ns->empty()) return std::nullopt;
    r.ns = *ns;
  }
  return r;
}

// The object of `kind` a row names through the labels `objects` has for that kind.
std::optional<ObjectReference> OfKind(const Labels& labels,
                                      const std::map<ResourceKind, ObjectLabels>& objects,
                                      ResourceKind kind) {
  auto it = objects.find(kind);
  return it == objects.end() ? std::nullopt : Ref(labels, it->second, kind);
}

// The workload a row names: the first of `workloads` whose labels are set (each has its kind).
std::optional<ObjectReference> OfWorkloads(const Labels& labels,
                                           const std::vector<ObjectLabels>& workloads) {
  for (const auto& w : workloads) {
    if (auto r = Ref(labels, w, *w.kind)) return r;
  }
  return std::nullopt;
}

// The rows of the counts and buckets answers of one resource-scope or edges query, added to the
// entry `entry(labels)` gives (nullptr: not traffic of the query), and the existence rows to
// known_objects through `known(labels, existence source)`. `what` names the query in warnings.
template <typename Known, typename Entry>
TrafficSamples ReadRows(const MeshProfile& profile, const std::vector<VectorSample>& counts,
                        const std::vector<VectorSample>& buckets, const std::string& what,
                        Known known, Entry entry) {
  const MeshProfileSpec& s = profile.spec();
  TrafficSamples out;
  for (const VectorSample& row : counts) {
    if (const std::string* tag = Find(row.labels, "smi_exists")) {
      for (size_t i = 0; i < s.existence.size(); ++i) {
        if (*tag != ExistsTag(i)) continue;
        if (auto r = known(row.labels, s.existence[i])) out.known_objects.push_back(std::move(*r));
      }
      continue;
    }
    // The entry first: a row of the query's objects makes them appear even when not counted.
    TrafficCounts* c = entry(row.labels);
    if (c == nullptr) continue;
    switch (profile.Classify(row.labels)) {
      case MeshProfile::RowClass::kFailure:
        c->failure += row.value;
        break;
      case MeshProfile::RowClass::kSuccess:
        c->success += row.value;
        break;
      case MeshProfile::RowClass::kNotCounted:
        break;
    }
  }
  bool bad_le = false;
  for (const VectorSample& row : buckets) {
    const std::optional<double> bound = BucketBound(row.labels, s.latency_units_per_second);
    if (!bound) {
      bad_le = true;
      continue;
    }
    TrafficCounts* c = entry(row.labels);
    if (c == nullptr) continue;
    // Two series may spell one bound differently ("1" and "1.0"): add, never overwrite.
    c->latency_buckets[*bound] += row.value;
  }
  std::sort(out.known_objects.begin(), out.known_objects.end());
  out.known_objects.erase(std::unique(out.known_objects.begin(), out.known_objects.end()),
                          out.known_objects.end());
  if (bad_le) out.warnings.push_back(BadBucketsWarning(what));
  return out;
}

bool IsWorkloadKind(ResourceKind kind) {
  return kind == ResourceKind::kDeployment || kind == ResourceKind::kStatefulSet ||
         kind == ResourceKind::kDaemonSet;
}

// The peer of `kind` a row of edges view `v` names (a workload by its own kind where the view
// says it: peer_workloads); nullopt when the mesh does not name it: labels missing or empty, or
// the name the mesh gives peers it does not know (unnamed_value).
std::optional<ObjectReference> PeerOf(const Labels& labels, const SeriesView& v,
                                      ResourceKind kind) {
  std::optional<ObjectReference> peer = IsWorkloadKind(kind) && !v.peer_workloads.empty()
                                            ? OfWorkloads(labels, v.peer_workloads)
                                            : OfKind(labels, v.peers, kind);
  if (peer && !v.unnamed_value.empty() &&
      (peer->name == v.unnamed_value || peer->ns == v.unnamed_value)) {
    return std::nullopt;
  }
  return peer;
}

// The peer of a row whose peer the mesh cannot name: kind Unknown, named by the host the client
// addressed (without its port) where the view records it (docs/decisions.md, decision 6).
ObjectReference UnnamedPeer(const Labels& labels, const SeriesView& v) {
  ObjectReference r;
  r.kind = std::string(kUnknownPeerKind);
  if (const std::string* host = v.host_label.empty() ? nullptr : Find(labels, v.host_label)) {
    std::string_view h = *host;
    if (const auto colon = h.rfind(':');
        colon != std::string_view::npos && colon + 1 < h.size() &&
        h.find(']', colon) == std::string_view::npos &&
        std::all_of(h.begin() + colon + 1, h.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      h = h.substr(0, colon);
    }
    r.name = std::string(h);
  }
  return r;
}

// The owner a pod's row names through `o` (ResourceSample::owner): kind empty when `o` does not
// say it; nullopt when the labels are missing or empty.
std::optional<ObjectReference> OwnerOf(const Labels& labels, const ObjectLabels& o) {
  auto r = Ref(labels, o, o.kind.value_or(ResourceKind::kDeployment));
  if (r && !o.kind) r->kind.clear();
  return r;
}

// Resource scope rows keyed by the object `self(labels)` names; with `pod_owner`, each keeps the
// owner its rows name (rows of one pod naming different owners: none).
template <typename Self>
TrafficSamples ResourceSamples(const MeshProfile& profile, const std::vector<VectorSample>& counts,
                               const std::vector<VectorSample>& buckets, const std::string& what,
                               Self self, const ObjectLabels* pod_owner = nullptr) {
  const MeshProfileSpec& s = profile.spec();
  std::map<ObjectReference, TrafficCounts> resources;
  // The owner of each object as its rows name it; nullopt once two rows disagree.
  std::map<ObjectReference, std::optional<ObjectReference>> owners;
  TrafficSamples out = ReadRows(
      profile, counts, buckets, what,
      [&](const Labels& labels, const ExistenceSource& e) {
        return self(labels, e.objects, e.workloads);
      },
      [&](const Labels& labels) -> TrafficCounts* {
        auto r = self(labels, s.resource.objects, s.resource.workloads);
        if (!r) return nullptr;
        if (pod_owner) {
          auto owner = OwnerOf(labels, *pod_owner);
          auto [it, inserted] = owners.try_emplace(*r, owner);
          if (!inserted && it->second != owner) it->second = std::nullopt;
        }
        return &resources[*r];
      });
  out.resources.reserve(resources.size());
  for (auto& [r, c] : resources) {
    const auto owner = owners.find(r);
    out.resources.push_back(ResourceSample{
        r, std::move(c), owner == owners.end() ? std::nullopt : std::move(owner->second)});
  }
  return out;
}

// Edge rows of objects of `kind` (tagged smi_edge by the query), keyed by object, direction, side,
// peer and, with `peer_kind`, the peer as an object of that kind.
TrafficSamples EdgeSamples(const MeshProfile& profile, const std::vector<VectorSample>& counts,
                           const std::vector<VectorSample>& buckets, const std::string& what,
                           ResourceKind kind, std::optional<ResourceKind> peer_kind) {
  const MeshProfileSpec& s = profile.spec();
  using EdgeKey =
      std::tuple<ObjectReference, Direction, Side, ObjectReference, std::optional<ObjectReference>>;
  std::map<EdgeKey, TrafficCounts> edges;
  TrafficSamples out = ReadRows(
      profile, counts, buckets, what,
      [&](const Labels& labels, const ExistenceSource& e) {
        return OfKind(labels, e.objects, kind);
      },
      [&](const Labels& labels) -> TrafficCounts* {
        for (const auto& [tag, view, direction] :
             {std::tuple{"to", &s.edges_to, Direction::kTo},
              std::tuple{"from", &s.edges_from, Direction::kFrom},
              std::tuple{"from_unnamed", s.edges_from_unnamed ? &*s.edges_from_unnamed : nullptr,
                         Direction::kFrom}}) {
          if (view == nullptr || !Has(labels, "smi_edge", tag)) continue;
          auto r = OfKind(labels, view->objects, kind);
          if (!r) return nullptr;
          std::optional<ObjectReference> peer;
          std::optional<ObjectReference> as_kind;
          if (!view->peers.empty()) {
            peer = PeerOf(labels, *view, kind);
            if (peer_kind) {
              as_kind = PeerOf(labels, *view, *peer_kind);
              if (!peer) peer = as_kind;
            }
          }
          // A peer the mesh cannot name is kept, never dropped (docs/decisions.md, decision 6).
          if (!peer) peer = UnnamedPeer(labels, *view);
          return &edges[EdgeKey{*r, direction, view->side, *peer, as_kind}];
        }
        return nullptr;
      });
  out.edges.reserve(edges.size());
  for (auto& [key, c] : edges) {
    const auto& [r, direction, side, peer, as_kind] = key;
    out.edges.push_back(EdgeSample{r, direction, side, peer, std::move(c), as_kind});
  }
  return out;
}

TrafficSamples SplitSamples(const MeshProfile& profile, const TrafficSplitBackends& q,
                            const std::vector<VectorSample>& counts,
                            const std::vector<VectorSample>& buckets) {
  const MeshProfileSpec& spec = profile.spec();
  const TrafficSplitView& v = *spec.traffic_split;
  using Key = std::tuple<std::string, std::string, std::string>;  // namespace, apex, backend
  std::map<Key, TrafficCounts> out_counts;
  // Every (split, backend) a row counts for: the row names a backend of a split in the split's
  // namespace and, where the mesh records the authority called, that split's apex.
  auto entries = [&](const Labels& labels) {
    std::vector<TrafficCounts*> out;
    const std::string* ns = Find(labels, v.ns_label);
    const std::string* backend = Find(labels, v.backend_label);
    if (ns == nullptr || backend == nullptr) return out;
    const std::string* authority =
        v.authority_label.empty() ? nullptr : Find(labels, v.authority_label);
    std::set<Key> seen;  // two identical splits count a row once each, not twice each
    for (const TrafficSplitQuery& split : q.splits) {
      if (split.ns != *ns) continue;
      if (std::find(split.backends.begin(), split.backends.end(), *backend) ==
          split.backends.end()) {
        continue;
      }
      if (!v.authority_label.empty() &&
          (authority == nullptr || !AuthorityNamesService(*authority, split.apex, split.ns))) {
        continue;
      }
      Key key{split.ns, split.apex, *backend};
      if (seen.insert(key).second) out.push_back(&out_counts[key]);
    }
    return out;
  };
  for (const VectorSample& row : counts) {
    const MeshProfile::RowClass cls = profile.Classify(row.labels);
    if (cls == MeshProfile::RowClass::kNotCounted) continue;
    const bool failure = cls == MeshProfile::RowClass::kFailure;
    for (TrafficCounts* c : entries(row.labels)) (failure ? c->failure : c->success) += row.value;
  }
  TrafficSamples out;
  bool bad_le = false;
  for (const VectorSample& row : buckets) {
    const std::optional<double> bound = BucketBound(row.labels, spec.latency_units_per_second);
    if (!bound) {
      bad_le = true;
      continue;
    }
    for (TrafficCounts* c : entries(row.labels)) c->latency_buckets[*bound] += row.value;
  }
  for (auto& [key, c] : out_counts) {
    const auto& [ns, apex, backend] = key;
    out.backends.push_back(BackendSample{ns, apex, backend, v.side, std::move(c)});
  }
  if (bad_le) out.warnings.push_back(BadBucketsWarning("trafficsplits"));
  return out;
}

}  // namespace

bool AuthorityNamesService(std::string_view authority, std::string_view apex, std::string_view ns) {
  std::string_view host = authority;
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = host.substr(colon + 1);
    if (port.empty() ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    host = host.substr(0, colon);
  }
  const std::string prefix = std::string(apex) + "." + std::string(ns) + ".svc.";
  return !apex.empty() && !ns.empty() && host.size() > prefix.size() &&
         host.compare(0, prefix.size(), prefix) == 0;
}

TrafficSamples ToSamples(const MeshProfile& profile, const SampleQuery& query,
                         const std::vector<VectorSample>& counts,
                         const std::vector<VectorSample>& buckets) {
  return std::visit(
      base::Overloaded{
          [&](const ResourceScope& q) {
            return ResourceSamples(
                profile, counts, buckets, std::string(KindLabel(q.kind)) + " resources",
                [&](const Labels& labels, const std::map<ResourceKind, ObjectLabels>& objects,
                    const std::vector<ObjectLabels>&) { return OfKind(labels, objects, q.kind); },
                q.kind == ResourceKind::kPod && profile.spec().resource.pod_owner
                    ? &*profile.spec().resource.pod_owner
                    : nullptr);
          },
          [&](const AllWorkloads&) {
            return ResourceSamples(
                profile, counts, buckets, "workloads resources",
                [&](const Labels& labels, const std::map<ResourceKind, ObjectLabels>&,
                    const std::vector<ObjectLabels>& workloads) {
                  return OfWorkloads(labels, workloads);
                });
          },
          [&](const ObjectEdges& q) {
            return EdgeSamples(profile, counts, buckets, std::string(KindLabel(q.kind)) + " edges",
                               q.kind, q.peer_kind);
          },
          [&](const NamespacePodEdges& q) {
            return EdgeSamples(profile, counts, buckets, "pod edges", ResourceKind::kPod,
                               q.peer_kind);
          },
          [&](const TrafficSplitBackends& q) { return SplitSamples(profile, q, counts, buckets); },
      },
      query.shape);
}

}  // namespace smi::sources::prometheus
