#include "base/process_memory.h"

#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

namespace smi::base {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// The peak agrees with the kernel's account through another interface (getrusage), and the
// resident size never exceeds it.
TEST(ProcessMemory, PeakAsTheKernelCountsIt) {
  const size_t size = 32 * kMiB;
  char* block = static_cast<char*>(std::malloc(size));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, size);
  const auto memory = ReadProcessMemory();
  rusage usage{};
  ASSERT_EQ(getrusage(RUSAGE_SELF, &usage), 0);
  std::free(block);
  if (!memory) GTEST_SKIP() << "no /proc/self/status here";
  EXPECT_GE(memory->peak_resident_bytes, size);
  EXPECT_LE(memory->resident_bytes, memory->peak_resident_bytes);
  const uint64_t by_rusage = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  // The two are kept apart by the kernel and may lag each other by a few pages.
  EXPECT_LE(memory->peak_resident_bytes, by_rusage + 4 * kMiB);
  EXPECT_GE(memory->peak_resident_bytes + 4 * kMiB, by_rusage);
}

// With the allocator configured, a large block freed goes back to the kernel at once.
TEST(ProcessMemory, LargeBlocksGoBackWhenFreed) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "the allocator is configured only with glibc";
#else
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) {
    GTEST_SKIP() << "MALLOC_MMAP_THRESHOLD_ set in the environment takes precedence";
  }
  ConfigureAllocator(2);
  const size_t size = 64 * kMiB;
  char* block = static_cast<char*>(std::malloc(size));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, size);
  const auto held = ReadProcessMemory();
  std::free(block);
  ReturnFreeMemory();
  const auto after = ReadProcessMemory();
  if (!held || !after) GTEST_SKIP() << "no /proc/self/status here";
  EXPECT_LT(after->resident_bytes + 48 * kMiB, held->resident_bytes);
#endif
}

TEST(ProcessMemory, ArenasFollowTheCoresWithinBounds) {
  EXPECT_GE(DefaultMallocArenas(), 2);
  EXPECT_LE(DefaultMallocArenas(), 4);
}

}  // namespace
}  // namespace smi::base
