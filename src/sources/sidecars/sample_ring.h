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
// lives in the object itself up to kInline bytes (5 minutes at a 10 s interval for a quiet
// series), on the heap beyond. No allocation per sample: the buffer grows geometrically and
// old tokens are dropped from the front.
#pragma once

#include <cstddef>
#include <cstdint>

namespace smi::sources::sidecars {

class SampleRing {
 public:
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
  size_t heap_bytes() const { return cap_ > kInline ? cap_ : 0; }
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
  static constexpr uint32_t kInline = 40;

  static uint64_t ReadVarint(const uint8_t*& p) {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t byte = *p++;
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
  }
  static double DecodeValue(uint64_t tag, const uint8_t*& p, double previous);

  uint8_t* data() { return cap_ > kInline ? heap_ : inline_; }
  const uint8_t* data() const { return cap_ > kInline ? heap_ : inline_; }
  // Room for n more bytes at the end.
  void Reserve(uint32_t n);
  void PutVarint(uint64_t v);
  void PutGap(uint32_t scrapes);

  double base_ = 0;  // the value before the first token (a delta token needs it)
  double last_ = 0;  // the value after the last token (the next delta starts from it)
  union {
    uint8_t* heap_;
    uint8_t inline_[kInline];
  };
  uint32_t cap_ = kInline;
  uint32_t begin_ = 0;
  uint32_t end_ = 0;
  uint32_t first_seq_ = 0;  // the scrape the first token covers
  uint32_t end_seq_ = 0;    // one past the last scrape covered
  uint32_t values_ : 31 = 0;
  uint32_t last_is_value_ : 1 = 0;
};

}  // namespace smi::sources::sidecars
