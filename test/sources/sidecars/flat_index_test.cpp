// HashBytes, which names a series by the hash of its text as written: different texts must not
// collide, whatever their length and however little they differ, and the low bits that pick a
// FlatIndex slot must spread.
#include "sources/sidecars/flat_index.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>
#include <vector>

namespace smi::sources::sidecars {
namespace {

// A series text in the shape of a proxy's, of about 220 bytes.
std::string SeriesText(int i) {
  return "response_latency_ms_bucket{direction=\"inbound\",authority=\"web.emojivoto.svc.cluster."
         "local:8080\",target_addr=\"10.0.0.1:8080\",tls=\"true\",client_id=\"default.emojivoto."
         "serviceaccount.identity.linkerd.cluster.local\",status_code=\"200\",le=\"" +
         std::to_string(i) + "\"}";
}

TEST(HashBytes, TheSameTextTheSameHash) {
  const std::string text = SeriesText(7);
  EXPECT_EQ(HashBytes(text), HashBytes(std::string(text)));
  EXPECT_EQ(HashBytes(""), HashBytes(std::string_view()));
}

TEST(HashBytes, EveryPrefixOfATextDiffers) {
  // Lengths 0..600 cross every boundary of the hash's blocks (4, 8, 16, 48 bytes).
  std::string text;
  while (text.size() < 600) text += SeriesText(static_cast<int>(text.size()));
  std::unordered_set<uint64_t> seen;
  for (size_t n = 0; n <= text.size(); ++n) {
    EXPECT_TRUE(seen.insert(HashBytes(std::string_view(text).substr(0, n))).second) << n;
  }
  // The same length, padded with zero bytes, is still another text.
  EXPECT_NE(HashBytes(std::string("ab", 2)), HashBytes(std::string("ab\0", 3)));
  EXPECT_NE(HashBytes(std::string(16, '\0')), HashBytes(std::string(17, '\0')));
}

TEST(HashBytes, EverySingleBitChangeChangesTheHash) {
  for (const size_t size : {1u, 3u, 7u, 8u, 15u, 16u, 17u, 47u, 48u, 49u, 100u, 221u, 500u}) {
    std::string text = SeriesText(3);
    while (text.size() < size) text += text;
    text.resize(size);
    const uint64_t original = HashBytes(text);
    std::unordered_set<uint64_t> seen = {original};
    for (size_t byte = 0; byte < size; ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        text[byte] = static_cast<char>(text[byte] ^ (1 << bit));
        EXPECT_TRUE(seen.insert(HashBytes(text)).second) << "size " << size << " byte " << byte;
        text[byte] = static_cast<char>(text[byte] ^ (1 << bit));
      }
    }
  }
}

TEST(HashBytes, ManySimilarTextsSpreadOverSlots) {
  constexpr int kTexts = 200'000;
  constexpr size_t kSlots = 1 << 12;
  std::unordered_set<uint64_t> seen;
  std::vector<int> per_slot(kSlots);
  for (int i = 0; i < kTexts; ++i) {
    const uint64_t h = HashBytes(SeriesText(i));
    EXPECT_TRUE(seen.insert(h).second) << i;
    ++per_slot[h & (kSlots - 1)];
  }
  // About 49 per slot. With a uniform hash, fewer than 13 or more than 99 in any of the 4,096
  // slots has a probability of about one in a million (Poisson tails).
  for (size_t slot = 0; slot < kSlots; ++slot) {
    EXPECT_GT(per_slot[slot], 12) << slot;
    EXPECT_LT(per_slot[slot], 100) << slot;
  }
}

}  // namespace
}  // namespace smi::sources::sidecars
