#include "base/process_memory.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace smi::base {

void ConfigureAllocator(int arenas) {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, std::max(arenas, 1));
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 1 << 20);
#else
  (void)arenas;
#endif
}

int DefaultMallocArenas() {
  return std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 2, 4);
}

void ReturnFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

std::optional<ProcessMemory> ReadProcessMemory() {
  std::ifstream in("/proc/self/status");
  if (!in) return std::nullopt;
  ProcessMemory m;
  bool found = false;
  // Lines such as "VmRSS:	   12345 kB".
  auto kib = [](const std::string& line) {
    return std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10) * 1024;
  };
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) {
      m.resident_bytes = kib(line);
      found = true;
    } else if (line.starts_with("VmHWM:")) {
      m.peak_resident_bytes = kib(line);
    }
  }
  if (!found) return std::nullopt;
  return m;
}

}  // namespace smi::base
