// The sidecar source's memory: every series the mesh profile needs, per scraped target, over the
// retention. A small time-series store shaped like Prometheus' head block: one timestamp per
// scrape shared by all of that scrape's series, values in per-series rings (no heap node per
// sample), the synthetic `up` series per target, staleness when a series or target disappears.
//
// Written by the scraper (one scrape of one target at a time, any thread); read by requests
// (Select / SelectInstant, any thread, concurrently with writes).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smi::sources::sidecars {

// A series' labels without __name__, sorted by name, names unique, no empty values.
class LabelSet {
 public:
  LabelSet() = default;
  // Sorts, drops empty values; a repeated name keeps the first value.
  explicit LabelSet(std::vector<std::pair<std::string, std::string>> labels);
  // The value of `name`, or "" when absent.
  std::string_view Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }
  bool operator==(const LabelSet&) const = default;

 private:
  friend class SeriesStore;  // fills a reused LabelSet per visited series without reallocating
  std::vector<std::pair<std::string, std::string>> items_;
};

// An equality matcher of a PromQL selector: `name="value"`, or `name!="value"` when negated.
// A label a series does not have has the value "" (so `deployment!=""` means "has one").
struct LabelMatcher {
  std::string name;
  std::string value;
  bool negated = false;
};

// One sample: Unix time in milliseconds and its value.
struct Sample {
  int64_t t_ms = 0;
  double value = 0;
};

// Which families a scrape keeps: the metric names the mesh profile's queries read. Histogram
// families are named by their series (`response_latency_ms_bucket`), counters by the sample name
// (`response_total`); an OpenMetrics counter declared `# TYPE x counter` with samples `x_total`
// is kept under the sample name `x_total`. Empty: every sample is kept. A sample named `up` is
// never kept: the target's own `up` series takes that name.
struct Retained {
  std::vector<std::string> metrics;
  // More series than this in one scrape of one target fails that scrape (like Prometheus'
  // sample_limit): `up`=0, the target's series stale, an error naming the limit.
  size_t max_series_per_target = 100000;
};

// What one ingest did, for the target's health metrics and the scrape log.
struct IngestResult {
  bool ok = false;          // the payload parsed (a parse error keeps nothing of this scrape)
  std::string error;        // why not, with the line number
  size_t series_kept = 0;   // series of the retained families in this scrape
  size_t samples_seen = 0;  // every sample line, kept or not
  size_t duplicates = 0;    // samples of a series already seen in this payload (the first wins)
};

class SeriesStore {
 public:
  // `retention`: how far back samples are kept (older ones are dropped as scrapes arrive). A
  // query reaching back `window` from `at` needs retention >= window + (now - at), so give it
  // the longest window plus the evaluation delay plus one scrape interval.
  explicit SeriesStore(std::chrono::milliseconds retention, Retained retained);
  ~SeriesStore();
  SeriesStore(const SeriesStore&) = delete;
  SeriesStore& operator=(const SeriesStore&) = delete;

  // One scrape of target `target` (a stable id, e.g. "namespace/pod") at `t_ms`: parses `payload`
  // (Prometheus text format 0.0.4, leniently; OpenMetrics fragments tolerated) and appends the
  // samples of the retained families, each series labelled with its own labels plus
  // `target_labels` (a series' own label wins over a target label of the same name, as with
  // honor_labels). Series of the target absent from this scrape are marked stale at `t_ms`. Also
  // appends `up`=1 with the target labels. A payload that does not parse appends nothing but
  // `up`=0 and marks the target's series stale, as Prometheus does.
  IngestResult Ingest(const std::string& target, const LabelSet& target_labels, int64_t t_ms,
                      std::string_view payload);
  // A scrape that failed before a payload (refused, timed out, too large, bad HTTP status):
  // `up`=0 with the target labels, the target's series stale.
  void IngestFailure(const std::string& target, const LabelSet& target_labels, int64_t t_ms);
  // The target is gone (its pod was deleted): its series, `up` included, are stale from `t_ms`
  // on and are released once older than the retention.
  void RemoveTarget(const std::string& target, int64_t t_ms);
  // Drops samples older than the retention before `now_ms` and releases series with none left.
  void Compact(int64_t now_ms);

  // Range selection, as a PromQL matrix selector `metric{...}[to-from]` evaluated at `to`: every
  // series named `metric` whose labels pass `keep`, with its samples in [from_ms, to_ms], oldest
  // first (stale markers not included; a series with no sample in the range is not visited).
  // Both ends are included, as in Prometheus 2.x. An empty `keep` keeps every series. The
  // callbacks run under the store's read locks: they must not call into the store.
  using Keep = std::function<bool(const LabelSet&)>;
  using VisitRange = std::function<void(const LabelSet&, const std::vector<Sample>&)>;
  void Select(std::string_view metric, int64_t from_ms, int64_t to_ms, const Keep& keep,
              const VisitRange& visit) const;
  // The same, with the selector's equality matchers checked first on the stored form of the
  // labels (cheap; the LabelSet is built only for series that match), then `keep`. With
  // `wanted` (sorted label names), the LabelSet given to `keep` and `visit` holds only those
  // labels: a query that groups by a few labels need not copy the others.
  void Select(std::string_view metric, std::span<const LabelMatcher> matchers, int64_t from_ms,
              int64_t to_ms, const Keep& keep, const VisitRange& visit,
              const std::vector<std::string>* wanted = nullptr) const;
  // Instant selection, as a PromQL instant vector selector evaluated at `at_ms` with a lookback
  // of `lookback_ms`: every matching series whose latest sample at or before `at_ms` is within
  // the lookback (at_ms - lookback_ms included, as in Prometheus 2.x) and not a stale marker,
  // with that sample.
  using VisitInstant = std::function<void(const LabelSet&, const Sample&)>;
  void SelectInstant(std::string_view metric, int64_t at_ms, int64_t lookback_ms, const Keep& keep,
                     const VisitInstant& visit) const;
  void SelectInstant(std::string_view metric, std::span<const LabelMatcher> matchers, int64_t at_ms,
                     int64_t lookback_ms, const Keep& keep, const VisitInstant& visit,
                     const std::vector<std::string>* wanted = nullptr) const;

  std::chrono::milliseconds retention() const;

  // What the store holds, for /metrics.
  struct Stats {
    size_t targets = 0;     // scraped, removed or relabelled ones whose data is still held
    size_t series = 0;      // `up` included
    size_t samples = 0;     // values held (staleness markers not counted)
    size_t bytes = 0;       // an estimate of the memory held
    size_t duplicates = 0;  // duplicate samples dropped since the start
  };
  Stats GetStats() const;

 private:
  struct Impl;
  static std::vector<std::pair<std::string, std::string>>& Items(LabelSet& labels) {
    return labels.items_;
  }
  std::unique_ptr<Impl> impl_;
};

}  // namespace smi::sources::sidecars
