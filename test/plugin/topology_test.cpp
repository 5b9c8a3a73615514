// The service graph from edges, and its text, table, DOT and SVG forms.
#include "plugin/topology.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "drawing_reader.h"
#include "fake_reader.h"

namespace smi::plugin {
namespace {

using testing::Edge;
using testing::Item;

TrafficReading Read(const nlohmann::json& j) { return ReadTrafficMetrics(j); }

// web -> emoji, web -> identity/auth, vote-bot -> web; legacy without traffic. emoji's view of
// web's calls is measured at the server and differs: the client's must win.
ServiceGraph DemoGraph() {
  const std::vector<TrafficReading> objects = {
      Read(Item("Deployment", "emojivoto", "emoji", 20, 0)),
      Read(Item("Deployment", "emojivoto", "legacy", 0, 0)),
      Read(Item("Deployment", "emojivoto", "vote-bot", 0, 0)),
      Read(Item("Deployment", "emojivoto", "web", 10, 0))};
  const std::vector<std::vector<TrafficReading>> edges = {
      {Read(Item("Deployment", "emojivoto", "emoji", 570, 30,
                 Edge("from", "server", "Deployment", "emojivoto", "web")))},
      {},
      {Read(Item("Deployment", "emojivoto", "vote-bot", 297, 3,
                 Edge("to", "client", "Deployment", "emojivoto", "web")))},
      {Read(Item("Deployment", "emojivoto", "web", 597, 3,
                 Edge("to", "client", "Deployment", "emojivoto", "emoji"))),
       Read(Item("Deployment", "emojivoto", "web", 147, 3,
                 Edge("to", "client", "Deployment", "identity", "auth"))),
       Read(Item("Deployment", "emojivoto", "web", 297, 3,
                 Edge("from", "client", "Deployment", "emojivoto", "vote-bot")))}};
  return BuildServiceGraph(objects, edges, {"Deployment", "emojivoto"});
}

TEST(Topology, EdgesSeenFromBothEndsBecomeOne) {
  const ServiceGraph g = DemoGraph();
  std::vector<std::string> nodes;
  for (const auto& n : g.nodes) nodes.push_back(n.label);
  EXPECT_EQ(nodes,
            (std::vector<std::string>{"emoji", "legacy", "vote-bot", "web", "identity/auth"}));
  ASSERT_EQ(g.edges.size(), 3u);
  EXPECT_EQ(g.nodes[g.edges[0].from].label, "vote-bot");
  EXPECT_EQ(g.nodes[g.edges[0].to].label, "web");
  EXPECT_EQ(g.nodes[g.edges[1].to].label, "emoji");
  EXPECT_EQ(g.edges[1].reading.side, "client");  // web's own measurement, not emoji's
  EXPECT_DOUBLE_EQ(g.edges[1].reading.success, 597);
  EXPECT_EQ(g.nodes[g.edges[2].to].label, "identity/auth");
  EXPECT_EQ(g.nodes[g.edges[2].to].box, (std::vector<std::string>{"auth", "(identity)"}));
}

TEST(Topology, LabelsOfNodes) {
  EXPECT_EQ(NodeLabel({"Deployment", "a", "web"}, {"Deployment", "a"}), "web");
  EXPECT_EQ(NodeLabel({"Deployment", "b", "web"}, {"Deployment", "a"}), "b/web");
  EXPECT_EQ(NodeLabel({"Deployment", "a", "web"}, {"Deployment", ""}), "a/web");
  EXPECT_EQ(NodeLabel({"StatefulSet", "a", "db"}, {"Deployment", "a"}), "statefulset/db");
  EXPECT_EQ(NodeLabel({"Namespace", "", "a"}, {"Namespace", ""}), "a");
  EXPECT_EQ(NodeLabel({"", "", ""}, {"Deployment", "a"}), "?");
  EXPECT_EQ(EdgeLabel(Read(Item("Pod", "a", "b", 0, 0))), (std::vector<std::string>{"idle"}));
}

TEST(Topology, TextReadsBackAsTheGraph) {
  const std::string text = TopologyText(DemoGraph(), {80, false});
  std::string error;
  testing::DrawingReader reader(text);
  const auto edges = reader.Edges(&error);
  ASSERT_TRUE(edges) << error << "\n" << text;
  const std::multiset<testing::ReadEdge> want = {{"vote-bot", "web", {"10.0rps", "99.00%"}},
                                                 {"web", "emoji", {"20.0rps", "99.50%"}},
                                                 {"web", "auth", {"5.0rps", "98.00%"}}};
  EXPECT_EQ(*edges, want) << text;
  EXPECT_NE(text.find("\nWithout edges in the window: legacy\n"), std::string::npos) << text;
}

TEST(Topology, TrafficOfANamespaceToItself) {
  const std::vector<TrafficReading> objects = {Read(Item("Namespace", "", "emojivoto", 1, 0)),
                                               Read(Item("Namespace", "", "identity", 1, 0))};
  const std::vector<std::vector<TrafficReading>> edges = {
      {Read(Item("Namespace", "", "emojivoto", 1164, 36,
                 Edge("to", "client", "Namespace", "", "emojivoto"))),
       Read(Item("Namespace", "", "emojivoto", 147, 3,
                 Edge("to", "client", "Namespace", "", "identity")))},
      {Read(Item("Namespace", "", "identity", 147, 3,
                 Edge("from", "client", "Namespace", "", "emojivoto")))}};
  const ServiceGraph g = BuildServiceGraph(objects, edges, {"Namespace", ""});
  ASSERT_EQ(g.edges.size(), 2u);
  const std::string text = TopologyText(g, {80, false});
  EXPECT_NE(text.find("| self: 40.0rps 97.00% |"), std::string::npos) << text;
  std::string error;
  const auto read = testing::DrawingReader(text).Edges(&error);
  ASSERT_TRUE(read) << error;
  EXPECT_EQ(read->size(), 1u) << text;
}

TEST(Topology, TooWideBecomesATable) {
  std::vector<TrafficReading> objects = {Read(Item("Pod", "a", "caller", 1, 0))};
  std::vector<std::vector<TrafficReading>> edges(1);
  for (int i = 0; i < 6; ++i) {
    edges[0].push_back(Read(Item(
        "Pod", "a", "caller", 30, 0,
        Edge("to", "client", "Pod", "a", "a-pod-with-a-long-name-7d9f8b-" + std::to_string(i)))));
  }
  const std::string text =
      TopologyText(BuildServiceGraph(objects, edges, {"Pod", "a"}), {80, false});
  EXPECT_EQ(text.rfind("The graph does not fit in 80 columns; its edges:\nFROM      TO ", 0), 0u)
      << text;
  EXPECT_NE(text.find("caller    a-pod-with-a-long-name-7d9f8b-5   100.00%   1.0rps    15ms"),
            std::string::npos)
      << text;
}

TEST(Topology, NoEdgesSaysSo) {
  const std::vector<TrafficReading> objects = {Read(Item("Pod", "a", "x", 0, 0))};
  EXPECT_EQ(TopologyText(BuildServiceGraph(objects, {{}}, {"Pod", "a"}), {80, false}),
            "No edges found: no traffic between these objects in the window.\n");
}

TEST(Topology, Dot) {
  const std::string dot = TopologyDot(DemoGraph(), "deployments in emojivoto");
  EXPECT_EQ(dot,
            "digraph traffic {\n"
            "  label=\"deployments in emojivoto\";\n"
            "  labelloc=b;\n"
            "  fontname=\"Helvetica\";\n"
            "  fontsize=10;\n"
            "  rankdir=LR;\n"
            "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f6f8\", "
            "fontname=\"Helvetica\", fontsize=11];\n"
            "  edge [fontname=\"Helvetica\", fontsize=9];\n"
            "  \"deployment/emojivoto/emoji\" [label=\"emoji\"];\n"
            "  \"deployment/emojivoto/legacy\" [label=\"legacy\", style=\"rounded,filled,dashed\", "
            "color=\"#9e9e9e\", fontcolor=\"#757575\"];\n"
            "  \"deployment/emojivoto/vote-bot\" [label=\"vote-bot\"];\n"
            "  \"deployment/emojivoto/web\" [label=\"web\"];\n"
            "  \"deployment/identity/auth\" [label=\"identity/auth\"];\n"
            "  \"deployment/emojivoto/vote-bot\" -> \"deployment/emojivoto/web\" "
            "[label=\"10.0rps\\n99.00%\", color=\"#2e7d32\", fontcolor=\"#2e7d32\"];\n"
            "  \"deployment/emojivoto/web\" -> \"deployment/emojivoto/emoji\" "
            "[label=\"20.0rps\\n99.50%\", color=\"#2e7d32\", fontcolor=\"#2e7d32\"];\n"
            "  \"deployment/emojivoto/web\" -> \"deployment/identity/auth\" "
            "[label=\"5.0rps\\n98.00%\", color=\"#b7791f\", fontcolor=\"#b7791f\"];\n"
            "}\n");
  // Quotes and backslashes in names cannot break out of a DOT string.
  const ServiceGraph odd =
      BuildServiceGraph({Read(Item("Pod", "a", "x\"y\\z", 1, 0))}, {{}}, {"Pod", "a"});
  EXPECT_NE(TopologyDot(odd, "t").find("[label=\"x\\\"y\\\\z\","), std::string::npos);
}

bool DotInstalled() { return std::system("command -v dot >/dev/null 2>&1") == 0; }

TEST(Topology, SvgThroughGraphviz) {
  if (!DotInstalled())
    GTEST_SKIP() << "Graphviz's dot is not installed (scripts/setup.sh installs it)";
  const std::string svg = RenderSvg(TopologyDot(DemoGraph(), "t"));
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("identity/auth"), std::string::npos);
  try {
    RenderSvg("digraph { this is not dot");
    FAIL() << "malformed DOT was drawn";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("dot failed: ", 0), 0u) << e.what();
  }
}

TEST(Topology, SvgWithoutGraphvizSaysWhatToInstall) {
  // An empty PATH: no dot to be found.
  const char* old = std::getenv("PATH");
  const std::string saved = old ? old : "";
  setenv("PATH", "/nonexistent", 1);
  try {
    RenderSvg("digraph {}");
    ADD_FAILURE() << "drew without dot";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install graphviz"), std::string::npos)
        << e.what();
  }
  setenv("PATH", saved.c_str(), 1);
}

}  // namespace
}  // namespace smi::plugin
