// The plugin's view of the SMI Traffic Metrics API: the public paths of metrics.smi-spec.io and
// nothing else, so that it works against any server implementing the spec. Errors come back as
// the line kubectl would print for them.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "kube/credentials.h"

namespace smi::kube {
class RestClient;
}

namespace smi::plugin {

inline constexpr std::string_view kApiGroup = "metrics.smi-spec.io";

// A failure to print as it is, the way kubectl words it: `Error from server (NotFound):
// deployments.metrics.smi-spec.io "x" not found`, `Unable to connect to the server: ...`,
// `error: ...`.
class KubectlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One GET of the API.
struct ApiRequest {
  std::string resource;  // plural: pods, deployments, statefulsets, daemonsets, namespaces
  std::string ns;        // namespaced resources: the namespace; empty: every namespace
  std::string name;      // empty: the list
  bool edges = false;    // the object's edges subresource (needs a name)
  std::optional<std::chrono::milliseconds> window;  // ?window=
  std::string label_selector;                       // ?labelSelector= (lists)

  // The path below /apis/metrics.smi-spec.io/<version>, with the query.
  std::string Path() const;
  // "deployments.metrics.smi-spec.io web", as kubectl names what it asked for.
  std::string Describe() const;
};

// Where TrafficMetrics come from; the real one is the API over HTTPS (MetricsApi), tests give
// canned answers.
class TrafficMetricsReader {
 public:
  virtual ~TrafficMetricsReader() = default;
  // The answer's JSON. Throws KubectlError.
  virtual nlohmann::json Get(const ApiRequest& request) = 0;
};

// The API through a kubeconfig's credentials (or in-cluster ones).
class MetricsApi final : public TrafficMetricsReader {
 public:
  MetricsApi(kube::RestConfig config, std::chrono::milliseconds request_timeout);
  ~MetricsApi() override;

  // Asks the API group which version to read (its preferred one, v1alpha1 or v1alpha2, the two
  // whose wire format this plugin reads) on the first call. Throws KubectlError, naming a server
  // that does not serve the API as such.
  std::string GroupVersion();
  nlohmann::json Get(const ApiRequest& request) override;

 private:
  // GET of a full path; non-200 answers and transport failures become KubectlError.
  nlohmann::json GetPath(const std::string& path, const std::string& what);

  std::unique_ptr<kube::RestClient> client_;
  std::string server_;
  std::optional<std::string> version_;
};

// The REST configuration the flags name: --kubeconfig, else $KUBECONFIG (the first of its files
// that exists), else ~/.kube/config, else the in-cluster service account; --context; and the
// namespace of the context (empty when it names none). Throws KubectlError.
struct Connection {
  kube::RestConfig rest;
  std::string context_namespace;
};
Connection ResolveConnection(const std::string& kubeconfig_flag, const std::string& context);

// The line kubectl prints for an HTTP answer other than 200 to a request for `what` (may be
// empty): the Status' reason and message when the body is a metav1.Status, client-go's generic
// wording for the code otherwise.
std::string DescribeErrorAnswer(int status, const std::string& body, const std::string& what);

}  // namespace smi::plugin
