// The process' own memory: how the allocator is set up, what the kernel says it holds, and
// handing freed memory back.
#pragma once

#include <cstdint>
#include <optional>

namespace smi::base {

// Limits glibc's malloc to `arenas` arenas (at least 1) and serves blocks of 1 MiB and more
// straight from mmap, so that a large answer's buffers go back to the kernel when freed. Without
// it every thread that allocates may get an arena of its own, and the memory of a large answer
// stays with the arena of whichever thread decoded it. Call before any thread starts. A
// MALLOC_ARENA_MAX or MALLOC_MMAP_THRESHOLD_ from the environment is left as given. No effect
// without glibc.
void ConfigureAllocator(int arenas);

// The number of arenas ConfigureAllocator uses on this machine: one per core, from 2 to 4.
int DefaultMallocArenas();

// Gives free heap memory back to the kernel (glibc's malloc_trim); for after a large, short-lived
// allocation such as a decoded answer. No effect without glibc.
void ReturnFreeMemory();

struct ProcessMemory {
  uint64_t resident_bytes = 0;       // VmRSS
  uint64_t peak_resident_bytes = 0;  // VmHWM: the most ever resident
};

// From /proc/self/status; nullopt where there is no such file.
std::optional<ProcessMemory> ReadProcessMemory();

}  // namespace smi::base
