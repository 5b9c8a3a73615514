#include "kube/objects.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace smi::kube {

using nlohmann::json;

const OwnerReference* ObjectMeta::Controller() const {
  for (const auto& o : owners) {
    if (o.controller) return &o;
  }
  return nullptr;
}

std::string_view ResourceName(Resource r) {
  switch (r) {
    case Resource::kPods:
      return "pods";
    case Resource::kReplicaSets:
      return "replicasets";
    case Resource::kDeployments:
      return "deployments";
    case Resource::kStatefulSets:
      return "statefulsets";
    case Resource::kDaemonSets:
      return "daemonsets";
    case Resource::kNamespaces:
      return "namespaces";
    case Resource::kTrafficSplits:
      return "trafficsplits";
    case Resource::kReplicationControllers:
      return "replicationcontrollers";
    case Resource::kJobs:
      return "jobs";
    case Resource::kNodes:
      return "nodes";
    case Resource::kServices:
      return "services";
  }
  return "";
}

std::string_view ResourceGroup(Resource r) {
  switch (r) {
    case Resource::kPods:
    case Resource::kNamespaces:
    case Resource::kReplicationControllers:
    case Resource::kNodes:
    case Resource::kServices:
      return "";
    case Resource::kJobs:
      return "batch";
    case Resource::kTrafficSplits:
      return "split.smi-spec.io";
    default:
      return "apps";
  }
}

std::string_view ResourceKindName(Resource r) {
  switch (r) {
    case Resource::kPods:
      return "Pod";
    case Resource::kReplicaSets:
      return "ReplicaSet";
    case Resource::kDeployments:
      return "Deployment";
    case Resource::kStatefulSets:
      return "StatefulSet";
    case Resource::kDaemonSets:
      return "DaemonSet";
    case Resource::kNamespaces:
      return "Namespace";
    case Resource::kTrafficSplits:
      return "TrafficSplit";
    case Resource::kReplicationControllers:
      return "ReplicationController";
    case Resource::kJobs:
      return "Job";
    case Resource::kNodes:
      return "Node";
    case Resource::kServices:
      return "Service";
  }
  return "";
}

std::string CollectionPath(Resource r, std::string_view split_version) {
  const std::string name(ResourceName(r));
  switch (r) {
    case Resource::kPods:
    case Resource::kNamespaces:
    case Resource::kReplicationControllers:
    case Resource::kNodes:
    case Resource::kServices:
      return "/api/v1/" + name;
    case Resource::kJobs:
      return "/apis/batch/v1/" + name;
    case Resource::kTrafficSplits:
      return "/apis/split.smi-spec.io/" + std::string(split_version) + "/" + name;
    default:
      return "/apis/apps/v1/" + name;
  }
}

std::optional<Resource> ResourceForKind(std::string_view api_version, std::string_view kind) {
  const size_t slash = api_version.find('/');
  const std::string_view group =
      slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
  for (Resource r : kAllResources) {
    if (ResourceKindName(r) == kind && ResourceGroup(r) == group) return r;
  }
  return std::nullopt;
}

std::string_view WorkloadKindName(WorkloadKind k) {
  switch (k) {
    case WorkloadKind::kReplicaSet:
      return "ReplicaSet";
    case WorkloadKind::kDeployment:
      return "Deployment";
    case WorkloadKind::kStatefulSet:
      return "StatefulSet";
    case WorkloadKind::kDaemonSet:
      return "DaemonSet";
    case WorkloadKind::kReplicationController:
      return "ReplicationController";
    case WorkloadKind::kJob:
      return "Job";
  }
  return "";
}

std::optional<WorkloadKind> WorkloadKindFromName(std::string_view kind) {
  for (WorkloadKind k :
       {WorkloadKind::kReplicaSet, WorkloadKind::kDeployment, WorkloadKind::kStatefulSet,
        WorkloadKind::kDaemonSet, WorkloadKind::kReplicationController, WorkloadKind::kJob}) {
    if (WorkloadKindName(k) == kind) return k;
  }
  return std::nullopt;
}

Resource WorkloadResource(WorkloadKind k) {
  switch (k) {
    case WorkloadKind::kReplicaSet:
      return Resource::kReplicaSets;
    case WorkloadKind::kDeployment:
      return Resource::kDeployments;
    case WorkloadKind::kStatefulSet:
      return Resource::kStatefulSets;
    case WorkloadKind::kDaemonSet:
      return Resource::kDaemonSets;
    case WorkloadKind::kReplicationController:
      return Resource::kReplicationControllers;
    case WorkloadKind::kJob:
      return Resource::kJobs;
  }
  return Resource::kDeployments;
}

namespace {

std::string Str(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

const json& Field(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

}  // namespace

ObjectMeta DecodeMeta(const json& object) {
  if (!object.is_object()) throw std::invalid_argument("object is not a JSON object");
  const json& md = Field(object, "metadata");
  if (!md.is_object()) throw std::invalid_argument("object without metadata");
  ObjectMeta m;
  m.name = Str(md, "name");
  if (m.name.empty()) throw std::invalid_argument("object without metadata.name");
  m.ns = Str(md, "namespace");
  m.uid = Str(md, "uid");
  if (const json& labels = Field(md, "labels"); labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (v.is_string()) m.labels.emplace(k, v.get<std::string>());
    }
  }
  if (const json& owners = Field(md, "ownerReferences"); owners.is_array()) {
    for (const auto& o : owners) {
      if (!o.is_object()) continue;
      OwnerReference ref{Str(o, "kind"), Str(o, "name"), Str(o, "uid"), false};
      if (auto c = o.find("controller"); c != o.end() && c->is_boolean()) ref.controller = *c;
      m.owners.push_back(std::move(ref));
    }
  }
  return m;
}

Pod DecodePod(const json& object) {
  Pod p;
  p.meta = DecodeMeta(object);
  const json& status = Field(object, "status");
  p.ip = Str(status, "podIP");
  p.node = Str(Field(object, "spec"), "nodeName");
  p.phase = Str(status, "phase");
  if (const json& containers = Field(Field(object, "spec"), "containers"); containers.is_array()) {
    for (const auto& c : containers) {
      if (!c.is_object()) continue;
      p.containers.push_back(Str(c, "name"));
      if (const json& ports = Field(c, "ports"); ports.is_array()) {
        for (const auto& port : ports) {
          if (!port.is_object()) continue;
          const auto number = port.find("containerPort");
          const std::string name = Str(port, "name");
          if (name.empty() || number == port.end() || !number->is_number_integer()) continue;
          const auto value = number->get<int64_t>();
          if (value < 1 || value > 65535) continue;
          p.named_ports.push_back({name, static_cast<int>(value)});
        }
      }
    }
  }
  if (const json& annotations = Field(Field(object, "metadata"), "annotations");
      annotations.is_object()) {
    for (std::string_view key : kPodScrapeAnnotations) {
      const auto it = annotations.find(std::string(key));
      if (it == annotations.end() || !it->is_string()) continue;
      const auto& value = it->get_ref<const std::string&>();
      p.annotations.emplace(std::string(key), value.size() <= 256 ? value : std::string());
    }
  }
  return p;
}

Workload DecodeWorkload(WorkloadKind kind, const json& object) {
  Workload w;
  w.kind = kind;
  w.meta = DecodeMeta(object);
  const json& selector = Field(Field(object, "spec"), "selector");
  try {
    // A ReplicationController's selector is a plain label map, as a Service's.
    w.selector = kind == WorkloadKind::kReplicationController
                     ? (selector.is_object() && !selector.empty()
                            ? LabelSelector::FromLabelSelectorJson({{"matchLabels", selector}})
                            : LabelSelector::Nothing())
                     : LabelSelector::FromLabelSelectorJson(selector);
  } catch (const SelectorParseError& e) {
    // The apiserver validated it; should one still be unusable, select nothing rather than all.
    w.selector = LabelSelector::Nothing();
  }
  return w;
}

Namespace DecodeNamespace(const json& object) {
  Namespace n;
  n.meta = DecodeMeta(object);
  n.phase = Str(Field(object, "status"), "phase");
  return n;
}

Node DecodeNode(const json& object) { return Node{DecodeMeta(object)}; }

Service DecodeService(const json& object) {
  Service s;
  s.meta = DecodeMeta(object);
  const json& spec = Field(object, "spec");
  s.type = Str(spec, "type");
  if (s.type.empty()) s.type = "ClusterIP";
  s.headless = Str(spec, "clusterIP") == "None";
  const json& selector = Field(spec, "selector");
  s.selector = LabelSelector::Nothing();
  if (selector.is_object() && !selector.empty() && s.type != "ExternalName") {
    try {
      s.selector = LabelSelector::FromLabelSelectorJson({{"matchLabels", selector}});
      s.has_selector = true;
    } catch (const SelectorParseError&) {
      // The apiserver validated it; should one still be unusable, select nothing rather than all.
    }
  }
  return s;
}

namespace {

// The largest magnitude a milli-value may have: below INT64_MAX with room for rounding, so that
// every conversion from the long double below is defined.
constexpr long double kMaxMilli = 9e18L;

// A TrafficSplit weight in thousandths, from its value as a long double. Weights are relative
// shares: a negative, non-finite or unrepresentable one makes the object invalid rather than
// being wrapped or clamped into some other share.
int64_t WeightMilli(long double milli, const std::string& what) {
  if (!std::isfinite(milli)) throw std::invalid_argument("weight " + what + " is not a number");
  if (milli < 0) throw std::invalid_argument("weight " + what + " is negative");
  if (milli > kMaxMilli) throw std::invalid_argument("weight " + what + " is too large");
  return static_cast<int64_t>(milli);
}

int64_t BackendWeightMilli(const json& w) {
  if (w.is_number_unsigned()) {
    const uint64_t v = w.get<uint64_t>();
    if (v > static_cast<uint64_t>(kMaxMilli / 1000)) {
      throw std::invalid_argument("weight " + std::to_string(v) + " is too large");
    }
    return static_cast<int64_t>(v) * 1000;
  }
  if (w.is_number_integer()) {  // signed: only negative integers are stored so
    const int64_t v = w.get<int64_t>();
    if (v < 0) throw std::invalid_argument("weight " + std::to_string(v) + " is negative");
    return WeightMilli(static_cast<long double>(v) * 1000, std::to_string(v));
  }
  if (w.is_number()) {
    const double v = w.get<double>();
    return WeightMilli(std::ceil(static_cast<long double>(v) * 1000), w.dump());
  }
  const std::string text = w.get<std::string>();
  const int64_t milli = ParseQuantityMilli(text);
  if (milli < 0) throw std::invalid_argument("weight " + text + " is negative");
  return milli;
}

}  // namespace

int64_t ParseQuantityMilli(std::string_view text) {
  const std::string s(text);
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  const size_t num_start = i;
  size_t digits = 0, dots = 0;
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++digits;
    } else if (s[i] == '.') {
      ++dots;
    } else {
      break;
    }
  }
  if (digits == 0 || dots > 1) throw std::invalid_argument("quantity " + s + " has no number");
  long double number = 0;
  try {
    number = std::stold(s.substr(num_start, i - num_start));
  } catch (const std::out_of_range&) {
    throw std::invalid_argument("quantity " + s + " is out of range");
  }
  const std::string suffix = s.substr(i);
  long double factor = 1;
  if (suffix.empty()) {
  } else if (suffix == "n") {
    factor = 1e-9L;
  } else if (suffix == "u") {
    factor = 1e-6L;
  } else if (suffix == "m") {
    factor = 1e-3L;
  } else if (suffix == "k") {
    factor = 1e3L;
  } else if (suffix == "M") {
    factor = 1e6L;
  } else if (suffix == "G") {
    factor = 1e9L;
  } else if (suffix == "T") {
    factor = 1e12L;
  } else if (suffix == "Ki") {
    factor = 1024.0L;
  } else if (suffix == "Mi") {
    factor = 1024.0L * 1024;
  } else if (suffix == "Gi") {
    factor = 1024.0L * 1024 * 1024;
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::string_view digits_text = std::string_view(suffix).substr(1);
    if (!digits_text.empty() && digits_text[0] == '+') digits_text.remove_prefix(1);
    int exp = 0;
    const auto [end, ec] =
        std::from_chars(digits_text.data(), digits_text.data() + digits_text.size(), exp);
    if (ec == std::errc::result_out_of_range) {
      throw std::invalid_argument("quantity " + s + " has an exponent out of range");
    }
    if (ec != std::errc() || end != digits_text.data() + digits_text.size()) {
      throw std::invalid_argument("bad quantity " + s);
    }
    factor = std::pow(10.0L, exp);
  } else {
    throw std::invalid_argument("quantity " + s + " has an unknown suffix");
  }
  // Zero stays zero whatever the exponent ("0e99999" would otherwise be 0 x inf).
  if (number == 0) return 0;
  const long double milli = std::ceil(number * factor * 1000 - 1e-9L);
  // Also false for NaN, so that only representable values reach the conversion.
  if (!(milli <= kMaxMilli)) throw std::invalid_argument("quantity " + s + " is too large");
  return static_cast<int64_t>(negative ? -milli : milli);
}

TrafficSplit DecodeTrafficSplit(const json& object, std::string_view api_version) {
  TrafficSplit t;
  t.meta = DecodeMeta(object);
  t.api_version = api_version.empty() ? Str(object, "apiVersion") : std::string(api_version);
  const json& spec = Field(object, "spec");
  t.service = Str(spec, "service");
  bool all_whole = true;
  bool quantities = false;
  if (const json& backends = Field(spec, "backends"); backends.is_array()) {
    for (const auto& b : backends) {
      TrafficSplitBackend be;
      be.service = Str(b, "service");
      const json& w = Field(b, "weight");
      if (w.is_number() || w.is_string()) {
        be.weight_milli = BackendWeightMilli(w);
        if (!w.is_number_integer()) quantities = true;
      }
      if (be.weight_milli % 1000 != 0) all_whole = false;
      t.backends.push_back(std::move(be));
    }
  }
  for (auto& be : t.backends) {
    const int64_t v = (!quantities || all_whole) ? be.weight_milli / 1000 : be.weight_milli;
    be.weight = static_cast<int>(std::min<int64_t>(v, INT32_MAX));
  }
  return t;
}

json ParseTrimmed(std::string_view text, int object_depth) {
  const int field_depth = object_depth + 1;
  // Inside which of the object's fields the parser is: containers and annotations are kept, but
  // trimmed to what sidecar mode reads (Pod::containers, named_ports, annotations).
  enum class Inside { kOther, kContainers, kAnnotations };
  Inside inside = Inside::kOther;
  auto cb = [field_depth, &inside](int depth, json::parse_event_t event, json& parsed) {
    if (event != json::parse_event_t::key || depth < field_depth) return true;
    const auto& k = parsed.get_ref<const std::string&>();
    if (depth > field_depth) {
      if (inside == Inside::kAnnotations && depth == field_depth + 1) {
        for (std::string_view keep : kPodScrapeAnnotations) {
          if (k == keep) return true;
        }
        return false;
      }
      if (inside == Inside::kContainers && depth == field_depth + 2) {
        return k == "name" || k == "ports";
      }
      return true;
    }
    // A key of the object's own fields (metadata's, spec's, status'): the previous one ended.
    inside = k == "containers"    ? Inside::kContainers
             : k == "annotations" ? Inside::kAnnotations
                                  : Inside::kOther;
    // Large parts of metadata, spec and status that no decoder here reads.
    static const char* kDropped[] = {"managedFields",
                                     "finalizers",
                                     "initContainers",
                                     "ephemeralContainers",
                                     "volumes",
                                     "tolerations",
                                     "affinity",
                                     "conditions",
                                     "containerStatuses",
                                     "initContainerStatuses",
                                     "ephemeralContainerStatuses",
                                     "template",
                                     "volumeClaimTemplates",
                                     "hostIPs",
                                     "podIPs",
                                     "readinessGates",
                                     "topologySpreadConstraints",
                                     "securityContext",
                                     "images",
                                     "volumesInUse",
                                     "volumesAttached"};
    for (const char* d : kDropped) {
      if (k == d) return false;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb);
  } catch (const json::out_of_range& e) {
    // A number beyond double ("1e400") is malformed input like any other, and callers expect
    // one exception type for that.
    throw json::parse_error::create(101, 0, e.what(), nullptr);
  }
}

}  // namespace smi::kube
