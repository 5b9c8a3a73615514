// The service graph of a kind, from the edges of every object of it, and its three pictures:
// boxes and arrows as text (or a table of its edges when that would be too wide), Graphviz DOT,
// and SVG drawn by Graphviz.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plugin/readings.h"

namespace smi::plugin {

struct GraphNode {
  ObjectRef ref;
  std::string label;  // the object's name, qualified where the scope needs it: "identity/auth"
  std::vector<std::string> box;  // the same in a box's lines: {"auth", "(identity)"}
};

struct GraphEdge {
  size_t from = 0, to = 0;  // node indices; equal for traffic of a namespace to itself
  TrafficReading reading;   // the measurement shown (client side preferred)
};

struct ServiceGraph {
  std::vector<GraphNode> nodes;  // the objects listed, in the API's order, then peers elsewhere
  std::vector<GraphEdge> edges;  // sorted by source, then destination label
};

// Which objects the graph is of: a kind, in one namespace or all of them.
struct GraphScope {
  std::string kind;  // Kubernetes kind of the objects: "Deployment"
  std::string ns;    // empty with all namespaces (and for Namespace)
};

// Builds the graph from the objects of a kind and each one's edges (`edges[i]` are the edge items
// of `objects[i]`). An edge seen from both of its ends becomes one edge; it shows the reading
// measured at the client when there is one, else the one of the caller's `to` edge.
ServiceGraph BuildServiceGraph(const std::vector<TrafficReading>& objects,
                               const std::vector<std::vector<TrafficReading>>& edges,
                               const GraphScope& scope);

// The node label rules: the name, "namespace/name" outside the scope's namespace, and the kind
// first ("statefulset/...") for objects of another kind than the scope's.
std::string NodeLabel(const ObjectRef& ref, const GraphScope& scope);
// The same as lines of a box: the name (after the kind, when it is another), then the namespace
// in parentheses where the label has it.
std::vector<std::string> NodeBoxLines(const ObjectRef& ref, const GraphScope& scope);

// "10.0rps", "99.00%" (or "idle" for an edge without requests in the window).
std::vector<std::string> EdgeLabel(const TrafficReading& reading);

struct TextOptions {
  size_t max_width = 80;
  bool color = false;
};

// Boxes and arrows when they fit in `max_width`, else the table of edges with a note saying why;
// then a line naming the objects without any edge.
std::string TopologyText(const ServiceGraph& graph, const TextOptions& options);

// One row per edge: FROM TO SUCCESS RPS LATENCY_P50 LATENCY_P90 LATENCY_P99.
std::string TopologyTable(const ServiceGraph& graph);

// Graphviz DOT: node ids are DescribePeer's "kind/namespace/name", labels the node labels, each
// edge labelled with its RPS and success rate and coloured by success rate. `title` is a comment.
std::string TopologyDot(const ServiceGraph& graph, const std::string& title);

// The SVG Graphviz's `dot` draws from `dot_source` (found on the PATH). Throws std::runtime_error
// saying what went wrong (no `dot`, or what it printed on failure).
std::string RenderSvg(const std::string& dot_source);

// DOT edge colours by health, as "#rrggbb".
const char* DotColor(Health health);

}  // namespace smi::plugin
