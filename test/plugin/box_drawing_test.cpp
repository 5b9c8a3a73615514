// The text topology: it must read back as exactly the graph it was drawn from (every edge, its
// label, no extra), fit the width it was given, or say it cannot.
#include "plugin/box_drawing.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "drawing_reader.h"

namespace smi::plugin {
namespace {

using testing::DrawingReader;
using testing::ReadEdge;

struct Graph {
  std::vector<DrawingNode> nodes;
  std::vector<DrawingEdge> edges;
};

size_t Index(Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].lines[0] == name) return i;
  }
  g.nodes.push_back({{name}});
  return g.nodes.size() - 1;
}

void Add(Graph& g, const std::string& from, const std::string& to, std::vector<std::string> label,
         Health health = Health::kGood) {
  const size_t a = Index(g, from), b = Index(g, to);
  g.edges.push_back({a, b, std::move(label), health});
}

std::multiset<ReadEdge> Expected(const Graph& g) {
  std::multiset<ReadEdge> out;
  for (const auto& e : g.edges)
    out.insert({g.nodes[e.from].lines[0], g.nodes[e.to].lines[0], e.label});
  return out;
}

size_t WidestLine(const std::string& text) {
  std::stringstream in(text);
  size_t widest = 0;
  for (std::string line; std::getline(in, line);) widest = std::max(widest, line.size());
  return widest;
}

// Draws `g` and reads it back; the edges must be exactly those of `g`.
std::string DrawAndRead(const Graph& g, size_t width = 80) {
  const auto drawing = DrawBoxesAndArrows(g.nodes, g.edges, {width, false});
  EXPECT_TRUE(drawing.has_value()) << "no drawing";
  if (!drawing) return "";
  std::string error;
  DrawingReader reader(*drawing);
  const auto edges = reader.Edges(&error);
  EXPECT_TRUE(edges.has_value()) << error << "\n" << *drawing;
  if (edges) {
    EXPECT_EQ(*edges, Expected(g)) << *drawing;
  }
  std::set<std::string> boxes, want;
  for (const auto& b : reader.Boxes()) boxes.insert(b);
  for (const auto& n : g.nodes) want.insert(n.lines[0]);
  EXPECT_EQ(boxes, want) << *drawing;
  EXPECT_LE(WidestLine(*drawing), width) << *drawing;
  return *drawing;
}

TEST(BoxDrawing, TheDemoMeshReadsInEightyColumns) {
  Graph g;
  Add(g, "vote-bot", "web", {"10.0rps", "99.00%"});
  Add(g, "web", "emoji", {"20.0rps", "99.50%"});
  Add(g, "web", "voting", {"9.0rps", "90.00%"}, Health::kFailing);
  Add(g, "web", "voting-v2", {"1.0rps", "90.00%"}, Health::kFailing);
  Add(g, "web", "identity/auth", {"5.0rps", "98.00%"}, Health::kDegraded);
  const std::string drawing = DrawAndRead(g);
  // The picture itself, as a person checked it: the bot above web, web's bus to its four callees.
  EXPECT_EQ(drawing,
            "                  +----------+\n"
            "                  | vote-bot |\n"
            "                  +-----+----+\n"
            "                        |\n"
            "                     10.0rps\n"
            "                      99.00%\n"
            "                        v\n"
            "                     +--+--+\n"
            "                     | web |\n"
            "                     +--+--+\n"
            "                        |\n"
            "    +-----------+-------+----+----------------+\n"
            "    |           |            |                |\n"
            " 20.0rps      9.0rps       1.0rps           5.0rps\n"
            "  99.50%      90.00%       90.00%           98.00%\n"
            "    v           v            v                v\n"
            "+---+---+  +----+---+  +-----+-----+  +-------+-------+\n"
            "| emoji |  | voting |  | voting-v2 |  | identity/auth |\n"
            "+-------+  +--------+  +-----------+  +---------------+\n");
}

TEST(BoxDrawing, TheSpecsExampleWithACycleAndALongEdge) {
  // The SMI spec's sketch: traffic -> foo -> bar <-> baz, and foo -> baz past bar.
  Graph g;
  Add(g, "traffic", "foo", {"1.0rps", "100.00%"});
  Add(g, "foo", "bar", {"2.0rps", "99.00%"});
  Add(g, "bar", "baz", {"3.0rps", "98.00%"}, Health::kDegraded);
  Add(g, "baz", "bar", {"4.0rps", "97.00%"}, Health::kDegraded);
  Add(g, "foo", "baz", {"5.0rps", "96.00%"}, Health::kDegraded);
  const std::string drawing = DrawAndRead(g);
  EXPECT_NE(drawing.find('^'), std::string::npos) << "the edge closing the cycle points up\n"
                                                  << drawing;
}

TEST(BoxDrawing, ManyCallersOfOneService) {
  Graph g;
  for (const char* caller : {"a", "b", "c", "d"}) Add(g, caller, "db", {"1.0rps", "100.00%"});
  DrawAndRead(g);
}

TEST(BoxDrawing, NodesWithoutEdgesAreDrawnToo) {
  Graph g;
  Add(g, "a", "b", {"1.0rps"});
  g.nodes.push_back({{"lonely"}});
  DrawAndRead(g);
}

TEST(BoxDrawing, NotesUnderTheName) {
  Graph g;
  Add(g, "emojivoto", "identity", {"5.0rps", "98.00%"});
  g.nodes[0].lines.push_back("self: 40.0rps 97.00%");
  const std::string drawing = DrawAndRead(g);
  EXPECT_NE(drawing.find("| self: 40.0rps 97.00% |"), std::string::npos) << drawing;
}

TEST(BoxDrawing, TooWideIsRefused) {
  Graph g;
  for (int i = 0; i < 8; ++i) {
    Add(g, "caller", "a-service-with-a-long-name-" + std::to_string(i), {"1.0rps"});
  }
  EXPECT_FALSE(DrawBoxesAndArrows(g.nodes, g.edges, {80, false}).has_value());
  DrawAndRead(g, 400);  // and drawn when there is room
}

TEST(BoxDrawing, SelfEdgesAndBadIndicesAreRefused) {
  const std::vector<DrawingNode> nodes = {{{"a"}}, {{"b"}}};
  EXPECT_FALSE(DrawBoxesAndArrows(nodes, {{0, 0, {"x"}, Health::kGood}}, {}).has_value());
  EXPECT_FALSE(DrawBoxesAndArrows(nodes, {{0, 7, {"x"}, Health::kGood}}, {}).has_value());
  EXPECT_EQ(*DrawBoxesAndArrows({}, {}, {}), "");
}

TEST(BoxDrawing, ColoursFollowTheEdgesHealth) {
  Graph g;
  Add(g, "a", "b", {"1.0rps", "90.00%"}, Health::kFailing);
  Add(g, "a", "c", {"1.0rps", "100.00%"}, Health::kGood);
  const auto drawing = DrawBoxesAndArrows(g.nodes, g.edges, {80, true});
  ASSERT_TRUE(drawing);
  EXPECT_NE(drawing->find("\033[31m90.00%\033[0m"), std::string::npos) << *drawing;
  EXPECT_NE(drawing->find("\033[32m100.00%\033[0m"), std::string::npos) << *drawing;
  // Without colours the same picture.
  const auto plain = DrawBoxesAndArrows(g.nodes, g.edges, {80, false});
  EXPECT_EQ(std::regex_replace(*drawing, std::regex("\033\\[[0-9;]*m"), ""), *plain);
}

// prefix + number + suffix (built by appending: GCC 12 warns wrongly about operator+ here).
std::string Text(const char* prefix, int number, const char* suffix) {
  std::string out(prefix);
  out.append(std::to_string(number)).append(suffix);
  return out;
}

// Any graph: either no drawing, or one that reads back as exactly that graph.
TEST(BoxDrawing, RandomGraphsReadBackExactly) {
  std::mt19937 rng(20240611);
  int drawn = 0, total = 0;
  for (int round = 0; round < 400; ++round) {
    Graph g;
    const int n = 2 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) g.nodes.push_back({{Text("n", i, "")}});
    const int m = 1 + static_cast<int>(rng() % (2 * n));
    std::set<std::pair<size_t, size_t>> seen;
    for (int k = 0; k < m; ++k) {
      const size_t a = rng() % n, b = rng() % n;
      if (a == b || !seen.insert({a, b}).second) continue;
      g.edges.push_back({a, b, {Text("", k, ".0rps"), Text("9", k, "%")}, Health::kGood});
    }
    ++total;
    const auto drawing = DrawBoxesAndArrows(g.nodes, g.edges, {400, false});
    if (!drawing) continue;
    ++drawn;
    std::string error;
    const auto edges = DrawingReader(*drawing).Edges(&error);
    ASSERT_TRUE(edges.has_value()) << error << "\n" << *drawing;
    ASSERT_EQ(*edges, Expected(g)) << *drawing;
  }
  // The layout copes with nearly everything small; the rest falls back to a table.
  EXPECT_GE(drawn * 100, total * 95) << drawn << " of " << total << " drawn";
}

}  // namespace
}  // namespace smi::plugin
