#include "sources/prometheus/linkerd_profile.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "model/duration.h"
#include "model/kube_names.h"
#include "sources/prometheus/promql_escape.h"

namespace smi::sources::prometheus {
namespace {

// A label list without repeats (for kind Namespace the kind label *is* `namespace`), in first-seen
// order so that the queries read the same for every kind.
class LabelList {
 public:
  // `text` is the matcher (or the label itself, for grouping) to print for `label`.
  LabelList& Add(std::string_view label, std::string text) {
    for (const auto& [l, t] : items_) {
      if (l == label) return *this;
    }
    items_.emplace_back(std::string(label), std::move(text));
    return *this;
  }
  LabelList& Add(std::string_view label) { return Add(label, std::string(label)); }
  std::string Join() const {
    std::string out;
    for (const auto& [l, t] : items_) {
      if (!out.empty()) out += ", ";
      out += t;
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

std::string NotEmpty(std::string_view label) { return std::string(label) + "!=\"\""; }

std::string Dst(std::string_view label) { return "dst_" + std::string(label); }

std::string SumIncrease(const std::string& grouping, std::string_view metric,
                        const std::string& matchers, const std::string& window) {
  return "sum by (" + grouping + ") (increase(" + std::string(metric) + "{" + matchers + "}[" +
         window + "]))";
}

std::string LabelReplace(const std::string& expr, std::string_view label, std::string_view value) {
  return "label_replace(" + expr + ", \"" + std::string(label) + "\", \"" + std::string(value) +
         "\", \"\", \"\")";
}

void Validate(const SampleQuery& q) {
  auto reject = [](const std::string& what, const std::string& value) {
    throw std::invalid_argument(what + " \"" + EscapeLabelValue(value) +
                                "\" is not a valid Kubernetes name");
  };
  if (q.window <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("the window must be positive");
  }
  if (q.kind == ResourceKind::kNamespace) {
    if (!q.name.empty() && !model::IsDns1123Label(q.name)) reject("namespace", q.name);
    if (q.edges && q.name.empty()) {
      throw std::invalid_argument("edges of a namespace need the namespace's name");
    }
    return;
  }
  if (!q.ns.empty() && !model::IsDns1123Label(q.ns)) reject("namespace", q.ns);
  if (!q.name.empty() && !model::IsDns1123Subdomain(q.name)) reject("name", q.name);
  if (q.edges && (q.ns.empty() || q.name.empty())) {
    throw std::invalid_argument("edges need the object's namespace and name");
  }
}

const std::string* Find(const std::map<std::string, std::string>& labels, const std::string& key) {
  auto it = labels.find(key);
  return it == labels.end() ? nullptr : &it->second;
}

bool Has(const std::map<std::string, std::string>& labels, const std::string& key,
         std::string_view value) {
  const std::string* v = Find(labels, key);
  return v != nullptr && *v == value;
}

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

LinkerdProfile::LinkerdProfile(std::string proxy_job) : proxy_job_(std::move(proxy_job)) {
  if (proxy_job_.empty()) throw std::invalid_argument("the proxy job name must not be empty");
}

// Every workload kind at once: grouped by the three owner labels (a row has one of them).
// With a name, one branch per owner label joined by `or` (PromQL has no "any of these labels").
static ProfileQueries AllWorkloadKinds(const SampleQuery& q, const std::string& job) {
  const std::string window = model::FormatPromDuration(q.window);
  static const std::vector<std::string> kOwners = {"deployment", "statefulset", "daemonset"};
  LabelList by;
  by.Add("namespace");
  for (const auto& o : kOwners) by.Add(o);
  const std::string by_object = by.Join();
  const std::string by_class = LabelList(by).Add("classification").Join();
  const std::string by_le = LabelList(by).Add("le").Join();
  auto branches = [&](const std::string& first, auto&& make) {
    std::string out;
    if (q.name.empty()) {
      LabelList m;
      m.Add("selector", first);
      if (!q.ns.empty()) m.Add("namespace", EqualMatcher("namespace", q.ns));
      return make(m.Join());
    }
    for (const auto& o : kOwners) {
      LabelList m;
      m.Add("selector", first);
      if (!q.ns.empty()) m.Add("namespace", EqualMatcher("namespace", q.ns));
      m.Add(o, EqualMatcher(o, q.name));
      if (!out.empty()) out += " or ";
      out += make(m.Join());
    }
    return out;
  };
  ProfileQueries out;
  out.counts = branches(EqualMatcher("direction", "inbound"), [&](const std::string& m) {
    return SumIncrease(by_class, "response_total", m, window);
  });
  out.counts +=
      " or " + LabelReplace(branches(job,
                                     [&](const std::string& m) {
                                       return "group by (" + by_object + ") (up{" + m + "})";
                                     }),
                            "smi_exists", "true");
  out.buckets = branches(EqualMatcher("direction", "inbound"), [&](const std::string& m) {
    return SumIncrease(by_le, "response_latency_ms_bucket", m, window);
  });
  return out;
}

ProfileQueries LinkerdProfile::BuildQueries(const SampleQuery& q) const {
  if (q.all_workload_kinds) {
    if (q.edges) throw std::invalid_argument("every workload kind at once: resource scope only");
    SampleQuery v = q;
    v.kind = ResourceKind::kDeployment;
    Validate(v);
    return AllWorkloadKinds(q, EqualMatcher("job", proxy_job_));
  }
  Validate(q);
  const std::string k(KindLabel(q.kind));
  const bool is_ns = q.kind == ResourceKind::kNamespace;
  const std::string window = model::FormatPromDuration(q.window);
  const std::string job = EqualMatcher("job", proxy_job_);

  if (!q.edges) {
    LabelList inbound;
    inbound.Add("direction", EqualMatcher("direction", "inbound"));
    LabelList up;
    up.Add("job", job);
    if (!is_ns && !q.ns.empty()) {
      inbound.Add("namespace", EqualMatcher("namespace", q.ns));
      up.Add("namespace", EqualMatcher("namespace", q.ns));
    }
    const std::string obj = q.name.empty() ? NotEmpty(k) : EqualMatcher(k, q.name);
    inbound.Add(k, obj);
    up.Add(k, obj);

    const std::string by_object = LabelList().Add("namespace").Add(k).Join();
    const std::string by_class = LabelList().Add("namespace").Add(k).Add("classification").Join();
    const std::string by_le = LabelList().Add("namespace").Add(k).Add("le").Join();
    ProfileQueries out;
    out.counts =
        SumIncrease(by_class, "response_total", inbound.Join(), window) + " or " +
        LabelReplace("group by (" + by_object + ") (up{" + up.Join() + "})", "smi_exists", "true");
    out.buckets = SumIncrease(by_le, "response_latency_ms_bucket", inbound.Join(), window);
    return out;
  }

  // Edges: both directions come from outbound (client-side) series: `to` from the object's own
  // proxies, `from` from its callers' proxies, whose dst_* labels name the object.
  const std::string ns = is_ns ? q.name : q.ns;
  const std::string dk = Dst(k);
  LabelList to;
  to.Add("direction", EqualMatcher("direction", "outbound"))
      .Add("namespace", EqualMatcher("namespace", ns))
      .Add(k, EqualMatcher(k, q.name))
      .Add(dk, NotEmpty(dk));
  LabelList from;
  from.Add("direction", EqualMatcher("direction", "outbound"))
      .Add("dst_namespace", EqualMatcher("dst_namespace", ns))
      .Add(dk, EqualMatcher(dk, q.name))
      .Add(k, NotEmpty(k));
  LabelList up;
  up.Add("job", job)
      .Add("namespace", EqualMatcher("namespace", ns))
      .Add(k, EqualMatcher(k, q.name));

  LabelList pair;
  pair.Add("namespace").Add(k).Add("dst_namespace").Add(dk);
  const std::string by_class = LabelList(pair).Add("classification").Join();
  const std::string by_le = LabelList(pair).Add("le").Join();
  const std::string by_object = LabelList().Add("namespace").Add(k).Join();

  auto both = [&](const std::string& grouping, std::string_view metric) {
    return LabelReplace(SumIncrease(grouping, metric, to.Join(), window), "smi_edge", "to") +
           " or " +
           LabelReplace(SumIncrease(grouping, metric, from.Join(), window), "smi_edge", "from");
  };
  ProfileQueries out;
  out.counts =
      both(by_class, "response_total") + " or " +
      LabelReplace("group by (" + by_object + ") (up{" + up.Join() + "})", "smi_exists", "true");
  out.buckets = both(by_le, "response_latency_ms_bucket");
  return out;
}

TrafficSamples LinkerdProfile::ToSamples(const SampleQuery& q,
                                         const std::vector<VectorSample>& counts,
                                         const std::vector<VectorSample>& buckets) const {
  const std::string k(KindLabel(q.kind));
  const bool is_ns = q.kind == ResourceKind::kNamespace;
  const std::string kind_name(model::KindName(q.kind));
  const std::string dk = Dst(k);

  // The object a row names through `ns_label` and `name_label`; nullopt when they are missing.
  auto ref = [&](const std::map<std::string, std::string>& labels, const std::string& ns_label,
                 const std::string& name_label) -> std::optional<ObjectReference> {
    const std::string* name = Find(labels, name_label);
    if (name == nullptr || name->empty()) return std::nullopt;
    ObjectReference r;
    r.kind = kind_name;
    r.name = *name;
    if (!is_ns) {
      const std::string* ns = Find(labels, ns_label);
      if (ns == nullptr || ns->empty()) return std::nullopt;
      r.ns = *ns;
    }
    return r;
  };

  using EdgeKey = std::tuple<ObjectReference, Direction, Side, ObjectReference>;
  std::map<ObjectReference, TrafficCounts> resources;
  std::map<EdgeKey, TrafficCounts> edges;
  TrafficSamples out;
  bool bad_le = false;

  // The entry a row adds to; nullptr when the row is not about traffic (or is unusable).
  // Every workload kind at once: the row's one non-empty owner label names it.
  auto owner =
      [&](const std::map<std::string, std::string>& labels) -> std::optional<ObjectReference> {
    for (ResourceKind kind :
         {ResourceKind::kDeployment, ResourceKind::kStatefulSet, ResourceKind::kDaemonSet}) {
      const std::string* name = Find(labels, std::string(KindLabel(kind)));
      const std::string* ns = Find(labels, "namespace");
      if (name == nullptr || name->empty() || ns == nullptr || ns->empty()) continue;
      return ObjectReference{std::string(model::KindName(kind)), *ns, *name, ""};
    }
    return std::nullopt;
  };
  auto self = [&](const std::map<std::string, std::string>& labels) {
    return q.all_workload_kinds ? owner(labels) : ref(labels, "namespace", k);
  };

  auto entry = [&](const std::map<std::string, std::string>& labels) -> TrafficCounts* {
    if (!q.edges) {
      auto r = self(labels);
      return r ? &resources[*r] : nullptr;
    }
    if (Has(labels, "smi_edge", "to")) {
      auto r = ref(labels, "namespace", k);
      auto peer = ref(labels, "dst_namespace", dk);
      if (!r || !peer) return nullptr;
      return &edges[EdgeKey{*r, Direction::kTo, Side::kClient, *peer}];
    }
    if (Has(labels, "smi_edge", "from")) {
      auto r = ref(labels, "dst_namespace", dk);
      auto peer = ref(labels, "namespace", k);
      if (!r || !peer) return nullptr;
      return &edges[EdgeKey{*r, Direction::kFrom, Side::kClient, *peer}];
    }
    return nullptr;
  };

  for (const VectorSample& s : counts) {
    if (Has(s.labels, "smi_exists", "true")) {
      if (auto r = self(s.labels)) out.known_objects.push_back(std::move(*r));
      continue;
    }
    TrafficCounts* c = entry(s.labels);
    if (c == nullptr) continue;
    if (Has(s.labels, "classification", "success")) {
      c->success += s.value;
    } else if (Has(s.labels, "classification", "failure")) {
      c->failure += s.value;
    }
  }
  for (const VectorSample& s : buckets) {
    const std::string* le_text = Find(s.labels, "le");
    double le_ms = 0;
    if (le_text == nullptr || !ParseSampleValue(*le_text, &le_ms) || std::isnan(le_ms)) {
      bad_le = true;
      continue;
    }
    TrafficCounts* c = entry(s.labels);
    if (c == nullptr) continue;
    // Two series may spell one bound differently ("1" and "1.0"): add, never overwrite.
    c->latency_buckets[le_ms / 1000.0] += s.value;
  }

  std::sort(out.known_objects.begin(), out.known_objects.end());
  out.known_objects.erase(std::unique(out.known_objects.begin(), out.known_objects.end()),
                          out.known_objects.end());
  out.resources.reserve(resources.size());
  for (auto& [r, c] : resources) out.resources.push_back(ResourceSample{r, std::move(c)});
  out.edges.reserve(edges.size());
  for (auto& [key, c] : edges) {
    const auto& [r, direction, side, peer] = key;
    out.edges.push_back(EdgeSample{r, direction, side, peer, std::move(c)});
  }
  if (bad_le) {
    out.warnings.push_back("latency buckets without a numeric \"le\" label were ignored (query: " +
                           k + " " + (q.edges ? "edges" : "resources") + ")");
  }
  return out;
}

}  // namespace smi::sources::prometheus
