// The PromQL the mesh profiles are written in, evaluated in-process over the sidecar source's own
// store: the same queries promql_builder.h builds for Prometheus, so one profile (series names,
// success rule, edge selectors, sides) drives both modes and both answer alike.
//
// The language is the subset the builder emits, nothing more:
//   expr      := term ("or" term)*
//   term      := "sum" "by" "(" labels ")" "(" "increase" "(" selector "[" duration "]" ")" ")"
//              | "group" "by" "(" labels ")" "(" selector ")"
//              | "label_replace" "(" expr "," string "," string "," "\"\"" "," "\"\"" ")"
//              | "(" expr ")"
//   selector  := metric "{" [matcher ("," matcher)*] "}"
//   matcher   := label ("=" | "!=" | "=~" | "!~") string
// with PromQL's meaning: increase() extrapolated as Prometheus does (increase.h), regexes fully
// anchored, an absent label equal to "", instant selectors looking back 5 minutes and honouring
// staleness, `or` keeping the right side's elements whose label set the left side lacks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sources/prometheus/prometheus_client.h"
#include "sources/sidecars/series_store.h"

namespace smi::sources::sidecars {

// A query outside the subset, or malformed. The builder never emits one; the message names the
// position.
class UnsupportedQuery : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class ParsedQuery;

// Parses once; an evaluation reuses the parse (the source caches parses by query text).
std::shared_ptr<const ParsedQuery> ParseQuery(std::string_view promql);

// Evaluates `query` at `at_ms` over `store`, as Prometheus' /api/v1/query would: an instant
// vector, NaN values dropped.
std::vector<prometheus::VectorSample> Evaluate(const ParsedQuery& query, const SeriesStore& store,
                                               int64_t at_ms);

// Prometheus' default lookback for instant selectors.
inline constexpr int64_t kLookbackMs = 5 * 60 * 1000;

}  // namespace smi::sources::sidecars
