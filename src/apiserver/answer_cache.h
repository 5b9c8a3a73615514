// Encoded answers of the metrics API, reused for requests that would get the same bytes
// (docs/serving.md, "Answer cache").
//
// An answer is a function of the request (its path and query), the representation negotiated
// from Accept, the evaluation second, the Kubernetes caches' snapshot and the source answers it
// was computed from (aggregation::AnswerBasis). The key holds the first four; the source answers
// are stored with the entry and must still be the source's (TrafficMetricsService::StillCurrent)
// for the entry to be used. So a reused answer is byte for byte what computing it again would
// give: the cache saves work, it never changes an answer. Authentication and authorization run
// before it on every request; nothing in the key or the answer depends on who asks.
//
// Bounded in entries and in bytes; an entry expires when its evaluation second is no longer the
// one new requests choose. When full, expired entries go first, then those closest to expiring.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "apiserver/http_types.h"
#include "apiserver/negotiation.h"
#include "base/clock.h"
#include "sources/traffic_source.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
}  // namespace prometheus

namespace smi::apiserver {

struct AnswerCacheOptions {
  // At most this many answers are kept (0: the cache is off).
  size_t max_entries = 1024;
  // At most this many bytes of answers (bodies, keys and the source questions they depend on).
  size_t max_bytes = size_t{64} << 20;
};

class AnswerCache {
 public:
  // What an answer is a function of, besides the source answers stored with it. The views must
  // stay valid during the call that takes the key.
  struct Key {
    std::string_view request;  // path and query string, as sent
    Representation representation = Representation::kJson;
    int64_t evaluated_at_ms = 0;
    uint64_t cluster_version = 0;    // 0: no Kubernetes knowledge
    std::string_view split_version;  // the split.smi-spec.io version the snapshot was read at
  };

  struct Answer {
    HttpResponse response;
    std::vector<sources::SourceAnswer> source_answers;  // must still be the source's to reuse
  };

  // `clock` (which must outlive the cache) expires entries; `registry` (may be null) gets the
  // smi_answer_cache_* metrics.
  explicit AnswerCache(AnswerCacheOptions options, const base::Clock& clock = base::DefaultClock(),
                       prometheus::Registry* registry = nullptr);
  ~AnswerCache();

  bool enabled() const { return options_.max_entries > 0 && options_.max_bytes > 0; }

  // The answer kept for `key`, when there is one, it has not expired and `still_current` says
  // its source answers are still the source's; null otherwise (then compute it, and Store).
  // `count_misses` false: only a hit is counted in the metrics (a lookup that another follows).
  std::shared_ptr<const Answer> Find(
      const Key& key,
      const std::function<bool(const std::vector<sources::SourceAnswer>&)>& still_current,
      bool count_misses = true);

  // Keeps `answer` for `key` until the wall-clock time `until` (the end of its evaluation
  // second's turn). Nothing is kept past `until`, nor an answer larger than the byte bound.
  void Store(const Key& key, Answer answer, std::chrono::system_clock::time_point until);

  size_t entries() const;
  size_t bytes() const;

 private:
  struct StoredKey {
    std::string request;
    Representation representation;
    int64_t evaluated_at_ms;
    uint64_t cluster_version;
    std::string split_version;
  };
  // Orders stored keys and lookup keys alike, so a lookup builds no strings.
  struct Less {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Tie(a) < Tie(b);
    }
    template <typename K>
    static auto Tie(const K& k) {
      return std::make_tuple(k.evaluated_at_ms, k.cluster_version, k.representation,
                             std::string_view(k.request), std::string_view(k.split_version));
    }
  };
  using TimePoint = std::chrono::steady_clock::time_point;
  // Expiry time -> the key of the entry (map keys do not move).
  using Expiry = std::multimap<TimePoint, const StoredKey*>;
  struct Item {
    std::shared_ptr<const Answer> answer;
    size_t bytes = 0;
    Expiry::iterator expiry;
  };
  using Items = std::map<StoredKey, Item, Less>;

  void EraseLocked(Items::iterator it);
  void UpdateGaugesLocked();

  const AnswerCacheOptions options_;
  const base::Clock& clock_;
  prometheus::Counter* hits_ = nullptr;
  prometheus::Counter* misses_ = nullptr;
  prometheus::Counter* stale_ = nullptr;
  prometheus::Gauge* entries_gauge_ = nullptr;
  prometheus::Gauge* bytes_gauge_ = nullptr;

  mutable std::mutex mu_;
  Items items_;
  Expiry expiry_;  // soonest first
  size_t bytes_ = 0;
};

}  // namespace smi::apiserver
