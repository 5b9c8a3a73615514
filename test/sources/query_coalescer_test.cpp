// Coalescing, caching and waiters' deadlines of QueryCoalescer, with a fake fetch and a manual
// clock for cache expiry. No assertion depends on timing; waits are bounded polls.
#include "sources/query_coalescer.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mocks/manual_clock.h"
#include "sources/source_metrics.h"
#include "support/metrics_text.h"

namespace smi::sources {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test_support::FindSample;
using test_support::ScrapeValue;
using ::testing::HasSubstr;
using SteadyClock = std::chrono::steady_clock;

const TimePoint kAt = TimePoint(seconds(1700000000));

struct Answer {
  std::string text;
  bool partial = false;
};

// A fetch that counts its calls and can be held until released.
class FakeBackend {
 public:
  Answer Fetch(const std::string& query, TimePoint at) {
    {
      std::unique_lock lock(mu_);
      ++calls_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !hold_; });
    }
    if (fail_) throw SourceUnavailable("backend down for " + query);
    return {query + "@" + std::to_string(at.time_since_epoch().count()), partial_};
  }
  void Hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  // Waits until `n` fetches started (bounded).
  bool WaitForCalls(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, seconds(10), [&] { return calls_ >= n; });
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::atomic<bool> fail_{false};
  std::atomic<bool> partial_{false};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  bool hold_ = false;
};

struct Fixture {
  explicit Fixture(milliseconds ttl = seconds(5), size_t max_entries = 1024,
                   size_t max_weight = 100'000)
      : registry(std::make_shared<::prometheus::Registry>()),
        metrics(std::make_shared<SourceMetrics>(registry)),
        coalescer(CacheOptions{ttl, max_entries, max_weight}, metrics, MakeHooks(), clock) {}

  static QueryCoalescer<Answer>::Hooks MakeHooks() {
    QueryCoalescer<Answer>::Hooks hooks;
    hooks.cacheable = [](const Answer& a) { return !a.partial; };
    // An answer weighs as much as its query is long (the text before '@').
    hooks.weight = [](const Answer& a) { return a.text.find('@'); };
    hooks.has_warnings = [](const Answer& a) { return a.partial; };
    hooks.error_reason = [](std::exception_ptr) { return std::string("unreachable"); };
    hooks.wait_timeout = [] {
      return std::make_exception_ptr(SourceUnavailable("the backend did not answer within 1s"));
    };
    return hooks;
  }

  std::shared_ptr<const Answer> Get(const std::string& query, TimePoint at = kAt,
                                    milliseconds wait = seconds(30)) {
    return coalescer.Get(query, at, SteadyClock::now() + wait,
                         [this](const std::string& q, TimePoint t) { return backend.Fetch(q, t); });
  }

  double Metric(const std::string& series) {
    return ScrapeValue(SerializeMetrics(*registry), series);
  }
  // Waits (bounded) until `n` callers joined a query in flight.
  bool WaitForCoalesced(int n) {
    for (int i = 0; i < 2000; ++i) {
      if (Metric(R"(smi_prometheus_queries_total{outcome="coalesced"})") >= n) return true;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return false;
  }

  std::shared_ptr<::prometheus::Registry> registry;
  std::shared_ptr<SourceMetrics> metrics;
  smi::testing::ManualClock clock;  // before the coalescer, which holds it
  FakeBackend backend;
  QueryCoalescer<Answer> coalescer;
};

TEST(QueryCoalescer, ConcurrentIdenticalQueriesAskOnce) {
  Fixture f;
  constexpr int kThreads = 16;
  f.backend.Hold();
  std::vector<std::shared_ptr<const Answer>> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { got[i] = f.Get("sum(up)"); });
  }
  ASSERT_TRUE(f.backend.WaitForCalls(1));
  ASSERT_TRUE(f.WaitForCoalesced(kThreads - 1)) << "not every caller joined the query in flight";
  f.backend.Release();
  for (auto& t : threads) t.join();

  EXPECT_EQ(f.backend.calls(), 1);
  for (const auto& a : got) {
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->text, "sum(up)@1700000000000000000");
    EXPECT_EQ(a, got[0]) << "everyone shares the one answer";
  }
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="success"})"), 1);
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="coalesced"})"), kThreads - 1);
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="error"})"), 0);
  EXPECT_EQ(f.Metric("smi_prometheus_query_duration_seconds_count"), 1);
  EXPECT_EQ(f.Metric("smi_prometheus_queries_in_flight"), 0);
}

TEST(QueryCoalescer, AnErrorIsSharedByEveryWaiterAndNotCached) {
  Fixture f;
  constexpr int kThreads = 8;
  f.backend.fail_ = true;
  f.backend.Hold();
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      try {
        f.Get("sum(up)");
      } catch (const SourceUnavailable& e) {
        errors[i] = e.what();
      }
    });
  }
  ASSERT_TRUE(f.backend.WaitForCalls(1));
  ASSERT_TRUE(f.WaitForCoalesced(kThreads - 1));
  f.backend.Release();
  for (auto& t : threads) t.join();

  EXPECT_EQ(f.backend.calls(), 1);
  for (const auto& e : errors) EXPECT_EQ(e, "backend down for sum(up)");
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="error"})"), 1);
  EXPECT_EQ(f.Metric(R"(smi_prometheus_query_errors_total{reason="unreachable"})"), 1);

  // The next caller asks again: errors are not remembered.
  f.backend.fail_ = false;
  EXPECT_EQ(f.Get("sum(up)")->text, "sum(up)@1700000000000000000");
  EXPECT_EQ(f.backend.calls(), 2);
}

TEST(QueryCoalescer, CachedUntilTheTtlPasses) {
  Fixture f(seconds(5));
  const auto first = f.Get("sum(up)");
  f.clock.Advance(milliseconds(4999));
  EXPECT_EQ(f.Get("sum(up)"), first);
  EXPECT_EQ(f.backend.calls(), 1);
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="cached"})"), 1);

  f.clock.Advance(milliseconds(1));  // exactly the TTL after the answer arrived
  EXPECT_NE(f.Get("sum(up)"), first);
  EXPECT_EQ(f.backend.calls(), 2);
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="success"})"), 2);
}

TEST(QueryCoalescer, KeyIsQueryTextAndEvaluationTime) {
  Fixture f;
  f.Get("sum(up)", kAt);
  f.Get("sum(up)", kAt + seconds(1));  // another second: another answer
  f.Get("count(up)", kAt);             // another query
  EXPECT_EQ(f.backend.calls(), 3);
  // Each of the three is its own cached answer.
  EXPECT_EQ(f.Get("sum(up)", kAt + seconds(1))->text, "sum(up)@1700000001000000000");
  EXPECT_EQ(f.Get("sum(up)", kAt)->text, "sum(up)@1700000000000000000");
  EXPECT_EQ(f.Get("count(up)", kAt)->text, "count(up)@1700000000000000000");
  EXPECT_EQ(f.backend.calls(), 3);
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="cached"})"), 3);
}

TEST(QueryCoalescer, ZeroTtlDisablesTheCacheButNotCoalescing) {
  Fixture f(milliseconds(0));
  f.Get("sum(up)");
  f.Get("sum(up)");
  EXPECT_EQ(f.backend.calls(), 2);
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="cached"})"), 0);

  f.backend.Hold();
  std::thread a([&] { f.Get("sum(up)"); });
  ASSERT_TRUE(f.backend.WaitForCalls(3));
  std::thread b([&] { f.Get("sum(up)"); });
  ASSERT_TRUE(f.WaitForCoalesced(1));
  f.backend.Release();
  a.join();
  b.join();
  EXPECT_EQ(f.backend.calls(), 3);
}

TEST(QueryCoalescer, PartialAnswersAreSharedButNotCached) {
  Fixture f;
  f.backend.partial_ = true;
  f.Get("sum(up)");
  f.Get("sum(up)");
  EXPECT_EQ(f.backend.calls(), 2);
  EXPECT_EQ(f.Metric("smi_prometheus_query_warnings_total"), 2);
}

TEST(QueryCoalescer, OldestAnswersGoFirstBeyondTheLimit) {
  Fixture f(seconds(5), /*max_entries=*/2);
  f.Get("a");
  f.Get("b");
  f.Get("c");  // evicts "a"
  f.Get("c");
  f.Get("b");
  EXPECT_EQ(f.backend.calls(), 3);
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="cached"})"), 2);
  f.Get("a");  // asked again; evicts "b", the oldest answer, though "b" was used last
  EXPECT_EQ(f.backend.calls(), 4);
  f.Get("c");
  EXPECT_EQ(f.backend.calls(), 4);
  f.Get("b");
  EXPECT_EQ(f.backend.calls(), 5);
}

TEST(QueryCoalescer, ABurstOfDistinctQueriesKeepsOnlyTheLimit) {
  Fixture f(seconds(5), /*max_entries=*/4);
  for (int i = 0; i < 100; ++i) f.Get("q" + std::to_string(i));
  EXPECT_EQ(f.backend.calls(), 100);
  // Only the last four are still answered from the cache; every earlier one is asked again.
  for (int i = 96; i < 100; ++i) f.Get("q" + std::to_string(i));
  EXPECT_EQ(f.backend.calls(), 100);
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="cached"})"), 4);
  f.Get("q95");
  EXPECT_EQ(f.backend.calls(), 101);
}

// Kept answers weigh at most max_weight together: the oldest go first, and an answer heavier
// than the bound on its own is shared with the callers that joined it but never kept.
TEST(QueryCoalescer, KeptAnswersWeighAtMostTheBound) {
  Fixture f(seconds(5), /*max_entries=*/1024, /*max_weight=*/10);
  f.Get("aaaa");  // 4
  f.Get("bbbb");  // 8
  f.Get("cccc");  // 12 > 10: "aaaa" goes
  EXPECT_EQ(f.backend.calls(), 3);
  f.Get("bbbb");
  f.Get("cccc");
  EXPECT_EQ(f.backend.calls(), 3);
  f.Get("aaaa");  // asked again; "bbbb" goes
  EXPECT_EQ(f.backend.calls(), 4);
  f.Get("bbbb");
  EXPECT_EQ(f.backend.calls(), 5);

  f.Get("heavier-than-ten");
  f.Get("heavier-than-ten");
  EXPECT_EQ(f.backend.calls(), 7);
  uint64_t id = 1;
  f.coalescer.Get(
      "heavier-than-ten", kAt, SteadyClock::now() + seconds(30),
      [&f](const std::string& q, TimePoint t) { return f.backend.Fetch(q, t); }, &id);
  EXPECT_EQ(id, 0u);
  // What was kept before stays kept: the heavy answer took nothing's place.
  f.Get("aaaa");
  f.Get("bbbb");
  EXPECT_EQ(f.backend.calls(), 8);
}

// An expired answer no longer counts against the bound.
TEST(QueryCoalescer, AnExpiredAnswerNoLongerWeighs) {
  Fixture f(seconds(5), /*max_entries=*/1024, /*max_weight=*/10);
  f.Get("aaaaaaaa");  // 8
  f.clock.Advance(seconds(6));
  f.Get("bbbbbbbb");  // 8: fits only because "aaaaaaaa" expired
  f.Get("bbbbbbbb");
  EXPECT_EQ(f.backend.calls(), 2);
}

// What the API's answer cache relies on: an id names one kept answer, Holds says whether the
// cache still has that very answer, and an answer that is not kept has no id.
TEST(QueryCoalescer, AnAnswerIdHoldsWhileThatAnswerIsKept) {
  Fixture f(seconds(5));
  const auto fetch = [&f](const std::string& q, TimePoint t) { return f.backend.Fetch(q, t); };
  uint64_t first = 0, again = 0, cached = 0;
  f.coalescer.Get("sum(up)", kAt, SteadyClock::now() + seconds(30), fetch, &first);
  EXPECT_NE(first, 0u);
  f.coalescer.Get("sum(up)", kAt, SteadyClock::now() + seconds(30), fetch, &again);
  EXPECT_EQ(again, first) << "the cached answer is the same answer";
  ASSERT_NE(f.coalescer.Cached("sum(up)", kAt, &cached), nullptr);
  EXPECT_EQ(cached, first);
  EXPECT_TRUE(f.coalescer.Holds("sum(up)", kAt, first));
  EXPECT_FALSE(f.coalescer.Holds("sum(up)", kAt + seconds(1), first)) << "another second";
  EXPECT_FALSE(f.coalescer.Holds("count(up)", kAt, first)) << "another query";
  const double cached_before = f.Metric(R"(smi_prometheus_queries_total{outcome="cached"})");
  f.coalescer.Holds("sum(up)", kAt, first);
  EXPECT_EQ(f.Metric(R"(smi_prometheus_queries_total{outcome="cached"})"), cached_before)
      << "asking whether an answer is held is not a query";

  // Once it expires, the same question gets a new answer with a new id; the old id is gone.
  f.clock.Advance(seconds(5));
  EXPECT_FALSE(f.coalescer.Holds("sum(up)", kAt, first));
  uint64_t next = 0;
  f.coalescer.Get("sum(up)", kAt, SteadyClock::now() + seconds(30), fetch, &next);
  EXPECT_EQ(f.backend.calls(), 2);
  EXPECT_NE(next, 0u);
  EXPECT_NE(next, first);
  EXPECT_FALSE(f.coalescer.Holds("sum(up)", kAt, first));
  EXPECT_TRUE(f.coalescer.Holds("sum(up)", kAt, next));
}

TEST(QueryCoalescer, AnswersThatAreNotKeptHaveNoId) {
  Fixture partial;
  partial.backend.partial_ = true;
  uint64_t id = 99;
  partial.coalescer.Get(
      "sum(up)", kAt, SteadyClock::now() + seconds(30),
      [&](const std::string& q, TimePoint t) { return partial.backend.Fetch(q, t); }, &id);
  EXPECT_EQ(id, 0u);
  EXPECT_FALSE(partial.coalescer.Holds("sum(up)", kAt, 0));

  Fixture off(milliseconds(0));
  id = 99;
  off.coalescer.Get(
      "sum(up)", kAt, SteadyClock::now() + seconds(30),
      [&](const std::string& q, TimePoint t) { return off.backend.Fetch(q, t); }, &id);
  EXPECT_EQ(id, 0u);
}

TEST(QueryCoalescer, AWaiterGivesUpAtItsOwnDeadline) {
  Fixture f;
  f.backend.Hold();
  std::thread leader([&] { f.Get("sum(up)"); });
  ASSERT_TRUE(f.backend.WaitForCalls(1));
  try {
    f.Get("sum(up)", kAt, milliseconds(50));
    ADD_FAILURE() << "the waiter did not give up";
  } catch (const SourceUnavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("did not answer within"));
  }
  EXPECT_EQ(f.Metric("smi_prometheus_wait_timeouts_total"), 1);
  f.backend.Release();
  leader.join();
  // The leader's answer still arrived and is cached for the next caller.
  EXPECT_EQ(f.Get("sum(up)")->text, "sum(up)@1700000000000000000");
  EXPECT_EQ(f.backend.calls(), 1);
}

TEST(SourceMetrics, SerializesInTheTextFormat) {
  auto registry = std::make_shared<::prometheus::Registry>();
  SourceMetrics a(registry);
  SourceMetrics b(registry);  // a second source shares the families
  a.Count(QueryOutcome::kCached);
  b.Count(QueryOutcome::kCached);
  a.CountError("timeout");
  const std::string text = SerializeMetrics(*registry);
  EXPECT_THAT(text, HasSubstr("# TYPE smi_prometheus_queries_total counter"));
  EXPECT_THAT(text, HasSubstr("# TYPE smi_prometheus_query_duration_seconds histogram"));
  EXPECT_EQ(ScrapeValue(text, R"(smi_prometheus_queries_total{outcome="cached"})"), 2);
  EXPECT_EQ(ScrapeValue(text, R"(smi_prometheus_query_errors_total{reason="timeout"})"), 1);
  EXPECT_EQ(ScrapeValue(text, R"(smi_prometheus_queries_total{outcome="success"})"), 0);
  EXPECT_EQ(FindSample(text, "no_such_metric"), std::nullopt);
  EXPECT_EQ(FindSample(text, R"(smi_prometheus_query_errors_total{reason="unreachable"})"),
            std::nullopt)
      << "a reason appears once it has counted something";
}

}  // namespace
}  // namespace smi::sources
