#include "e2e_env.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <sys/wait.h>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace smi::e2e {

namespace {

// The interval both the harness' Prometheus and the server scrape the proxies at
// (test/integration/run_e2e.sh).
constexpr double kScrapeIntervalSeconds = 1;

std::string Require(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    throw std::runtime_error(std::string("environment variable ") + name +
                             " is not set: run this test through test/integration/run_e2e.sh");
  }
  return v;
}

Env LoadEnv() {
  Env env;
  env.server_host = "127.0.0.1";
  env.server_port = std::stoi(Require("SMI_E2E_SERVER_PORT"));
  env.server_url = "https://127.0.0.1:" + std::to_string(env.server_port);
  env.ca_file = Require("SMI_E2E_CA_FILE");
  env.client_cert_file = Require("SMI_E2E_CLIENT_CERT");
  env.client_key_file = Require("SMI_E2E_CLIENT_KEY");
  env.kubeconfig = Require("SMI_E2E_KUBECONFIG");
  env.kubectl = Require("SMI_E2E_KUBECTL");
  env.prometheus_url = Require("SMI_E2E_PROMETHEUS_URL");
  std::ifstream in(Require("SMI_E2E_TOPOLOGY"));
  env.topology = nlohmann::json::parse(in);
  return env;
}

}  // namespace

const Env& GetEnv() {
  static const Env env = LoadEnv();
  return env;
}

HttpResult ServerGet(const std::string& path_and_query, bool anonymous) {
  const Env& env = GetEnv();
  std::unique_ptr<httplib::SSLClient> client;
  if (anonymous) {
    client = std::make_unique<httplib::SSLClient>(env.server_host, env.server_port);
  } else {
    client = std::make_unique<httplib::SSLClient>(env.server_host, env.server_port,
                                                  env.client_cert_file, env.client_key_file);
  }
  client->set_ca_cert_path(env.ca_file.c_str());
  client->enable_server_certificate_verification(true);
  client->set_read_timeout(30);
  auto res = client->Get(path_and_query.c_str());
  if (!res)
    throw std::runtime_error("GET " + path_and_query +
                             " failed: " + httplib::to_string(res.error()));
  return {res->status, res->body};
}

std::vector<std::pair<std::map<std::string, std::string>, double>> PromQuery(
    const std::string& promql, long long unix_seconds) {
  const Env& env = GetEnv();
  httplib::Client client(env.prometheus_url);
  client.set_read_timeout(30);
  httplib::Params params{{"query", promql}, {"time", std::to_string(unix_seconds)}};
  auto res = client.Post("/api/v1/query", params);
  if (!res || res->status != 200) {
    throw std::runtime_error("Prometheus query failed: " + promql +
                             (res ? ": " + res->body : std::string(": no answer")));
  }
  const auto body = nlohmann::json::parse(res->body);
  std::vector<std::pair<std::map<std::string, std::string>, double>> rows;
  for (const auto& r : body["data"]["result"]) {
    std::map<std::string, std::string> labels;
    for (const auto& [k, v] : r["metric"].items()) labels[k] = v.get<std::string>();
    rows.emplace_back(labels, std::stod(r["value"][1].get<std::string>()));
  }
  return rows;
}

int RunCommand(const std::string& command, std::string* output, bool merge_stderr) {
  const std::string full = command + (merge_stderr ? " 2>&1" : "");
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::array<char, 4096> buf;
  output->clear();
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) output->append(buf.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double ParseQuantity(const std::string& text) {
  static const std::map<std::string, double> suffixes = {
      {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3}, {"", 1},     {"k", 1e3},
      {"M", 1e6},  {"G", 1e9},  {"T", 1e12}, {"P", 1e15}, {"E", 1e18}};
  size_t end = 0;
  while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) ||
                               text[end] == '-' || text[end] == '.')) {
    ++end;
  }
  const auto it = suffixes.find(text.substr(end));
  if (end == 0 || it == suffixes.end()) throw std::runtime_error("not a quantity: " + text);
  return std::stod(text.substr(0, end)) * it->second;
}

long long ParseTimestamp(const std::string& text) {
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  if (in.fail() || text.size() != 20)
    throw std::runtime_error("not an RFC 3339 UTC second: " + text);
  return timegm(&tm);
}

double ParseGoDurationSeconds(const std::string& text) {
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.'))
      ++j;
    const double v = std::stod(text.substr(i, j - i));
    size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
    const std::string unit = text.substr(j, k - j);
    if (unit == "h")
      total += v * 3600;
    else if (unit == "m")
      total += v * 60;
    else if (unit == "s")
      total += v;
    else if (unit == "ms")
      total += v / 1000;
    else
      throw std::runtime_error("unexpected duration " + text);
    i = k;
  }
  return total;
}

bool SidecarMode() {
  const char* source = std::getenv("SMI_E2E_SOURCE");
  return source != nullptr && std::string(source) == "sidecars";
}

namespace {

// In sidecar mode, for each sum OracleScalar answered since the last ExpectMetricsMatch: its
// value and how many series it summed (for the count's quantisation, ExpectMetricsMatch).
std::vector<std::pair<double, double>> sums_since_check;

// The most pods whose requests one series of the simulator counts together: a callee's inbound
// series names the caller's service account, so every replica of the caller adds to it.
double MostReplicas() {
  double most = 1;
  for (const auto& w : GetEnv().topology.at("workloads")) {
    most = std::max(most, w.value("replicas", 1.0));
  }
  return most;
}

// The least time a scraper's samples in a window of `window` seconds span: the window less an
// interval (at least one interval).
double SampleSpan(double window) {
  return std::max(window - kScrapeIntervalSeconds, kScrapeIntervalSeconds);
}

// How far two scrapers' counts of `series` series over `window` seconds can differ from the
// integer steps alone: each pod pair's counter (and the failures derived from it) reads up to
// two requests below its linear course at the scrape's instant; two readings per scraper, two
// scrapers, each scaled by the extrapolation from the samples' span to the window.
double StepTolerance(double series, double window) {
  return 4 * series * MostReplicas() * window / SampleSpan(window);
}

}  // namespace

double OracleScalar(const std::string& promql, long long at, bool* present) {
  const auto rows = PromQuery(promql, at);
  if (rows.size() > 1) throw std::runtime_error("oracle query returned several series: " + promql);
  *present = !rows.empty() && !std::isnan(rows[0].second);
  const double value = *present ? rows[0].second : 0;
  if (*present && SidecarMode() && promql.rfind("sum(", 0) == 0 && promql.back() == ')') {
    const auto counted = PromQuery("count(" + promql.substr(4), at);
    if (!counted.empty()) sums_since_check.emplace_back(value, counted[0].second);
  }
  return value;
}

double BucketWidthSeconds(double seconds) {
  // The simulated proxies' latency buckets in milliseconds: Linkerd's, and Envoy's for Istio.
  static const std::vector<double> kLinkerd = {
      1,   2,   3,    4,    5,    10,   20,   30,    40,    50,    100,   200,  300,
      400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000};
  static const std::vector<double> kEnvoy = {0.5,   1,      5,      10,      25,     50,    100,
                                             250,   500,    1000,   2500,    5000,   10000, 30000,
                                             60000, 300000, 600000, 1800000, 3600000};
  const char* mesh = std::getenv("SMI_E2E_MESH");
  const auto& bounds = mesh != nullptr && std::string(mesh) == "istio" ? kEnvoy : kLinkerd;
  const double ms = seconds * 1000;
  double lower = 0;
  for (double upper : bounds) {
    if (ms <= upper) return (upper - lower) / 1000;
    lower = upper;
  }
  return bounds.back() / 1000;
}

// The longest time, in seconds, a scrape of the proxies took around `at` (the window's length
// before it, and a scrape interval's margin): Prometheus' own record of each of its scrapes in the
// window, and the server's last scrape of each target. A proxy's counter is read when it answers,
// up to that long after the scrape's timestamp.
double ScrapeLatencySeconds(long long at, double window_seconds) {
  double longest = 0;
  const std::string range = std::to_string(std::llround(std::ceil(window_seconds)) + 2) + "s";
  for (const auto& row :
       PromQuery("max(max_over_time(scrape_duration_seconds[" + range + "]))", at)) {
    if (!std::isnan(row.second)) longest = std::max(longest, row.second);
  }
  const auto metrics = ServerGet("/metrics");
  if (metrics.status != 200) {
    throw std::runtime_error("cannot read the server's /metrics: HTTP " +
                             std::to_string(metrics.status));
  }
  std::istringstream lines(metrics.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("smi_sidecar_scrape_duration_seconds{", 0) != 0) continue;
    longest = std::max(longest, std::stod(line.substr(line.rfind(' ') + 1)));
  }
  return longest;
}

// The share of a count of the window that the two scrapers' timing can move in sidecar mode: each
// scraper's count moves by the requests made between a scrape's timestamp and the proxy's answer,
// at each end of the samples it extrapolates from (at least the window less an interval): at most
// rate x latency x window / span, that is count x latency / span, for each.
// QuantileOracle and ExpectMetricsMatch ask for the same item in turn: the last answer is kept.
double LagShare(long long at, double window_seconds) {
  static std::tuple<long long, double, double> last{-1, 0, 0};
  if (std::get<0>(last) != at || std::get<1>(last) != window_seconds) {
    last = {at, window_seconds,
            2 * ScrapeLatencySeconds(at, window_seconds) / SampleSpan(window_seconds)};
  }
  return std::get<2>(last);
}

void QuantileOracle(const std::string& buckets_by_le, long long at, const std::string& window,
                    std::map<std::string, double>* expected, QuantileBands* bands) {
  // The share of each count the scrapes' timing may move, as in ExpectMetricsMatch.
  const double relative = SidecarMode() ? 0.02 + LagShare(at, ParseGoDurationSeconds(window)) : 0;
  // Each cumulative count within 2% + L or 2.5 requests: narrower than the counts' own tolerance
  // where many series are summed (ExpectMetricsMatch), whose worst case would let a quantile of a
  // few dozen requests take any value; the band is the second of two ways a quantile may agree.
  constexpr double absolute = 2.5;
  // The requests in the window: the +Inf bucket, the largest cumulative count.
  bool total_present = false;
  const double total =
      SidecarMode() ? OracleScalar("max(" + buckets_by_le + ")", at, &total_present) : 0;
  for (const auto& [name, q] : {std::pair{"p99", 0.99}, {"p90", 0.90}, {"p50", 0.50}}) {
    const auto quantile = [&](double rank, bool* present) {
      return OracleScalar("histogram_quantile(" + std::to_string(rank) + ", " + buckets_by_le + ")",
                          at, present) /
             1000.0;
    };
    bool present = false;
    const double seconds = quantile(q, &present);
    if (!present) continue;
    const std::string metric = std::string(name) + "_response_latency";
    (*expected)[metric] = seconds;
    if (!SidecarMode() || !total_present || total <= 0) continue;
    // Both fractions C/T move by at most (|dC| + C/T |dT|) / T' with |dC| <= r C + a and the
    // same for T, T' >= T - r T - a: at most (2 r + 2 a / T) / (1 - r - a / T).
    const double shrink = 1 - relative - absolute / total;
    const double d = shrink > 0 ? (2 * relative + 2 * absolute / total) / shrink : 1;
    bool low_present = false, high_present = false;
    double low = quantile(std::max(0.0, q - d), &low_present);
    double high = quantile(std::min(1.0, q + d), &high_present);
    // The server's samples fall at other instants of each interval than Prometheus', so its
    // window holds the requests of PromQL's window moved by less than an interval either way: a
    // request at a latency PromQL's window holds none of (a quantile of a dozen requests) may be
    // in it. PromQL's quantile at every half second from an interval before `at` to one after.
    const std::string shifted =
        "_over_time((histogram_quantile(" + std::to_string(q) + ", " + buckets_by_le + "))[" +
        std::to_string(2 * static_cast<int>(kScrapeIntervalSeconds)) + "s:500ms])";
    const long long after = at + static_cast<long long>(kScrapeIntervalSeconds);
    bool min_present = false, max_present = false;
    const double shifted_low = OracleScalar("min" + shifted, after, &min_present) / 1000.0;
    const double shifted_high = OracleScalar("max" + shifted, after, &max_present) / 1000.0;
    if (min_present && max_present) {
      low = low_present ? std::min(low, shifted_low) : shifted_low;
      high = high_present ? std::max(high, shifted_high) : shifted_high;
      low_present = high_present = true;
    }
    if (low_present && high_present) (*bands)[metric] = {low, high};
  }
}

void ExpectMetricsMatch(const nlohmann::json& item, const std::map<std::string, double>& expected,
                        const QuantileBands& bands) {
  std::map<std::string, double> got;
  for (const auto& m : item.at("metrics")) {
    const std::string name = m.at("name");
    got[name] = ParseQuantity(m.at("value"));
    if (name.find("latency") != std::string::npos) {
      EXPECT_EQ(m.at("unit"), "seconds") << name;
    }
  }
  ASSERT_EQ(got.size(), expected.size()) << "metrics present differ from PromQL's";
  const bool sidecars = SidecarMode();
  // In sidecar mode: what the two scrapers' timing can change in a count of the window.
  const double window = sidecars ? ParseGoDurationSeconds(item.at("window")) : 0;
  const double lag_share = sidecars ? LagShare(ParseTimestamp(item.at("timestamp")), window) : 0;
  const auto sums = std::move(sums_since_check);
  sums_since_check.clear();
  for (const auto& [name, e] : expected) {
    ASSERT_TRUE(got.count(name)) << name;
    const bool latency_metric = name.find("latency") != std::string::npos;
    if (sidecars) {
      // Two scrapers of the same proxies at the same interval, at different instants: counts
      // within 2%, or two and a half requests for small counts (an integer counter read at
      // different instants differs by up to one request at each edge of the window, scaled by
      // the extrapolation to the edges). Quantiles within the width of the bucket the larger
      // value falls in, or inside the band PromQL gives for the counts' tolerance: where a
      // quantile's rank falls on the edge of empty buckets (the simulated latencies leave
      // (20ms, 40ms] empty for some calls), a request more or less in the window moves it across
      // the gap; see docs/sidecars.md.
      if (!latency_metric) {
        // The series this count sums: the most of the sums OracleScalar answered with this
        // value; when none has it (a count added from several sums), every series of every sum
        // since the last check.
        double series = 0, every = 0;
        for (const auto& [value, n] : sums) {
          if (value == e) series = std::max(series, n);
          every += n;
        }
        if (series == 0) series = std::max(every, 1.0);
        const double steps = StepTolerance(series, window);
        EXPECT_NEAR(got[name], e, std::max(0.02 * std::abs(e), steps) + lag_share * std::abs(e))
            << name << " (sidecar mode against Prometheus; " << series
            << " series summed, whose integer steps allow " << steps
            << "; the scrapes' timing moves counts by " << lag_share * 100 << "%)";
        continue;
      }
      const double hi = std::max(got[name], e);
      const bool near = std::abs(got[name] - e) <= BucketWidthSeconds(hi) + 1e-9;
      const auto band = bands.find(name);
      const bool in_band = band != bands.end() && got[name] >= band->second.first - 1e-9 &&
                           got[name] <= band->second.second + 1e-9;
      EXPECT_TRUE(near || in_band)
          << name << " (sidecar mode against Prometheus): " << got[name] << " s against PromQL's "
          << e << " s, bucket width " << BucketWidthSeconds(hi) << " s, band "
          << (band == bands.end() ? std::string("none")
                                  : "[" + std::to_string(band->second.first) + ", " +
                                        std::to_string(band->second.second) + "]");
      continue;
    }
    // Counts carry milli precision, latencies (seconds) nano precision.
    const double precision = latency_metric ? 0.5e-9 : 0.5e-3;
    EXPECT_NEAR(got[name], e, precision + 1e-9 * std::abs(e)) << name;
  }
}

std::string WindowRange(const nlohmann::json& item) {
  return std::to_string(std::llround(ParseGoDurationSeconds(item.at("window")))) + "s";
}

nlohmann::json GetJson(const std::string& path, int want_status) {
  const auto r = ServerGet(path);
  EXPECT_EQ(r.status, want_status) << path << ": " << r.body;
  return nlohmann::json::parse(r.body);
}

std::set<std::string> ItemNames(const nlohmann::json& list) {
  std::set<std::string> out;
  for (const auto& item : list.at("items")) {
    const auto& r = item.at("resource");
    out.insert(r.value("namespace", "") + "/" + r.at("name").get<std::string>());
  }
  return out;
}

std::set<EdgeKey> EdgeKeys(const nlohmann::json& list) {
  std::set<EdgeKey> out;
  for (const auto& item : list.at("items")) {
    const auto& e = item.at("edge");
    const auto& p = e.at("resource");
    out.insert({e.at("direction"), e.at("side"), p.at("kind"), p.value("namespace", ""),
                p.value("name", "")});
  }
  return out;
}

}  // namespace smi::e2e
