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
  Fail(where, "kind must be deployment, statefulset or daemonset, not '" + text + "'");
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

std::string KindName(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kDeployment:
      return "deployment";
    case WorkloadKind::kStatefulSet:
      return "statefulset";
    case WorkloadKind::kDaemonSet:
      return "daemonset";
  }
  return "deployment";
}

double Topology::PairRate(const Call& call) const {
  const auto pairs = workloads[call.client].pods.size() * workloads[call.server].pods.size();
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
  RejectUnknownKeys(root, "topology", {"namespaces", "workloads", "calls"});

  Topology topo;
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
                       "idle", "idle_requests"});
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
    if (w.kind == WorkloadKind::kDeployment) {
      w.pod_template_hash = SafeString(w.ns + "/" + w.name + "/template", 10);
    }
    topo.workloads.push_back(std::move(w));
  }

  const std::uint32_t base = ParseIPv4(address_base);
  std::uint32_t next_address = base;
  for (std::size_t wi = 0; wi < topo.workloads.size(); ++wi) {
    Workload& w = topo.workloads[wi];
    for (int r = 0; r < w.replicas; ++r) {
      Pod pod;
      pod.ns = w.ns;
      pod.workload = wi;
      const std::string seed = w.ns + "/" + w.name + "/" + std::to_string(r);
      switch (w.kind) {
        case WorkloadKind::kDeployment:
          pod.name = w.name + "-" + w.pod_template_hash + "-" + SafeString(seed, 5);
          break;
        case WorkloadKind::kStatefulSet:
          pod.name = w.name + "-" + std::to_string(r);
          break;
        case WorkloadKind::kDaemonSet:
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

  const YAML::Node calls = root["calls"];
  if (calls && !calls.IsSequence()) throw TopologyError("topology: 'calls' must be a list");
  std::set<std::pair<std::size_t, std::size_t>> seen_calls;
  for (std::size_t i = 0; calls && i < calls.size(); ++i) {
    const YAML::Node node = calls[i];
    const std::string at = "calls[" + std::to_string(i) + "]";
    if (!node.IsMap()) Fail(at, "must be a mapping");
    RejectUnknownKeys(node, at, {"from", "to", "rps", "failure_ratio", "latency"});
    Call call;
    const auto from = Required<std::string>(node, at, "from");
    const auto to = Required<std::string>(node, at, "to");
    const std::string where = at + " (" + from + " -> " + to + ")";
    call.client = FindWorkload(topo.workloads, from, where + ".from");
    call.server = FindWorkload(topo.workloads, to, where + ".to");
    call.rps = Required<double>(node, at, "rps");
    call.failure_ratio = Optional<double>(node, at, "failure_ratio", 0.0);
    if (!(call.rps > 0 && call.rps <= 1e6)) Fail(where, "rps must be > 0 and <= 1e6");
    if (!(call.failure_ratio >= 0 && call.failure_ratio <= 1)) {
      Fail(where, "failure_ratio must be in [0, 1]");
    }
    if (call.client == call.server) Fail(where, "a workload cannot call itself");
    if (topo.workloads[call.client].idle || topo.workloads[call.server].idle) {
      Fail(where, "idle workloads take part in no calls");
    }
    if (!seen_calls.insert({call.client, call.server}).second) Fail(where, "declared twice");
    ParseLatency(node["latency"], where, call);
    topo.calls.push_back(std::move(call));
  }
  // Two client workloads sharing a service account would merge into one inbound series per
  // server pod; keep the oracle simple by refusing it.
  std::map<std::pair<std::size_t, std::string>, std::size_t> inbound_identity;
  for (const Call& call : topo.calls) {
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
