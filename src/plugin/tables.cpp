#include "plugin/tables.h"

#include <algorithm>

namespace smi::plugin {

namespace {

// kubectl's tab writer: minimum cell width 10, padding 3 (cli-runtime printers.GetNewTabWriter).
constexpr size_t kMinCellWidth = 10;
constexpr size_t kPadding = 3;

std::vector<std::string> MetricCells(const TrafficReading& r) {
  return {FormatSuccessRate(r), FormatRps(r), FormatLatency(r.p50), FormatLatency(r.p90),
          FormatLatency(r.p99)};
}

std::vector<std::string> WideCells(const TrafficReading& r) {
  return {FormatCount(r.success), FormatCount(r.failure), FormatWindow(r.window)};
}

const std::vector<std::string> kMetricHeaders = {"SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P90",
                                                 "LATENCY_P99"};
const std::vector<std::string> kWideHeaders = {"SUCCESS_COUNT", "FAILURE_COUNT", "WINDOW"};

void Append(std::vector<std::string>& to, const std::vector<std::string>& cells) {
  to.insert(to.end(), cells.begin(), cells.end());
}

std::optional<double> SortValue(const TrafficReading& r, SortKey key) {
  switch (key) {
    case SortKey::kRps:
      return r.requests() > 0 ? std::optional<double>(r.rps()) : std::nullopt;
    case SortKey::kSuccess:
      return r.success_rate();
    case SortKey::kP50:
      return r.p50;
    case SortKey::kP90:
      return r.p90;
    case SortKey::kP99:
      return r.p99;
    default:
      return std::nullopt;
  }
}

std::string NameOf(const TrafficReading& r, bool edges) {
  if (edges) return DescribePeer(r.peer) + " " + r.direction;
  return r.resource.ns + "/" + r.resource.name;
}

}  // namespace

std::string RenderColumns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) {
        const size_t cell = std::max(kMinCellWidth, widths[c] + kPadding);
        line.append(cell - row[c].size(), ' ');
      }
    }
    out += line + "\n";
  }
  return out;
}

void SortReadings(std::vector<TrafficReading>& readings, SortKey key, bool edges) {
  if (key == SortKey::kNone) return;
  if (key == SortKey::kName) {
    std::stable_sort(readings.begin(), readings.end(), [&](const auto& a, const auto& b) {
      return NameOf(a, edges) < NameOf(b, edges);
    });
    return;
  }
  // Busiest, least successful or slowest first; rows without a value (no requests) last.
  const bool ascending = key == SortKey::kSuccess;
  std::stable_sort(readings.begin(), readings.end(), [&](const auto& a, const auto& b) {
    const auto va = SortValue(a, key), vb = SortValue(b, key);
    if (!va || !vb) return va.has_value() && !vb.has_value();
    return ascending ? *va < *vb : *va > *vb;
  });
}

std::string TopTable(const std::vector<TrafficReading>& readings, const TableOptions& options) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  if (options.namespace_column) header.push_back("NAMESPACE");
  header.push_back("NAME");
  Append(header, kMetricHeaders);
  if (options.wide) Append(header, kWideHeaders);
  rows.push_back(header);
  for (const auto& r : readings) {
    std::vector<std::string> row;
    if (options.namespace_column) row.push_back(r.resource.ns);
    row.push_back(r.resource.name);
    Append(row, MetricCells(r));
    if (options.wide) Append(row, WideCells(r));
    rows.push_back(row);
  }
  return RenderColumns(rows);
}

std::string EdgesTable(const std::vector<TrafficReading>& readings, const TableOptions& options) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"DIRECTION", "PEER", "SIDE"};
  Append(header, kMetricHeaders);
  if (options.wide) Append(header, kWideHeaders);
  rows.push_back(header);
  for (const auto& r : readings) {
    std::vector<std::string> row = {r.direction.empty() ? "-" : r.direction, DescribePeer(r.peer),
                                    r.side.empty() ? "-" : r.side};
    Append(row, MetricCells(r));
    if (options.wide) Append(row, WideCells(r));
    rows.push_back(row);
  }
  return RenderColumns(rows);
}

}  // namespace smi::plugin
