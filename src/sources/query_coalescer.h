// Coalescing and short-lived caching of backend queries, keyed by (query text, evaluation time).
//
// - Coalescing: while a query is in flight, identical ones (same text, same evaluation time) wait
//   for its answer instead of asking the backend again; an error is shared the same way. Each
//   waiter waits only until its own deadline.
// - Caching: a successful answer is kept for `ttl` after it arrived and given to identical
//   queries. The key holds the evaluation time, a whole second chosen by the server, so a cached
//   answer is exactly what the backend answered for that time: caching never makes an answer
//   older than its timestamp says, it only saves asking twice. Errors are never cached.
//
// The caller's own thread asks the backend (no thread is started here): the first caller of a
// key is the one that fetches, and its fetch must end by its deadline (the Prometheus client
// enforces a total deadline per call).
//
// Cache expiry and the fetch latency in the metrics follow the injected clock's monotonic time; a
// waiter's deadline is real std::chrono::steady_clock time, as it bounds a real
// condition-variable wait.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "base/clock.h"
#include "sources/source_metrics.h"
#include "sources/traffic_source.h"

namespace smi::sources {

struct CacheOptions {
  // How long a successful answer is reused for identical queries. 0 disables the cache;
  // coalescing of identical queries in flight stays on (it cannot change any answer).
  // Why 5s: the key holds the evaluation second, so only requests that chose the same second
  // (those starting within about a second of each other, the server answering at the whole
  // second `--evaluation-delay` ago) can reuse an answer, and the TTL is not a staleness bound:
  // every reuse is exact for its timestamp. A few seconds cover the requests of a burst that
  // started their queries late (a busy CPU, slow TLS handshakes) and keep memory to a few
  // seconds' worth of distinct queries; longer would only hold answers nobody can ask for.
  std::chrono::milliseconds ttl{5000};
  // At most this many answers are kept; the oldest go first.
  size_t max_entries = 1024;
  // At most this much weight of answers is kept (Hooks::weight: for Prometheus answers, their
  // samples), the oldest going first; an answer heavier than this on its own is not kept at all.
  // Answers are kept after their request is done, so without this bound a few seconds of
  // cluster-wide answers at 10,000 pods would hold several hundred megabytes. 100,000 samples
  // decoded take about 60 MB; a namespace of 500 pods answers about 14,000, every pod of a
  // 10,000-pod cluster about 270,000 (which is then asked again rather than kept).
  size_t max_weight = 100'000;
};

template <typename Result>
class QueryCoalescer {
 public:
  using SteadyClock = std::chrono::steady_clock;
  using Fetch = std::function<Result(const std::string& query, TimePoint at)>;

  struct Hooks {
    // Whether a successful answer may be cached (not, say, a partial one). Null: always.
    std::function<bool(const Result&)> cacheable;
    // What keeping an answer costs, against CacheOptions::max_weight. Null: nothing.
    std::function<size_t(const Result&)> weight;
    // Whether an answer carried warnings, for the metrics. Null: never.
    std::function<bool(const Result&)> has_warnings;
    // The metrics label of a fetch failure. Null: "unknown".
    std::function<std::string(std::exception_ptr)> error_reason;
    // What a waiter throws when its deadline passes before the query it joined ends.
    std::function<std::exception_ptr()> wait_timeout;
  };

  // `clock` (which must outlive the coalescer) drives cache expiry and latency measurement;
  // waits use the real steady clock.
  QueryCoalescer(CacheOptions options, std::shared_ptr<SourceMetrics> metrics, Hooks hooks,
                 const base::Clock& clock = base::DefaultClock())
      : options_(options), metrics_(std::move(metrics)), hooks_(std::move(hooks)), clock_(clock) {}

  // The cached answer to `query` at `at`, counted as such; null when there is none (then Get).
  // `id`, when given, is set to the answer's id (see Get).
  std::shared_ptr<const Result> Cached(const std::string& query, TimePoint at,
                                       uint64_t* id = nullptr) {
    const Key key{query, Millis(at)};
    std::lock_guard lock(mu_);
    ExpireLocked(clock_.Monotonic());
    const auto it = entries_.find(key);
    if (it == entries_.end() || !it->second->done) return nullptr;
    Count(QueryOutcome::kCached);
    if (id) *id = it->second->id;
    return it->second->value;
  }

  // Whether the cache still holds the answer `id` for `query` at `at` (not counted: nothing is
  // asked). Ids are never reused, so true means the very answer that was handed out with `id`.
  bool Holds(const std::string& query, TimePoint at, uint64_t id) {
    if (id == 0) return false;
    std::lock_guard lock(mu_);
    ExpireLocked(clock_.Monotonic());
    const auto it = entries_.find(Key{query, Millis(at)});
    return it != entries_.end() && it->second->done && it->second->id == id;
  }

  // The answer to `query` at `at`: from the cache, from the identical query in flight, or from
  // `fetch` called on this thread. Throws what `fetch` threw (also to the callers that joined),
  // or wait_timeout() when `deadline` passes while waiting for another caller's fetch.
  // `id`, when given, is set to the answer's id: unique to this answer while the cache keeps it
  // (Holds tells), 0 when the answer is not kept (an error, not cacheable, the cache is off).
  std::shared_ptr<const Result> Get(const std::string& query, TimePoint at,
                                    SteadyClock::time_point deadline, const Fetch& fetch,
                                    uint64_t* id = nullptr) {
    const Key key{query, Millis(at)};
    std::shared_ptr<Entry> entry;
    {
      std::unique_lock lock(mu_);
      ExpireLocked(clock_.Monotonic());
      if (auto it = entries_.find(key); it != entries_.end()) {
        entry = it->second;
        if (entry->done) {  // only cached successes stay in the map once done
          Count(QueryOutcome::kCached);
          if (id) *id = entry->id;
          return entry->value;
        }
        Count(QueryOutcome::kCoalesced);
        if (!cv_.wait_until(lock, deadline, [&] { return entry->done; })) {
          if (metrics_) metrics_->CountWaitTimeout();
          if (hooks_.wait_timeout) std::rethrow_exception(hooks_.wait_timeout());
          throw SourceUnavailable("the backend did not answer in time");
        }
        if (entry->error) std::rethrow_exception(entry->error);
        if (id) *id = entry->id;
        return entry->value;
      }
      entry = std::make_shared<Entry>();
      entries_.emplace(key, entry);
    }

    // This caller fetches for everyone who asks meanwhile.
    if (metrics_) metrics_->in_flight().Increment();
    const auto start = clock_.Monotonic();
    std::shared_ptr<const Result> value;
    std::exception_ptr error;
    try {
      value = std::make_shared<const Result>(fetch(query, at));
    } catch (...) {
      error = std::current_exception();
    }
    if (metrics_) {
      metrics_->in_flight().Decrement();
      metrics_->ObserveLatency(std::chrono::duration<double>(clock_.Monotonic() - start).count());
      if (error) {
        metrics_->Count(QueryOutcome::kError);
        metrics_->CountError(hooks_.error_reason ? hooks_.error_reason(error) : "unknown");
      } else {
        metrics_->Count(QueryOutcome::kSuccess);
        if (hooks_.has_warnings && hooks_.has_warnings(*value)) metrics_->CountWarnings();
      }
    }
    {
      std::lock_guard lock(mu_);
      entry->done = true;
      entry->value = value;
      entry->error = error;
      const size_t weight = !error && hooks_.weight ? hooks_.weight(*value) : 0;
      const bool keep = !error && options_.ttl > std::chrono::milliseconds::zero() &&
                        options_.max_entries > 0 && weight <= options_.max_weight &&
                        (!hooks_.cacheable || hooks_.cacheable(*value));
      if (keep) {
        entry->id = ++last_id_;
        entry->expires = clock_.Monotonic() + options_.ttl;
        entry->weight = weight;
        kept_weight_ += weight;
        expiry_.emplace_back(entry->expires, key);
        // What expired while this answer was fetched goes now, not at the next question: an idle
        // server holds no answer longer than it must.
        ExpireLocked(clock_.Monotonic());
        while (expiry_.size() > options_.max_entries || kept_weight_ > options_.max_weight) {
          if (expiry_.empty()) break;
          EraseFrontLocked();
        }
      } else if (auto it = entries_.find(key); it != entries_.end() && it->second == entry) {
        entries_.erase(it);
      }
      if (id) *id = entry->id;
    }
    cv_.notify_all();
    if (error) std::rethrow_exception(error);
    return value;
  }

 private:
  using Key = std::pair<std::string, int64_t>;  // query text, evaluation time in ms
  struct Entry {
    bool done = false;
    std::shared_ptr<const Result> value;
    std::exception_ptr error;
    SteadyClock::time_point expires{};
    uint64_t id = 0;  // set when the answer is kept
    size_t weight = 0;
  };

  static int64_t Millis(TimePoint at) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  }

  void Count(QueryOutcome outcome) {
    if (metrics_) metrics_->Count(outcome);
  }

  void EraseFrontLocked() {
    const auto& [expires, key] = expiry_.front();
    if (auto it = entries_.find(key);
        it != entries_.end() && it->second->done && it->second->expires == expires) {
      kept_weight_ -= it->second->weight;
      entries_.erase(it);
    }
    expiry_.pop_front();
  }

  // The TTL is the same for all, so expiry_ is in expiry order.
  void ExpireLocked(SteadyClock::time_point now) {
    while (!expiry_.empty() && expiry_.front().first <= now) EraseFrontLocked();
  }

  const CacheOptions options_;
  const std::shared_ptr<SourceMetrics> metrics_;
  const Hooks hooks_;
  const base::Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, std::shared_ptr<Entry>> entries_;  // in flight, and cached successes
  std::deque<std::pair<SteadyClock::time_point, Key>> expiry_;
  uint64_t last_id_ = 0;
  size_t kept_weight_ = 0;
};

}  // namespace smi::sources
