#include "apiserver/table.h"

#include <cmath>
#include <cstdio>

#include "model/duration.h"

namespace smi::apiserver {

namespace {

using nlohmann::json;

std::string Printf(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

json Column(std::string_view name, std::string_view format, std::string_view description,
            int priority) {
  return {{"name", name},
          {"type", "string"},
          {"format", format},
          {"description", description},
          {"priority", priority}};
}

std::optional<double> MetricValue(const model::TrafficMetrics& tm, std::string_view name) {
  for (const auto& m : tm.metrics) {
    if (m.name == name) return m.value.ToDouble();
  }
  return std::nullopt;
}

std::string_view MetaVersion(const TableOptions& o) {
  return o.version == Representation::kTableV1beta1 ? "meta.k8s.io/v1beta1" : "meta.k8s.io/v1";
}

// What kubectl reads from a row's object: kind and apiVersion (without them it falls back to
// client-side printing), metadata.namespace for `-A`, metadata.name.
json RowObject(const model::TrafficMetrics& tm, const model::ObjectReference& named,
               const TableOptions& o) {
  json object = model::ToJson(tm, o.object_api_version);
  if (o.include == IncludeObject::kObject) return object;
  json metadata = json::object();
  if (!named.name.empty()) metadata["name"] = named.name;
  if (!named.ns.empty()) metadata["namespace"] = named.ns;
  metadata["creationTimestamp"] = object["metadata"]["creationTimestamp"];
  return {
      {"kind", "PartialObjectMetadata"}, {"apiVersion", MetaVersion(o)}, {"metadata", metadata}};
}

// The metric cells shared by both tables, with the priority-1 (wide) cells separately.
struct MetricCells {
  std::vector<json> normal, wide;
};

MetricCells Cells(const model::TrafficMetrics& tm) {
  const double success = MetricValue(tm, model::kSuccessCount).value_or(0);
  const double failure = MetricValue(tm, model::kFailureCount).value_or(0);
  MetricCells c;
  c.normal = {FormatSuccessRate(success, failure), FormatRps(success + failure, tm.window),
              FormatLatency(MetricValue(tm, model::kP50Latency)),
              FormatLatency(MetricValue(tm, model::kP90Latency)),
              FormatLatency(MetricValue(tm, model::kP99Latency))};
  c.wide = {FormatCount(success), FormatCount(failure), model::FormatGoDuration(tm.window)};
  return c;
}

const std::vector<json>& MetricColumns() {
  static const std::vector<json> columns = {
      Column("Success", "", "Share of requests that succeeded in the window", 0),
      Column("RPS", "", "Requests per second over the window", 0),
      Column("Latency_P50", "", "50th percentile response latency", 0),
      Column("Latency_P90", "", "90th percentile response latency", 0),
      Column("Latency_P99", "", "99th percentile response latency", 0)};
  return columns;
}

const std::vector<json>& WideColumns() {
  static const std::vector<json> columns = {
      Column("Success_Count", "", "Successful requests in the window", 1),
      Column("Failure_Count", "", "Failed requests in the window", 1),
      Column("Window", "", "The window the metrics cover, ending at their timestamp", 1)};
  return columns;
}

json NewTable(const TableOptions& o, const std::vector<json>& leading) {
  json columns = json::array();
  for (const auto& c : leading) columns.push_back(c);
  for (const auto& c : MetricColumns()) columns.push_back(c);
  return {{"kind", "Table"},
          {"apiVersion", MetaVersion(o)},
          {"metadata", {{"resourceVersion", ""}}},
          {"columnDefinitions", columns},
          {"rows", json::array()}};
}

void AddRow(json& table, std::vector<json> cells, const MetricCells& metric_cells,
            const std::vector<json>& extra_wide, json object, const TableOptions& o) {
  for (const auto& c : metric_cells.normal) cells.push_back(c);
  for (const auto& c : extra_wide) cells.push_back(c);
  for (const auto& c : metric_cells.wide) cells.push_back(c);
  json row = {{"cells", cells}};
  if (o.include != IncludeObject::kNone) row["object"] = std::move(object);
  table["rows"].push_back(std::move(row));
}

}  // namespace

std::string FormatSuccessRate(double success, double failure) {
  const double total = success + failure;
  if (!(total > 0)) return "-";
  return Printf("%.2f%%", 100.0 * success / total);
}

std::string FormatRps(double requests, std::chrono::milliseconds window) {
  if (!(requests > 0) || window.count() <= 0) return "-";
  return Printf("%.1frps", requests * 1000.0 / static_cast<double>(window.count()));
}

std::string FormatLatency(std::optional<double> seconds) {
  if (!seconds || !std::isfinite(*seconds)) return "-";
  const double ms = *seconds * 1000.0;
  if (ms >= 9999.5) return Printf("%.2fs", *seconds);
  if (ms >= 9.95) return Printf("%.0fms", ms);
  if (ms >= 0.995) return Printf("%.1fms", ms);
  return Printf("%.2fms", ms);
}

std::string FormatCount(double count) { return Printf("%.0f", std::round(count)); }

json ResourceTable(const std::vector<model::TrafficMetrics>& items, const TableOptions& o) {
  std::vector<json> leading = {
      Column("Name", "name", "Name of the object the metrics are about", 0)};
  if (o.kind_column) leading.push_back(Column("Kind", "", "Kind of the workload", 0));
  json table = NewTable(o, leading);
  for (const auto& c : WideColumns()) table["columnDefinitions"].push_back(c);
  for (const auto& tm : items) {
    std::vector<json> cells = {tm.resource.name};
    if (o.kind_column) cells.push_back(tm.resource.kind);
    AddRow(table, cells, Cells(tm), {}, RowObject(tm, tm.resource, o), o);
  }
  return table;
}

json EdgeTable(const std::vector<model::TrafficMetrics>& items, const TableOptions& o) {
  json table = NewTable(
      o, {Column("Name", "name", "Name of the peer at the other end of the edge", 0),
          Column("Kind", "", "Kind of the peer", 0),
          Column("Direction", "", "to: this object calls the peer; from: the peer calls it", 0)});
  table["columnDefinitions"].push_back(Column("Namespace", "", "Namespace of the peer", 1));
  table["columnDefinitions"].push_back(
      Column("Side", "", "Which end of the edge measured the traffic", 1));
  for (const auto& c : WideColumns()) table["columnDefinitions"].push_back(c);
  for (const auto& tm : items) {
    const model::ObjectReference peer = tm.edge.resource.value_or(model::ObjectReference{});
    AddRow(table, {peer.name, peer.kind, std::string(model::DirectionName(tm.edge.direction))},
           Cells(tm), {peer.ns, std::string(model::SideName(tm.edge.side))}, RowObject(tm, peer, o),
           o);
  }
  return table;
}

json TrafficSplitTable(const std::vector<model::TrafficMetrics>& items, const TableOptions& o) {
  json table = NewTable(o, {Column("Name", "name", "Name of the TrafficSplit", 0),
                            Column("Backend", "", "The backend service", 0),
                            Column("Weight", "", "The backend's weight in the TrafficSplit", 0)});
  table["columnDefinitions"].push_back(Column("Apex", "", "The apex service the clients call", 1));
  for (const auto& c : WideColumns()) table["columnDefinitions"].push_back(c);
  for (const auto& tm : items) {
    const model::Backend backend = tm.backend.value_or(model::Backend{});
    AddRow(table, {tm.resource.name, backend.name, std::to_string(backend.weight)}, Cells(tm),
           {backend.apex}, RowObject(tm, tm.resource, o), o);
  }
  return table;
}

}  // namespace smi::apiserver
