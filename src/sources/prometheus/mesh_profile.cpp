#include "sources/prometheus/mesh_profile.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "model/duration.h"
#include "model/kube_names.h"
#include "sources/prometheus/promql_escape.h"

namespace smi::sources::prometheus {
namespace {

using Labels = std::map<std::string, std::string>;

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

bool IsLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  // Names starting with __ are reserved for Prometheus' own use.
  return s.rfind("__", 0) != 0;
}

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Labels the engine adds to rows itself; a profile must not use them.
bool IsReserved(std::string_view label) {
  return label == "smi_exists" || label == "smi_edge" || label == "le";
}

void Validate(const SampleQuery& q) {
  auto reject = [](const std::string& what, const std::string& value) {
    throw std::invalid_argument(what + " \"" + EscapeLabelValue(value) +
                                "\" is not a valid Kubernetes name");
  };
  if (q.window <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("the window must be positive");
  }
  if (!q.traffic_splits.empty()) {
    // Only the namespace reaches the query; apex and backends are compared in C++.
    for (const auto& split : q.traffic_splits) {
      if (!model::IsDns1123Label(split.ns)) reject("namespace", split.ns);
    }
    return;
  }
  if (q.all_workload_kinds && q.edges) {
    throw std::invalid_argument("every workload kind at once is for the resource scope only");
  }
  if (q.kind == ResourceKind::kNamespace && !q.all_workload_kinds) {
    if (!q.name.empty() && !model::IsDns1123Label(q.name)) reject("namespace", q.name);
    if (q.edges && q.name.empty()) {
      throw std::invalid_argument("edges of a namespace need the namespace's name");
    }
    return;
  }
  if (!q.ns.empty() && !model::IsDns1123Label(q.ns)) reject("namespace", q.ns);
  if (!q.name.empty() && !model::IsDns1123Subdomain(q.name)) reject("name", q.name);
  // Edges of every pod of a namespace: kind Pod, the namespace, no name.
  const bool all_pods = q.kind == ResourceKind::kPod && q.name.empty();
  if (q.edges && (q.ns.empty() || (q.name.empty() && !all_pods))) {
    throw std::invalid_argument("edges need the object's namespace and name");
  }
  if (q.peer_kind && !(q.edges && all_pods)) {
    throw std::invalid_argument("a peer kind is for the edges of every pod of a namespace only");
  }
  if (q.peer_kind == ResourceKind::kPod) {
    throw std::invalid_argument("the peer kind of pod edges must be another kind than pods");
  }
}

const std::string* Find(const Labels& labels, const std::string& key) {
  auto it = labels.find(key);
  return it == labels.end() ? nullptr : &it->second;
}

bool Has(const Labels& labels, const std::string& key, std::string_view value) {
  const std::string* v = Find(labels, key);
  return v != nullptr && *v == value;
}

// The value of `smi_exists` on the rows of existence source `i`.
std::string ExistsTag(size_t i) { return i == 0 ? "true" : "true" + std::to_string(i); }

}  // namespace

std::string_view KindLabel(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kPod:
      return "pod";
    case ResourceKind::kDeployment:
      return "deployment";
    case ResourceKind::kStatefulSet:
      return "statefulset";
    case ResourceKind::kDaemonSet:
      return "daemonset";
    case ResourceKind::kNamespace:
      return "namespace";
  }
  throw std::invalid_argument("unknown resource kind");
}

struct MeshProfile::Compiled {
  struct Rule {
    std::string label;
    std::regex re;
  };
  std::vector<Rule> failure;
  std::vector<Rule> success;
};

namespace {

void CheckLabel(const std::string& where, const std::string& label) {
  if (!IsLabelName(label)) {
    throw std::invalid_argument(where + ": \"" + EscapeLabelValue(label) +
                                "\" is not a PromQL label name");
  }
  if (IsReserved(label)) {
    throw std::invalid_argument(where + ": \"" + label + "\" is reserved for the engine");
  }
}

void CheckObject(const std::string& where, const ObjectLabels& o, ResourceKind asked) {
  CheckLabel(where + ".name", o.name_label);
  const ResourceKind kind = o.kind.value_or(asked);
  if (kind == ResourceKind::kNamespace) {
    if (!o.ns_label.empty()) {
      throw std::invalid_argument(where + ".namespace: a namespace is named by `name` alone");
    }
  } else {
    CheckLabel(where + ".namespace", o.ns_label);
  }
}

void CheckObjects(const std::string& where, const std::map<ResourceKind, ObjectLabels>& objects) {
  for (const auto& [kind, o] : objects) {
    CheckObject(where + "." + std::string(KindLabel(kind)), o, kind);
  }
}

void CheckWorkloads(const std::string& where, const std::vector<ObjectLabels>& workloads) {
  for (size_t i = 0; i < workloads.size(); ++i) {
    const std::string w = where + "[" + std::to_string(i) + "]";
    const auto& o = workloads[i];
    if (!o.kind || o.kind == ResourceKind::kPod || o.kind == ResourceKind::kNamespace) {
      throw std::invalid_argument(w + ".kind: must be deployment, statefulset or daemonset");
    }
    CheckObject(w, o, *o.kind);
  }
}

void CheckSelector(const std::string& where, const std::vector<Matcher>& selector,
                   const std::map<std::string, std::string>& parameters) {
  for (size_t i = 0; i < selector.size(); ++i) {
    const std::string m = where + "[" + std::to_string(i) + "]";
    const Matcher& x = selector[i];
    CheckLabel(m + ".label", x.label);
    if (x.op != "=" && x.op != "!=" && x.op != "=~" && x.op != "!~") {
      throw std::invalid_argument(m + ".op: \"" + EscapeLabelValue(x.op) +
                                  "\" is not one of =, !=, =~, !~");
    }
    if (!x.param.empty() && !parameters.contains(x.param)) {
      throw std::invalid_argument(m + ".param: no parameter \"" + EscapeLabelValue(x.param) +
                                  "\" in the profile's parameters");
    }
    if (x.op == "=~" || x.op == "!~") {
      try {
        std::regex re(x.param.empty() ? x.value : parameters.at(x.param));
      } catch (const std::regex_error&) {
        throw std::invalid_argument(m + ".value: not a valid regular expression");
      }
    }
  }
}

void CheckView(const std::string& where, const SeriesView& v,
               const std::map<std::string, std::string>& parameters, bool edges) {
  CheckSelector(where + ".selector", v.selector, parameters);
  CheckObjects(where + ".objects", v.objects);
  CheckWorkloads(where + ".workloads", v.workloads);
  if (edges) {
    CheckObjects(where + ".peers", v.peers);
    for (const auto& [kind, o] : v.objects) {
      if (!v.peers.contains(kind)) {
        throw std::invalid_argument(where + ".peers: no entry for " + std::string(KindLabel(kind)) +
                                    ", which objects has");
      }
    }
  }
}

}  // namespace

MeshProfile::MeshProfile(MeshProfileSpec spec) : spec_(std::move(spec)) {
  const MeshProfileSpec& s = spec_;
  if (s.name.empty()) throw std::invalid_argument("name: a profile needs a name");
  for (const auto& [k, v] : s.parameters) {
    if (k.empty()) throw std::invalid_argument("parameters: empty parameter name");
    if (v.empty()) throw std::invalid_argument("parameters." + k + ": must not be empty");
  }
  if (!IsMetricName(s.requests_metric)) {
    throw std::invalid_argument("metrics.requests: \"" + EscapeLabelValue(s.requests_metric) +
                                "\" is not a PromQL metric name");
  }
  if (!IsMetricName(s.latency_bucket_metric)) {
    throw std::invalid_argument("metrics.latency_buckets: \"" +
                                EscapeLabelValue(s.latency_bucket_metric) +
                                "\" is not a PromQL metric name");
  }
  if (!(s.latency_units_per_second > 0) || !std::isfinite(s.latency_units_per_second)) {
    throw std::invalid_argument("metrics.latency_unit: must be a positive unit");
  }
  if (s.classification.labels.empty()) {
    throw std::invalid_argument("classification.labels: at least one label is needed");
  }
  for (size_t i = 0; i < s.classification.labels.size(); ++i) {
    CheckLabel("classification.labels[" + std::to_string(i) + "]", s.classification.labels[i]);
  }
  if (s.classification.failure.empty()) {
    throw std::invalid_argument("classification.failure: at least one rule is needed");
  }
  auto compiled = std::make_shared<Compiled>();
  auto compile = [&](const char* which, const std::vector<LabelRule>& rules,
                     std::vector<Compiled::Rule>* out) {
    for (size_t i = 0; i < rules.size(); ++i) {
      const std::string where =
          std::string("classification.") + which + "[" + std::to_string(i) + "]";
      const auto& labels = s.classification.labels;
      if (std::find(labels.begin(), labels.end(), rules[i].label) == labels.end()) {
        throw std::invalid_argument(where + ".label: \"" + EscapeLabelValue(rules[i].label) +
                                    "\" is not one of classification.labels");
      }
      try {
        out->push_back({rules[i].label, std::regex(rules[i].regex)});
      } catch (const std::regex_error&) {
        throw std::invalid_argument(where + ".regex: \"" + EscapeLabelValue(rules[i].regex) +
                                    "\" is not a valid regular expression");
      }
    }
  };
  compile("failure", s.classification.failure, &compiled->failure);
  compile("success", s.classification.success, &compiled->success);
  if (s.resource.objects.empty()) {
    throw std::invalid_argument("resource.objects: the profile answers for no kind");
  }
  CheckView("resource", s.resource, s.parameters, false);
  CheckView("edges.to", s.edges_to, s.parameters, true);
  CheckView("edges.from", s.edges_from, s.parameters, true);
  if (s.traffic_split) {
    const TrafficSplitView& v = *s.traffic_split;
    CheckSelector("traffic_split.selector", v.selector, s.parameters);
    CheckLabel("traffic_split.namespace", v.ns_label);
    CheckLabel("traffic_split.backend", v.backend_label);
    if (!v.authority_label.empty()) CheckLabel("traffic_split.authority", v.authority_label);
  }
  for (size_t i = 0; i < s.existence.size(); ++i) {
    const std::string where = "existence[" + std::to_string(i) + "]";
    const auto& e = s.existence[i];
    if (!IsMetricName(e.metric)) {
      throw std::invalid_argument(where + ".metric: \"" + EscapeLabelValue(e.metric) +
                                  "\" is not a PromQL metric name");
    }
    CheckSelector(where + ".selector", e.selector, s.parameters);
    CheckObjects(where + ".objects", e.objects);
    CheckWorkloads(where + ".workloads", e.workloads);
  }
  compiled_ = std::move(compiled);
}

MeshProfile::~MeshProfile() = default;
MeshProfile::MeshProfile(const MeshProfile&) = default;
MeshProfile& MeshProfile::operator=(const MeshProfile&) = default;
MeshProfile::MeshProfile(MeshProfile&&) noexcept = default;
MeshProfile& MeshProfile::operator=(MeshProfile&&) noexcept = default;

namespace {

// The engine for one query; holds what every part needs.
class Builder {
 public:
  Builder(const MeshProfileSpec& s, const SampleQuery& q)
      : s_(s), q_(q), window_(model::FormatPromDuration(q.window)) {}

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
                             const std::string& where) const {
    return Object(m, where, q_.kind);
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

  // The resource scope's query of `metric` grouped by the object and `extra` labels; for every
  // workload kind at once, one branch per workload entry unless a single one does.
  std::string Scope(const std::string& metric, const std::vector<Matcher>& selector,
                    const std::map<ResourceKind, ObjectLabels>& objects,
                    const std::vector<ObjectLabels>& workloads,
                    const std::vector<std::string>& extra, bool increase) const {
    const bool is_ns = q_.kind == ResourceKind::kNamespace && !q_.all_workload_kinds;
    const std::string ns = is_ns ? "" : q_.ns;
    auto expr = [&](const std::string& grouping, const std::vector<std::string>& matchers) {
      return increase
                 ? SumIncrease(grouping, metric, JoinMatchers(matchers), window_)
                 : "group by (" + grouping + ") (" + metric + "{" + JoinMatchers(matchers) + "})";
    };
    if (!q_.all_workload_kinds) {
      const ObjectLabels& o = Object(objects, "objects");
      auto m = Selector(selector);
      AddObject(&m, o, ns, q_.name);
      return expr(LabelList().Add(o).Add(extra).Join(), m);
    }
    if (workloads.empty()) {
      throw std::invalid_argument("the " + s_.name +
                                  " mesh profile cannot answer for every workload kind at once");
    }
    LabelList by;
    for (const auto& w : workloads) by.Add(w);
    const std::string grouping = LabelList(by).Add(extra).Join();
    bool same_ns = true;
    for (const auto& w : workloads) same_ns = same_ns && w.ns_label == workloads[0].ns_label;
    if (workloads.size() == 1 || (q_.name.empty() && same_ns)) {
      auto m = Selector(selector);
      if (workloads.size() == 1) {
        AddObject(&m, workloads[0], ns, q_.name);
      } else if (!ns.empty()) {
        m.push_back(EqualMatcher(workloads[0].ns_label, ns));
      }
      return expr(grouping, m);
    }
    std::string out;
    for (const auto& w : workloads) {
      auto m = Selector(selector);
      AddObject(&m, w, ns, q_.name);
      if (!out.empty()) out += " or ";
      out += expr(grouping, m);
    }
    return out;
  }

  // One direction of edges, tagged with smi_edge.
  std::string Edges(const std::string& metric, const SeriesView& v, std::string_view tag,
                    bool caller_is_object, const std::vector<std::string>& extra) const {
    const bool is_ns = q_.kind == ResourceKind::kNamespace;
    const std::string where = std::string("edges.") + std::string(tag);
    const ObjectLabels& self = Object(v.objects, where);
    const ObjectLabels& peer = Object(v.peers, where);
    // Edges of every pod of a namespace with a peer kind: the peer is also grouped by its labels
    // of that kind, and a row naming either is kept (ToSamples drops rows naming neither).
    const ObjectLabels* as_kind = q_.peer_kind ? &Object(v.peers, where, *q_.peer_kind) : nullptr;
    auto m = Selector(v.selector);
    AddObject(&m, self, is_ns ? "" : q_.ns, q_.name);
    if (as_kind == nullptr) m.push_back(NotEmpty(peer.name_label));
    LabelList by;
    if (caller_is_object) {
      by.Add(self).Add(peer);
      if (as_kind != nullptr) by.Add(*as_kind);
    } else {
      by.Add(peer);
      if (as_kind != nullptr) by.Add(*as_kind);
      by.Add(self);
    }
    by.Add(extra);
    return LabelReplace(SumIncrease(by.Join(), metric, JoinMatchers(m), window_), "smi_edge", tag);
  }

  std::string Existence() const {
    std::string out;
    for (size_t i = 0; i < s_.existence.size(); ++i) {
      const ExistenceSource& e = s_.existence[i];
      if (q_.all_workload_kinds ? e.workloads.empty() : !e.objects.contains(q_.kind)) continue;
      out += " or " + LabelReplace(Scope(e.metric, e.selector, e.objects, e.workloads, {}, false),
                                   "smi_exists", ExistsTag(i));
    }
    return out;
  }

  // The traffic of TrafficSplits: requests measured at the clients, grouped by the backend
  // service they were routed to (and the authority called, where the mesh records it). One
  // namespace is selected in the query when every split is in it; apexes and backends are
  // picked from the rows (a name never becomes a regex, decision 11).
  ProfileQueries Splits() const {
    if (!s_.traffic_split) {
      throw std::invalid_argument("the " + s_.name +
                                  " mesh profile cannot answer for trafficsplits");
    }
    const TrafficSplitView& v = *s_.traffic_split;
    auto m = Selector(v.selector);
    const std::string& ns = q_.traffic_splits.front().ns;
    const bool one_ns = std::all_of(q_.traffic_splits.begin(), q_.traffic_splits.end(),
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

  ProfileQueries Build() const {
    if (!q_.traffic_splits.empty()) return Splits();
    ProfileQueries out;
    const std::vector<std::string>& cls = s_.classification.labels;
    const std::vector<std::string> le = {"le"};
    if (!q_.edges) {
      out.counts = Scope(s_.requests_metric, s_.resource.selector, s_.resource.objects,
                         s_.resource.workloads, cls, true);
      out.buckets = Scope(s_.latency_bucket_metric, s_.resource.selector, s_.resource.objects,
                          s_.resource.workloads, le, true);
    } else {
      auto both = [&](const std::string& metric, const std::vector<std::string>& extra) {
        return Edges(metric, s_.edges_to, "to", true, extra) + " or " +
               Edges(metric, s_.edges_from, "from", false, extra);
      };
      out.counts = both(s_.requests_metric, cls);
      out.buckets = both(s_.latency_bucket_metric, le);
    }
    out.counts += Existence();
    return out;
  }

 private:
  const MeshProfileSpec& s_;
  const SampleQuery& q_;
  std::string window_;
};

}  // namespace

bool MeshProfile::PodEdgesNamePeerPods() const {
  const auto pod = [](const std::map<ResourceKind, ObjectLabels>& m) {
    const auto it = m.find(ResourceKind::kPod);
    return it != m.end() && it->second.kind.value_or(ResourceKind::kPod) == ResourceKind::kPod;
  };
  return pod(spec_.edges_to.objects) && pod(spec_.edges_to.peers) &&
         pod(spec_.edges_from.objects) && pod(spec_.edges_from.peers);
}

ProfileQueries MeshProfile::BuildQueries(const SampleQuery& q) const {
  Validate(q);
  return Builder(spec_, q).Build();
}

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

TrafficSamples MeshProfile::SplitSamples(const SampleQuery& q,
                                         const std::vector<VectorSample>& counts,
                                         const std::vector<VectorSample>& buckets) const {
  const TrafficSplitView& v = *spec_.traffic_split;
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
    for (const TrafficSplitQuery& split : q.traffic_splits) {
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
  auto matches = [](const Labels& labels, const std::vector<Compiled::Rule>& rules) {
    for (const auto& rule : rules) {
      const std::string* value = Find(labels, rule.label);
      if (std::regex_match(value == nullptr ? std::string() : *value, rule.re)) return true;
    }
    return false;
  };
  for (const VectorSample& row : counts) {
    const bool failure = matches(row.labels, compiled_->failure);
    if (!failure && !compiled_->success.empty() && !matches(row.labels, compiled_->success)) {
      continue;
    }
    for (TrafficCounts* c : entries(row.labels)) (failure ? c->failure : c->success) += row.value;
  }
  TrafficSamples out;
  bool bad_le = false;
  for (const VectorSample& row : buckets) {
    const std::string* le_text = Find(row.labels, "le");
    double le = 0;
    if (le_text == nullptr || !ParseSampleValue(*le_text, &le) || std::isnan(le)) {
      bad_le = true;
      continue;
    }
    for (TrafficCounts* c : entries(row.labels)) {
      c->latency_buckets[le / spec_.latency_units_per_second] += row.value;
    }
  }
  for (auto& [key, c] : out_counts) {
    const auto& [ns, apex, backend] = key;
    out.backends.push_back(BackendSample{ns, apex, backend, v.side, std::move(c)});
  }
  if (bad_le) {
    out.warnings.push_back(
        "latency buckets without a numeric \"le\" label were ignored (query: trafficsplits)");
  }
  return out;
}

TrafficSamples MeshProfile::ToSamples(const SampleQuery& q, const std::vector<VectorSample>& counts,
                                      const std::vector<VectorSample>& buckets) const {
  if (!q.traffic_splits.empty()) return SplitSamples(q, counts, buckets);
  const MeshProfileSpec& s = spec_;

  // The object a row names through `o`; nullopt when its labels are missing or empty.
  auto ref = [&](const Labels& labels, const ObjectLabels& o,
                 std::optional<ResourceKind> asked = {}) -> std::optional<ObjectReference> {
    const ResourceKind kind = o.kind.value_or(asked.value_or(q.kind));
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
  };
  // The object a resource-scope or existence row is about.
  auto self = [&](const Labels& labels, const std::map<ResourceKind, ObjectLabels>& objects,
                  const std::vector<ObjectLabels>& workloads) -> std::optional<ObjectReference> {
    if (q.all_workload_kinds) {
      for (const auto& w : workloads) {
        if (auto r = ref(labels, w)) return r;
      }
      return std::nullopt;
    }
    auto it = objects.find(q.kind);
    return it == objects.end() ? std::nullopt : ref(labels, it->second);
  };
  auto edge_ref =
      [&](const Labels& labels,
          const std::map<ResourceKind, ObjectLabels>& m) -> std::optional<ObjectReference> {
    auto it = m.find(q.kind);
    return it == m.end() ? std::nullopt : ref(labels, it->second);
  };

  using EdgeKey =
      std::tuple<ObjectReference, Direction, Side, ObjectReference, std::optional<ObjectReference>>;
  std::map<ObjectReference, TrafficCounts> resources;
  std::map<EdgeKey, TrafficCounts> edges;
  TrafficSamples out;
  bool bad_le = false;

  // The entry a row adds to; nullptr when the row is not about traffic (or is unusable).
  auto entry = [&](const Labels& labels) -> TrafficCounts* {
    if (!q.edges) {
      auto r = self(labels, s.resource.objects, s.resource.workloads);
      return r ? &resources[*r] : nullptr;
    }
    for (const auto& [tag, view, direction] :
         {std::tuple{"to", &s.edges_to, Direction::kTo},
          std::tuple{"from", &s.edges_from, Direction::kFrom}}) {
      if (!Has(labels, "smi_edge", tag)) continue;
      auto r = edge_ref(labels, view->objects);
      auto peer = edge_ref(labels, view->peers);
      std::optional<ObjectReference> as_kind;
      if (q.peer_kind) {
        if (auto it = view->peers.find(*q.peer_kind); it != view->peers.end()) {
          as_kind = ref(labels, it->second, *q.peer_kind);
        }
        if (!peer) peer = as_kind;
      }
      if (!r || !peer) return nullptr;
      return &edges[EdgeKey{*r, direction, view->side, *peer, as_kind}];
    }
    return nullptr;
  };
  auto matches = [](const Labels& labels, const std::vector<Compiled::Rule>& rules) {
    for (const auto& rule : rules) {
      const std::string* v = Find(labels, rule.label);
      if (std::regex_match(v == nullptr ? std::string() : *v, rule.re)) return true;
    }
    return false;
  };

  for (const VectorSample& row : counts) {
    if (const std::string* tag = Find(row.labels, "smi_exists")) {
      for (size_t i = 0; i < s.existence.size(); ++i) {
        if (*tag != ExistsTag(i)) continue;
        if (auto r = self(row.labels, s.existence[i].objects, s.existence[i].workloads)) {
          out.known_objects.push_back(std::move(*r));
        }
      }
      continue;
    }
    TrafficCounts* c = entry(row.labels);
    if (c == nullptr) continue;
    if (matches(row.labels, compiled_->failure)) {
      c->failure += row.value;
    } else if (compiled_->success.empty() || matches(row.labels, compiled_->success)) {
      c->success += row.value;
    }
  }
  for (const VectorSample& row : buckets) {
    const std::string* le_text = Find(row.labels, "le");
    double le = 0;
    if (le_text == nullptr || !ParseSampleValue(*le_text, &le) || std::isnan(le)) {
      bad_le = true;
      continue;
    }
    TrafficCounts* c = entry(row.labels);
    if (c == nullptr) continue;
    // Two series may spell one bound differently ("1" and "1.0"): add, never overwrite.
    c->latency_buckets[le / s.latency_units_per_second] += row.value;
  }

  std::sort(out.known_objects.begin(), out.known_objects.end());
  out.known_objects.erase(std::unique(out.known_objects.begin(), out.known_objects.end()),
                          out.known_objects.end());
  out.resources.reserve(resources.size());
  for (auto& [r, c] : resources) out.resources.push_back(ResourceSample{r, std::move(c)});
  out.edges.reserve(edges.size());
  for (auto& [key, c] : edges) {
    const auto& [r, direction, side, peer, as_kind] = key;
    out.edges.push_back(EdgeSample{r, direction, side, peer, std::move(c), as_kind});
  }
  if (bad_le) {
    const std::string what = q.all_workload_kinds ? "workloads" : std::string(KindLabel(q.kind));
    out.warnings.push_back("latency buckets without a numeric \"le\" label were ignored (query: " +
                           what + " " + (q.edges ? "edges" : "resources") + ")");
  }
  return out;
}

}  // namespace smi::sources::prometheus
