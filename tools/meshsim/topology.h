// The simulated mesh: workloads, their pods and the calls between them, resolved from a YAML file.
// Independent of the product (src/): the simulator is a test oracle and must not share its code.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
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

enum class WorkloadKind { kDeployment, kStatefulSet, kDaemonSet };

// "deployment", "statefulset", "daemonset": the word used in Linkerd's label names.
std::string KindName(WorkloadKind kind);

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
  std::string pod_template_hash;  // deployments only
  std::vector<std::size_t> pods;  // indexes into Topology::pods

  WorkloadRef Ref() const { return {ns, kind, name}; }
};

struct Pod {
  std::string ns;
  std::string name;
  std::string ip;  // dotted quad from 127.0.0.0/8; the pod's proxy admin port listens here
  std::size_t workload = 0;  // index into Topology::workloads
};

struct LatencyBucket {
  int le_ms = 0;        // one of kLatencyBoundsMs
  double fraction = 0;  // share of requests whose latency falls in (previous bound, le_ms]
};

struct Call {
  std::size_t client = 0;  // index into Topology::workloads
  std::size_t server = 0;
  double rps = 0;
  double failure_ratio = 0;
  std::vector<LatencyBucket> latency;  // as written in the file
  // Cumulative parts per million for each of kLatencyBoundsMs; the last entry is kPpm.
  std::array<std::int64_t, kLatencyBoundsMs.size()> cumulative_ppm{};
};

struct Topology {
  std::vector<std::string> namespaces;
  std::vector<Workload> workloads;
  std::vector<Pod> pods;
  std::vector<Call> calls;

  // Requests per second between one client pod and one server pod of a call.
  double PairRate(const Call& call) const;
};

// Parses and validates a topology document and assigns pod names and addresses, starting at
// address_base and counting up in file order. Throws TopologyError.
Topology ParseTopology(const std::string& yaml_text, const std::string& address_base);

// Dotted quad <-> host-order integer; throws TopologyError for anything else.
std::uint32_t ParseIPv4(const std::string& text);
std::string FormatIPv4(std::uint32_t address);

// The embedded default (a copy of tools/meshsim/emojivoto.yaml, compiled in).
const std::string& DefaultTopologyYaml();

}  // namespace meshsim
