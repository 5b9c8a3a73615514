// Internal to src/sources/sidecars: the samples of one series, compactly, aligned to the
// scrapes of its target (scrape number `seq`; the target keeps one timestamp per seq).
//
// The samples are a byte stream of tokens, each covering one or more consecutive scrapes:
//
//   varint 0, varint n   a gap: n scrapes (n >= 1) in which the series was absent
//   varint 1             a staleness marker
//   varint 2, 8 bytes    a value, as the bytes of its double
//   varint 3, varint u   a value, the non-negative integer u (< 2^53)
//   varint 4 + d         a value, the previous value plus the non-negative integer d
//
// A counter that grew by less than 124 since the previous scrape costs one byte. The stream
// lives in the object itself up to kInline bytes (5 minutes at a 10 s interval for a counter
// growing by less than 124 per scrape), on the heap beyond. No allocation per sample: the
// buffer grows geometrically and old tokens are dropped from the front. A stream holds at most
// 65535 bytes (an hour at a 1 s interval needs at most 36 KB); beyond that its oldest samples
// are dropped early.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace smi::sources::sidecars {

class SampleRing {
 public:
  static constexpr uint32_t kInline = 34;

  SampleRing() = default;
  ~SampleRing();
  SampleRing(SampleRing&& other) noexcept;
  SampleRing& operator=(SampleRing&& other) noexcept;
  SampleRing(const SampleRing&) = delete;
  SampleRing& operator=(const SampleRing&) = delete;

  // The series' value in scrape `seq` (after every seq appended so far).
  void AppendValue(uint32_t seq, double value);
  // A staleness marker in scrape `seq`.
  void AppendStale(uint32_t seq);
  // Forgets the scrapes before `seq`; a gap left at the front is dropped too.
  void DropBefore(uint32_t seq);
  // Returns heap memory that the stream no longer needs.
  void Shrink();

  // Whether the series had a value (not a staleness marker) in scrape `seq`, the last appended.
  bool HasValueAt(uint32_t seq) const { return last_is_value_ && end_seq_ == seq + 1; }
  uint32_t values() const { return values_; }  // value tokens held
  bool empty() const { return begin_ == end_; }
  size_t heap_bytes() const { return on_heap_ ? cap_ : 0; }
  size_t stream_bytes() const { return end_ - begin_; }

  // Calls f(seq, stale, value) for every sample held, oldest first (gaps produce no call).
  // Returning false from f stops the walk.
  template <class F>
  void ForEach(F&& f) const {
    const uint8_t* p = data() + begin_;
    const uint8_t* end = data() + end_;
    uint32_t seq = first_seq_;
    double running = base_;
    while (p < end) {
      const uint64_t tag = ReadVarint(p);
      if (tag == 0) {
        seq += static_cast<uint32_t>(ReadVarint(p));
        continue;
      }
      if (tag == 1) {
        if (!f(seq, true, 0.0)) return;
        ++seq;
        continue;
      }
      running = DecodeValue(tag, p, running);
      if (!f(seq, false, running)) return;
      ++seq;
    }
  }

 private:
  static constexpr uint32_t kMaxBytes = 65535;

  static uint64_t ReadVarint(const uint8_t*& p) {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t byte = *p++;
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
  }
  static double DecodeValue(uint64_t tag, const uint8_t*& p, double previous);

  uint8_t* heap() const {
    uint8_t* p;
    std::memcpy(&p, storage_, sizeof p);
    return p;
  }
  void set_heap(uint8_t* p) { std::memcpy(storage_, &p, sizeof p); }
  uint8_t* data() { return on_heap_ ? heap() : storage_; }
  const uint8_t* data() const { return on_heap_ ? heap() : storage_; }
  double LastValue() const;  // the value after the last token (the next delta starts from it)
  // Appends one encoded token, making room for it.
  void Put(const uint8_t* token, uint32_t n);
  void DropFront();  // the first token

  // 60 bytes, with the owner's fields fitting in the tail padding (target_series.h).
  double base_ = 0;         // the value before the first token (a delta token needs it)
  uint32_t first_seq_ = 0;  // the scrape the first token covers
  uint32_t end_seq_ = 0;    // one past the last scrape covered
  uint32_t values_ : 30 = 0;
  uint32_t last_is_value_ : 1 = 0;
  uint32_t on_heap_ : 1 = 0;
  uint16_t begin_ = 0;
  uint16_t end_ = 0;
  uint16_t cap_ = kInline;
  uint8_t storage_[kInline];  // the stream, or (on_heap_) the pointer to it
};

}  // namespace smi::sources::sidecars
