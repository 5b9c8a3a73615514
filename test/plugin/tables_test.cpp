// The tables of top and edges: kubectl's layout, the cells, the sort orders.
#include "plugin/tables.h"

#include <gtest/gtest.h>

namespace smi::plugin {
namespace {

TrafficReading Reading(const std::string& ns, const std::string& name, double success,
                       double failure, std::optional<double> p99) {
  TrafficReading r;
  r.resource = {"Pod", ns, name};
  r.success = success;
  r.failure = failure;
  r.p50 = p99 ? std::optional<double>(*p99 / 4) : std::nullopt;
  r.p90 = p99 ? std::optional<double>(*p99 / 2) : std::nullopt;
  r.p99 = p99;
  r.window = std::chrono::seconds(30);
  return r;
}

std::vector<TrafficReading> Pods() {
  return {Reading("a", "foo", 54, 0, 0.001), Reading("a", "bar", 20, 6.5, 0.001),
          Reading("b", "idle", 0, 0, std::nullopt), Reading("b", "baz", 46.8, 7.2, 0.002)};
}

TEST(Tables, TopLaysOutLikeKubectl) {
  // Columns at least 10 wide, 3 spaces after the widest cell, no padding after the last one.
  EXPECT_EQ(TopTable(Pods(), {}),
            "NAME      SUCCESS   RPS       LATENCY_P50   LATENCY_P90   LATENCY_P99\n"
            "foo       100.00%   1.8rps    0.25ms        0.50ms        1.0ms\n"
            "bar       75.47%    0.9rps    0.25ms        0.50ms        1.0ms\n"
            "idle      -         -         -             -             -\n"
            "baz       86.67%    1.8rps    0.50ms        1.0ms         2.0ms\n");
  EXPECT_EQ(TopTable({Pods()[1]}, {true, true}),
            "NAMESPACE   NAME      SUCCESS   RPS       LATENCY_P50   LATENCY_P90   LATENCY_P99   "
            "SUCCESS_COUNT   FAILURE_COUNT   WINDOW\n"
            "a           bar       75.47%    0.9rps    0.25ms        0.50ms        1.0ms         "
            "20              7               30s\n");
}

std::vector<std::string> Names(const std::vector<TrafficReading>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.resource.name);
  return out;
}

TEST(Tables, SortOrders) {
  auto rs = Pods();
  SortReadings(rs, SortKey::kRps, false);
  EXPECT_EQ(Names(rs), (std::vector<std::string>{"foo", "baz", "bar", "idle"}));
  SortReadings(rs, SortKey::kSuccess, false);  // the worst first
  EXPECT_EQ(Names(rs), (std::vector<std::string>{"bar", "baz", "foo", "idle"}));
  SortReadings(rs, SortKey::kP99, false);  // the slowest first, ties in their order
  EXPECT_EQ(Names(rs), (std::vector<std::string>{"baz", "bar", "foo", "idle"}));
  SortReadings(rs, SortKey::kName, false);
  EXPECT_EQ(Names(rs), (std::vector<std::string>{"bar", "foo", "baz", "idle"}));
  auto unsorted = Pods();
  SortReadings(unsorted, SortKey::kNone, false);
  EXPECT_EQ(Names(unsorted), Names(Pods()));
}

TEST(Tables, Edges) {
  TrafficReading to = Reading("emojivoto", "web", 99, 1, 0.004);
  to.resource.kind = "Deployment";
  to.direction = "to";
  to.side = "client";
  to.peer = ObjectRef{"Deployment", "emojivoto", "emoji"};
  TrafficReading from = to;
  from.direction = "from";
  from.side = "";
  from.peer = ObjectRef{"Deployment", "unknown", "unknown"};
  EXPECT_EQ(EdgesTable({to, from}, {}),
            "DIRECTION   PEER                         SIDE      SUCCESS   RPS       LATENCY_P50   "
            "LATENCY_P90   LATENCY_P99\n"
            "to          deployment/emojivoto/emoji   client    99.00%    3.3rps    1.0ms         "
            "2.0ms         4.0ms\n"
            "from        deployment/unknown/unknown   -         99.00%    3.3rps    1.0ms         "
            "2.0ms         4.0ms\n");
}

}  // namespace
}  // namespace smi::plugin
