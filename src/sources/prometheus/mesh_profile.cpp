// MeshProfile: a profile spec checked once, when it is made, and its classification rules
// compiled.
#include "sources/prometheus/mesh_profile.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <stdexcept>
#include <utility>

#include <prometheus/check_names.h>

#include "sources/prometheus/promql_escape.h"

namespace smi::sources::prometheus {
namespace {

// Labels the engine adds to rows itself; a profile must not use them.
bool IsReserved(std::string_view label) {
  return label == "smi_exists" || label == "smi_edge" || label == "le";
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
    // Kinds the server forms from the Kubernetes caches; no profile key names them.
    case ResourceKind::kReplicaSet:
      return "replicaset";
    case ResourceKind::kReplicationController:
      return "replicationcontroller";
    case ResourceKind::kJob:
      return "job";
    case ResourceKind::kNode:
      return "node";
    case ResourceKind::kService:
      return "service";
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
  // prometheus-cpp's check is Prometheus' own rule: [a-zA-Z_][a-zA-Z0-9_]*, and names starting
  // with "__" are reserved for Prometheus' own use.
  if (!::prometheus::CheckLabelName(label)) {
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

// `unnamed_only`: a view whose rows name no peer (edges.from_unnamed), so it has no peers.
void CheckView(const std::string& where, const SeriesView& v,
               const std::map<std::string, std::string>& parameters, bool edges,
               bool unnamed_only = false) {
  CheckSelector(where + ".selector", v.selector, parameters);
  CheckObjects(where + ".objects", v.objects);
  CheckWorkloads(where + ".workloads", v.workloads);
  if (v.pod_owner) {
    const auto kind = v.pod_owner->kind;
    if (kind && *kind != ResourceKind::kDeployment && *kind != ResourceKind::kStatefulSet &&
        *kind != ResourceKind::kDaemonSet) {
      throw std::invalid_argument(where +
                                  ".pod_owner.kind: must be deployment, statefulset or daemonset");
    }
    CheckObject(where + ".pod_owner", *v.pod_owner, kind.value_or(ResourceKind::kDeployment));
  }
  if (edges) {
    CheckObjects(where + ".peers", v.peers);
    CheckWorkloads(where + ".peer_workloads", v.peer_workloads);
    if (!v.host_label.empty()) CheckLabel(where + ".host", v.host_label);
    for (const auto& [kind, o] : v.objects) {
      if (unnamed_only) continue;
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
  // Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*, and not starting with "__" (reserved, as for labels).
  if (!::prometheus::CheckMetricName(s.requests_metric)) {
    throw std::invalid_argument("metrics.requests: \"" + EscapeLabelValue(s.requests_metric) +
                                "\" is not a PromQL metric name");
  }
  if (!::prometheus::CheckMetricName(s.latency_bucket_metric)) {
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
  if (s.edges_from_unnamed) {
    CheckView("edges.from_unnamed", *s.edges_from_unnamed, s.parameters, true, true);
  }
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
    if (!::prometheus::CheckMetricName(e.metric)) {
      throw std::invalid_argument(where + ".metric: \"" + EscapeLabelValue(e.metric) +
                                  "\" is not a PromQL metric name");
    }
    CheckSelector(where + ".selector", e.selector, s.parameters);
    CheckObjects(where + ".objects", e.objects);
    CheckWorkloads(where + ".workloads", e.workloads);
  }
  // A labelled workload kind is summed by its own labels in the resource scope and on both ends
  // of both edge directions; peers the series do not name as that kind are named by their pod.
  for (ResourceKind kind : s.labelled_workloads) {
    const std::string where = "labelled_workloads: " + std::string(KindLabel(kind));
    if (kind == ResourceKind::kPod || kind == ResourceKind::kNamespace) {
      throw std::invalid_argument(where + " is not a workload kind");
    }
    const auto named = [&](const std::map<ResourceKind, ObjectLabels>& m, ResourceKind k,
                           const std::string& part) {
      const auto it = m.find(k);
      if (it == m.end() || it->second.kind.value_or(k) != k) {
        throw std::invalid_argument(where + ": " + part + " has no " + std::string(KindLabel(k)) +
                                    " labels of that kind");
      }
    };
    named(s.resource.objects, kind, "resource.objects");
    for (const auto& [view, name] :
         {std::pair{&s.edges_to, "edges.to"}, std::pair{&s.edges_from, "edges.from"}}) {
      named(view->objects, kind, std::string(name) + ".objects");
      named(view->peers, kind, std::string(name) + ".peers");
      named(view->peers, ResourceKind::kPod, std::string(name) + ".peers");
    }
  }
  compiled_ = std::move(compiled);
}

MeshProfile::~MeshProfile() = default;
MeshProfile::MeshProfile(const MeshProfile&) = default;
MeshProfile& MeshProfile::operator=(const MeshProfile&) = default;
MeshProfile::MeshProfile(MeshProfile&&) noexcept = default;
MeshProfile& MeshProfile::operator=(MeshProfile&&) noexcept = default;

MeshProfile::RowClass MeshProfile::Classify(
    const std::map<std::string, std::string>& labels) const {
  auto matches = [&](const std::vector<Compiled::Rule>& rules) {
    for (const auto& rule : rules) {
      const auto it = labels.find(rule.label);
      if (std::regex_match(it == labels.end() ? std::string() : it->second, rule.re)) return true;
    }
    return false;
  };
  if (matches(compiled_->failure)) return RowClass::kFailure;
  if (compiled_->success.empty() || matches(compiled_->success)) return RowClass::kSuccess;
  return RowClass::kNotCounted;
}

bool MeshProfile::PodEdgesNamePeerPods() const {
  const auto pod = [](const std::map<ResourceKind, ObjectLabels>& m) {
    const auto it = m.find(ResourceKind::kPod);
    return it != m.end() && it->second.kind.value_or(ResourceKind::kPod) == ResourceKind::kPod;
  };
  return pod(spec_.edges_to.objects) && pod(spec_.edges_to.peers) &&
         pod(spec_.edges_from.objects) && pod(spec_.edges_from.peers);
}

}  // namespace smi::sources::prometheus
