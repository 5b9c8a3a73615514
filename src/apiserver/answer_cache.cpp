#include "apiserver/answer_cache.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace smi::apiserver {

namespace {

// What an entry costs besides its strings: map and expiry nodes, the shared answer, allocation
// overhead (an estimate; it keeps many tiny answers from escaping the byte bound).
constexpr size_t kEntryOverhead = 512;

size_t CostOf(const AnswerCache::Key& key, const AnswerCache::Answer& answer) {
  size_t n = kEntryOverhead + key.request.size() + key.split_version.size() +
             answer.response.body.size() + answer.response.content_type.size();
  for (const auto& [name, value] : answer.response.headers) n += name.size() + value.size();
  for (const auto& a : answer.source_answers) n += sizeof(a) + a.question.size();
  return n;
}

}  // namespace

AnswerCache::AnswerCache(AnswerCacheOptions options, const base::Clock& clock,
                         prometheus::Registry* registry)
    : options_(options), clock_(clock) {
  if (!registry) return;
  auto& lookups = prometheus::BuildCounter()
                      .Name("smi_answer_cache_lookups_total")
                      .Help(
                          "Metrics API answers looked up in the answer cache, by outcome: hit "
                          "(reused), miss (computed), stale (kept, but the source's answers "
                          "it was computed from had changed: computed)")
                      .Register(*registry);
  hits_ = &lookups.Add({{"outcome", "hit"}});
  misses_ = &lookups.Add({{"outcome", "miss"}});
  stale_ = &lookups.Add({{"outcome", "stale"}});
  entries_gauge_ = &prometheus::BuildGauge()
                        .Name("smi_answer_cache_entries")
                        .Help("Encoded answers kept in the answer cache")
                        .Register(*registry)
                        .Add({});
  bytes_gauge_ = &prometheus::BuildGauge()
                      .Name("smi_answer_cache_bytes")
                      .Help("Bytes of encoded answers kept in the answer cache (estimated)")
                      .Register(*registry)
                      .Add({});
}

AnswerCache::~AnswerCache() = default;

std::shared_ptr<const AnswerCache::Answer> AnswerCache::Find(
    const Key& key,
    const std::function<bool(const std::vector<sources::SourceAnswer>&)>& still_current,
    bool count_misses) {
  std::shared_ptr<const Answer> answer;
  {
    std::lock_guard lock(mu_);
    const auto it = items_.find(key);
    if (it != items_.end()) {
      if (it->second.expiry->first <= clock_.Monotonic()) {
        EraseLocked(it);
        UpdateGaugesLocked();
      } else {
        answer = it->second.answer;
      }
    }
  }
  if (!answer) {
    if (misses_ && count_misses) misses_->Increment();
    return nullptr;
  }
  // Outside the lock: the source takes its own.
  if (!still_current(answer->source_answers)) {
    if (stale_ && count_misses) stale_->Increment();
    return nullptr;
  }
  if (hits_) hits_->Increment();
  return answer;
}

void AnswerCache::Store(const Key& key, Answer answer,
                        std::chrono::system_clock::time_point until) {
  if (!enabled()) return;
  const auto ttl = until - clock_.Now();
  if (ttl <= std::chrono::system_clock::duration::zero()) return;
  const size_t cost = CostOf(key, answer);
  if (cost > options_.max_bytes) return;
  const TimePoint now = clock_.Monotonic();
  const TimePoint expires = now + std::chrono::duration_cast<TimePoint::duration>(ttl);
  auto shared = std::make_shared<const Answer>(std::move(answer));

  std::lock_guard lock(mu_);
  if (const auto it = items_.find(key); it != items_.end()) EraseLocked(it);
  // Expired entries first, then those closest to expiring.
  while (!expiry_.empty() &&
         (expiry_.begin()->first <= now || items_.size() >= options_.max_entries ||
          bytes_ + cost > options_.max_bytes)) {
    EraseLocked(items_.find(*expiry_.begin()->second));
  }
  auto [it, inserted] =
      items_.emplace(StoredKey{std::string(key.request), key.representation, key.evaluated_at_ms,
                               key.cluster_version, std::string(key.split_version)},
                     Item{std::move(shared), cost, {}});
  it->second.expiry = expiry_.emplace(expires, &it->first);
  bytes_ += cost;
  UpdateGaugesLocked();
}

void AnswerCache::EraseLocked(Items::iterator it) {
  bytes_ -= it->second.bytes;
  expiry_.erase(it->second.expiry);
  items_.erase(it);
}

void AnswerCache::UpdateGaugesLocked() {
  if (entries_gauge_) entries_gauge_->Set(static_cast<double>(items_.size()));
  if (bytes_gauge_) bytes_gauge_->Set(static_cast<double>(bytes_));
}

size_t AnswerCache::entries() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

size_t AnswerCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace smi::apiserver
