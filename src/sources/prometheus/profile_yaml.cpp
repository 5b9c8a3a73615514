#include "sources/prometheus/profile_yaml.h"

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "base/yaml_keys.h"

#include "model/traffic_metrics.h"

namespace smi::sources::prometheus {
namespace {

class Reader {
 public:
  explicit Reader(std::string where) : where_(std::move(where)) {}

  [[noreturn]] void Fail(const std::string& key, const std::string& what) const {
    throw std::invalid_argument(where_ + (key.empty() ? "" : (where_.empty() ? "" : ": ") + key) +
                                ": " + what);
  }

  static std::string Join(const std::string& key, const std::string& child) {
    return key.empty() ? child : key + "." + child;
  }

  // A map whose keys are all in `allowed`.
  void Map(const YAML::Node& n, const std::string& key, std::set<std::string> allowed) const {
    if (!n.IsMap()) Fail(key, "expected a mapping");
    if (const auto unknown = base::UnknownKey(n, allowed)) {
      Fail(Join(key, *unknown), base::UnknownKeyMessage(allowed));
    }
  }

  std::string String(const YAML::Node& n, const std::string& key, bool required) const {
    if (!n || n.IsNull()) {
      if (required) Fail(key, "is required");
      return "";
    }
    if (!n.IsScalar()) Fail(key, "expected a string");
    return n.Scalar();
  }

  std::vector<std::string> Strings(const YAML::Node& n, const std::string& key) const {
    std::vector<std::string> out;
    if (!n || n.IsNull()) return out;
    if (!n.IsSequence()) Fail(key, "expected a list of strings");
    for (size_t i = 0; i < n.size(); ++i) {
      out.push_back(String(n[i], key + "[" + std::to_string(i) + "]", true));
    }
    return out;
  }

  static std::optional<ResourceKind> KindFromKey(const std::string& k) {
    for (ResourceKind kind :
         {ResourceKind::kPod, ResourceKind::kDeployment, ResourceKind::kStatefulSet,
          ResourceKind::kDaemonSet, ResourceKind::kNamespace}) {
      if (KindLabel(kind) == k) return kind;
    }
    return std::nullopt;
  }

  ObjectLabels Object(const YAML::Node& n, const std::string& key) const {
    Map(n, key, {"kind", "namespace", "name"});
    ObjectLabels o;
    if (n["kind"]) {
      const std::string k = String(n["kind"], Join(key, "kind"), true);
      o.kind = KindFromKey(k);
      if (!o.kind) {
        Fail(Join(key, "kind"),
             "\"" + k + "\" is not one of pod, deployment, statefulset, daemonset, namespace");
      }
    }
    o.ns_label = String(n["namespace"], Join(key, "namespace"), false);
    o.name_label = String(n["name"], Join(key, "name"), true);
    return o;
  }

  std::map<ResourceKind, ObjectLabels> Objects(const YAML::Node& n, const std::string& key) const {
    std::map<ResourceKind, ObjectLabels> out;
    if (!n || n.IsNull()) return out;
    Map(n, key, {"pod", "deployment", "statefulset", "daemonset", "namespace"});
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      out[*KindFromKey(k)] = Object(kv.second, Join(key, k));
    }
    return out;
  }

  std::vector<ObjectLabels> Workloads(const YAML::Node& n, const std::string& key) const {
    std::vector<ObjectLabels> out;
    if (!n || n.IsNull()) return out;
    if (!n.IsSequence()) Fail(key, "expected a list");
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string k = key + "[" + std::to_string(i) + "]";
      out.push_back(Object(n[i], k));
      if (!out.back().kind) Fail(Join(k, "kind"), "is required");
    }
    return out;
  }

  std::vector<Matcher> Selector(const YAML::Node& n, const std::string& key) const {
    std::vector<Matcher> out;
    if (!n || n.IsNull()) return out;
    if (!n.IsSequence()) Fail(key, "expected a list of matchers");
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string k = key + "[" + std::to_string(i) + "]";
      Map(n[i], k, {"label", "op", "value", "param"});
      Matcher m;
      m.label = String(n[i]["label"], Join(k, "label"), true);
      if (n[i]["op"]) m.op = String(n[i]["op"], Join(k, "op"), true);
      const bool has_value = static_cast<bool>(n[i]["value"]);
      const bool has_param = static_cast<bool>(n[i]["param"]);
      if (has_value == has_param) Fail(k, "give exactly one of value and param");
      if (has_value) m.value = String(n[i]["value"], Join(k, "value"), true);
      if (has_param) m.param = String(n[i]["param"], Join(k, "param"), true);
      out.push_back(std::move(m));
    }
    return out;
  }

  std::vector<LabelRule> Rules(const YAML::Node& n, const std::string& key) const {
    std::vector<LabelRule> out;
    if (!n || n.IsNull()) return out;
    if (!n.IsSequence()) Fail(key, "expected a list of {label, regex}");
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string k = key + "[" + std::to_string(i) + "]";
      Map(n[i], k, {"label", "regex"});
      out.push_back({String(n[i]["label"], Join(k, "label"), true),
                     String(n[i]["regex"], Join(k, "regex"), true)});
    }
    return out;
  }

  SeriesView View(const YAML::Node& n, const std::string& key, bool edges) const {
    if (!n) Fail(key, "is required");
    if (edges) {
      Map(n, key,
          {"selector", "objects", "peers", "side", "peer_workloads", "unnamed_value", "host"});
    } else {
      Map(n, key, {"selector", "objects", "workloads", "pod_owner"});
    }
    SeriesView v;
    v.selector = Selector(n["selector"], Join(key, "selector"));
    v.objects = Objects(n["objects"], Join(key, "objects"));
    if (edges) {
      v.peers = Objects(n["peers"], Join(key, "peers"));
      v.peer_workloads = Workloads(n["peer_workloads"], Join(key, "peer_workloads"));
      v.unnamed_value = String(n["unnamed_value"], Join(key, "unnamed_value"), false);
      v.host_label = String(n["host"], Join(key, "host"), false);
      const std::string side = String(n["side"], Join(key, "side"), true);
      if (side == "client") {
        v.side = Side::kClient;
      } else if (side == "server") {
        v.side = Side::kServer;
      } else {
        Fail(Join(key, "side"), "\"" + side + "\" is not one of client, server");
      }
    } else {
      v.workloads = Workloads(n["workloads"], Join(key, "workloads"));
      if (n["pod_owner"] && !n["pod_owner"].IsNull()) {
        v.pod_owner = Object(n["pod_owner"], Join(key, "pod_owner"));
      }
    }
    return v;
  }

  MeshProfileSpec Profile(const YAML::Node& n) const {
    Map(n, "",
        {"name", "parameters", "metrics", "classification", "resource", "edges", "existence",
         "traffic_split", "sidecars", "labelled_workloads"});
    MeshProfileSpec s;
    s.name = String(n["name"], "name", true);
    if (const auto p = n["parameters"]; p && !p.IsNull()) {
      if (!p.IsMap()) Fail("parameters", "expected a mapping of names to strings");
      for (const auto& kv : p) {
        const std::string k = kv.first.Scalar();
        s.parameters[k] = String(kv.second, "parameters." + k, true);
      }
    }
    const auto m = n["metrics"];
    if (!m) Fail("metrics", "is required");
    Map(m, "metrics", {"requests", "latency_buckets", "latency_unit"});
    s.requests_metric = String(m["requests"], "metrics.requests", true);
    s.latency_bucket_metric = String(m["latency_buckets"], "metrics.latency_buckets", true);
    const std::string unit = String(m["latency_unit"], "metrics.latency_unit", true);
    if (unit == "seconds") {
      s.latency_units_per_second = 1;
    } else if (unit == "milliseconds") {
      s.latency_units_per_second = 1000;
    } else if (unit == "microseconds") {
      s.latency_units_per_second = 1e6;
    } else {
      Fail("metrics.latency_unit",
           "\"" + unit + "\" is not one of seconds, milliseconds, microseconds");
    }
    const auto c = n["classification"];
    if (!c) Fail("classification", "is required");
    Map(c, "classification", {"labels", "failure", "success"});
    s.classification.labels = Strings(c["labels"], "classification.labels");
    s.classification.failure = Rules(c["failure"], "classification.failure");
    s.classification.success = Rules(c["success"], "classification.success");
    s.resource = View(n["resource"], "resource", false);
    const auto e = n["edges"];
    if (!e) Fail("edges", "is required");
    Map(e, "edges", {"to", "from", "from_unnamed"});
    s.edges_to = View(e["to"], "edges.to", true);
    s.edges_from = View(e["from"], "edges.from", true);
    if (const auto u = e["from_unnamed"]; u && !u.IsNull()) {
      s.edges_from_unnamed = View(u, "edges.from_unnamed", true);
    }
    if (const auto x = n["existence"]; x && !x.IsNull()) {
      if (!x.IsSequence()) Fail("existence", "expected a list");
      for (size_t i = 0; i < x.size(); ++i) {
        const std::string k = "existence[" + std::to_string(i) + "]";
        Map(x[i], k, {"metric", "selector", "objects", "workloads"});
        ExistenceSource src;
        src.metric = String(x[i]["metric"], Join(k, "metric"), true);
        src.selector = Selector(x[i]["selector"], Join(k, "selector"));
        src.objects = Objects(x[i]["objects"], Join(k, "objects"));
        src.workloads = Workloads(x[i]["workloads"], Join(k, "workloads"));
        s.existence.push_back(std::move(src));
      }
    }
    if (const auto t = n["traffic_split"]; t && !t.IsNull()) {
      Map(t, "traffic_split", {"selector", "namespace", "backend", "authority", "side"});
      TrafficSplitView v;
      v.selector = Selector(t["selector"], "traffic_split.selector");
      v.ns_label = String(t["namespace"], "traffic_split.namespace", true);
      v.backend_label = String(t["backend"], "traffic_split.backend", true);
      v.authority_label = String(t["authority"], "traffic_split.authority", false);
      const std::string side = String(t["side"], "traffic_split.side", true);
      if (side == "client") {
        v.side = Side::kClient;
      } else if (side == "server") {
        v.side = Side::kServer;
      } else {
        Fail("traffic_split.side", "\"" + side + "\" is not one of client, server");
      }
      s.traffic_split = std::move(v);
    }
    if (const auto t = n["sidecars"]; t && !t.IsNull()) s.sidecars = Sidecars(t);
    const auto labelled = Strings(n["labelled_workloads"], "labelled_workloads");
    for (size_t i = 0; i < labelled.size(); ++i) {
      const auto kind = KindFromKey(labelled[i]);
      if (!kind || *kind == ResourceKind::kPod || *kind == ResourceKind::kNamespace) {
        Fail("labelled_workloads[" + std::to_string(i) + "]",
             "\"" + labelled[i] + "\" is not one of deployment, statefulset, daemonset");
      }
      s.labelled_workloads.insert(*kind);
    }
    return s;
  }

  SidecarTargets Sidecars(const YAML::Node& t) const {
    const std::string k = "sidecars";
    Map(t, k,
        {"container", "annotation", "port_name", "port_annotation", "port", "path",
         "path_annotation", "relabel"});
    SidecarTargets v;
    v.container = String(t["container"], Join(k, "container"), false);
    v.annotation = String(t["annotation"], Join(k, "annotation"), false);
    if (v.container.empty() && v.annotation.empty()) {
      Fail(k, "needs a container or an annotation that marks a meshed pod");
    }
    v.port_name = String(t["port_name"], Join(k, "port_name"), false);
    v.port_annotation = String(t["port_annotation"], Join(k, "port_annotation"), false);
    const std::string port = String(t["port"], Join(k, "port"), true);
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      Fail(Join(k, "port"), "\"" + port + "\" is not a port number (1-65535)");
    }
    v.port = value;
    const std::string path = String(t["path"], Join(k, "path"), false);
    if (!path.empty()) v.path = path;
    if (v.path.front() != '/') Fail(Join(k, "path"), "must start with /");
    v.path_annotation = String(t["path_annotation"], Join(k, "path_annotation"), false);
    const std::string relabel = String(t["relabel"], Join(k, "relabel"), true);
    if (relabel == "linkerd-viz") {
      v.relabel = SidecarTargets::Relabel::kLinkerdViz;
    } else if (relabel == "pod-labels") {
      v.relabel = SidecarTargets::Relabel::kPodLabels;
    } else {
      Fail(Join(k, "relabel"), "\"" + relabel + "\" is not one of linkerd-viz, pod-labels");
    }
    return v;
  }

 private:
  std::string where_;
};

}  // namespace

MeshProfileSpec ParseProfileYaml(const std::string& yaml_text, const std::string& where) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(where + ": not valid YAML: " + e.what());
  }
  MeshProfileSpec spec = Reader(where).Profile(root);
  // The semantic checks (identifiers, operators, regexes, parameters), with the same prefix.
  try {
    MeshProfile check(spec);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(where + ": " + e.what());
  }
  return spec;
}

MeshProfileSpec LoadProfileFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseProfileYaml(text.str(), path);
}

}  // namespace smi::sources::prometheus
