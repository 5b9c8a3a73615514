// The simulated mesh: workloads, their pods and the calls between them, resolved from a YAML file.
// Independent of the product (src/): the simulator is a test oracle and must not share its code.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace meshsim {

// Linkerd's response_latency_ms bucket bounds (linkerd/metrics/src/latency.rs), +Inf excluded.
inline constexpr std::array<int, 25> kLatencyBoundsMs = {
    1,   2,   3,    4,    5,    10,   20,   30,    40,    50,    100,   200,  300,
    400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000};

// Cumulative fractions are kept as integer parts per million so that bucket counts are exact
// integer arithmetic (no floating-point drift between the simulator and a test's expectation).
inline constexpr std::int64_t kPpm = 1'000'000;

// A topology file that cannot be used; what() names the problem for the user.
class TopologyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// kReplicaSet: a ReplicaSet no Deployment controls; kJob: a batch/v1 Job whose pods run for the
// whole simulation.
enum class WorkloadKind { kDeployment, kStatefulSet, kDaemonSet, kReplicaSet, kJob };

// Which proxy the pods run: linkerd2-proxy (:4191/metrics) or Envoy + istio-agent
// (:15020/stats/prometheus, Istio telemetry v2).
enum class Mesh { kLinkerd, kIstio };

// "linkerd", "istio".
std::string MeshName(Mesh mesh);
// Throws TopologyError for anything but "linkerd" and "istio".
Mesh ParseMesh(const std::string& text);

// "deployment", "statefulset", "daemonset", "replicaset", "job": the word used in Linkerd's
// label names (linkerd.io/proxy-<kind>, dst_<kind>).
std::string KindName(WorkloadKind kind);
// The Prometheus target label linkerd-viz gives the owner: KindName, except `k8s_job` for jobs
// (`job` is Prometheus' own).
std::string OwnerTargetLabel(WorkloadKind kind);

struct WorkloadRef {
  std::string ns;
  WorkloadKind kind = WorkloadKind::kDeployment;
  std::string name;
};

struct Workload {
  std::string ns;
  WorkloadKind kind = WorkloadKind::kDeployment;
  std::string name;
  int replicas = 1;
  std::string service;         // Kubernetes Service in front of the pods (authority host)
  std::string serviceaccount;  // mTLS identity of the pods
  int port = 8080;             // application port behind the proxy
  bool idle = false;           // served traffic before the simulator started, none since
  std::int64_t idle_requests = 0;
  std::string version;                   // pod label `version` (Istio's *_version), empty = none
  std::string pod_template_hash;         // deployments only
  std::string controller_revision_hash;  // statefulsets and daemonsets only
  std::vector<std::size_t> pods;         // indexes into Topology::pods

  WorkloadRef Ref() const { return {ns, kind, name}; }
};

struct Pod {
  std::string ns;
  std::string name;
  std::string ip;  // dotted quad from 127.0.0.0/8; the pod's proxy admin port listens here
  std::size_t workload = 0;  // index into Topology::workloads
  int ordinal = 0;           // replica number within the workload
  std::string node;          // spec.nodeName
};

struct LatencyBucket {
  int le_ms = 0;        // one of kLatencyBoundsMs
  double fraction = 0;  // share of requests whose latency falls in (previous bound, le_ms]
};

// An SMI TrafficSplit: requests for the apex service go to the backends' services by weight.
struct SplitBackend {
  std::size_t workload = 0;  // index into Topology::workloads; its service is the backend
  int weight = 0;
};

struct TrafficSplit {
  std::string ns;
  std::string name;
  std::string apex;  // Service name; authority <apex>.<ns>.svc.cluster.local:<port>
  int port = 8080;   // the backends' port (all backends share it)
  std::vector<SplitBackend> backends;
  int TotalWeight() const;
};

inline constexpr std::size_t kNoSplit = static_cast<std::size_t>(-1);
// Call::client of traffic from outside the mesh (`from: unmeshed`): no client proxy reports it,
// the server's proxy sees plaintext without a peer identity.
inline constexpr std::size_t kUnmeshed = static_cast<std::size_t>(-1);

// One client workload calling one server workload. A call to a split's apex is expanded into
// one Call per backend (split = index into Topology::splits, rps = that backend's share).
struct Call {
  std::size_t client = 0;  // index into Topology::workloads, or kUnmeshed
  std::size_t server = 0;
  std::size_t split = kNoSplit;
  double apex_rps = 0;  // the rps written in the file for the whole apex (split calls only)
  double rps = 0;
  double failure_ratio = 0;
  std::vector<LatencyBucket> latency;  // as written in the file
  // Cumulative parts per million for each of kLatencyBoundsMs; the last entry is kPpm.
  std::array<std::int64_t, kLatencyBoundsMs.size()> cumulative_ppm{};
};

struct Topology {
  Mesh mesh = Mesh::kLinkerd;
  std::vector<std::string> namespaces;
  std::vector<std::string> nodes;  // node names; pods are spread over them in order
  std::vector<Workload> workloads;
  std::vector<Pod> pods;
  std::vector<TrafficSplit> splits;
  std::vector<Call> calls;

  // Requests per second between one client pod and one server pod of a call (an unmeshed
  // client counts as one pod).
  double PairRate(const Call& call) const;
  // The Service the client addresses: the split's apex, or the server's own service.
  std::string CalledService(const Call& call) const;
  // <called service>.<ns>.svc.cluster.local:<port>, Linkerd's `authority` label.
  std::string CalledAuthority(const Call& call) const;
};

// Deterministic Kubernetes-looking random string over the rand.SafeEncodeString alphabet.
std::string SafeString(std::string_view seed, std::size_t length);
// 64-bit FNV-1a of the text (the simulator's only source of "randomness").
std::uint64_t Fnv1a(std::string_view text);

// Parses and validates a topology document and assigns pod names and addresses, starting at
// address_base and counting up in file order. Throws TopologyError.
Topology ParseTopology(const std::string& yaml_text, const std::string& address_base);

// Dotted quad <-> host-order integer; throws TopologyError for anything else.
std::uint32_t ParseIPv4(const std::string& text);
std::string FormatIPv4(std::uint32_t address);

// The embedded default (a copy of tools/meshsim/emojivoto.yaml, compiled in).
const std::string& DefaultTopologyYaml();

}  // namespace meshsim
