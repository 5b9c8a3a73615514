// The tables of `kubectl traffic top` and `kubectl traffic edges`, laid out as kubectl lays out
// its own (upper-case headers, left-aligned columns at least 10 wide, 3 spaces apart).
#pragma once

#include <string>
#include <vector>

#include "plugin/invocation.h"
#include "plugin/readings.h"

namespace smi::plugin {

// Rows of cells as kubectl's tab writer prints them; the first row is the header.
std::string RenderColumns(const std::vector<std::vector<std::string>>& rows);

// Orders readings by `key` (stable; kNone keeps the server's order). `name` of a reading is what
// kName sorts by.
void SortReadings(std::vector<TrafficReading>& readings, SortKey key, bool edges);

struct TableOptions {
  bool wide = false;              // -o wide: the counts and the window too
  bool namespace_column = false;  // -A: a NAMESPACE column first
};

// One row per object: [NAMESPACE] NAME SUCCESS RPS LATENCY_P50 LATENCY_P90 LATENCY_P99
// [SUCCESS_COUNT FAILURE_COUNT WINDOW].
std::string TopTable(const std::vector<TrafficReading>& readings, const TableOptions& options);

// One row per edge: DIRECTION PEER SIDE SUCCESS RPS LATENCY_P50 LATENCY_P90 LATENCY_P99
// [SUCCESS_COUNT FAILURE_COUNT WINDOW]. The peer as DescribePeer writes it.
std::string EdgesTable(const std::vector<TrafficReading>& readings, const TableOptions& options);

}  // namespace smi::plugin
