#include "sources/sidecars/target_series.h"

#include <algorithm>
#include <climits>
#include <optional>

namespace smi::sources::sidecars {
namespace {

uint64_t IdentityHash(uint32_t metric, uint32_t list, uint32_t extra) {
  uint64_t h = HashCombine(HashSeed(), metric);
  h = HashCombine(h, list);
  return HashCombine(h, extra);
}

uint32_t ExtraKind(std::string_view name) {
  if (name == "le") return kExtraLe;
  if (name == "quantile") return kExtraQuantile;
  return kNoExtra;
}

std::string_view ExtraName(uint32_t extra) {
  return (extra & ~kExtraValueMask) == kExtraLe ? "le" : "quantile";
}

bool ByName(const ExpositionLabel& a, const ExpositionLabel& b) { return a.name < b.name; }

}  // namespace

// --- StringPool, LabelLists, TimeRing ----------------------------------------------------------

uint32_t StringPool::Find(std::string_view s) const {
  return index_.Find(HashBytes(s), [&](uint32_t id) { return View(id) == s; });
}

uint32_t StringPool::Intern(std::string_view s) {
  const uint64_t hash = HashBytes(s);
  uint32_t id = index_.Find(hash, [&](uint32_t candidate) { return View(candidate) == s; });
  if (id != kNoId) return id;
  id = static_cast<uint32_t>(spans_.size());
  spans_.emplace_back(static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(s.size()));
  text_.append(s);
  index_.Insert(hash, id, [&](uint32_t stored) { return HashBytes(View(stored)); });
  return id;
}

size_t StringPool::bytes() const {
  return text_.capacity() + spans_.capacity() * sizeof(spans_[0]) + index_.bytes();
}

uint64_t LabelLists::Hash(std::span<const uint32_t> words) {
  return HashBytes(std::string_view(reinterpret_cast<const char*>(words.data()),
                                    words.size() * sizeof(uint32_t)));
}

uint32_t LabelLists::Find(std::span<const uint32_t> words) const {
  return index_.Find(Hash(words), [&](uint32_t id) {
    const auto stored = Get(id);
    return std::equal(stored.begin(), stored.end(), words.begin(), words.end());
  });
}

uint32_t LabelLists::Intern(std::span<const uint32_t> words) {
  uint32_t id = Find(words);
  if (id != kNoId) return id;
  id = static_cast<uint32_t>(spans_.size());
  spans_.emplace_back(static_cast<uint32_t>(words_.size()), static_cast<uint32_t>(words.size()));
  words_.insert(words_.end(), words.begin(), words.end());
  index_.Insert(Hash(words), id, [&](uint32_t stored) { return Hash(Get(stored)); });
  return id;
}

size_t LabelLists::bytes() const {
  return words_.capacity() * sizeof(uint32_t) + spans_.capacity() * sizeof(spans_[0]) +
         index_.bytes();
}

void TimeRing::PushBack(int64_t t_ms) {
  if (count_ == times_.size()) {
    std::vector<int64_t> grown(times_.empty() ? 8 : times_.size() * 2);
    for (size_t i = 0; i < count_; ++i) grown[i] = At(i);
    times_ = std::move(grown);
    head_ = 0;
  }
  times_[(head_ + count_) & (times_.size() - 1)] = t_ms;
  ++count_;
}

void TimeRing::PopFront() {
  head_ = (head_ + 1) & (times_.size() - 1);
  --count_;
}

void TextHashSet::Insert(uint64_t hash) {
  // Up to seven eighths full: lookups nearly always find their text (misses go to the series'
  // own index first), and the set costs little more than its 8-byte hashes.
  if ((size_ + 1) * 8 > slots_.size() * 7) {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(std::max<size_t>(8, old.size() * 2), 0);
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const uint64_t key : old) {
      if (key != 0) Insert(key);
    }
  }
  const uint64_t key = Key(hash);
  for (size_t i = key & mask_;; i = (i + 1) & mask_) {
    if (slots_[i] == key) return;
    if (slots_[i] == 0) {
      slots_[i] = key;
      ++size_;
      return;
    }
  }
}

void TextHashSet::Clear() {
  std::vector<uint64_t>().swap(slots_);
  mask_ = 0;
  size_ = 0;
}

void StagedScrape::Reset(size_t slots) {
  has_value.assign(slots, 0);
  values.resize(slots);
  unkept_fresh.clear();
  unkept_lines = 0;
  respelled.clear();
  pending.clear();
  next_slot = 1;
  pending_by_hash.clear();
  pending_keys.clear();
  kept = 0;
  duplicates = 0;
}

void StagedScrape::ReleasePending() {
  std::vector<PendingSeries>().swap(pending);
  std::unordered_map<uint64_t, uint32_t>().swap(pending_by_hash);
  std::unordered_set<std::string>().swap(pending_keys);
}

// --- Target: writing ---------------------------------------------------------------------------

Target::Target(std::string id, LabelSet labels, std::atomic<size_t>* namespace_overrides)
    : id_(std::move(id)), labels_(std::move(labels)), namespace_overrides_(namespace_overrides) {
  Series up;
  up.metric = pool_.Intern("up");
  up.list = lists_.Intern({});
  series_.push_back(std::move(up));
  by_metric_.push_back({series_[kUpSlot].metric, {kUpSlot}});
  live_ = 1;
}

uint64_t Target::CanonicalHash(const Series& s) const {
  return IdentityHash(s.metric, s.list, s.extra);
}

void Target::Stage(const ExpositionSample& sample, StagedScrape& staged) const {
  if (sample.name == "up") return;  // the target's own `up` has that name
  const uint64_t text_hash = sample.known ? sample.series_hash : HashBytes(sample.series);
  uint32_t slot = sample.known ? sample.known_id : by_text_.Find(text_hash, [&](uint32_t id) {
    return series_[id].raw_hash == text_hash;
  });
  size_t extra = SIZE_MAX;
  if (slot == kNoId) {
    // The canonical form: labels sorted by name; an empty value is no label, unless it hides a
    // target label of that name (an own label wins, even an empty one).
    staged.sorted.clear();
    for (const ExpositionLabel& label : sample.labels) {
      if (!label.value.empty() || !labels_.Get(label.name).empty()) staged.sorted.push_back(label);
    }
    std::sort(staged.sorted.begin(), staged.sorted.end(), ByName);
    for (size_t i = 0; i < staged.sorted.size(); ++i) {
      if (staged.sorted[i].name == "le") extra = i;
    }
    if (extra == SIZE_MAX) {
      for (size_t i = 0; i < staged.sorted.size(); ++i) {
        if (staged.sorted[i].name == "quantile") extra = i;
      }
    }
    slot = FindCanonical(sample.name, staged.sorted, extra, staged);
    if (slot != kNoId) staged.respelled.emplace_back(slot, text_hash);
  }
  if (slot != kNoId) {
    if (staged.has_value[slot]) {
      ++staged.duplicates;
      return;
    }
    staged.has_value[slot] = 1;
    staged.values[slot] = sample.value;
    ++staged.kept;
    return;
  }

  // A series this target has not had (or not under this identity): created at the commit.
  if (staged.pending_by_hash.contains(text_hash)) {
    ++staged.duplicates;
    return;
  }
  staged.key.assign(sample.name);
  for (const ExpositionLabel& label : staged.sorted) {
    staged.key += '\0';
    staged.key.append(label.name);
    staged.key += '\0';
    staged.key.append(label.value);
  }
  if (!staged.pending_keys.insert(staged.key).second) {
    ++staged.duplicates;
    return;
  }
  PendingSeries pending;
  pending.raw_hash = text_hash;
  pending.metric.assign(sample.name);
  for (size_t i = 0; i < staged.sorted.size(); ++i) {
    const ExpositionLabel& label = staged.sorted[i];
    if (i == extra) {
      pending.extra_kind = ExtraKind(label.name);
      pending.extra_value.assign(label.value);
    } else {
      pending.labels.emplace_back(label.name, label.value);
    }
  }
  pending.value = sample.value;
  staged.pending_by_hash.emplace(text_hash, static_cast<uint32_t>(staged.pending.size()));
  staged.pending.push_back(std::move(pending));
  ++staged.kept;
}

uint32_t Target::FindCanonical(std::string_view metric, std::span<const ExpositionLabel> sorted,
                               size_t extra, StagedScrape& staged) const {
  const uint32_t metric_id = pool_.Find(metric);
  if (metric_id == kNoId) return kNoId;
  staged.words.clear();
  uint32_t extra_id = kNoExtra;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const uint32_t value = pool_.Find(sorted[i].value);
    if (value == kNoId) return kNoId;
    if (i == extra) {
      extra_id = ExtraKind(sorted[i].name) | value;
      continue;
    }
    const uint32_t name = pool_.Find(sorted[i].name);
    if (name == kNoId) return kNoId;
    staged.words.push_back(name);
    staged.words.push_back(value);
  }
  const uint32_t list = lists_.Find(staged.words);
  if (list == kNoId) return kNoId;
  return by_identity_.Find(IdentityHash(metric_id, list, extra_id), [&](uint32_t id) {
    const Series& s = series_[id];
    return s.metric == metric_id && s.list == list && s.extra == extra_id;
  });
}

uint32_t Target::CreateSeries(const PendingSeries& pending) {
  const auto& target = labels_.items();
  for (const auto& [name, value] : pending.labels) {
    if (name == "namespace" && !overrides_namespace_) {
      overrides_namespace_ = true;
      namespace_overrides_->fetch_add(1);
    }
    const auto it =
        std::lower_bound(target.begin(), target.end(), name,
                         [](const auto& item, const std::string& n) { return item.first < n; });
    if (it != target.end() && it->first == name) {
      const size_t i = static_cast<size_t>(it - target.begin());
      overridden_.fetch_or(i < 64 ? 1ULL << i : ~0ULL);
    }
  }
  Series s;
  s.raw_hash = pending.raw_hash;
  s.metric = pool_.Intern(pending.metric);
  std::vector<uint32_t> words;
  words.reserve(pending.labels.size() * 2);
  for (const auto& [name, value] : pending.labels) {
    words.push_back(pool_.Intern(name));
    words.push_back(pool_.Intern(value));
  }
  s.list = lists_.Intern(words);
  if (pending.extra_kind != kNoExtra)
    s.extra = pending.extra_kind | pool_.Intern(pending.extra_value);
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    series_[slot] = std::move(s);
  } else {
    slot = static_cast<uint32_t>(series_.size());
    series_.push_back(std::move(s));
  }
  const Series& created = series_[slot];
  by_text_.Insert(created.raw_hash, slot, [&](uint32_t id) { return series_[id].raw_hash; });
  by_identity_.Insert(CanonicalHash(created), slot,
                      [&](uint32_t id) { return CanonicalHash(series_[id]); });
  auto it = std::find_if(by_metric_.begin(), by_metric_.end(),
                         [&](const auto& entry) { return entry.first == created.metric; });
  if (it == by_metric_.end()) {
    by_metric_.push_back({created.metric, {}});
    it = by_metric_.end() - 1;
  }
  it->second.push_back(slot);
  ++live_;
  return slot;
}

void Target::Release(uint32_t slot) {
  Series& s = series_[slot];
  by_text_.Erase(s.raw_hash, slot, [&](uint32_t id) { return series_[id].raw_hash; });
  by_identity_.Erase(CanonicalHash(s), slot,
                     [&](uint32_t id) { return CanonicalHash(series_[id]); });
  for (auto it = by_metric_.begin(); it != by_metric_.end(); ++it) {
    if (it->first != s.metric) continue;
    std::erase(it->second, slot);
    if (it->second.empty()) by_metric_.erase(it);
    break;
  }
  s = Series{};
  free_slots_.push_back(slot);
  --live_;
  ++released_since_rebuild_;
}

void Target::AppendTime(int64_t t_ms) {
  if (times_.empty()) first_seq_ = next_seq_;
  times_.PushBack(t_ms);
  ++next_seq_;
  last_t_ = t_ms;
}

void Target::PopTimes(int64_t cutoff_ms) {
  while (!times_.empty() && times_.front() < cutoff_ms) {
    times_.PopFront();
    ++first_seq_;
  }
}

void Target::Trim(uint32_t slot) {
  Series& s = series_[slot];
  s.samples.DropBefore(first_seq_);
  if (slot != kUpSlot && s.samples.values() == 0) Release(slot);
}

void Target::Commit(int64_t t_ms, bool up, StagedScrape* staged, int64_t cutoff_ms) {
  std::unique_lock lock(mu);
  AppendTime(t_ms);
  PopTimes(cutoff_ms);  // before appending, so that a stream never holds more than it keeps
  const uint32_t seq = next_seq_ - 1;
  const size_t existing = series_.size();
  if (staged != nullptr) {
    // Texts no longer written stay until they outnumber those still written by half: then all
    // are forgotten, and the next scrape takes its lines apart once more.
    if (unkept_.size() > staged->unkept_lines + staged->unkept_lines / 2 + 16) unkept_.Clear();
    for (const uint64_t text_hash : staged->unkept_fresh) unkept_.Insert(text_hash);
    for (const auto& [slot, text_hash] : staged->respelled) {
      Series& s = series_[slot];
      if (s.raw_hash == text_hash) continue;
      by_text_.Erase(s.raw_hash, slot, [&](uint32_t id) { return series_[id].raw_hash; });
      s.raw_hash = text_hash;
      by_text_.Insert(text_hash, slot, [&](uint32_t id) { return series_[id].raw_hash; });
    }
  }
  for (uint32_t slot = 0; slot < existing; ++slot) {
    Series& s = series_[slot];
    if (s.free()) continue;
    s.samples.DropBefore(first_seq_);
    if (slot == kUpSlot) {
      s.samples.AppendValue(seq, up ? 1 : 0);
    } else if (staged != nullptr && staged->has_value[slot]) {
      s.samples.AppendValue(seq, staged->values[slot]);
    } else if (seq > 0 && s.samples.HasValueAt(seq - 1)) {
      s.samples.AppendStale(seq);  // gone from this scrape, or the scrape failed
    }
    if (slot != kUpSlot && s.samples.values() == 0) Release(slot);
  }
  if (staged != nullptr) {
    // Series come mostly all at once (a target's first scrape): grow to fit, not to double.
    const size_t reused = std::min(free_slots_.size(), staged->pending.size());
    const size_t needed = series_.size() + staged->pending.size() - reused;
    if (needed > series_.capacity()) series_.reserve(needed + needed / 16);
    for (const PendingSeries& pending : staged->pending) {
      series_[CreateSeries(pending)].samples.AppendValue(seq, pending.value);
    }
  }
}

void Target::Remove(int64_t t_ms) {
  std::unique_lock lock(mu);
  AppendTime(t_ms);
  const uint32_t seq = next_seq_ - 1;
  for (Series& s : series_) {
    if (!s.free() && seq > 0 && s.samples.HasValueAt(seq - 1)) s.samples.AppendStale(seq);
  }
  removed = true;
}

bool Target::Compact(int64_t cutoff_ms) {
  std::unique_lock lock(mu);
  PopTimes(cutoff_ms);
  for (uint32_t slot = 0; slot < series_.size(); ++slot) {
    if (!series_[slot].free()) Trim(slot);
  }
  if (released_since_rebuild_ > 64 && released_since_rebuild_ * 2 > live_) RebuildNames();
  for (Series& s : series_) s.samples.Shrink();
  return times_.empty();
}

// Re-interns the names of the live series only, forgetting those of released ones, and
// renumbers nothing but the pool and list ids (slots stay).
void Target::RebuildNames() {
  StringPool pool;
  LabelLists lists;
  std::vector<uint32_t> words;
  while (!series_.empty() && series_.back().free()) series_.pop_back();
  std::erase_if(free_slots_, [&](uint32_t slot) { return slot >= series_.size(); });
  by_metric_.clear();
  by_identity_.Reset();
  for (uint32_t slot = 0; slot < series_.size(); ++slot) {
    Series& s = series_[slot];
    if (s.free()) continue;
    words.clear();
    for (const uint32_t id : lists_.Get(s.list)) words.push_back(pool.Intern(pool_.View(id)));
    s.metric = pool.Intern(pool_.View(s.metric));
    s.list = lists.Intern(words);
    if (s.extra != kNoExtra) {
      s.extra = (s.extra & ~kExtraValueMask) | pool.Intern(pool_.View(s.extra & kExtraValueMask));
    }
    auto it = std::find_if(by_metric_.begin(), by_metric_.end(),
                           [&](const auto& entry) { return entry.first == s.metric; });
    if (it == by_metric_.end()) {
      by_metric_.push_back({s.metric, {}});
      it = by_metric_.end() - 1;
    }
    it->second.push_back(slot);
  }
  pool_ = std::move(pool);
  lists_ = std::move(lists);
  for (uint32_t slot = 1; slot < series_.size(); ++slot) {
    if (series_[slot].free()) continue;
    by_identity_.Insert(CanonicalHash(series_[slot]), slot,
                        [&](uint32_t id) { return CanonicalHash(series_[id]); });
  }
  series_.shrink_to_fit();
  released_since_rebuild_ = 0;
}

// --- Target: reading ---------------------------------------------------------------------------

bool Target::RuledOut(std::span<const LabelMatcher> matchers) const {
  const auto& target = labels_.items();
  const uint64_t overridden = overridden_.load(std::memory_order_relaxed);
  for (const LabelMatcher& m : matchers) {
    const auto it =
        std::lower_bound(target.begin(), target.end(), m.name,
                         [](const auto& item, const std::string& n) { return item.first < n; });
    if (it == target.end() || it->first != m.name) continue;  // decided per series
    const size_t i = static_cast<size_t>(it - target.begin());
    if (i >= 64 || (overridden & (1ULL << i)) != 0) continue;
    if ((it->second == m.value) == m.negated) return true;
  }
  return false;
}

const std::vector<uint32_t>* Target::SlotsOf(std::string_view metric) const {
  const uint32_t id = pool_.Find(metric);
  if (id == kNoId) return nullptr;
  for (const auto& [metric_id, slots] : by_metric_) {
    if (metric_id == id) return &slots;
  }
  return nullptr;
}

bool Target::Resolve(std::span<const LabelMatcher> matchers,
                     std::vector<ResolvedMatcher>& out) const {
  out.clear();
  for (const LabelMatcher& m : matchers) {
    ResolvedMatcher r;
    r.matcher = &m;
    r.name_id = pool_.Find(m.name);
    r.extra_kind = ExtraKind(m.name);
    r.target_value = labels_.Get(m.name);
    r.target_result = (r.target_value == m.value) != m.negated;
    if (r.name_id == kNoId && r.extra_kind == kNoExtra && !r.target_result) return false;
    out.push_back(r);
  }
  return true;
}

bool Target::Matches(const Series& s, std::span<const ResolvedMatcher> matchers) const {
  for (const ResolvedMatcher& r : matchers) {
    bool result = r.target_result;
    if (r.name_id != kNoId || r.extra_kind != kNoExtra) {
      uint32_t value = kNoId;
      if (r.extra_kind != kNoExtra && (s.extra & ~kExtraValueMask) == r.extra_kind) {
        value = s.extra & kExtraValueMask;
      } else if (r.name_id != kNoId) {
        const auto words = lists_.Get(s.list);
        for (size_t i = 0; i < words.size(); i += 2) {
          if (words[i] == r.name_id) {
            value = words[i + 1];
            break;
          }
        }
      }
      if (value != kNoId) {
        result = (pool_.View(value) == r.matcher->value) != r.matcher->negated;
      }
    }
    if (!result) return false;
  }
  return true;
}

void Target::Labels(const Series& s, std::vector<std::pair<std::string, std::string>>& out,
                    const std::vector<std::string>* wanted) const {
  const auto words = lists_.Get(s.list);
  const auto& target = labels_.items();
  size_t k = 0;  // next own word pair
  bool extra = s.extra != kNoExtra;
  size_t j = 0;  // next target label
  size_t n = 0;  // labels written
  const auto put = [&](std::string_view name, std::string_view value) {
    if (value.empty()) return;
    if (n < out.size()) {
      out[n].first.assign(name);
      out[n].second.assign(value);
    } else {
      out.emplace_back(name, value);
    }
    ++n;
  };
  if (wanted != nullptr) {
    // A few names: each looked up (the own labels are sorted by name; an own label wins over a
    // target label of that name, even an empty one), instead of merging every label.
    for (const std::string& name : *wanted) {
      std::optional<std::string_view> value;
      if (extra && ExtraName(s.extra) == name) value = pool_.View(s.extra & kExtraValueMask);
      for (size_t w = 0; !value && w < words.size(); w += 2) {
        const std::string_view own = pool_.View(words[w]);
        if (own == name) value = pool_.View(words[w + 1]);
        if (own >= name) break;
      }
      put(name, value ? *value : labels_.Get(name));
    }
    out.resize(n);
    return;
  }
  for (;;) {
    // The next own label in name order: from the list, or the le/quantile label.
    std::string_view own_name, own_value;
    bool own_is_extra = false;
    bool have_own = false;
    if (k < words.size()) {
      own_name = pool_.View(words[k]);
      own_value = pool_.View(words[k + 1]);
      have_own = true;
    }
    if (extra) {
      const std::string_view extra_name = ExtraName(s.extra);
      if (!have_own || extra_name < own_name) {
        own_name = extra_name;
        own_value = pool_.View(s.extra & kExtraValueMask);
        own_is_extra = true;
        have_own = true;
      }
    }
    const bool have_target = j < target.size();
    if (!have_own && !have_target) break;
    if (have_own && (!have_target || own_name <= target[j].first)) {
      if (have_target && own_name == target[j].first) ++j;  // the own label wins
      put(own_name, own_value);
      if (own_is_extra) {
        extra = false;
      } else {
        k += 2;
      }
    } else {
      put(target[j].first, target[j].second);
      ++j;
    }
  }
  out.resize(n);
}

void Target::Range(const Series& s, int64_t from_ms, int64_t to_ms,
                   std::vector<Sample>& out) const {
  out.clear();
  s.samples.ForEach([&](uint32_t seq, bool stale, double value) {
    if (seq < first_seq_) return true;
    const int64_t t = times_.At(seq - first_seq_);
    if (t > to_ms) return false;
    if (!stale && t >= from_ms) out.push_back({t, value});
    return true;
  });
}

bool Target::Instant(const Series& s, int64_t at_ms, int64_t lookback_ms, Sample* out) const {
  bool found = false;
  bool stale = false;
  s.samples.ForEach([&](uint32_t seq, bool is_stale, double value) {
    if (seq < first_seq_) return true;
    const int64_t t = times_.At(seq - first_seq_);
    if (t > at_ms) return false;
    found = true;
    stale = is_stale;
    *out = {t, value};
    return true;
  });
  return found && !stale && out->t_ms >= at_ms - lookback_ms;
}

Target::Usage Target::GetUsage() const {
  Usage usage;
  usage.series = live_;
  usage.bytes = sizeof(Target) + id_.capacity() + pool_.bytes() + lists_.bytes() +
                series_.capacity() * sizeof(Series) + free_slots_.capacity() * sizeof(uint32_t) +
                by_text_.bytes() + unkept_.bytes() + by_identity_.bytes() + times_.bytes() +
                by_metric_.capacity() * sizeof(by_metric_[0]);
  for (const auto& [name, value] : labels_.items()) {
    usage.bytes += sizeof(name) + sizeof(value) + name.capacity() + value.capacity();
  }
  for (const auto& entry : by_metric_) usage.bytes += entry.second.capacity() * sizeof(uint32_t);
  for (const Series& s : series_) {
    usage.samples += s.samples.values();
    usage.bytes += s.samples.heap_bytes();
  }
  return usage;
}

}  // namespace smi::sources::sidecars
