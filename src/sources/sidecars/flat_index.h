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

namespace hash_detail {

// The keys HashBytes mixes the bytes with, derived from the seed (SplitMix64): secret like it, so
// that no input can be chosen to cancel a product.
struct Keys {
  uint64_t k[4];
};
inline Keys MakeKeys(uint64_t seed) {
  Keys keys;
  for (uint64_t& k : keys.k) {
    seed += 0x9e3779b97f4a7c15ULL;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    k = (z ^ (z >> 31)) | 1;  // odd: never a zero factor
  }
  return keys;
}
inline const Keys& ProcessKeys() {
  static const Keys keys = MakeKeys(HashSeed());
  return keys;
}
// The 128-bit product of a and b, folded to 64 bits.
inline uint64_t Mix(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
inline uint64_t Read8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t Read4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace hash_detail

// A 64-bit hash of `bytes`, keyed by the process' seed. A line's series text (a few hundred
// bytes) is hashed once per scrape, so speed matters: 16 bytes per 64x64->128-bit product, three
// independent products per 48 bytes (the structure of wyhash), every product keyed by a secret
// factor.
inline uint64_t HashBytes(std::string_view bytes) {
  using hash_detail::Mix;
  using hash_detail::Read4;
  using hash_detail::Read8;
  const uint64_t* k = hash_detail::ProcessKeys().k;
  const char* p = bytes.data();
  size_t n = bytes.size();
  uint64_t state = k[0] ^ Mix(n ^ k[1], k[2]);
  uint64_t a = 0;
  uint64_t b = 0;
  if (n <= 16) {
    if (n >= 4) {
      // Two overlapping reads cover 4..16 bytes.
      const size_t q = (n >> 3) << 2;
      a = (Read4(p) << 32) | Read4(p + q);
      b = (Read4(p + n - 4) << 32) | Read4(p + n - 4 - q);
    } else if (n > 0) {
      a = (static_cast<uint64_t>(static_cast<unsigned char>(p[0])) << 16) |
          (static_cast<uint64_t>(static_cast<unsigned char>(p[n >> 1])) << 8) |
          static_cast<unsigned char>(p[n - 1]);
    }
  } else {
    if (n > 48) {
      uint64_t s1 = state;
      uint64_t s2 = state;
      do {
        state = Mix(Read8(p) ^ k[1], Read8(p + 8) ^ state);
        s1 = Mix(Read8(p + 16) ^ k[2], Read8(p + 24) ^ s1);
        s2 = Mix(Read8(p + 32) ^ k[3], Read8(p + 40) ^ s2);
        p += 48;
        n -= 48;
      } while (n > 48);
      state ^= s1 ^ s2;
    }
    while (n > 16) {
      state = Mix(Read8(p) ^ k[1], Read8(p + 8) ^ state);
      p += 16;
      n -= 16;
    }
    // The last 16 bytes, overlapping what came before when fewer are left.
    a = Read8(p + n - 16);
    b = Read8(p + n - 8);
  }
  return Mix(k[1] ^ bytes.size(), Mix(a ^ k[1], b ^ state));
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
