// The readiness checks the wiring registers: the caches first, then the source, each named.
#include "config/readiness.h"

#include <gtest/gtest.h>

#include "mocks/fake_source.h"
#include "mocks/unsynced_cluster.h"

namespace smi::config {
namespace {

TEST(ReadinessTest, CachesFirstThenTheSource) {
  testing::UnsyncedCluster caches;
  testing::FakeSource source;
  source.unavailable = "Prometheus at http://127.0.0.1:1 is unreachable";
  const auto checks = ReadinessChecks(&caches, source);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].name, "kubernetes-caches");
  EXPECT_EQ(checks[1].name, "source");
  std::string why;
  EXPECT_FALSE(checks[0].ready(&why));
  EXPECT_EQ(why, "not synced: pods, replicasets");
  caches.synced = true;
  EXPECT_TRUE(checks[0].ready(&why));
  EXPECT_FALSE(checks[1].ready(&why));
  EXPECT_EQ(why, *source.unavailable);
  source.unavailable.reset();
  EXPECT_TRUE(checks[1].ready(&why));
}

TEST(ReadinessTest, NoCachesNoCacheCheck) {
  testing::FakeSource source;
  const auto checks = ReadinessChecks(nullptr, source);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].name, "source");
}

}  // namespace
}  // namespace smi::config
