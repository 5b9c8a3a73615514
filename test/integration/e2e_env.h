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

// For each latency metric, the range [low, high] (seconds) its quantile may take when the counts
// differ from the oracle's by the tolerance of two independent scrapers (QuantileOracle).
using QuantileBands = std::map<std::string, std::pair<double, double>>;

// PromQL's p99, p90 and p50 of `buckets_by_le` (an expression of latency bucket increases in
// milliseconds, summed by le) at `at`, in seconds, as <p>_response_latency into `expected` where
// PromQL has a quantile; in sidecar mode also the band each may move within, into `bands`: the
// quantiles PromQL gives at q - d and q + d, d being how far the fraction of requests below any
// bound can move when every cumulative count differs by the count tolerance (ExpectMetricsMatch).
// `window` is the range the expression's increases are taken over, e.g. "10s".
void QuantileOracle(const std::string& buckets_by_le, long long at, const std::string& window,
                    std::map<std::string, double>* expected, QuantileBands* bands);

// Compares the metrics of one TrafficMetrics item with the oracle's: the same names present
// (latencies only where PromQL has a quantile), counts within milli precision, latencies (seconds)
// within nano precision. In sidecar mode within the tolerance of two independent scrapers: counts
// within 2%, or what the integer steps of the series they sum allow (docs/sidecars.md), plus what
// the scrapes' timing can move them (a proxy answers up to a
// scrape's duration after its timestamp: the longest Prometheus recorded in the window, or the
// server's last), latencies within one bucket width of PromQL's, or inside their band
// (`bands`, from QuantileOracle), which is what the count tolerance allows where a quantile's rank
// falls at the edge of empty buckets.
void ExpectMetricsMatch(const nlohmann::json& item, const std::map<std::string, double>& expected,
                        const QuantileBands& bands = {});

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
