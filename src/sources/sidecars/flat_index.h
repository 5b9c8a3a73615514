// Internal to src/sources/sidecars: a seeded 64-bit hash of bytes, and a flat open-addressing
// index from hashes to the caller's own ids (the caller keeps the keys; the index keeps 4 bytes
// per slot). Used where a std::unordered_map would cost a heap node per entry.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace smi::sources::sidecars {

// The process' hash seed, random per process so that a payload cannot be crafted to collide.
uint64_t HashSeed();

// A 64-bit hash of `bytes` (MurmurHash64A's mixing over 8-byte words, seeded).
inline uint64_t HashBytes(std::string_view bytes, uint64_t seed = HashSeed()) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ULL;
  constexpr int r = 47;
  uint64_t h = seed ^ (bytes.size() * m);
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n >= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t k = 0;
    std::memcpy(&k, p, n);
    h ^= k;
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

// Combines a further 64-bit value into a hash (for keys made of several parts).
inline uint64_t HashCombine(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xc6a4a7935bd1e995ULL;
  return h ^ (h >> 47);
}

// Maps 64-bit hashes to uint32 ids. Lookups take the key's hash and a predicate telling whether
// an id holds the key (the caller compares its own stored key). Linear probing, at most three
// quarters full, deletion by backward shift so that no tombstones accumulate.
class FlatIndex {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  // The id whose key matches, or kNone. `matches(id)` compares the caller's key of `id`.
  template <class Matches>
  uint32_t Find(uint64_t hash, Matches&& matches) const {
    if (slots_.empty()) return kNone;
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const uint32_t stored = slots_[i];
      if (stored == 0) return kNone;
      if (matches(stored - 1)) return stored - 1;
    }
  }

  // Adds `id` under `hash` (the caller has checked that its key is not present).
  // `hash_of(id)` recomputes the hash of a stored id, needed when the table grows.
  template <class HashOf>
  void Insert(uint64_t hash, uint32_t id, HashOf&& hash_of) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow(hash_of);
    Place(hash, id);
    ++size_;
  }

  // Removes `id`, stored under `hash`.
  template <class HashOf>
  void Erase(uint64_t hash, uint32_t id, HashOf&& hash_of) {
    if (slots_.empty()) return;
    size_t i = hash & mask_;
    for (;; i = (i + 1) & mask_) {
      if (slots_[i] == 0) return;  // not present
      if (slots_[i] == id + 1) break;
    }
    // Backward-shift deletion: move later members of the probe run into the hole when their
    // home slot does not lie cyclically in (hole, current].
    size_t hole = i;
    for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j] == 0) break;
      const size_t home = hash_of(slots_[j] - 1) & mask_;
      const bool home_in_range =
          hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!home_in_range) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = 0;
    --size_;
  }

  void Clear() {
    std::fill(slots_.begin(), slots_.end(), 0u);
    size_ = 0;
  }
  // Drops the slots too (after the caller renumbered its ids and will re-insert them).
  void Reset() {
    slots_.clear();
    slots_.shrink_to_fit();
    mask_ = 0;
    size_ = 0;
  }
  size_t size() const { return size_; }
  size_t bytes() const { return slots_.capacity() * sizeof(uint32_t); }

 private:
  void Place(uint64_t hash, uint32_t id) {
    size_t i = hash & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = id + 1;
  }
  template <class HashOf>
  void Grow(HashOf&& hash_of) {
    std::vector<uint32_t> old = std::move(slots_);
    const size_t capacity = old.empty() ? 16 : old.size() * 2;
    slots_.assign(capacity, 0u);
    mask_ = capacity - 1;
    for (const uint32_t stored : old) {
      if (stored != 0) Place(hash_of(stored - 1), stored - 1);
    }
  }

  std::vector<uint32_t> slots_;  // id + 1; 0 is empty
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace smi::sources::sidecars
