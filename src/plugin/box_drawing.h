// A directed graph drawn as text with boxes and arrows, the way the SMI spec sketches `kubectl
// traffic topology`: layered top to bottom (callers above the services they call), every edge its
// own line with its label just above the arrowhead. Edges that point upwards (cycles, A <-> B) end
// in `^` under the box they point at.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "plugin/readings.h"

namespace smi::plugin {

struct DrawingNode {
  std::vector<std::string> lines;  // the first is the name; more lines are notes under it
};

struct DrawingEdge {
  size_t from = 0, to = 0;         // node indices; from != to (self-edges are notes of their node)
  std::vector<std::string> label;  // lines, e.g. {"10.0rps", "99.00%"}
  Health health = Health::kIdle;   // the colour of the line and its label
};

struct DrawingOptions {
  size_t max_width = 80;  // columns
  bool color = false;     // ANSI colours by health
};

// The drawing, or nullopt when it would be wider than `max_width` or its lines could not be laid
// out without two of them sharing a stretch (the caller then shows a table instead). Every node
// is drawn, connected or not.
std::optional<std::string> DrawBoxesAndArrows(const std::vector<DrawingNode>& nodes,
                                              const std::vector<DrawingEdge>& edges,
                                              const DrawingOptions& options);

}  // namespace smi::plugin
