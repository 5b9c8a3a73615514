#include "meshsim/topology.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>

#include "meshsim/embedded_topology.h"

namespace meshsim {
namespace {

// Kubernetes' rand.SafeEncodeString alphabet (no vowels, no look-alike digits), as in real
// pod-template-hash values and pod name suffixes.
constexpr std::string_view kSafeAlphabet = "bcdfghjklmnpqrstvwxz2456789";

bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

[[noreturn]] void Fail(const std::string& where, const std::string& what) {
  throw TopologyError(where + ": " + what);
}

void RejectUnknownKeys(const YAML::Node& node, const std::string& where,
                       std::initializer_list<std::string_view> known) {
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      Fail(where, "unknown key '" + key + "'");
    }
  }
}

template <typename T>
T Required(const YAML::Node& node, const std::string& where, const char* key) {
  const YAML::Node value = node[key];
  if (!value) Fail(where, std::string("missing '") + key + "'");
  try {
    return value.as<T>();
  } catch (const YAML::Exception&) {
    Fail(where + "." + key, "has the wrong type ('" + YAML::Dump(value) + "')");
  }
}

template <typename T>
T Optional(const YAML::Node& node, const std::string& where, const char* key, T fallback) {
  if (!node[key]) return fallback;
  return Required<T>(node, where, key);
}

WorkloadKind ParseKind(const std::string& text, const std::string& where) {
  if (text == "deployment") return WorkloadKind::kDeployment;
  if (text == "statefulset") return WorkloadKind::kStatefulSet;
  if (text == "daemonset") return WorkloadKind::kDaemonSet;
  if (text == "replicaset") return WorkloadKind::kReplicaSet;
  if (text == "job") return WorkloadKind::kJob;
  Fail(where,
       "kind must be deployment, statefulset, daemonset, replicaset or job, not '" + text + "'");
}

std::size_t FindWorkload(const std::vector<Workload>& workloads, const std::string& text,
                         const std::string& where) {
  // "ns/name" or "ns/kind/name"
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, '/');) parts.push_back(part);
  if (parts.size() != 2 && parts.size() != 3) {
    Fail(where, "'" + text + "' is not namespace/workload or namespace/kind/workload");
  }
  const std::string& ns = parts.front();
  const std::string& name = parts.back();
  std::vector<std::size_t> found;
  for (std::size_t i = 0; i < workloads.size(); ++i) {
    const Workload& w = workloads[i];
    if (w.ns != ns || w.name != name) continue;
    if (parts.size() == 3 && KindName(w.kind) != parts[1]) continue;
    found.push_back(i);
  }
  if (found.empty()) Fail(where, "no workload '" + text + "' is declared");
  if (found.size() > 1) Fail(where, "'" + text + "' is ambiguous, write namespace/kind/name");
  return found.front();
}

void ParseLatency(const YAML::Node& node, const std::string& where, Call& call) {
  if (!node || !node.IsSequence() || node.size() == 0) {
    Fail(where, "'latency' must be a non-empty list of {le_ms, fraction}");
  }
  double total = 0;
  int previous = 0;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string at = where + ".latency[" + std::to_string(i) + "]";
    RejectUnknownKeys(node[i], at, {"le_ms", "fraction"});
    LatencyBucket bucket{Required<int>(node[i], at, "le_ms"),
                         Required<double>(node[i], at, "fraction")};
    if (std::find(kLatencyBoundsMs.begin(), kLatencyBoundsMs.end(), bucket.le_ms) ==
        kLatencyBoundsMs.end()) {
      Fail(at, "le_ms " + std::to_string(bucket.le_ms) +
                   " is not one of Linkerd's bucket bounds (1 2 3 4 5 10 20 ... 50000)");
    }
    if (bucket.le_ms <= previous) Fail(at, "le_ms values must increase");
    if (!(bucket.fraction >= 0 && bucket.fraction <= 1)) Fail(at, "fraction must be in [0, 1]");
    previous = bucket.le_ms;
    total += bucket.fraction;
    call.latency.push_back(bucket);
  }
  if (std::abs(total - 1.0) > 1e-6) {
    std::ostringstream msg;
    msg << "latency fractions sum to " << total << ", not 1";
    Fail(where, msg.str());
  }
  // Round the running sum, not each share, so the last bucket lands exactly on kPpm.
  double running = 0;
  std::size_t next = 0;
  for (std::size_t b = 0; b < kLatencyBoundsMs.size(); ++b) {
    while (next < call.latency.size() && call.latency[next].le_ms <= kLatencyBoundsMs[b]) {
      running += call.latency[next].fraction;
      ++next;
    }
    const auto ppm = static_cast<std::int64_t>(std::llround(running / total * kPpm));
    call.cumulative_ppm[b] = next == call.latency.size() ? kPpm : std::min(ppm, kPpm);
  }
}

}  // namespace

std::uint64_t Fnv1a(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// Deterministic Kubernetes-looking random string: the same seed always gives the same name.
std::string SafeString(std::string_view seed, std::size_t length) {
  std::uint64_t hash = Fnv1a(seed);
  std::string out;
  while (out.size() < length) {
    out += kSafeAlphabet[hash % kSafeAlphabet.size()];
    hash /= kSafeAlphabet.size();
  }
  return out;
}

std::string MeshName(Mesh mesh) { return mesh == Mesh::kIstio ? "istio" : "linkerd"; }

Mesh ParseMesh(const std::string& text) {
  if (text == "linkerd") return Mesh::kLinkerd;
  if (text == "istio") return Mesh::kIstio;
  throw TopologyError("mesh must be linkerd or istio, not '" + text + "'");
}

int TrafficSplit::TotalWeight() const {
  int total = 0;
  for (const SplitBackend& b : backends) total += b.weight;
  return total;
}

std::string Topology::CalledService(const Call& call) const {
  return call.split == kNoSplit ? workloads[call.server].service : splits[call.split].apex;
}

std::string Topology::CalledAuthority(const Call& call) const {
  const Workload& server = workloads[call.server];
  return CalledService(call) + "." + server.ns +
         ".svc.cluster.local:" + std::to_string(server.port);
}

std::string KindName(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kDeployment:
      return "deployment";
    case WorkloadKind::kStatefulSet:
      return "statefulset";
    case WorkloadKind::kDaemonSet:
      return "daemonset";
    case WorkloadKind::kReplicaSet:
      return "replicaset";
    case WorkloadKind::kJob:
      return "job";
  }
  return "deployment";
}

std::string OwnerTargetLabel(WorkloadKind kind) {
  return kind == WorkloadKind::kJob ? "k8s_job" : KindName(kind);
}

double Topology::PairRate(const Call& call) const {
  const std::size_t client_pods = call.client == kUnmeshed ? 1 : workloads[call.client].pods.size();
  const auto pairs = client_pods * workloads[call.server].pods.size();
  return call.rps / static_cast<double>(pairs);
}

std::uint32_t ParseIPv4(const std::string& text) {
  std::uint32_t address = 0;
  int octets = 0;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, '.');) {
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      throw TopologyError("'" + text + "' is not an IPv4 address");
    }
    const int value = std::stoi(part);
    if (value > 255) throw TopologyError("'" + text + "' is not an IPv4 address");
    address = (address << 8) | static_cast<std::uint32_t>(value);
    ++octets;
  }
  if (octets != 4 || text.back() == '.') {
    throw TopologyError("'" + text + "' is not an IPv4 address");
  }
  return address;
}

std::string FormatIPv4(std::uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 255) + "." +
         std::to_string((address >> 8) & 255) + "." + std::to_string(address & 255);
}

const std::string& DefaultTopologyYaml() {
  static const std::string text(kEmbeddedTopologyYaml);
  return text;
}

Topology ParseTopology(const std::string& yaml_text, const std::string& address_base) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw TopologyError("not valid YAML: " + std::string(e.what()));
  }
  if (!root.IsMap()) throw TopologyError("the topology must be a YAML mapping");
  RejectUnknownKeys(root, "topology",
                    {"mesh", "namespaces", "nodes", "workloads", "trafficsplits", "calls"});

  Topology topo;
  if (root["mesh"]) {
    try {
      topo.mesh = ParseMesh(Required<std::string>(root, "topology", "mesh"));
    } catch (const TopologyError& e) {
      Fail("mesh", e.what());
    }
  }
  std::set<std::string> declared_namespaces;
  if (root["namespaces"]) {
    for (const auto& ns : Required<std::vector<std::string>>(root, "topology", "namespaces")) {
      if (!IsDnsLabel(ns)) Fail("namespaces", "'" + ns + "' is not a valid namespace name");
      if (declared_namespaces.insert(ns).second) topo.namespaces.push_back(ns);
    }
  }

  const YAML::Node workloads = root["workloads"];
  if (!workloads || !workloads.IsSequence() || workloads.size() == 0) {
    throw TopologyError("topology: 'workloads' must be a non-empty list");
  }
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (std::size_t i = 0; i < workloads.size(); ++i) {
    const YAML::Node node = workloads[i];
    const std::string at = "workloads[" + std::to_string(i) + "]";
    if (!node.IsMap()) Fail(at, "must be a mapping");
    RejectUnknownKeys(node, at,
                      {"namespace", "kind", "name", "replicas", "service", "serviceaccount", "port",
                       "idle", "idle_requests", "version"});
    Workload w;
    w.ns = Required<std::string>(node, at, "namespace");
    w.name = Required<std::string>(node, at, "name");
    const std::string where = at + " (" + w.ns + "/" + w.name + ")";
    w.kind = ParseKind(Optional<std::string>(node, at, "kind", "deployment"), where);
    w.replicas = Required<int>(node, at, "replicas");
    w.service = Optional<std::string>(node, at, "service", w.name);
    w.serviceaccount = Optional<std::string>(node, at, "serviceaccount", w.name);
    w.port = Optional<int>(node, at, "port", 8080);
    w.idle = Optional<bool>(node, at, "idle", false);
    w.idle_requests = Optional<std::int64_t>(node, at, "idle_requests", 100);
    w.version = Optional<std::string>(node, at, "version", "");
    if (!IsDnsLabel(w.ns)) Fail(where, "namespace is not a valid DNS label");
    if (!IsDnsLabel(w.name)) Fail(where, "name is not a valid DNS label");
    if (!IsDnsLabel(w.service)) Fail(where, "service is not a valid DNS label");
    if (!IsDnsLabel(w.serviceaccount)) Fail(where, "serviceaccount is not a valid DNS label");
    if (w.replicas < 1 || w.replicas > 1000) Fail(where, "replicas must be between 1 and 1000");
    if (w.port < 1 || w.port > 65535) Fail(where, "port must be between 1 and 65535");
    if (w.idle && w.idle_requests < 1) Fail(where, "idle_requests must be at least 1");
    if (!seen.insert({w.ns, KindName(w.kind), w.name}).second) {
      Fail(where, "declared twice");
    }
    if (declared_namespaces.insert(w.ns).second) {
      if (root["namespaces"]) Fail(where, "namespace '" + w.ns + "' is not in 'namespaces'");
      topo.namespaces.push_back(w.ns);
    }
    if (!w.version.empty() && !IsDnsLabel(w.version)) Fail(where, "version is not a valid label");
    if (w.kind == WorkloadKind::kDeployment) {
      w.pod_template_hash = SafeString(w.ns + "/" + w.name + "/template", 10);
    } else {
      w.controller_revision_hash = SafeString(w.ns + "/" + w.name + "/revision", 10);
    }
    topo.workloads.push_back(std::move(w));
  }

  // Nodes: as listed, or worker-1 .. worker-N with N = max(2, largest daemonset).
  int daemonset_pods = 0;
  for (const Workload& w : topo.workloads) {
    if (w.kind == WorkloadKind::kDaemonSet) daemonset_pods = std::max(daemonset_pods, w.replicas);
  }
  if (root["nodes"]) {
    for (const auto& node : Required<std::vector<std::string>>(root, "topology", "nodes")) {
      if (!IsDnsLabel(node)) Fail("nodes", "'" + node + "' is not a valid node name");
      if (std::find(topo.nodes.begin(), topo.nodes.end(), node) != topo.nodes.end()) {
        Fail("nodes", "'" + node + "' is listed twice");
      }
      topo.nodes.push_back(node);
    }
    if (topo.nodes.empty()) Fail("nodes", "must not be empty");
    if (static_cast<int>(topo.nodes.size()) < daemonset_pods) {
      Fail("nodes", "a daemonset runs one pod per node: " + std::to_string(daemonset_pods) +
                        " daemonset pods need as many nodes");
    }
  } else {
    for (int n = 1; n <= std::max(2, daemonset_pods); ++n) {
      topo.nodes.push_back("worker-" + std::to_string(n));
    }
  }

  const std::uint32_t base = ParseIPv4(address_base);
  std::size_t next_node = 0;  // round robin for deployment and statefulset pods
  std::uint32_t next_address = base;
  for (std::size_t wi = 0; wi < topo.workloads.size(); ++wi) {
    Workload& w = topo.workloads[wi];
    for (int r = 0; r < w.replicas; ++r) {
      Pod pod;
      pod.ns = w.ns;
      pod.workload = wi;
      pod.ordinal = r;
      pod.node = w.kind == WorkloadKind::kDaemonSet ? topo.nodes[static_cast<std::size_t>(r)]
                                                    : topo.nodes[next_node++ % topo.nodes.size()];
      const std::string seed = w.ns + "/" + w.name + "/" + std::to_string(r);
      switch (w.kind) {
        case WorkloadKind::kDeployment:
          pod.name = w.name + "-" + w.pod_template_hash + "-" + SafeString(seed, 5);
          break;
        case WorkloadKind::kStatefulSet:
          pod.name = w.name + "-" + std::to_string(r);
          break;
        case WorkloadKind::kDaemonSet:
        case WorkloadKind::kReplicaSet:
        case WorkloadKind::kJob:
          pod.name = w.name + "-" + SafeString(seed, 5);
          break;
      }
      // Skip .0 and .255 so every address looks like an ordinary host address.
      while ((next_address & 255) == 0 || (next_address & 255) == 255) ++next_address;
      if ((next_address >> 24) != 127) {
        throw TopologyError("address base " + address_base + " with " +
                            std::to_string(topo.pods.size() + 1) +
                            " pods leaves 127.0.0.0/8 (loopback is required)");
      }
      pod.ip = FormatIPv4(next_address++);
      w.pods.push_back(topo.pods.size());
      topo.pods.push_back(std::move(pod));
    }
  }

  const YAML::Node splits = root["trafficsplits"];
  if (splits && !splits.IsSequence()) {
    throw TopologyError("topology: 'trafficsplits' must be a list");
  }
  for (std::size_t i = 0; splits && i < splits.size(); ++i) {
    const YAML::Node node = splits[i];
    const std::string at = "trafficsplits[" + std::to_string(i) + "]";
    if (!node.IsMap()) Fail(at, "must be a mapping");
    RejectUnknownKeys(node, at, {"namespace", "name", "apex", "backends"});
    TrafficSplit split;
    split.ns = Required<std::string>(node, at, "namespace");
    split.name = Required<std::string>(node, at, "name");
    split.apex = Required<std::string>(node, at, "apex");
    const std::string where = at + " (" + split.ns + "/" + split.name + ")";
    if (!IsDnsLabel(split.ns)) Fail(where, "namespace is not a valid DNS label");
    if (!IsDnsLabel(split.name)) Fail(where, "name is not a valid DNS label");
    if (!IsDnsLabel(split.apex)) Fail(where, "apex is not a valid DNS label");
    if (std::find(topo.namespaces.begin(), topo.namespaces.end(), split.ns) ==
        topo.namespaces.end()) {
      Fail(where, "namespace '" + split.ns + "' has no workloads and is not in 'namespaces'");
    }
    for (const TrafficSplit& other : topo.splits) {
      if (other.ns == split.ns && other.name == split.name) Fail(where, "declared twice");
      if (other.ns == split.ns && other.apex == split.apex) {
        Fail(where, "apex '" + split.apex + "' is already split by " + other.name);
      }
    }
    for (const Workload& w : topo.workloads) {
      if (w.ns == split.ns && w.service == split.apex) {
        Fail(where, "apex '" + split.apex + "' is the service of workload " + w.name +
                        "; an apex must be a service of its own");
      }
    }
    const YAML::Node backends = node["backends"];
    if (!backends || !backends.IsSequence() || backends.size() == 0) {
      Fail(where, "'backends' must be a non-empty list of {workload, weight}");
    }
    for (std::size_t b = 0; b < backends.size(); ++b) {
      const std::string bat = where + ".backends[" + std::to_string(b) + "]";
      RejectUnknownKeys(backends[b], bat, {"service", "workload", "weight"});
      const auto workload = Required<std::string>(backends[b], bat, "workload");
      SplitBackend backend;
      backend.workload = FindWorkload(
          topo.workloads,
          workload.find('/') == std::string::npos ? split.ns + "/" + workload : workload,
          bat + ".workload");
      backend.weight = Required<int>(backends[b], bat, "weight");
      const Workload& w = topo.workloads[backend.workload];
      if (w.ns != split.ns) Fail(bat, "a backend must be in the split's namespace");
      if (w.idle) Fail(bat, "an idle workload cannot be a backend");
      const auto service = Optional<std::string>(backends[b], bat, "service", w.service);
      if (service != w.service) {
        Fail(bat, "service '" + service + "' is not the service of workload " + w.name + " ('" +
                      w.service + "')");
      }
      if (backend.weight < 0 || backend.weight > 1'000'000) {
        Fail(bat, "weight must be between 0 and 1000000");
      }
      for (const SplitBackend& other : split.backends) {
        if (other.workload == backend.workload) Fail(bat, "backend listed twice");
      }
      if (b == 0) split.port = w.port;
      if (w.port != split.port) Fail(bat, "all backends of a split must use the same port");
      split.backends.push_back(backend);
    }
    if (split.TotalWeight() == 0) Fail(where, "the backends' weights sum to 0");
    topo.splits.push_back(std::move(split));
  }

  const YAML::Node calls = root["calls"];
  if (calls && !calls.IsSequence()) throw TopologyError("topology: 'calls' must be a list");
  // A client reaches a server workload through one call only (directly or through one apex):
  // Istio's series could not tell two such calls apart.
  std::map<std::pair<std::size_t, std::size_t>, std::string> seen_calls;
  for (std::size_t i = 0; calls && i < calls.size(); ++i) {
    const YAML::Node node = calls[i];
    const std::string at = "calls[" + std::to_string(i) + "]";
    if (!node.IsMap()) Fail(at, "must be a mapping");
    RejectUnknownKeys(node, at, {"from", "to", "to_apex", "rps", "failure_ratio", "latency"});
    Call call;
    const auto from = Required<std::string>(node, at, "from");
    if (node["to"] && node["to_apex"]) Fail(at, "give either 'to' or 'to_apex', not both");
    const bool via_apex = static_cast<bool>(node["to_apex"]);
    const auto to = Required<std::string>(node, at, via_apex ? "to_apex" : "to");
    const std::string where = at + " (" + from + " -> " + to + ")";
    call.client =
        from == "unmeshed" ? kUnmeshed : FindWorkload(topo.workloads, from, where + ".from");
    if (call.client == kUnmeshed && via_apex) {
      Fail(where, "unmeshed clients do not see traffic splits (the proxy applies them)");
    }
    call.rps = Required<double>(node, at, "rps");
    call.failure_ratio = Optional<double>(node, at, "failure_ratio", 0.0);
    if (!(call.rps > 0 && call.rps <= 1e6)) Fail(where, "rps must be > 0 and <= 1e6");
    if (!(call.failure_ratio >= 0 && call.failure_ratio <= 1)) {
      Fail(where, "failure_ratio must be in [0, 1]");
    }
    if (call.client != kUnmeshed && topo.workloads[call.client].idle) {
      Fail(where, "idle workloads take part in no calls");
    }
    ParseLatency(node["latency"], where, call);

    std::vector<Call> expanded;
    if (!via_apex) {
      call.server = FindWorkload(topo.workloads, to, where + ".to");
      expanded.push_back(call);
    } else {
      const auto slash = to.find('/');
      if (slash == std::string::npos || to.find('/', slash + 1) != std::string::npos) {
        Fail(where, "to_apex '" + to + "' is not namespace/apex-service");
      }
      const std::string ns = to.substr(0, slash);
      const std::string apex = to.substr(slash + 1);
      std::size_t found = kNoSplit;
      for (std::size_t s = 0; s < topo.splits.size(); ++s) {
        if (topo.splits[s].ns == ns && topo.splits[s].apex == apex) found = s;
      }
      if (found == kNoSplit) Fail(where, "no traffic split has apex '" + to + "'");
      const TrafficSplit& split = topo.splits[found];
      for (const SplitBackend& backend : split.backends) {
        if (backend.weight == 0) continue;  // a zero-weight backend gets nothing
        Call share = call;
        share.server = backend.workload;
        share.split = found;
        share.apex_rps = call.rps;
        share.rps = call.rps * backend.weight / split.TotalWeight();
        expanded.push_back(std::move(share));
      }
    }
    for (Call& c : expanded) {
      const Workload& server = topo.workloads[c.server];
      if (c.client == c.server) Fail(where, "a workload cannot call itself");
      if (server.idle) Fail(where, "idle workloads take part in no calls");
      const auto [it, inserted] = seen_calls.emplace(std::make_pair(c.client, c.server), where);
      if (!inserted) {
        Fail(where,
             "reaches " + server.ns + "/" + server.name + " again (already by " + it->second + ")");
      }
      topo.calls.push_back(std::move(c));
    }
  }
  // Two client workloads sharing a service account would merge into one inbound series per
  // server pod; keep the oracle simple by refusing it.
  std::map<std::pair<std::size_t, std::string>, std::size_t> inbound_identity;
  for (const Call& call : topo.calls) {
    if (call.client == kUnmeshed) continue;
    const Workload& client = topo.workloads[call.client];
    const auto key = std::make_pair(call.server, client.serviceaccount + "." + client.ns);
    const auto [it, inserted] = inbound_identity.emplace(key, call.client);
    if (!inserted) {
      throw TopologyError("calls: " + client.ns + "/" + client.name + " and " +
                          topo.workloads[it->second].name + " share service account '" +
                          client.serviceaccount + "' and both call " +
                          topo.workloads[call.server].name);
    }
  }
  return topo;
}

}  // namespace meshsim
