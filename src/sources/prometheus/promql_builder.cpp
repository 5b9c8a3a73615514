#include "sources/prometheus/promql_builder.h"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <variant>
#include <vector>

#include "base/overloaded.h"
#include "model/duration.h"
#include "model/kube_names.h"
#include "sources/prometheus/promql_escape.h"

namespace smi::sources::prometheus {
namespace {

// A list of label names without repeats, in first-seen order.
class LabelList {
 public:
  LabelList& Add(const std::string& label) {
    if (!label.empty() && std::find(items_.begin(), items_.end(), label) == items_.end()) {
      items_.push_back(label);
    }
    return *this;
  }
  LabelList& Add(const ObjectLabels& o) { return Add(o.ns_label).Add(o.name_label); }
  LabelList& Add(const std::vector<std::string>& labels) {
    for (const auto& l : labels) Add(l);
    return *this;
  }
  LabelList& Add(const LabelList& labels) { return Add(labels.items_); }
  std::string Join() const {
    std::string out;
    for (const auto& l : items_) {
      if (!out.empty()) out += ", ";
      out += l;
    }
    return out;
  }

 private:
  std::vector<std::string> items_;
};

std::string JoinMatchers(const std::vector<std::string>& matchers) {
  std::string out;
  for (const auto& m : matchers) {
    if (!out.empty()) out += ", ";
    out += m;
  }
  return out;
}

std::string NotEmpty(const std::string& label) { return label + "!=\"\""; }

std::string SumIncrease(const std::string& grouping, const std::string& metric,
                        const std::string& matchers, const std::string& window) {
  return "sum by (" + grouping + ") (increase(" + metric + "{" + matchers + "}[" + window + "]))";
}

std::string LabelReplace(const std::string& expr, std::string_view label, std::string_view value) {
  return "label_replace(" + expr + ", \"" + std::string(label) + "\", \"" + std::string(value) +
         "\", \"\", \"\")";
}

// The `smi_edge` of the rows of edges.from_unnamed (answer_decoding.cpp reads it).
constexpr std::string_view kFromUnnamedTag = "from_unnamed";

// The value of `smi_exists` on the rows of existence source `i` (answer_decoding.cpp reads it).
std::string ExistsTag(size_t i) { return i == 0 ? "true" : "true" + std::to_string(i); }

// --- Validation of the request values that reach a query -----------------------------------------

[[noreturn]] void Reject(const std::string& what, const std::string& value) {
  throw std::invalid_argument(what + " \"" + EscapeLabelValue(value) +
                              "\" is not a valid Kubernetes name");
}

void CheckNamespace(const std::string& ns) {
  if (!ns.empty() && !model::IsDns1123Label(ns)) Reject("namespace", ns);
}

// A namespace is named by its name alone; other objects by a namespace and a name.
void CheckObject(ResourceKind kind, const std::string& ns, const std::string& name) {
  if (kind == ResourceKind::kNamespace) {
    if (!name.empty() && !model::IsDns1123Label(name)) Reject("namespace", name);
    return;
  }
  CheckNamespace(ns);
  if (!name.empty() && !model::IsDns1123Subdomain(name)) Reject("name", name);
}

void Validate(const ResourceScope& q) { CheckObject(q.kind, q.ns, q.name); }

void Validate(const AllWorkloads& q) { CheckObject(ResourceKind::kDeployment, q.ns, q.name); }

void Validate(const ObjectEdges& q) {
  CheckObject(q.kind, q.ns, q.name);
  if (q.peer_kind && (q.peer_kind != ResourceKind::kPod || q.kind == ResourceKind::kPod ||
                      q.kind == ResourceKind::kNamespace)) {
    throw std::invalid_argument("peers of a workload's edges can only be named by their pod");
  }
  if (q.kind == ResourceKind::kNamespace) {
    if (q.name.empty())
      throw std::invalid_argument("edges of a namespace need the namespace's name");
    return;
  }
  if (q.ns.empty() || q.name.empty()) {
    throw std::invalid_argument("edges need the object's namespace and name");
  }
}

// An empty namespace: the edges of every pod everywhere (the edges of a node).
void Validate(const NamespacePodEdges& q) {
  CheckNamespace(q.ns);
  if (q.peer_kind == ResourceKind::kPod) {
    throw std::invalid_argument("the peer kind of pod edges must be another kind than pods");
  }
}

void Validate(const TrafficSplitBackends& q) {
  if (q.splits.empty()) throw std::invalid_argument("a trafficsplits query needs a split");
  // Only the namespace reaches the query; apex and backends are compared in C++.
  for (const auto& split : q.splits) {
    if (!model::IsDns1123Label(split.ns)) Reject("namespace", split.ns);
  }
}

// --- Composition ---------------------------------------------------------------------------------

// The edges of `kind` objects asked about: one named object (`name`), or every pod of `ns`
// (kind Pod, empty name), then optionally with the peers' identity as `peer_kind` objects.
struct EdgeTarget {
  ResourceKind kind;
  const std::string& ns;
  const std::string& name;
  std::optional<ResourceKind> peer_kind;
};

// The engine for one profile and window; holds what every part needs.
class Builder {
 public:
  Builder(const MeshProfileSpec& s, std::chrono::milliseconds window)
      : s_(s), window_(model::FormatPromDuration(window)) {}

  ProfileQueries Resources(const ResourceScope& q) const {
    // Pods are also grouped by the owner the series name (one per pod, so no row is split), for
    // pods the Kubernetes caches never knew (docs/decisions.md, decision 16).
    std::vector<std::string> owner;
    if (q.kind == ResourceKind::kPod && s_.resource.pod_owner) {
      owner = {s_.resource.pod_owner->ns_label, s_.resource.pod_owner->name_label};
    }
    const auto with_owner = [&](std::vector<std::string> labels) {
      labels.insert(labels.begin(), owner.begin(), owner.end());
      return labels;
    };
    // Pods whose series name no workload: every workload label of the resource view is empty.
    std::vector<Matcher> unlabelled;
    if (q.without_workload_labels) {
      if (q.kind != ResourceKind::kPod || s_.resource.workloads.empty()) {
        throw std::invalid_argument("the " + s_.name +
                                    " mesh profile cannot tell pods without workload labels");
      }
      for (const auto& w : s_.resource.workloads) {
        unlabelled.push_back(Matcher{w.name_label, "=", "", ""});
      }
    }
    const auto selector = [&](const std::vector<Matcher>& base) {
      std::vector<Matcher> out = base;
      out.insert(out.end(), unlabelled.begin(), unlabelled.end());
      return out;
    };
    ProfileQueries out;
    out.counts =
        ScopeOfKind(s_.requests_metric, selector(s_.resource.selector), s_.resource.objects, q.kind,
                    q.ns, q.name, with_owner(s_.classification.labels), true);
    out.buckets = ScopeOfKind(s_.latency_bucket_metric, selector(s_.resource.selector),
                              s_.resource.objects, q.kind, q.ns, q.name, with_owner({"le"}), true);
    out.counts += ExistenceOfKind(q.kind, q.ns, q.name, unlabelled);
    return out;
  }

  ProfileQueries Workloads(const AllWorkloads& q) const {
    ProfileQueries out;
    out.counts = ScopeOfWorkloads(s_.requests_metric, s_.resource.selector, s_.resource.workloads,
                                  q.ns, q.name, s_.classification.labels, true);
    out.buckets = ScopeOfWorkloads(s_.latency_bucket_metric, s_.resource.selector,
                                   s_.resource.workloads, q.ns, q.name, {"le"}, true);
    out.counts += ExistenceOfWorkloads(q.ns, q.name);
    return out;
  }

  ProfileQueries EdgesOf(const EdgeTarget& t) const {
    auto both = [&](const std::string& metric, const std::vector<std::string>& extra) {
      std::string out = Edges(metric, s_.edges_to, "to", true, extra, t) + " or " +
                        Edges(metric, s_.edges_from, "from", false, extra, t);
      if (s_.edges_from_unnamed) {
        out += " or " + Edges(metric, *s_.edges_from_unnamed, kFromUnnamedTag, false, extra, t);
      }
      return out;
    };
    ProfileQueries out;
    out.counts = both(s_.requests_metric, s_.classification.labels);
    out.buckets = both(s_.latency_bucket_metric, {"le"});
    out.counts += ExistenceOfKind(t.kind, t.ns, t.name);
    return out;
  }

  // The traffic of TrafficSplits: requests measured at the clients, grouped by the backend
  // service they were routed to (and the authority called, where the mesh records it). One
  // namespace is selected in the query when every split is in it; apexes and backends are
  // picked from the rows (a name never becomes a regex: docs/decisions.md, decision 11).
  ProfileQueries Splits(const TrafficSplitBackends& q) const {
    if (!s_.traffic_split) {
      throw std::invalid_argument("the " + s_.name +
                                  " mesh profile cannot answer for trafficsplits");
    }
    const TrafficSplitView& v = *s_.traffic_split;
    auto m = Selector(v.selector);
    const std::string& ns = q.splits.front().ns;
    const bool one_ns = std::all_of(q.splits.begin(), q.splits.end(),
                                    [&](const TrafficSplitQuery& t) { return t.ns == ns; });
    if (one_ns) m.push_back(EqualMatcher(v.ns_label, ns));
    m.push_back(NotEmpty(v.backend_label));
    LabelList by;
    by.Add(v.ns_label).Add(v.backend_label).Add(v.authority_label);
    ProfileQueries out;
    out.counts = SumIncrease(LabelList(by).Add(s_.classification.labels).Join(), s_.requests_metric,
                             JoinMatchers(m), window_);
    out.buckets = SumIncrease(LabelList(by).Add("le").Join(), s_.latency_bucket_metric,
                              JoinMatchers(m), window_);
    return out;
  }

 private:
  std::vector<std::string> Selector(const std::vector<Matcher>& selector) const {
    std::vector<std::string> out;
    for (const Matcher& m : selector) {
      const std::string& value = m.param.empty() ? m.value : s_.parameters.at(m.param);
      out.push_back(m.label + m.op + "\"" + EscapeLabelValue(value) + "\"");
    }
    return out;
  }

  // The matchers choosing the object asked about through `o` (namespace and name, or any name).
  void AddObject(std::vector<std::string>* out, const ObjectLabels& o, const std::string& ns,
                 const std::string& name) const {
    if (!o.ns_label.empty() && !ns.empty()) out->push_back(EqualMatcher(o.ns_label, ns));
    out->push_back(name.empty() ? NotEmpty(o.name_label) : EqualMatcher(o.name_label, name));
  }

  const ObjectLabels& Object(const std::map<ResourceKind, ObjectLabels>& m,
                             const std::string& where, ResourceKind kind) const {
    auto it = m.find(kind);
    if (it == m.end()) {
      throw std::invalid_argument("the " + s_.name + " mesh profile cannot answer for " +
                                  std::string(model::ResourcePlural(kind)) + " (" + where + ")");
    }
    return it->second;
  }

  // The increase of `metric` over the window, or (for existence) the series present now.
  std::string Expr(const std::string& metric, const std::string& grouping,
                   const std::vector<std::string>& matchers, bool increase) const {
    return increase
               ? SumIncrease(grouping, metric, JoinMatchers(matchers), window_)
               : "group by (" + grouping + ") (" + metric + "{" + JoinMatchers(matchers) + "})";
  }

  // The resource scope's query of `metric` for objects of `kind`, grouped by the object and
  // `extra` labels.
  std::string ScopeOfKind(const std::string& metric, const std::vector<Matcher>& selector,
                          const std::map<ResourceKind, ObjectLabels>& objects, ResourceKind kind,
                          const std::string& ns, const std::string& name,
                          const std::vector<std::string>& extra, bool increase) const {
    const ObjectLabels& o = Object(objects, "objects", kind);
    auto m = Selector(selector);
    AddObject(&m, o, kind == ResourceKind::kNamespace ? "" : ns, name);
    return Expr(metric, LabelList().Add(o).Add(extra).Join(), m, increase);
  }

  // The resource scope's query of `metric` for every workload kind at once: one branch per
  // workload entry unless a single one does.
  std::string ScopeOfWorkloads(const std::string& metric, const std::vector<Matcher>& selector,
                               const std::vector<ObjectLabels>& workloads, const std::string& ns,
                               const std::string& name, const std::vector<std::string>& extra,
                               bool increase) const {
    if (workloads.empty()) {
      throw std::invalid_argument("the " + s_.name +
                                  " mesh profile cannot answer for every workload kind at once");
    }
    LabelList by;
    for (const auto& w : workloads) by.Add(w);
    const std::string grouping = LabelList(by).Add(extra).Join();
    bool same_ns = true;
    for (const auto& w : workloads) same_ns = same_ns && w.ns_label == workloads[0].ns_label;
    if (workloads.size() == 1 || (name.empty() && same_ns)) {
      auto m = Selector(selector);
      if (workloads.size() == 1) {
        AddObject(&m, workloads[0], ns, name);
      } else if (!ns.empty()) {
        m.push_back(EqualMatcher(workloads[0].ns_label, ns));
      }
      return Expr(metric, grouping, m, increase);
    }
    std::string out;
    for (const auto& w : workloads) {
      auto m = Selector(selector);
      AddObject(&m, w, ns, name);
      if (!out.empty()) out += " or ";
      out += Expr(metric, grouping, m, increase);
    }
    return out;
  }

  // The labels naming a peer of `kind`: every workload label for workload kinds when the view
  // names peers by their own kind (peer_workloads), else the view's peer labels of `kind`.
  LabelList PeerLabels(const SeriesView& v, const std::string& where, ResourceKind kind) const {
    LabelList out;
    const bool workload = kind == ResourceKind::kDeployment || kind == ResourceKind::kStatefulSet ||
                          kind == ResourceKind::kDaemonSet;
    if (workload && !v.peer_workloads.empty()) {
      for (const auto& w : v.peer_workloads) out.Add(w);
      return out;
    }
    return out.Add(Object(v.peers, where, kind));
  }

  // One direction of edges, tagged with smi_edge. Rows naming no peer are kept (with the host
  // called, where the view has it): answer decoding makes them the unnamed peer
  // (docs/decisions.md, decision 6). A view without peers (edges.from_unnamed) names none.
  std::string Edges(const std::string& metric, const SeriesView& v, std::string_view tag,
                    bool caller_is_object, const std::vector<std::string>& extra,
                    const EdgeTarget& t) const {
    const std::string where = std::string("edges.") + std::string(tag);
    const ObjectLabels& self = Object(v.objects, where, t.kind);
    const bool named = !v.peers.empty();
    if (named && t.kind != ResourceKind::kPod && t.peer_kind) {
      return NamedObjectEdges(metric, v, tag, caller_is_object, extra, t, self,
                              Object(v.peers, where, t.kind));
    }
    LabelList peer;
    if (named) {
      peer = PeerLabels(v, where, t.kind);
      // Edges of every pod of a namespace with a peer kind: the peer is also grouped by its
      // labels of that kind.
      if (t.peer_kind) peer.Add(PeerLabels(v, where, *t.peer_kind));
    }
    peer.Add(v.host_label);
    auto m = Selector(v.selector);
    AddObject(&m, self, t.kind == ResourceKind::kNamespace ? "" : t.ns, t.name);
    LabelList by;
    if (caller_is_object) {
      by.Add(self).Add(peer);
    } else {
      by.Add(peer).Add(self);
    }
    by.Add(extra);
    return LabelReplace(SumIncrease(by.Join(), metric, JoinMatchers(m), window_), "smi_edge", tag);
  }

  // One direction of the edges of one named object (ObjectEdges with peer_kind, a workload named
  // by the series' own labels), tagged with smi_edge, in two parts that split the object's series
  // between them: peers the series name as objects of the kind, summed by those labels, and the
  // others summed by the peer labels of `peer_kind` (their pod). Neither part is per pod of the
  // object, and no peer is left out.
  std::string NamedObjectEdges(const std::string& metric, const SeriesView& v, std::string_view tag,
                               bool caller_is_object, const std::vector<std::string>& extra,
                               const EdgeTarget& t, const ObjectLabels& self,
                               const ObjectLabels& peer) const {
    const std::string where = std::string("edges.") + std::string(tag);
    const ObjectLabels& other = Object(v.peers, where, *t.peer_kind);
    const auto part = [&](const LabelList& by_peer, const std::string& peer_matcher) {
      auto m = Selector(v.selector);
      AddObject(&m, self, t.ns, t.name);
      m.push_back(peer_matcher);
      LabelList by;
      if (caller_is_object) {
        by.Add(self).Add(by_peer);
      } else {
        by.Add(by_peer).Add(self);
      }
      by.Add(extra);
      return SumIncrease(by.Join(), metric, JoinMatchers(m), window_);
    };
    // The others keep the host they called, for the peers the mesh cannot name (decision 6).
    return LabelReplace(
        part(LabelList().Add(peer), NotEmpty(peer.name_label)) + " or " +
            part(LabelList().Add(other).Add(v.host_label), EqualMatcher(peer.name_label, "")),
        "smi_edge", tag);
  }

  // The objects of `kind` that exist, from every existence source that can tell.
  // `also`: further matchers every existence series must meet.
  std::string ExistenceOfKind(ResourceKind kind, const std::string& ns, const std::string& name,
                              const std::vector<Matcher>& also = {}) const {
    std::string out;
    for (size_t i = 0; i < s_.existence.size(); ++i) {
      const ExistenceSource& e = s_.existence[i];
      if (!e.objects.contains(kind)) continue;
      std::vector<Matcher> selector = e.selector;
      selector.insert(selector.end(), also.begin(), also.end());
      out += " or " +
             LabelReplace(ScopeOfKind(e.metric, selector, e.objects, kind, ns, name, {}, false),
                          "smi_exists", ExistsTag(i));
    }
    return out;
  }

  std::string ExistenceOfWorkloads(const std::string& ns, const std::string& name) const {
    std::string out;
    for (size_t i = 0; i < s_.existence.size(); ++i) {
      const ExistenceSource& e = s_.existence[i];
      if (e.workloads.empty()) continue;
      out += " or " +
             LabelReplace(ScopeOfWorkloads(e.metric, e.selector, e.workloads, ns, name, {}, false),
                          "smi_exists", ExistsTag(i));
    }
    return out;
  }

  const MeshProfileSpec& s_;
  std::string window_;
};

}  // namespace

ProfileQueries BuildQueries(const MeshProfile& profile, const SampleQuery& query) {
  if (query.window <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("the window must be positive");
  }
  const Builder builder(profile.spec(), query.window);
  return std::visit(
      base::Overloaded{
          [&](const ResourceScope& q) {
            Validate(q);
            return builder.Resources(q);
          },
          [&](const AllWorkloads& q) {
            Validate(q);
            return builder.Workloads(q);
          },
          [&](const ObjectEdges& q) {
            Validate(q);
            return builder.EdgesOf({q.kind, q.ns, q.name, q.peer_kind});
          },
          [&](const NamespacePodEdges& q) {
            Validate(q);
            static const std::string kEveryPod;
            return builder.EdgesOf({ResourceKind::kPod, q.ns, kEveryPod, q.peer_kind});
          },
          [&](const TrafficSplitBackends& q) {
            Validate(q);
            return builder.Splits(q);
          },
      },
      query.shape);
}

}  // namespace smi::sources::prometheus
