#include "sources/sidecars/series_store.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "sources/sidecars/exposition_parser.h"
#include "sources/sidecars/target_series.h"

namespace smi::sources::sidecars {

LabelSet::LabelSet(std::vector<std::pair<std::string, std::string>> labels) {
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& label : labels) {
    if (!items_.empty() && items_.back().first == label.first) continue;  // the first one wins
    items_.push_back(std::move(label));
  }
  std::erase_if(items_, [](const auto& label) { return label.second.empty(); });
}

std::string_view LabelSet::Get(std::string_view name) const {
  const auto it =
      std::lower_bound(items_.begin(), items_.end(), name,
                       [](const auto& item, std::string_view n) { return item.first < n; });
  if (it == items_.end() || it->first != name) return {};
  return it->second;
}

namespace {

std::atomic<uint64_t> next_store_serial{1};

// Per ingesting thread: the parser (with the keep list of the store it last served) and the
// staging buffers, reused from scrape to scrape.
struct IngestScratch {
  uint64_t store_serial = 0;
  ExpositionParser parser;
  StagedScrape staged;
};

IngestScratch& Scratch() {
  thread_local IngestScratch scratch;
  return scratch;
}

}  // namespace

struct SeriesStore::Impl {
  std::chrono::milliseconds retention;
  Retained retained;
  uint64_t serial = next_store_serial.fetch_add(1);

  mutable std::shared_mutex targets_mu;  // guards the two containers, not the targets
  std::unordered_map<std::string, std::shared_ptr<Target>> targets;
  // Removed targets replaced by a target of the same id with other labels: kept until their
  // data is older than the retention.
  std::vector<std::shared_ptr<Target>> retired;
  // Every target above (current and retired) by its `namespace` label: a selection of one
  // namespace reads only its targets, unless some series carries a `namespace` label of its own
  // (then every target is read; the count only grows).
  std::unordered_map<std::string, std::vector<std::shared_ptr<Target>>> by_namespace;
  std::atomic<size_t> namespace_overrides{0};
  std::atomic<size_t> duplicates{0};

  // With targets_mu held exclusively.
  void Index(const std::shared_ptr<Target>& target) {
    by_namespace[std::string(target->labels().Get("namespace"))].push_back(target);
  }
  void Unindex(const std::shared_ptr<Target>& target) {
    const auto it = by_namespace.find(std::string(target->labels().Get("namespace")));
    if (it == by_namespace.end()) return;
    std::erase(it->second, target);
    if (it->second.empty()) by_namespace.erase(it);
  }

  // The current target `id` with exactly `labels`, created (and an old one with other labels
  // retired, stale from t_ms) as needed; returned with its write_mu held.
  std::shared_ptr<Target> Acquire(const std::string& id, const LabelSet& labels, int64_t t_ms,
                                  std::unique_lock<std::mutex>* write_lock) {
    for (;;) {
      std::shared_ptr<Target> target;
      {
        std::shared_lock lock(targets_mu);
        const auto it = targets.find(id);
        if (it != targets.end() && it->second->labels() == labels) target = it->second;
      }
      if (target == nullptr) {
        std::shared_ptr<Target> old;
        {
          std::unique_lock lock(targets_mu);
          auto& slot = targets[id];
          if (slot != nullptr && slot->labels() == labels) {
            target = slot;
          } else {
            old = slot;
            slot = std::make_shared<Target>(id, labels, &namespace_overrides);
            target = slot;
            Index(slot);
            if (old != nullptr) retired.push_back(old);
          }
        }
        if (old != nullptr) {
          std::lock_guard old_lock(old->write_mu);
          if (!old->dead) old->Remove(std::max(t_ms, old->last_t() + 1));
        }
      }
      *write_lock = std::unique_lock(target->write_mu);
      if (!target->dead) return target;
      write_lock->unlock();
      // Compacted to nothing while we looked it up: replace it unless someone already has.
      std::unique_lock lock(targets_mu);
      const auto it = targets.find(id);
      if (it != targets.end() && it->second == target) {
        Unindex(target);
        targets.erase(it);
      }
    }
  }

  std::shared_ptr<Target> Find(const std::string& id) const {
    std::shared_lock lock(targets_mu);
    const auto it = targets.find(id);
    return it == targets.end() ? nullptr : it->second;
  }

  // Calls f(target) for every target holding data that `skip` does not rule out (skip sees the
  // target without its lock), each under its read lock.
  // With `ns` set, only the targets of that namespace (when that is all that can match).
  template <class Skip, class F>
  void ForEachTarget(const std::string* ns, Skip&& skip, F&& f) const {
    std::shared_lock lock(targets_mu);
    const auto visit = [&](const std::shared_ptr<Target>& target) {
      if (target->dead || skip(*target)) return;
      std::shared_lock target_lock(target->mu);
      f(*target);
    };
    if (ns != nullptr && namespace_overrides.load() == 0) {
      const auto it = by_namespace.find(*ns);
      if (it == by_namespace.end()) return;
      for (const auto& target : it->second) visit(target);
      return;
    }
    for (const auto& [id, target] : targets) visit(target);
    for (const auto& target : retired) visit(target);
  }
  template <class F>
  void ForEachTarget(F&& f) const {
    ForEachTarget(
        nullptr, [](const Target&) { return false; }, f);
  }

  IngestResult Commit(const std::string& id, const LabelSet& labels, int64_t t_ms,
                      const std::string_view* payload);
};

SeriesStore::SeriesStore(std::chrono::milliseconds retention, Retained retained)
    : impl_(std::make_unique<Impl>()) {
  impl_->retention = std::max(retention, std::chrono::milliseconds(1));
  impl_->retained = std::move(retained);
}

SeriesStore::~SeriesStore() = default;

std::chrono::milliseconds SeriesStore::retention() const { return impl_->retention; }

// One scrape: the payload's samples (payload non-null) or a failed scrape (null).
IngestResult SeriesStore::Impl::Commit(const std::string& id, const LabelSet& labels, int64_t t_ms,
                                       const std::string_view* payload) {
  IngestResult result;
  std::unique_lock<std::mutex> write_lock;
  const std::shared_ptr<Target> target = Acquire(id, labels, t_ms, &write_lock);
  if (t_ms <= target->last_t()) {
    result.error = "scrape at " + std::to_string(t_ms) +
                   " ms is not after the previous one of this target (" +
                   std::to_string(target->last_t()) + " ms); ignored";
    return result;
  }
  target->removed = false;
  const int64_t cutoff = t_ms - retention.count();
  if (payload == nullptr) {
    target->Commit(t_ms, false, nullptr, cutoff);
    return result;
  }

  IngestScratch& scratch = Scratch();
  if (scratch.store_serial != serial) {
    scratch.parser.SetKeep(retained.metrics);
    scratch.store_serial = serial;
  }
  // Finding the series only reads the target (write_mu keeps other writers out): readers go on
  // meanwhile, and see the scrape only once it is committed.
  StagedScrape& staged = scratch.staged;
  staged.Reset(target->slot_count());
  const auto error = scratch.parser.Parse(
      *payload, [&](const ExpositionSample& sample) { target->Stage(sample, staged); },
      [&](uint64_t series_hash) { return target->Known(series_hash, staged.next_slot); },
      [&](uint64_t series_hash, bool fresh) {
        ++staged.unkept_lines;
        if (fresh) staged.unkept_fresh.push_back(series_hash);
      });
  result.samples_seen = scratch.parser.samples_seen();
  result.duplicates = staged.duplicates;
  duplicates += staged.duplicates;
  if (error) {
    result.error = error->ToString();
  } else if (target->live_series() + staged.pending.size() > retained.max_series_per_target + 1) {
    result.error = "more than " + std::to_string(retained.max_series_per_target) +
                   " series in one scrape of " + id;
  }
  if (!result.error.empty()) {
    target->Commit(t_ms, false, nullptr, cutoff);
    staged.ReleasePending();
    return result;
  }
  target->Commit(t_ms, true, &staged, cutoff);
  result.ok = true;
  result.series_kept = staged.kept;
  staged.ReleasePending();  // a new target's first scrape is big; later ones have none
  return result;
}

IngestResult SeriesStore::Ingest(const std::string& target, const LabelSet& target_labels,
                                 int64_t t_ms, std::string_view payload) {
  return impl_->Commit(target, target_labels, t_ms, &payload);
}

void SeriesStore::IngestFailure(const std::string& target, const LabelSet& target_labels,
                                int64_t t_ms) {
  impl_->Commit(target, target_labels, t_ms, nullptr);
}

void SeriesStore::RemoveTarget(const std::string& target, int64_t t_ms) {
  const std::shared_ptr<Target> found = impl_->Find(target);
  if (found == nullptr) return;
  std::lock_guard write_lock(found->write_mu);
  if (found->dead || found->removed) return;
  found->Remove(std::max(t_ms, found->last_t() + 1));
}

void SeriesStore::Compact(int64_t now_ms) {
  const int64_t cutoff = now_ms - impl_->retention.count();
  std::vector<std::shared_ptr<Target>> all;
  {
    std::shared_lock lock(impl_->targets_mu);
    all.reserve(impl_->targets.size() + impl_->retired.size());
    for (const auto& [id, target] : impl_->targets) all.push_back(target);
    all.insert(all.end(), impl_->retired.begin(), impl_->retired.end());
  }
  bool any_dead = false;
  for (const auto& target : all) {
    std::lock_guard write_lock(target->write_mu);
    if (target->dead) continue;
    if (target->Compact(cutoff)) {
      target->dead = true;
      any_dead = true;
    }
  }
  if (!any_dead) return;
  std::unique_lock lock(impl_->targets_mu);
  for (const auto& target : all) {
    if (target->dead) impl_->Unindex(target);
  }
  std::erase_if(impl_->targets, [](const auto& entry) { return entry.second->dead.load(); });
  std::erase_if(impl_->retired, [](const auto& target) { return target->dead.load(); });
}

namespace {

// The selection loop shared by Select and SelectInstant: every series named `metric` passing the
// matchers; has_samples(target, series) decides whether it has something to visit, then its
// labels are written to labels_out and visit() called.
template <class Store, class HasSamples, class Visit>
void SelectSeries(const Store& impl, std::string_view metric,
                  std::span<const LabelMatcher> matchers,
                  std::vector<std::pair<std::string, std::string>>& labels_out,
                  const std::vector<std::string>* wanted, HasSamples&& has_samples, Visit&& visit) {
  std::vector<ResolvedMatcher> resolved;
  const std::string* ns = nullptr;
  for (const LabelMatcher& m : matchers) {
    if (m.name == "namespace" && !m.negated) ns = &m.value;
  }
  const auto ruled_out = [&](const Target& target) { return target.RuledOut(matchers); };
  impl.ForEachTarget(ns, ruled_out, [&](const Target& target) {
    const std::vector<uint32_t>* slots = target.SlotsOf(metric);
    if (slots == nullptr || !target.Resolve(matchers, resolved)) return;
    for (const uint32_t slot : *slots) {
      const Series& s = target.series(slot);
      if (!target.Matches(s, resolved)) continue;
      if (!has_samples(target, s)) continue;
      target.Labels(s, labels_out, wanted);
      visit();
    }
  });
}

}  // namespace

void SeriesStore::Select(std::string_view metric, int64_t from_ms, int64_t to_ms, const Keep& keep,
                         const VisitRange& visit) const {
  Select(metric, {}, from_ms, to_ms, keep, visit);
}

void SeriesStore::Select(std::string_view metric, std::span<const LabelMatcher> matchers,
                         int64_t from_ms, int64_t to_ms, const Keep& keep, const VisitRange& visit,
                         const std::vector<std::string>* wanted) const {
  LabelSet labels;
  std::vector<Sample> samples;
  SelectSeries(
      *impl_, metric, matchers, Items(labels), wanted,
      [&](const Target& target, const Series& s) {
        target.Range(s, from_ms, to_ms, samples);
        return !samples.empty();
      },
      [&] {
        if (!keep || keep(labels)) visit(labels, samples);
      });
}

void SeriesStore::SelectInstant(std::string_view metric, int64_t at_ms, int64_t lookback_ms,
                                const Keep& keep, const VisitInstant& visit) const {
  SelectInstant(metric, {}, at_ms, lookback_ms, keep, visit);
}

void SeriesStore::SelectInstant(std::string_view metric, std::span<const LabelMatcher> matchers,
                                int64_t at_ms, int64_t lookback_ms, const Keep& keep,
                                const VisitInstant& visit,
                                const std::vector<std::string>* wanted) const {
  LabelSet labels;
  Sample sample;
  SelectSeries(
      *impl_, metric, matchers, Items(labels), wanted,
      [&](const Target& target, const Series& s) {
        return target.Instant(s, at_ms, lookback_ms, &sample);
      },
      [&] {
        if (!keep || keep(labels)) visit(labels, sample);
      });
}

SeriesStore::Stats SeriesStore::GetStats() const {
  Stats stats;
  impl_->ForEachTarget([&](const Target& target) {
    const Target::Usage usage = target.GetUsage();
    ++stats.targets;
    stats.series += usage.series;
    stats.samples += usage.samples;
    stats.bytes += usage.bytes + sizeof(std::shared_ptr<Target>) + 2 * sizeof(void*) +
                   sizeof(std::string) + target.id().capacity();
  });
  stats.duplicates = impl_->duplicates.load();
  return stats;
}

}  // namespace smi::sources::sidecars
