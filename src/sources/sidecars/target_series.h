// Internal to src/sources/sidecars: the series of one scraped target, as SeriesStore keeps them.
//
// Layout (per target):
//  - one timestamp per scrape in a ring (TimeRing), shared by all the target's series;
//  - the metric names, label names and label values of its series, each once (StringPool);
//  - label lists: a series' own labels except `le`/`quantile`, sorted by name, each list once
//    (the buckets of one histogram share one list);
//  - per series (Series): ids into the pool and the lists, its `le`/`quantile` value, and its
//    samples (SampleRing, ~1 byte per scrape for a slowly growing counter);
//  - two flat indexes to find a payload line's series: by a hash of the line's text as written
//    (the steady-state path, no parsing of labels needed) and by the canonical identity (for
//    new lines and for an exporter that writes the same series differently).
// The target's own labels (namespace, pod, ...) are kept once and merged in when read.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sources/sidecars/exposition_parser.h"
#include "sources/sidecars/flat_index.h"
#include "sources/sidecars/sample_ring.h"
#include "sources/sidecars/series_store.h"

namespace smi::sources::sidecars {

inline constexpr uint32_t kNoId = FlatIndex::kNone;
static_assert(kNoId == ExpositionParser::kUnknown, "KnownSlot answers the parser's `known`");

// Strings stored once, named by dense ids.
class StringPool {
 public:
  uint32_t Find(std::string_view s) const;
  uint32_t Intern(std::string_view s);
  std::string_view View(uint32_t id) const {
    return {text_.data() + spans_[id].first, spans_[id].second};
  }
  size_t bytes() const;

 private:
  std::string text_;
  std::vector<std::pair<uint32_t, uint32_t>> spans_;  // offset, length
  FlatIndex index_;
};

// Lists of (name id, value id) pairs, each stored once.
class LabelLists {
 public:
  uint32_t Find(std::span<const uint32_t> words) const;
  uint32_t Intern(std::span<const uint32_t> words);
  std::span<const uint32_t> Get(uint32_t id) const {
    return {words_.data() + spans_[id].first, spans_[id].second};
  }
  size_t bytes() const;

 private:
  static uint64_t Hash(std::span<const uint32_t> words);
  std::vector<uint32_t> words_;
  std::vector<std::pair<uint32_t, uint32_t>> spans_;  // offset, number of words
  FlatIndex index_;
};

// A set of 64-bit text hashes (open addressing, 8 bytes a slot, at most 7/8 full): the series
// texts of a target's lines of families not kept, which the parser has checked once.
class TextHashSet {
 public:
  bool Contains(uint64_t hash) const {
    if (slots_.empty()) return false;
    const uint64_t key = Key(hash);
    for (size_t i = key & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == key) return true;
      if (slots_[i] == 0) return false;
    }
  }
  void Insert(uint64_t hash);
  void Clear();
  size_t size() const { return size_; }
  size_t bytes() const { return slots_.capacity() * sizeof(uint64_t); }

 private:
  static uint64_t Key(uint64_t hash) { return hash == 0 ? 1 : hash; }  // 0 marks a free slot
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// A series' `le` or `quantile` label, kept apart from its label list so that the buckets of one
// histogram share the list: the kind in the top two bits, the value's pool id below.
inline constexpr uint32_t kNoExtra = 0;
inline constexpr uint32_t kExtraLe = 1u << 30;
inline constexpr uint32_t kExtraQuantile = 2u << 30;
inline constexpr uint32_t kExtraValueMask = (1u << 30) - 1;

struct Series {
  // The ring first, so that the ids below fill its tail padding: 80 bytes in all.
  [[no_unique_address]] SampleRing samples;
  uint32_t metric = kNoId;  // pool id of the metric name; kNoId: a free slot
  uint32_t list = kNoId;    // own labels except le/quantile
  uint32_t extra = kNoExtra;
  uint64_t raw_hash = 0;  // hash of the line's text as the exporter last wrote it
  bool free() const { return metric == kNoId; }
};
static_assert(sizeof(Series) <= 80, "a series' fixed part is what the memory per pod is made of");

// One timestamp per scrape, numbered by seq.
class TimeRing {
 public:
  void PushBack(int64_t t_ms);
  void PopFront();
  int64_t front() const { return times_[head_]; }
  int64_t back() const { return At(count_ - 1); }
  int64_t At(size_t i) const { return times_[(head_ + i) & (times_.size() - 1)]; }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  size_t bytes() const { return times_.capacity() * sizeof(int64_t); }

 private:
  std::vector<int64_t> times_;  // capacity a power of two
  size_t head_ = 0;
  size_t count_ = 0;
};

// A series first seen in the payload being ingested, created when the scrape is committed.
struct PendingSeries {
  uint64_t raw_hash = 0;
  std::string metric;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name, le/quantile apart
  uint32_t extra_kind = kNoExtra;
  std::string extra_value;
  double value = 0;
};

// What one payload holds for a target, before it is committed.
struct StagedScrape {
  std::vector<uint8_t> has_value;                        // per existing slot
  std::vector<double> values;                            // per existing slot
  std::vector<std::pair<uint32_t, uint64_t>> respelled;  // slot, hash of its new spelling
  std::vector<PendingSeries> pending;
  uint32_t next_slot = 1;  // Target::Known's guess for the next known line (the slot after `up`)
  // Lines of families not kept: the texts taken apart (to remember), and how many there were.
  std::vector<uint64_t> unkept_fresh;
  size_t unkept_lines = 0;
  std::unordered_map<uint64_t, uint32_t> pending_by_hash;
  std::unordered_set<std::string> pending_keys;
  size_t kept = 0;
  size_t duplicates = 0;
  // Scratch for canonical forms.
  std::vector<ExpositionLabel> sorted;
  std::vector<uint32_t> words;
  std::string key;

  void Reset(size_t slots);
  // Frees what the new series of the last payload held.
  void ReleasePending();
};

// A selector's matchers, resolved against one target's pool.
struct ResolvedMatcher {
  const LabelMatcher* matcher = nullptr;
  uint32_t name_id = kNoId;        // kNoId: no series of the target has it as an own label
  uint32_t extra_kind = kNoExtra;  // the matcher is on `le` or `quantile`
  std::string_view target_value;   // the target label's value ("" when absent)
  bool target_result = false;      // the matcher's result when the series lacks the own label
};

class Target {
 public:
  // `namespace_overrides` counts, store-wide, targets with a series of their own `namespace`
  // label (the store then cannot select by the target's namespace alone).
  Target(std::string id, LabelSet labels, std::atomic<size_t>* namespace_overrides);

  // write_mu: one writer at a time (ingest, removal, compaction). mu: shared by readers, held
  // exclusively by a writer only while it changes what readers see (the commit of a scrape).
  std::mutex write_mu;
  mutable std::shared_mutex mu;

  const std::string& id() const { return id_; }
  const LabelSet& labels() const { return labels_; }

  // --- Writer side (write_mu held). ---
  int64_t last_t() const { return last_t_; }
  size_t live_series() const { return live_; }
  size_t slot_count() const { return series_.size(); }
  // Whether a series of this target was written as the text whose HashBytes is `raw_hash`
  // (the parser then need not take such a line apart again).
  bool Knows(uint64_t raw_hash) const { return KnownSlot(raw_hash) != kNoId; }
  // What the parser's `known` answers for a text: its series' slot, ExpositionParser::kUnkept
  // for a checked line of a family not kept, or kNoId. `next` is where the series of the line
  // before ended (StagedScrape::next_slot): an exporter writes its lines in the same order
  // every time, and a target's series took their slots in the order of its first scrape, so
  // the slot after it is tried first, without a lookup. Texts are unique among live series,
  // so a match there is the slot the lookup would find.
  uint32_t Known(uint64_t raw_hash, uint32_t& next) const {
    if (next < series_.size()) {
      const Series& s = series_[next];
      if (s.raw_hash == raw_hash && !s.free()) return next++;
    }
    const uint32_t slot = KnownSlot(raw_hash);
    if (slot != kNoId) {
      next = slot + 1;
      return slot;
    }
    if (unkept_.Contains(raw_hash)) return ExpositionParser::kUnkept;
    return kNoId;
  }
  // The slot of that series, or kNoId (ExpositionParser::kUnknown): what Stage takes back as
  // ExpositionSample::known_id.
  uint32_t KnownSlot(uint64_t raw_hash) const {
    return by_text_.Find(raw_hash, [&](uint32_t id) { return series_[id].raw_hash == raw_hash; });
  }
  // Finds the sample's series (reads only; new series go to staged.pending). A `known` sample's
  // known_id must be its KnownSlot.
  void Stage(const ExpositionSample& sample, StagedScrape& staged) const;
  // Appends one scrape at t_ms: the staged values (or nothing when `staged` is null: a failed
  // scrape), `up`, staleness markers for series that were present in the previous scrape and
  // are not now; then forgets scrapes before cutoff_ms. Remembers the staged texts of families
  // not kept (forgetting them all when most are no longer written).
  void Commit(int64_t t_ms, bool up, StagedScrape* staged, int64_t cutoff_ms);
  // Staleness markers for every present series, `up` included, at t_ms.
  void Remove(int64_t t_ms);
  // Forgets scrapes before cutoff_ms, releases what is left empty, returns memory. True when the
  // target holds nothing anymore.
  bool Compact(int64_t cutoff_ms);
  bool removed = false;  // RemoveTarget was called (an Ingest revives it)
  // Compacted to nothing and about to leave the store's map (set under write_mu; read without
  // it when the map is pruned).
  std::atomic<bool> dead{false};

  // Whether the matchers rule out every series of the target by its own labels alone (no lock
  // needed): a matcher on a target label that no series of the target has overridden.
  bool RuledOut(std::span<const LabelMatcher> matchers) const;

  // --- Reader side (mu held shared). ---
  // The slots of the series named `metric`, or null.
  const std::vector<uint32_t>* SlotsOf(std::string_view metric) const;
  const Series& series(uint32_t slot) const { return series_[slot]; }
  // Resolves matchers for this target; false when no series of it can match.
  bool Resolve(std::span<const LabelMatcher> matchers, std::vector<ResolvedMatcher>& out) const;
  bool Matches(const Series& s, std::span<const ResolvedMatcher> matchers) const;
  // The series' labels: own ones (an own label wins over a target label, even when empty),
  // then the target's, sorted, without empty values.
  // With `wanted` (sorted names), only those labels are written.
  void Labels(const Series& s, std::vector<std::pair<std::string, std::string>>& out,
              const std::vector<std::string>* wanted = nullptr) const;
  // Samples in [from_ms, to_ms], staleness markers left out.
  void Range(const Series& s, int64_t from_ms, int64_t to_ms, std::vector<Sample>& out) const;
  // The latest sample at or before at_ms if it is within the lookback and not a marker.
  bool Instant(const Series& s, int64_t at_ms, int64_t lookback_ms, Sample* out) const;

  struct Usage {
    size_t series = 0;
    size_t samples = 0;
    size_t bytes = 0;
  };
  Usage GetUsage() const;

 private:
  static constexpr uint32_t kUpSlot = 0;

  uint32_t FindCanonical(std::string_view metric, std::span<const ExpositionLabel> sorted,
                         size_t extra, StagedScrape& staged) const;
  uint64_t CanonicalHash(const Series& s) const;
  uint32_t CreateSeries(const PendingSeries& pending);
  void Release(uint32_t slot);
  void AppendTime(int64_t t_ms);
  // Forgets the scrapes before cutoff_ms (their timestamps; the series drop their samples of
  // them with Trim).
  void PopTimes(int64_t cutoff_ms);
  // Drops the series' samples of forgotten scrapes; releases it when no value is left.
  void Trim(uint32_t slot);
  void RebuildNames();

  std::string id_;
  LabelSet labels_;
  StringPool pool_;
  LabelLists lists_;
  std::vector<Series> series_;
  std::vector<uint32_t> free_slots_;
  FlatIndex by_text_;      // raw_hash -> slot
  TextHashSet unkept_;     // texts of checked lines of families not kept
  FlatIndex by_identity_;  // CanonicalHash -> slot
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> by_metric_;  // metric id -> slots
  TimeRing times_;
  uint32_t first_seq_ = 0;  // the seq of times_.front()
  uint32_t next_seq_ = 0;
  int64_t last_t_ = INT64_MIN;
  // Bit i: some series has (had) an own label named like target label i, which may override it.
  // Only ever set, under mu exclusively; read without a lock by RuledOut.
  std::atomic<uint64_t> overridden_{0};
  std::atomic<size_t>* namespace_overrides_;
  bool overrides_namespace_ = false;
  size_t live_ = 0;
  size_t released_since_rebuild_ = 0;
};

}  // namespace smi::sources::sidecars
