// `kubectl traffic` end to end: the real kubectl (1.32) finds kubectl-traffic on a PATH this test
// sets, and the plugin talks to the server on the simulated mesh through the server's kubeconfig.
// Every number a command prints is checked against the API's JSON answer of the same evaluation
// second (answers carry it in `timestamp`), with the test's own formatting; every topology
// against the simulator's own list of calls; the SVG by parsing it.
//
// Run through test/integration/run_e2e.sh (ctest e2e.kubectl_traffic).
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "drawing_reader.h"
#include "e2e_env.h"
#include "support/temp_dir.h"
#include "xml_check.h"

namespace smi::e2e {
namespace {

using nlohmann::json;
const std::string kBase = "/apis/metrics.smi-spec.io/v1alpha1";

// ---- Running the plugin through kubectl ------------------------------------------------------

// A folder holding only kubectl-traffic, put first on the PATH of every kubectl call.
const std::string& PluginDir() {
  static const test_support::TempDir dir("kubectl-traffic-path");
  static const bool linked = [] {
    std::filesystem::create_symlink(SMI_KUBECTL_TRAFFIC, dir.File("kubectl-traffic"));
    return true;
  }();
  (void)linked;
  return dir.path();
}

std::string KubectlBin() {
  const char* bin = std::getenv("SMI_E2E_KUBECTL_BIN");
  if (!bin || !*bin) throw std::runtime_error("SMI_E2E_KUBECTL_BIN is not set: use run_e2e.sh");
  return bin;
}

std::string Shell(const std::string& args) {
  return "PATH='" + PluginDir() + "':\"$PATH\" " + KubectlBin() + " " + args;
}

struct Result {
  int code = 0;
  std::string out, err;
};

// `kubectl traffic ARGS --kubeconfig <the server's>`, stdout and stderr apart.
Result Traffic(const std::string& args) {
  const test_support::TempDir tmp("kubectl-traffic-err");
  Result r;
  r.code = RunCommand(
      Shell("traffic " + args + " --kubeconfig " + GetEnv().kubeconfig) + " 2>" + tmp.File("err"),
      &r.out);
  std::ifstream in(tmp.File("err"));
  std::stringstream s;
  s << in.rdbuf();
  r.err = s.str();
  return r;
}

// ---- The test's own reading of answers and cells ---------------------------------------------

struct Numbers {
  double success = 0, failure = 0, window = 0;
  std::map<std::string, double> latency;  // seconds, by metric name
};

Numbers NumbersOf(const json& item) {
  Numbers n;
  for (const auto& m : item.at("metrics")) {
    const std::string name = m.at("name");
    const double v = ParseQuantity(m.at("value"));
    if (name == "success_count") n.success = v;
    if (name == "failure_count") n.failure = v;
    if (name.find("latency") != std::string::npos) n.latency[name] = v;
  }
  n.window = ParseGoDurationSeconds(item.at("window"));
  return n;
}

std::string Pct(const Numbers& n) {
  if (n.success + n.failure <= 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * n.success / (n.success + n.failure));
  return b;
}

std::string Rps(const Numbers& n) {
  if (n.success + n.failure <= 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.1frps", (n.success + n.failure) / n.window);
  return b;
}

// A latency cell ("15ms", "2.5ms", "0.25ms", "1.50s", "-") against the answer's value.
void ExpectLatencyCell(const std::string& cell, const Numbers& n, const std::string& name) {
  const auto it = n.latency.find(name);
  if (it == n.latency.end()) {
    EXPECT_EQ(cell, "-") << name;
    return;
  }
  double ms = 0;
  if (cell.size() > 2 && cell.substr(cell.size() - 2) == "ms") {
    ms = std::stod(cell.substr(0, cell.size() - 2));
  } else if (cell.size() > 1 && cell.back() == 's') {
    ms = std::stod(cell.substr(0, cell.size() - 1)) * 1000;
  } else {
    ADD_FAILURE() << "not a latency cell: " << cell;
    return;
  }
  const double want = it->second * 1000;
  // Half a unit of the cell's last digit (ties within the binary representation's reach).
  const double half = want >= 9999.5 ? 5 : want >= 9.95 ? 0.5 : want >= 0.995 ? 0.05 : 0.005;
  EXPECT_NEAR(ms, want, half + 1e-9) << name << " cell " << cell;
}

std::vector<std::vector<std::string>> Rows(const std::string& table) {
  std::vector<std::vector<std::string>> rows;
  std::stringstream in(table);
  for (std::string line; std::getline(in, line);) {
    std::stringstream fields(line);
    std::vector<std::string> row;
    for (std::string f; fields >> f;) row.push_back(f);
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

std::string Timestamp(const json& answer) {
  if (answer.contains("items")) {
    return answer.at("items").empty() ? ""
                                      : answer.at("items")[0].at("timestamp").get<std::string>();
  }
  return answer.at("timestamp");
}

// Runs the plugin between two GETs of `path`; returns once both answers were evaluated at the
// same second (then so was the plugin's, in between), with the plugin's result and that answer.
std::pair<Result, json> AtOneSecond(const std::string& args, const std::string& path) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const json before = GetJson(path);
    Result r = Traffic(args);
    const json after = GetJson(path);
    if (Timestamp(before) == Timestamp(after) && !Timestamp(before).empty()) return {r, after};
  }
  throw std::runtime_error("never saw two answers of one second around kubectl traffic " + args);
}

// Checks a `top` table (NAME first, or NAMESPACE NAME) against the items of `answer`.
void ExpectTopTable(const std::string& table, const json& items, bool namespaced_rows) {
  const auto rows = Rows(table);
  ASSERT_EQ(rows.size(), items.size() + 1) << table;
  const size_t first = namespaced_rows ? 1 : 0;
  ASSERT_EQ(rows[0][first], "NAME") << table;
  std::map<std::string, const json*> by_name;
  for (const auto& item : items) {
    const json& r = item.at("resource");
    by_name[(namespaced_rows ? r.at("namespace").get<std::string>() + "/" : "") +
            r.at("name").get<std::string>()] = &item;
  }
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    ASSERT_EQ(row.size(), first + 6) << table;
    const std::string key = namespaced_rows ? row[0] + "/" + row[1] : row[0];
    ASSERT_TRUE(by_name.count(key)) << key << " is not in the API's answer\n" << table;
    const Numbers n = NumbersOf(*by_name[key]);
    SCOPED_TRACE(key);
    EXPECT_EQ(row[first + 1], Pct(n));
    EXPECT_EQ(row[first + 2], Rps(n));
    ExpectLatencyCell(row[first + 3], n, "p50_response_latency");
    ExpectLatencyCell(row[first + 4], n, "p90_response_latency");
    ExpectLatencyCell(row[first + 5], n, "p99_response_latency");
  }
}

// ---- The simulator's topology ------------------------------------------------------------------

// "deployment/ns/name" for a workload of the simulator's topology (its kinds are lower case).
std::string WorkloadId(const json& ref) {
  return ref.at("kind").get<std::string>() + "/" + ref.at("namespace").get<std::string>() + "/" +
         ref.at("name").get<std::string>();
}

using EdgeSet = std::set<std::pair<std::string, std::string>>;

EdgeSet SimulatedWorkloadCalls(const std::string& only_ns = "") {
  EdgeSet out;
  for (const auto& c : GetEnv().topology.at("calls")) {
    const json &client = c.at("client"), &server = c.at("server");
    if (!only_ns.empty() && client.at("namespace") != only_ns &&
        server.at("namespace") != only_ns) {
      continue;
    }
    out.insert({WorkloadId(client), WorkloadId(server)});
  }
  return out;
}

// The calls a workload topology draws: between Deployments, StatefulSets and DaemonSets, the
// kinds `kubectl traffic` knows (the pod-group kinds, ReplicaSets and Jobs, are not drawn yet).
EdgeSet DrawnWorkloadCalls(const std::string& only_ns = "") {
  const auto drawn = [](const std::string& id) {
    return id.rfind("deployment/", 0) == 0 || id.rfind("statefulset/", 0) == 0 ||
           id.rfind("daemonset/", 0) == 0;
  };
  EdgeSet out;
  for (const auto& [client, server] : SimulatedWorkloadCalls(only_ns)) {
    if (drawn(client) && drawn(server)) out.insert({client, server});
  }
  return out;
}

EdgeSet SimulatedPodCalls() {
  std::map<std::string, std::vector<std::string>> pods;  // workload id -> pod ids
  for (const auto& p : GetEnv().topology.at("pods")) {
    const std::string ns = p.at("namespace");
    pods[p.at("owner").at("kind").get<std::string>() + "/" + ns + "/" +
         p.at("owner").at("name").get<std::string>()]
        .push_back("pod/" + ns + "/" + p.at("name").get<std::string>());
  }
  EdgeSet out;
  for (const auto& [client, server] : SimulatedWorkloadCalls()) {
    for (const auto& a : pods[client]) {
      for (const auto& b : pods[server]) out.insert({a, b});
    }
  }
  // Callers outside the mesh: the one peer the mesh cannot name (kind Unknown).
  for (const auto& c : GetEnv().topology.value("unmeshed_calls", json::array())) {
    const json& server = c.at("server");
    for (const auto& b : pods[server.at("kind").get<std::string>() + "/" +
                              server.at("namespace").get<std::string>() + "/" +
                              server.at("name").get<std::string>()]) {
      out.insert({"unknown", b});
    }
  }
  return out;
}

EdgeSet SimulatedNamespaceCalls() {
  EdgeSet out;
  for (const auto& c : GetEnv().topology.at("calls")) {
    out.insert({"namespace/" + c.at("client").at("namespace").get<std::string>(),
                "namespace/" + c.at("server").at("namespace").get<std::string>()});
  }
  for (const auto& c : GetEnv().topology.value("unmeshed_calls", json::array())) {
    out.insert({"unknown", "namespace/" + c.at("server").at("namespace").get<std::string>()});
  }
  return out;
}

struct DotEdge {
  std::string from, to, rps, success;
};

// The edges of a DOT graph as the plugin writes them: "a" -> "b" [label="10.0rps\n99.00%", ...].
std::vector<DotEdge> DotEdges(const std::string& dot) {
  std::vector<DotEdge> out;
  static const std::regex edge(R"re("([^"]+)" -> "([^"]+)" \[label="([^"\\]+)\\n([^"]+)")re");
  for (auto it = std::sregex_iterator(dot.begin(), dot.end(), edge); it != std::sregex_iterator();
       ++it) {
    out.push_back({(*it)[1], (*it)[2], (*it)[3], (*it)[4]});
  }
  return out;
}

EdgeSet EdgesOf(const std::vector<DotEdge>& edges) {
  EdgeSet out;
  for (const auto& e : edges) out.insert({e.from, e.to});
  return out;
}

// "deployment/ns/name" -> the API path of its edges.
std::string EdgesPath(const std::string& id) {
  std::stringstream in(id);
  std::string kind, ns, name;
  std::getline(in, kind, '/');
  std::getline(in, ns, '/');
  std::getline(in, name);
  if (kind == "namespace") return kBase + "/namespaces/" + ns + "/edges";
  return kBase + "/namespaces/" + ns + "/" + kind + "s/" + name + "/edges";
}

std::string PeerId(const json& ref) {
  std::string kind = ref.at("kind");
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (kind == "namespace") return "namespace/" + ref.at("name").get<std::string>();
  return kind + "/" + ref.at("namespace").get<std::string>() + "/" +
         ref.at("name").get<std::string>();
}

// A topology's DOT: its edges are exactly `want`, and each edge's label is the caller's `to` edge
// in the API's answer of the second the DOT names.
void ExpectDotTopology(const std::string& args, const EdgeSet& want) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const Result r = Traffic(args + " -o dot");
    ASSERT_EQ(r.code, 0) << r.err;
    std::smatch at;
    ASSERT_TRUE(
        std::regex_search(r.out, at, std::regex(R"(, at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\";)")))
        << r.out;
    const std::vector<DotEdge> edges = DotEdges(r.out);
    ASSERT_EQ(EdgesOf(edges), want) << r.out;
    ASSERT_EQ(edges.size(), want.size()) << "an edge drawn twice\n" << r.out;
    // The numbers: every caller's edges, asked now, must be of the DOT's second to compare. A
    // caller the mesh cannot name ("unknown") is known to the API only at its callee, as the
    // callee's `from` item with the Unknown peer.
    const auto asked = [](const DotEdge& e) { return e.from == "unknown" ? e.to : e.from; };
    std::map<std::string, json> answers;
    bool same_second = true;
    for (const auto& e : edges) {
      if (!answers.count(asked(e))) answers[asked(e)] = GetJson(EdgesPath(asked(e)));
      if (Timestamp(answers[asked(e)]) != at[1].str()) same_second = false;
    }
    if (!same_second) continue;
    for (const auto& e : edges) {
      SCOPED_TRACE(e.from + " -> " + e.to);
      const json* item = nullptr;
      for (const auto& i : answers[asked(e)].at("items")) {
        const json& peer = i.at("edge").at("resource");
        if (e.from == "unknown"
                ? i.at("edge").at("direction") == "from" && peer.at("kind") == "Unknown"
                : i.at("edge").at("direction") == "to" && PeerId(peer) == e.to) {
          item = &i;
        }
      }
      ASSERT_NE(item, nullptr) << "the API has no such edge of " << e.from;
      const Numbers n = NumbersOf(*item);
      EXPECT_EQ(e.rps, Rps(n));
      EXPECT_EQ(e.success, Pct(n));
    }
    return;
  }
  FAIL() << "never got the callers' edges in the second of the DOT of " << args;
}

// ---- Tests --------------------------------------------------------------------------------------

TEST(KubectlTraffic, KubectlFindsThePlugin) {
  std::string out;
  ASSERT_EQ(RunCommand(Shell("plugin list"), &out, true), 0) << out;
  EXPECT_NE(out.find(PluginDir() + "/kubectl-traffic"), std::string::npos) << out;
  const Result help = Traffic("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("kubectl traffic COMMAND [flags]"), std::string::npos) << help.out;
}

TEST(KubectlTraffic, TopDeploymentsAreTheApisNumbers) {
  const auto [r, answer] =
      AtOneSecond("top deployments -n emojivoto", kBase + "/namespaces/emojivoto/deployments");
  ASSERT_EQ(r.code, 0) << r.err;
  ExpectTopTable(r.out, answer.at("items"), false);
}

TEST(KubectlTraffic, TopPodsEverywhereSortedByRps) {
  const auto [r, answer] = AtOneSecond("top pods -A --sort-by rps", kBase + "/pods");
  ASSERT_EQ(r.code, 0) << r.err;
  ExpectTopTable(r.out, answer.at("items"), true);
  // Busiest first, idle pods last.
  const auto rows = Rows(r.out);
  double previous = 1e300;
  bool idle_seen = false;
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i][3] == "-") {
      idle_seen = true;
      continue;
    }
    EXPECT_FALSE(idle_seen) << "a busy pod after an idle one\n" << r.out;
    const double rps = std::stod(rows[i][3]);
    EXPECT_LE(rps, previous) << r.out;
    previous = rps;
  }
}

TEST(KubectlTraffic, TopOneObjectAndNamespaces) {
  const auto [one, web] =
      AtOneSecond("top deploy web -n emojivoto", kBase + "/namespaces/emojivoto/deployments/web");
  ASSERT_EQ(one.code, 0) << one.err;
  ExpectTopTable(one.out, json::array({web}), false);
  const auto [ns, namespaces] = AtOneSecond("top namespaces", kBase + "/namespaces");
  ASSERT_EQ(ns.code, 0) << ns.err;
  ExpectTopTable(ns.out, namespaces.at("items"), false);
}

TEST(KubectlTraffic, TopWithASelectorAndAWindow) {
  const auto [r, answer] =
      AtOneSecond("top pods -n emojivoto -l app=web --window 10s",
                  kBase + "/namespaces/emojivoto/pods?labelSelector=app%3Dweb&window=10s");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  ASSERT_FALSE(answer.at("items").empty());
  EXPECT_EQ(answer.at("items")[0].at("window"), "10s");
  ExpectTopTable(r.out, answer.at("items"), false);
}

TEST(KubectlTraffic, EdgesOfWebAreTheApisAndTheSimulators) {
  const std::string path = kBase + "/namespaces/emojivoto/deployments/web/edges";
  const auto [r, answer] = AtOneSecond("edges deploy/web -n emojivoto", path);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = Rows(r.out);
  ASSERT_EQ(rows.size(), answer.at("items").size() + 1) << r.out;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"DIRECTION", "PEER", "SIDE", "SUCCESS", "RPS",
                                               "LATENCY_P50", "LATENCY_P90", "LATENCY_P99"}));
  std::set<std::pair<std::string, std::string>> seen, simulated;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const json* item = nullptr;
    for (const auto& it : answer.at("items")) {
      if (it.at("edge").at("direction") == row[0] &&
          PeerId(it.at("edge").at("resource")) == row[1] && it.at("edge").at("side") == row[2]) {
        item = &it;
      }
    }
    ASSERT_NE(item, nullptr) << "no such edge in the API's answer: " << row[0] << " " << row[1];
    const Numbers n = NumbersOf(*item);
    SCOPED_TRACE(row[1]);
    EXPECT_EQ(row[3], Pct(n));
    EXPECT_EQ(row[4], Rps(n));
    ExpectLatencyCell(row[5], n, "p50_response_latency");
    ExpectLatencyCell(row[6], n, "p90_response_latency");
    ExpectLatencyCell(row[7], n, "p99_response_latency");
    seen.insert({row[0], row[1]});
  }
  for (const auto& [client, server] : SimulatedWorkloadCalls()) {
    if (client == "deployment/emojivoto/web") simulated.insert({"to", server});
    if (server == "deployment/emojivoto/web") simulated.insert({"from", client});
  }
  EXPECT_EQ(seen, simulated);
}

TEST(KubectlTraffic, EdgesAsJsonAndYamlPassTheListThrough) {
  const auto [r, answer] = AtOneSecond("edges deploy/web -n emojivoto -o json",
                                       kBase + "/namespaces/emojivoto/deployments/web/edges");
  ASSERT_EQ(r.code, 0) << r.err;
  json printed = json::parse(r.out);
  // Everything but the creation timestamps, which the server stamps per answer.
  for (json* doc : {&printed, const_cast<json*>(&answer)}) {
    for (auto& item : (*doc)["items"]) item["metadata"].erase("creationTimestamp");
  }
  EXPECT_EQ(printed, answer);
  const Result yaml = Traffic("edges deploy/web -n emojivoto -o yaml");
  ASSERT_EQ(yaml.code, 0) << yaml.err;
  EXPECT_EQ(yaml.out.rfind("apiVersion: metrics.smi-spec.io/v1alpha1\nitems:\n- apiVersion: ", 0),
            0u)
      << yaml.out;
}

TEST(KubectlTraffic, TopologyOfDeploymentsIsTheSimulators) {
  ExpectDotTopology("topology -n emojivoto", DrawnWorkloadCalls("emojivoto"));
  ExpectDotTopology("topology deployments -A", DrawnWorkloadCalls());
}

TEST(KubectlTraffic, TopologyOfPodsAndNamespacesIsTheSimulators) {
  ExpectDotTopology("topology pods -A", SimulatedPodCalls());
  ExpectDotTopology("topology namespaces", SimulatedNamespaceCalls());
}

TEST(KubectlTraffic, TextTopologyReadsInEightyColumns) {
  const Result r = Traffic("topology -n emojivoto");
  ASSERT_EQ(r.code, 0) << r.err;
  std::stringstream in(r.out);
  for (std::string line; std::getline(in, line);) EXPECT_LE(line.size(), 80u) << line;
  // Drawn, not the table fallback, and it reads back as the simulator's calls.
  ASSERT_EQ(r.out.find("does not fit"), std::string::npos) << r.out;
  std::string error;
  const auto edges = plugin::testing::DrawingReader(r.out).Edges(&error);
  ASSERT_TRUE(edges) << error << "\n" << r.out;
  // Boxes of another kind than the scope's are labelled kind/name; a workload's calls to itself
  // are written inside its box, not drawn as an arrow.
  const auto name = [](const std::string& id) { return id.substr(id.rfind('/') + 1); };
  EdgeSet drawn, want;
  for (const auto& e : *edges) drawn.insert({name(e.from), name(e.to)});
  for (const auto& [client, server] : DrawnWorkloadCalls("emojivoto")) {
    if (client != server) want.insert({name(client), name(server)});
  }
  EXPECT_EQ(drawn, want) << r.out;
  // The idle deployment is named, not drawn.
  for (const auto& idle : GetEnv().topology.at("idle")) {
    if (idle.at("namespace") == "emojivoto") {
      EXPECT_NE(r.out.find("Without edges in the window: " + idle.at("name").get<std::string>()),
                std::string::npos)
          << r.out;
    }
  }
}

TEST(KubectlTraffic, SvgIsAWellFormedDrawingOfTheGraph) {
  const Result r = Traffic("topology -A -o svg");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_FALSE(r.out.empty()) << "no SVG at all";
  std::string error;
  const auto svg = plugin::testing::XmlReader(r.out).Parse(&error);
  ASSERT_TRUE(svg) << "malformed SVG: " << error;
  ASSERT_EQ(svg->name, "svg");
  // Graphviz draws each node and edge as a <g class="node|edge"> titled by its id(s).
  std::vector<const plugin::testing::XmlElement*> groups;
  svg->FindAll("g", &groups);
  EdgeSet edges;
  std::set<std::string> nodes;
  for (const auto* g : groups) {
    const auto cls = g->attributes.find("class");
    if (cls == g->attributes.end()) continue;
    std::string title;
    for (const auto& c : g->children) {
      if (c.name == "title") title = c.text;
    }
    if (cls->second == "node") nodes.insert(title);
    if (cls->second == "edge") {
      const auto arrow = title.find("->");
      ASSERT_NE(arrow, std::string::npos) << title;
      edges.insert({title.substr(0, arrow), title.substr(arrow + 2)});
    }
  }
  EXPECT_EQ(edges, DrawnWorkloadCalls());
  for (const auto& w : GetEnv().topology.at("workloads")) {
    if (w.at("kind") == "deployment") {
      EXPECT_TRUE(nodes.count(WorkloadId(w))) << WorkloadId(w);
    }
  }
}

TEST(KubectlTraffic, ErrorsAreKubectlsLines) {
  const Result missing = Traffic("top deploy missing -n emojivoto");
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(
      missing.err,
      "Error from server (NotFound): deployments.metrics.smi-spec.io \"missing\" not found\n");
  const Result edges = Traffic("edges deploy/missing -n emojivoto");
  EXPECT_EQ(edges.code, 1);
  EXPECT_EQ(
      edges.err,
      "Error from server (NotFound): deployments.metrics.smi-spec.io \"missing\" not found\n");
  const Result usage = Traffic("top widgets");
  EXPECT_EQ(usage.code, 1);
  EXPECT_EQ(usage.err.rfind("error: the server doesn't have a resource type \"widgets\"", 0), 0u)
      << usage.err;
}

TEST(KubectlTraffic, AServerWithoutTheApiIsNamed) {
  // Prometheus speaks HTTP but serves no metrics.smi-spec.io.
  const test_support::TempDir dir("kubectl-traffic-noapi");
  const std::string kubeconfig = dir.Write("config",
                                           "apiVersion: v1\nkind: Config\n"
                                           "current-context: c\n"
                                           "clusters:\n- name: c\n  cluster:\n    server: " +
                                               GetEnv().prometheus_url +
                                               "\ncontexts:\n- name: c\n  context:\n"
                                               "    cluster: c\n    user: u\n"
                                               "users:\n- name: u\n  user: {}\n");
  std::string out;
  const int code = RunCommand(Shell("traffic top pods --kubeconfig " + kubeconfig), &out, true);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("does not serve the SMI Traffic Metrics API (metrics.smi-spec.io)"),
            std::string::npos)
      << out;
}

// --watch redraws until Ctrl-C, which ends it cleanly (exit 0).
TEST(KubectlTraffic, WatchRedrawsUntilInterrupted) {
  int out_pipe[2];
  ASSERT_EQ(pipe(out_pipe), 0);
  // exec: the signal must reach kubectl, which runs the plugin in its own place.
  const std::string command = "export PATH='" + PluginDir() + "':\"$PATH\"; exec " + KubectlBin() +
                              " traffic top deployments -n emojivoto --watch=1s --kubeconfig " +
                              GetEnv().kubeconfig;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    close(out_pipe[0]);
    close(out_pipe[1]);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out_pipe[1]);
  std::string out;
  auto frames = [&] {
    size_t n = 0;
    for (size_t at = out.find("Every 1s: "); at != std::string::npos;
         at = out.find("Every 1s: ", at + 1))
      ++n;
    return n;
  };
  // Reads until the third frame has begun, so two are whole (bounded: 60 s of silence fails).
  while (frames() < 3) {
    pollfd p{out_pipe[0], POLLIN, 0};
    if (poll(&p, 1, 60000) <= 0) break;
    char buf[4096];
    const ssize_t n = read(out_pipe[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out_pipe[0]);
  ASSERT_GE(frames(), 3u) << out;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  // Each frame: the header with the answer's time, then the table.
  const std::regex header(
      R"(Every 1s: kubectl traffic top deployments -n emojivoto --watch=1s --kubeconfig \S+    window 30s at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n\nNAME )");
  size_t headers = 0;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), header); it != std::sregex_iterator();
       ++it) {
    ++headers;
  }
  EXPECT_GE(headers, 2u) << out;
}

}  // namespace
}  // namespace smi::e2e
