// A map whose entries expire, bounded in entries: a burst of distinct keys (tokens, review specs)
// cannot grow it past `max_entries`. When full, expired entries go first, then the entry closest
// to expiring. Not thread-safe: the owner locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "base/clock.h"

namespace smi::base {

template <typename Key, typename Value>
class TtlCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  TtlCache(size_t max_entries, const Clock& clock = DefaultClock())
      : max_entries_(max_entries == 0 ? 1 : max_entries), clock_(&clock) {}

  // The value stored for `key`, unless it has expired (then it is dropped).
  std::optional<Value> Get(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.expires <= clock_->Monotonic()) {
      Erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  // Stores `value` for `ttl` from now; a ttl of zero or less stores nothing.
  void Put(const Key& key, Value value, std::chrono::steady_clock::duration ttl) {
    if (ttl <= std::chrono::steady_clock::duration::zero()) return;
    const TimePoint now = clock_->Monotonic();
    if (auto it = entries_.find(key); it != entries_.end()) Erase(it);
    if (entries_.size() >= max_entries_) DropExpired(now);
    while (entries_.size() >= max_entries_) Erase(entries_.find(by_expiry_.begin()->second));
    const TimePoint expires = now + ttl;
    entries_.emplace(key, Entry{std::move(value), expires});
    by_expiry_.emplace(expires, key);
  }

  size_t size() const { return entries_.size(); }
  size_t max_entries() const { return max_entries_; }

 private:
  struct Entry {
    Value value;
    TimePoint expires;
  };
  using Entries = std::map<Key, Entry>;

  void Erase(typename Entries::iterator it) {
    by_expiry_.erase({it->second.expires, it->first});
    entries_.erase(it);
  }

  void DropExpired(TimePoint now) {
    while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
      entries_.erase(by_expiry_.begin()->second);
      by_expiry_.erase(by_expiry_.begin());
    }
  }

  size_t max_entries_;
  const Clock* clock_;
  Entries entries_;
  std::set<std::pair<TimePoint, Key>> by_expiry_;
};

}  // namespace smi::base
