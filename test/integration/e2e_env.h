// What the integration harness (run_e2e.sh) started, read from the environment, plus the
// test's own small clients. Nothing here uses the product's parser, window math or quantiles.
#pragma once

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace smi::e2e {

struct Env {
  std::string server_url;  // https://127.0.0.1:PORT
  std::string server_host;
  int server_port = 0;
  std::string ca_file, client_cert_file, client_key_file;  // from the server's kubeconfig
  std::string kubeconfig;
  std::string kubectl;
  std::string prometheus_url;  // http://127.0.0.1:PORT
  nlohmann::json topology;     // meshsim --write-topology
};

const Env& GetEnv();

struct HttpResult {
  int status = 0;
  std::string body;
};

// GET on the server over HTTPS with the admin client certificate (or none, when anonymous).
HttpResult ServerGet(const std::string& path_and_query, bool anonymous = false);

// An instant PromQL query at `unix_seconds`; returns the vector's (labels, value) rows.
std::vector<std::pair<std::map<std::string, std::string>, double>> PromQuery(
    const std::string& promql, long long unix_seconds);

// Runs a command; returns its exit code and stdout (stderr appended when `merge_stderr`).
int RunCommand(const std::string& command, std::string* output, bool merge_stderr = false);

// A Kubernetes quantity string as a number (the test's own reading of the suffixes).
double ParseQuantity(const std::string& text);
// ---- Checks shared by the end-to-end tests -------------------------------------------------

// The single value of an oracle PromQL query at `at`; `present` is false for no series or NaN.
double OracleScalar(const std::string& promql, long long at, bool* present);

// Whether the harness runs the server in sidecar mode (SMI_E2E_SOURCE=sidecars).
bool SidecarMode();
// The width, in seconds, of the simulated mesh's latency bucket that `seconds` falls in.
double BucketWidthSeconds(double seconds);

// Compares the metrics of one TrafficMetrics item with the oracle's: the same names present
// (latencies only where PromQL has a quantile), counts within milli precision, latencies (seconds)
// within nano precision; in sidecar mode within the tolerance of two independent scrapers.
void ExpectMetricsMatch(const nlohmann::json& item, const std::map<std::string, double>& expected);

// The range selector for an item's window ("30s").
std::string WindowRange(const nlohmann::json& item);

// GET on the server, expecting `want_status`; the body as JSON.
nlohmann::json GetJson(const std::string& path, int want_status = 200);

// "namespace/name" of every item's resource.
std::set<std::string> ItemNames(const nlohmann::json& list);

// (direction, side, peer kind, peer namespace, peer name) of every item of an edges list.
using EdgeKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;
std::set<EdgeKey> EdgeKeys(const nlohmann::json& list);

// RFC 3339 "2026-11-26T17:31:32Z" to Unix seconds.
long long ParseTimestamp(const std::string& text);
// "30s", "1m15s" (Go form, the subset the API emits) to seconds.
double ParseGoDurationSeconds(const std::string& text);

}  // namespace smi::e2e
