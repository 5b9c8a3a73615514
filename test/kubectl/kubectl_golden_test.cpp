// The real kubectl (1.32) against the server on the simulated mesh, over HTTPS: what it prints is
// compared with golden files in golden/. Numbers change from run to run, so both sides are masked
// the same way (Mask*), keeping headers, names, units, idle dashes and the shape of every cell;
// KubectlTableNumbersMatchTheJsonAnswer then checks the numeric cells themselves.
//
// Run through test/integration/run_e2e.sh (ctest e2e.prometheus_linkerd). UPDATE_GOLDEN=1
// rewrites the golden files from this run's output instead of comparing.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "e2e_env.h"
#include "support/temp_dir.h"

namespace smi::e2e {
namespace {

using nlohmann::ordered_json;

std::string KubectlBin() {
  const char* bin = std::getenv("SMI_E2E_KUBECTL_BIN");
  if (!bin || !*bin) throw std::runtime_error("SMI_E2E_KUBECTL_BIN is not set: use run_e2e.sh");
  return bin;
}

// kubectl with the server's kubeconfig and a fresh discovery cache (kubectl keeps discovery for
// 6 h, which would hide changes of the server's: docs/measurements.md, "kubectl 1.32 behaviour").
int Kubectl(const std::string& args, std::string* out, bool merge_stderr = true) {
  const test_support::TempDir cache("smi-kubectl-cache");
  return RunCommand(KubectlBin() + " --kubeconfig " + GetEnv().kubeconfig + " --cache-dir " +
                        cache.path() + " " + args,
                    out, merge_stderr);
}

std::string Replace(const std::string& text, const std::string& re, const std::string& with) {
  return std::regex_replace(text, std::regex(re), with);
}

// Documents (JSON, YAML, explain): times, quantities and hashes vary; a quantity is masked only
// when it is one, so a wrongly formatted value still fails.
std::string MaskDocument(std::string text) {
  text = Replace(text, R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", "<time>");
  text = Replace(text, R"(hash=[0-9A-F]{128})", "hash=<sha512>");
  text = Replace(text, R"("[0-9A-F]{128}")", "\"<sha512>\"");
  // JSON `"value": "47m"` and YAML `value: 47m` / `value: "600"` (YAML quotes what would
  // otherwise read as a number, so whether it quotes depends on the value).
  text = Replace(text, R"(("value": ")[0-9]+(\.[0-9]+)?[numkMG]?("))", "$1<quantity>$3");
  text = Replace(text, R"re((value: )"?[0-9]+(\.[0-9]+)?[numkMG]?"?\n)re", "$1<quantity>\n");
  return text;
}

// Tables: each numeric cell by its expected shape, then columns compared as single-space-
// separated fields (kubectl pads columns to the widest cell, which varies with the numbers).
std::string MaskTable(std::string text) {
  text = Replace(text, R"(\b\d{1,3}\.\d\d%)", "<pct>");
  text = Replace(text, R"(\b\d+\.\drps\b)", "<rps>");
  text = Replace(text, R"(\b\d+(\.\d{1,2})?ms\b)", "<ms>");
  text = Replace(text, R"(\b\d+\.\d\ds\b)", "<ms>");
  text = Replace(text, R"((^|[ \t])\d+(?=[ \t]))", "$1<count>");
  std::stringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    out += Replace(Replace(line, R"([ \t]+)", " "), R"( $)", "") + "\n";
  }
  return out;
}

std::string GoldenPath(const std::string& name) {
  return std::string(SMI_KUBECTL_GOLDEN_DIR) + "/" + name + ".txt";
}

void CompareWithGolden(const std::string& name, const std::string& masked) {
  const std::string path = GoldenPath(name);
  if (const char* u = std::getenv("UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::ofstream(path) << masked;
    std::cerr << "updated " << path << "\n";
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "no golden file " << path << " (run with UPDATE_GOLDEN=1 to create it)";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(masked, want.str()) << "golden file " << path
                                << " differs (UPDATE_GOLDEN=1 regenerates it after review)";
}

// The first workload of a simulator kind ("statefulset", "daemonset") in the topology, so the
// commands follow the simulator; the golden files record what it printed.
struct Ref {
  std::string ns, name, pod;
};
Ref First(const std::string& sim_kind) {
  for (const auto& w : GetEnv().topology.at("workloads")) {
    if (w.at("kind") == sim_kind) {
      return {w.at("namespace"), w.at("name"), w.at("pods").at(0)};
    }
  }
  throw std::runtime_error("the simulator's topology has no " + sim_kind);
}

enum class Kind { kTable, kDocument, kRawJson };

void Golden(const std::string& name, const std::string& args, Kind kind, int want_rc = 0) {
  SCOPED_TRACE("kubectl " + args);
  std::string out;
  const int rc = Kubectl(args, &out);
  EXPECT_EQ(rc, want_rc) << out;
  if (kind == Kind::kRawJson) {
    // Pretty-printed in the server's own key order, so the golden file reads like the answer.
    ordered_json doc;
    try {
      doc = ordered_json::parse(out);
    } catch (const std::exception& e) {
      FAIL() << "not JSON: " << out;
    }
    out = doc.dump(2) + "\n";
  }
  CompareWithGolden(name, kind == Kind::kTable ? MaskTable(out) : MaskDocument(out));
}

TEST(KubectlGolden, GetTrafficMetricsInANamespace) {
  Golden("get_trafficmetrics_n_emojivoto", "get trafficmetrics -n emojivoto", Kind::kTable);
}

TEST(KubectlGolden, GetTrafficMetricsAllNamespaces) {
  Golden("get_trafficmetrics_A", "get trafficmetrics -A", Kind::kTable);
}

TEST(KubectlGolden, GetTrafficMetricsByName) {
  Golden("get_trafficmetrics_web", "get trafficmetrics web -n emojivoto", Kind::kTable);
  const Ref sts = First("statefulset");
  Golden("get_trafficmetrics_statefulset", "get trafficmetrics " + sts.name + " -n " + sts.ns,
         Kind::kTable);
}

TEST(KubectlGolden, GetTrafficMetricsWide) {
  Golden("get_trafficmetrics_wide", "get trafficmetrics -n emojivoto -o wide", Kind::kTable);
}

TEST(KubectlGolden, GetTrafficMetricsJsonAndYaml) {
  Golden("get_trafficmetrics_json", "get trafficmetrics -n emojivoto -o json", Kind::kDocument);
  Golden("get_trafficmetrics_yaml", "get trafficmetrics -n " + First("daemonset").ns + " -o yaml",
         Kind::kDocument);
}

TEST(KubectlGolden, ShortNameTm) { Golden("get_tm", "get tm -n identity", Kind::kTable); }

TEST(KubectlGolden, Explain) {
  Golden("explain_trafficmetrics", "explain trafficmetrics", Kind::kDocument);
  Golden("explain_trafficmetrics_edge", "explain trafficmetrics.edge", Kind::kDocument);
}

TEST(KubectlGolden, WatchIsMethodNotAllowed) {
  // The initial list, then the generic apiserver's line for a resource without watch; exit 1.
  Golden("get_trafficmetrics_watch", "get trafficmetrics -n identity -w", Kind::kTable, 1);
}

TEST(KubectlGolden, MissingNameIsNotFound) {
  Golden("get_trafficmetrics_missing", "get trafficmetrics missing -n emojivoto", Kind::kTable, 1);
  Golden("get_trafficmetrics_missing_namespace", "get trafficmetrics web -n nowhere", Kind::kTable,
         1);
}

// Every path of the spec (and of the trafficmetrics resource, and discovery), in both versions.
TEST(KubectlGolden, GetRawEverySpecPath) {
  const Ref sts = First("statefulset"), ds = First("daemonset");
  const std::vector<std::pair<std::string, std::string>> paths = {
      {"discovery", ""},
      {"namespaces", "/namespaces"},
      {"namespace", "/namespaces/emojivoto"},
      {"namespace_edges", "/namespaces/identity/edges"},
      {"deployments_all", "/deployments"},
      {"deployments", "/namespaces/identity/deployments"},
      {"deployment", "/namespaces/emojivoto/deployments/web"},
      {"deployment_edges", "/namespaces/emojivoto/deployments/web/edges"},
      {"pods_all", "/pods"},
      {"pods", "/namespaces/identity/pods"},
      {"pod", "/namespaces/" + sts.ns + "/pods/" + sts.pod},
      {"pod_edges", "/namespaces/" + sts.ns + "/pods/" + sts.pod + "/edges"},
      {"statefulsets_all", "/statefulsets"},
      {"statefulsets", "/namespaces/" + sts.ns + "/statefulsets"},
      {"statefulset", "/namespaces/" + sts.ns + "/statefulsets/" + sts.name},
      {"statefulset_edges", "/namespaces/" + sts.ns + "/statefulsets/" + sts.name + "/edges"},
      {"daemonsets_all", "/daemonsets"},
      {"daemonsets", "/namespaces/" + ds.ns + "/daemonsets"},
      {"daemonset", "/namespaces/" + ds.ns + "/daemonsets/" + ds.name},
      {"daemonset_edges", "/namespaces/" + ds.ns + "/daemonsets/" + ds.name + "/edges"},
      {"trafficmetrics_all", "/trafficmetrics"},
      {"trafficmetrics", "/namespaces/" + ds.ns + "/trafficmetrics"},
      {"trafficmetric", "/namespaces/identity/trafficmetrics/auth"},
      {"trafficmetric_edges", "/namespaces/identity/trafficmetrics/auth/edges"},
  };
  for (const std::string version : {"v1alpha1", "v1alpha2"}) {
    for (const auto& [name, path] : paths) {
      Golden("raw_" + version + "_" + name, "get --raw /apis/metrics.smi-spec.io/" + version + path,
             Kind::kRawJson);
    }
  }
  Golden("raw_apis", "get --raw /apis", Kind::kRawJson);
  Golden("raw_group", "get --raw /apis/metrics.smi-spec.io", Kind::kRawJson);
  Golden("raw_openapi_v3", "get --raw /openapi/v3", Kind::kRawJson);
  Golden("raw_missing",
         "get --raw /apis/metrics.smi-spec.io/v1alpha1/namespaces/emojivoto/"
         "deployments/missing",
         Kind::kDocument, 1);
}

// ---- Every resource reaches itself
// ---------------------------------------------------------------

// The objects a list names, as (resource kind, namespace, name, edge side, backend): what
// identifies an item whatever its numbers.
std::multiset<std::string> ItemIds(const nlohmann::json& list) {
  std::multiset<std::string> ids;
  for (const auto& item : list.at("items")) {
    const auto& r = item.at("resource");
    std::string id = r.value("kind", "") + "/" + r.value("namespace", "") + "/" +
                     r.value("name", "") + "/" + item.at("edge").value("side", "");
    if (item.contains("backend")) id += "/" + item.at("backend").value("name", "");
    ids.insert(id);
  }
  return ids;
}

// kubectl resolves `kubectl get <resource>` to a kind and the kind back to a resource
// (docs/kubernetes-api.md, "Every kind of client"): every resource discovery lists, by its plural
// and its singular name, must list what its own path answers, and every object keeps `kind:
// TrafficMetrics`. The resources come from discovery, so one added to the server is checked too.
TEST(KubectlClients, EveryResourceListsItself) {
  for (const std::string version : {"v1alpha1", "v1alpha2"}) {
    const std::string gv = "metrics.smi-spec.io/" + version;
    std::string out;
    ASSERT_EQ(Kubectl("get --raw /apis/" + gv, &out, false), 0) << out;
    const auto discovery = nlohmann::json::parse(out);
    // Without Kubernetes objects (this harness' default) only what the series show exists: no
    // TrafficSplit, no group of pods the caches form.
    int checked = 0, with_items = 0;
    for (const auto& r : discovery.at("resources")) {
      const std::string name = r.at("name");
      if (name.find('/') != std::string::npos) continue;
      for (const std::string& as : {name, r.at("singularName").get<std::string>()}) {
        SCOPED_TRACE(version + " " + as);
        std::string raw, got;
        ASSERT_EQ(Kubectl("get --raw /apis/" + gv + "/" + name, &raw, false), 0) << raw;
        ASSERT_EQ(
            Kubectl("get " + as + "." + version + ".metrics.smi-spec.io -A -o json", &got, false),
            0)
            << got;
        const auto want = nlohmann::json::parse(raw), list = nlohmann::json::parse(got);
        ++checked;
        if (!list.at("items").empty()) ++with_items;
        EXPECT_EQ(ItemIds(list), ItemIds(want))
            << "kubectl get " << as << " did not list the " << name << " resource";
        for (const auto& item : list.at("items")) {
          EXPECT_EQ(item.at("kind"), "TrafficMetrics");
          EXPECT_EQ(item.at("apiVersion"), gv);
        }
      }
      // kubectl explain finds the resource's kind in OpenAPI.
      if (name == "trafficsplits") continue;  // answers lists: not a TrafficMetrics schema
      ASSERT_EQ(Kubectl("explain " + name + " --api-version=" + gv, &out), 0) << out;
      EXPECT_NE(out.find("FIELDS:"), std::string::npos) << out;
    }
    // Every resource of the spec and ours, by plural and singular name.
    EXPECT_GE(checked, 2 * 7) << version;
    EXPECT_GE(with_items, 2 * 5) << version << ": pods, namespaces and workloads have objects";
  }
}

// ---- The numbers in the table are the JSON answer's numbers -----------------------------------

// The test's own reading of the cells (independent of the server's formatting code).
std::string Pct(double s, double f) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * s / (s + f));
  return b;
}

std::vector<std::vector<std::string>> Rows(const std::string& table) {
  std::vector<std::vector<std::string>> rows;
  std::stringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::vector<std::string> row;
    for (std::string f; fields >> f;) row.push_back(f);
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

TEST(KubectlGolden, KubectlTableNumbersMatchTheJsonAnswer) {
  // Answers are evaluated at a whole second: a table fetched between two JSON answers with the
  // same timestamps was evaluated at that second too, so its cells must match exactly.
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::string before, table, after;
    ASSERT_EQ(Kubectl("get tm -n emojivoto -o json", &before, false), 0) << before;
    ASSERT_EQ(Kubectl("get tm -n emojivoto -o wide", &table, false), 0) << table;
    ASSERT_EQ(Kubectl("get tm -n emojivoto -o json", &after, false), 0) << after;
    const auto j1 = nlohmann::json::parse(before), j2 = nlohmann::json::parse(after);
    if (j1.at("items").empty() ||
        j1.at("items")[0].at("timestamp") != j2.at("items")[0].at("timestamp")) {
      continue;
    }
    const auto rows = Rows(table);
    ASSERT_EQ(rows.size(), j1.at("items").size() + 1) << table;
    ASSERT_EQ(rows[0].size(), 10u) << table;
    int busy = 0;
    for (size_t i = 0; i < j1.at("items").size(); ++i) {
      const auto& item = j1.at("items")[i];
      const auto& row = rows[i + 1];
      SCOPED_TRACE(item.dump());
      std::map<std::string, std::string> m;
      for (const auto& metric : item.at("metrics")) m[metric.at("name")] = metric.at("value");
      const double s = ParseQuantity(m.at("success_count"));
      const double f = ParseQuantity(m.at("failure_count"));
      const double window = ParseGoDurationSeconds(item.at("window"));
      EXPECT_EQ(row[0], item.at("metadata").at("name"));
      EXPECT_EQ(row[1], item.at("resource").at("kind"));
      EXPECT_EQ(row[7], std::to_string(std::llround(s)));
      EXPECT_EQ(row[8], std::to_string(std::llround(f)));
      EXPECT_EQ(row[9], item.at("window"));
      if (s + f == 0) {
        for (int c = 2; c <= 6; ++c) EXPECT_EQ(row[c], "-");
        continue;
      }
      ++busy;
      EXPECT_EQ(row[2], Pct(s, f));
      char rps[32];
      std::snprintf(rps, sizeof rps, "%.1frps", (s + f) / window);
      EXPECT_EQ(row[3], rps);
      // Latency cells: the same value as the quantity, in milliseconds, to the cell's precision.
      const std::pair<int, const char*> latencies[] = {
          {4, "p50_response_latency"}, {5, "p90_response_latency"}, {6, "p99_response_latency"}};
      for (const auto& [col, name] : latencies) {
        const std::string cell = row[col];
        ASSERT_TRUE(cell.size() > 2 && cell.substr(cell.size() - 2) == "ms") << cell;
        const double ms = std::stod(cell.substr(0, cell.size() - 2));
        const double want = ParseQuantity(m.at(name)) * 1000;
        // Half a unit of the cell's last digit; a tie (8.25 printed "8.2") is exactly that far,
        // give or take the binary representation of the printed value.
        EXPECT_NEAR(ms, want, (want >= 10 ? 0.5 : 0.05) + 1e-9) << name << " cell " << cell;
      }
    }
    EXPECT_GE(busy, 2) << "the demo mesh should have traffic in emojivoto";
    return;
  }
  FAIL() << "never got two JSON answers evaluated at the same second around a table";
}

}  // namespace
}  // namespace smi::e2e
