// TtlCache: expiry on an injected clock (no test waits on real time), the bound in entries, and
// which entry goes when it is full.
#include "base/ttl_cache.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "mocks/manual_clock.h"

namespace smi::base {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ManualClock;

TEST(TtlCache, AnEntryLivesForItsTtl) {
  ManualClock clock;
  TtlCache<std::string, int> cache(10, clock);
  cache.Put("a", 1, seconds(5));
  EXPECT_EQ(cache.Get("a"), 1);
  clock.Advance(milliseconds(4999));
  EXPECT_EQ(cache.Get("a"), 1);
  clock.Advance(milliseconds(1));  // exactly the TTL later: gone
  EXPECT_EQ(cache.Get("a"), std::nullopt);
  EXPECT_EQ(cache.size(), 0u) << "an expired entry is dropped when looked up";
}

TEST(TtlCache, MissingKeys) {
  ManualClock clock;
  TtlCache<std::string, int> cache(10, clock);
  EXPECT_EQ(cache.Get("a"), std::nullopt);
  cache.Put("a", 1, seconds(5));
  EXPECT_EQ(cache.Get("b"), std::nullopt);
}

TEST(TtlCache, OnlyTheMonotonicClockCounts) {
  ManualClock clock;
  TtlCache<std::string, int> cache(10, clock);
  cache.Put("a", 1, seconds(5));
  clock.now += std::chrono::hours(24);  // the wall clock jumps (NTP, a VM resumed)
  EXPECT_EQ(cache.Get("a"), 1);
  clock.monotonic += seconds(5);
  EXPECT_EQ(cache.Get("a"), std::nullopt);
}

TEST(TtlCache, PutReplacesValueAndExpiry) {
  ManualClock clock;
  TtlCache<std::string, int> cache(10, clock);
  cache.Put("a", 1, seconds(5));
  clock.Advance(seconds(4));
  cache.Put("a", 2, seconds(5));  // expires 9s after the start now
  EXPECT_EQ(cache.size(), 1u);
  clock.Advance(seconds(4));
  EXPECT_EQ(cache.Get("a"), 2);
  clock.Advance(seconds(1));
  EXPECT_EQ(cache.Get("a"), std::nullopt);
}

TEST(TtlCache, ANonPositiveTtlStoresNothing) {
  ManualClock clock;
  TtlCache<std::string, int> cache(10, clock);
  cache.Put("a", 1, seconds(0));
  cache.Put("b", 1, seconds(-1));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Get("a"), std::nullopt);
}

TEST(TtlCache, ABurstOfDistinctKeysNeverExceedsTheBound) {
  ManualClock clock;
  TtlCache<int, int> cache(100, clock);
  EXPECT_EQ(cache.max_entries(), 100u);
  for (int i = 0; i < 10000; ++i) {
    cache.Put(i, i, seconds(60));
    ASSERT_LE(cache.size(), 100u) << "after " << i + 1 << " keys";
    if (i % 7 == 0) clock.Advance(milliseconds(1));
  }
  EXPECT_EQ(cache.size(), 100u);
  // The last hundred are the ones kept.
  EXPECT_EQ(cache.Get(9999), 9999);
  EXPECT_EQ(cache.Get(9900), 9900);
  EXPECT_EQ(cache.Get(9899), std::nullopt);
}

TEST(TtlCache, WhenFullExpiredEntriesGoFirst) {
  ManualClock clock;
  TtlCache<std::string, int> cache(3, clock);
  cache.Put("long", 1, seconds(60));
  cache.Put("short", 2, seconds(1));
  cache.Put("medium", 3, seconds(30));
  clock.Advance(seconds(2));  // "short" has expired, nobody looked it up
  EXPECT_EQ(cache.size(), 3u);
  cache.Put("new", 4, seconds(60));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.Get("long"), 1);
  EXPECT_EQ(cache.Get("medium"), 3);
  EXPECT_EQ(cache.Get("new"), 4);
  EXPECT_EQ(cache.Get("short"), std::nullopt);
}

TEST(TtlCache, WhenFullTheEntryClosestToExpiringGoes) {
  ManualClock clock;
  TtlCache<std::string, int> cache(3, clock);
  cache.Put("first", 1, seconds(60));  // the oldest, but not the first to expire
  cache.Put("soon", 2, seconds(10));
  cache.Put("later", 3, seconds(30));
  cache.Put("new", 4, seconds(60));
  EXPECT_EQ(cache.Get("soon"), std::nullopt);
  EXPECT_EQ(cache.Get("first"), 1);
  EXPECT_EQ(cache.Get("later"), 3);
  EXPECT_EQ(cache.Get("new"), 4);
  cache.Put("newer", 5, seconds(60));
  EXPECT_EQ(cache.Get("later"), std::nullopt);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(TtlCache, ReplacingAKeyWhenFullEvictsNothing) {
  ManualClock clock;
  TtlCache<std::string, int> cache(2, clock);
  cache.Put("a", 1, seconds(10));
  cache.Put("b", 2, seconds(20));
  cache.Put("a", 3, seconds(10));
  EXPECT_EQ(cache.Get("a"), 3);
  EXPECT_EQ(cache.Get("b"), 2);
}

TEST(TtlCache, ABoundOfZeroKeepsOne) {
  ManualClock clock;
  TtlCache<std::string, int> cache(0, clock);
  EXPECT_EQ(cache.max_entries(), 1u);
  cache.Put("a", 1, seconds(10));
  cache.Put("b", 2, seconds(10));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Get("b"), 2);
}

TEST(TtlCache, EqualExpiriesAreDistinctEntries) {
  ManualClock clock;
  TtlCache<std::string, int> cache(3, clock);
  cache.Put("a", 1, seconds(10));
  cache.Put("b", 2, seconds(10));
  cache.Put("c", 3, seconds(10));
  EXPECT_EQ(cache.size(), 3u);
  clock.Advance(seconds(10));
  cache.Put("d", 4, seconds(10));  // all three expired together: all dropped
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Get("d"), 4);
}

TEST(TtlCache, TheDefaultClockIsTheSystemOne) {
  TtlCache<std::string, int> cache(2);
  cache.Put("a", 1, std::chrono::hours(1));
  EXPECT_EQ(cache.Get("a"), 1);
  const auto before = std::chrono::steady_clock::now();
  EXPECT_GE(DefaultClock().Monotonic(), before);
}

}  // namespace
}  // namespace smi::base
