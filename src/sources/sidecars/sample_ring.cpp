#include "sources/sidecars/sample_ring.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace smi::sources::sidecars {
namespace {

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// A non-negative integer that a double holds exactly (and that is not -0).
bool IsCount(double v) {
  return v >= 0 && v < kMaxExactInteger && v == std::floor(v) && !std::signbit(v);
}

uint32_t PutVarint(uint64_t v, uint8_t* out) {
  uint32_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<uint8_t>(v);
  return n;
}

}  // namespace

SampleRing::~SampleRing() {
  if (on_heap_) delete[] heap();
}

SampleRing::SampleRing(SampleRing&& other) noexcept { *this = std::move(other); }

SampleRing& SampleRing::operator=(SampleRing&& other) noexcept {
  if (this == &other) return *this;
  if (on_heap_) delete[] heap();
  base_ = other.base_;
  first_seq_ = other.first_seq_;
  end_seq_ = other.end_seq_;
  values_ = other.values_;
  last_is_value_ = other.last_is_value_;
  on_heap_ = other.on_heap_;
  begin_ = other.begin_;
  end_ = other.end_;
  cap_ = other.cap_;
  std::memcpy(storage_, other.storage_, kInline);
  other.on_heap_ = 0;
  other.cap_ = kInline;
  other.begin_ = other.end_ = 0;
  other.values_ = 0;
  return *this;
}

double SampleRing::DecodeValue(uint64_t tag, const uint8_t*& p, double previous) {
  if (tag == 2) {
    double v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
  if (tag == 3) return static_cast<double>(ReadVarint(p));
  return previous + static_cast<double>(tag - 4);
}

double SampleRing::LastValue() const {
  double last = base_;
  ForEach([&](uint32_t, bool stale, double value) {
    if (!stale) last = value;
    return true;
  });
  return last;
}

void SampleRing::DropFront() {
  const uint8_t* start = data();
  const uint8_t* p = start + begin_;
  const uint64_t tag = ReadVarint(p);
  if (tag == 0) {
    first_seq_ += static_cast<uint32_t>(ReadVarint(p));
  } else {
    if (tag != 1) {
      base_ = DecodeValue(tag, p, base_);
      --values_;
    }
    ++first_seq_;
  }
  begin_ = static_cast<uint16_t>(p - start);
  if (begin_ == end_) {
    begin_ = end_ = 0;
    first_seq_ = end_seq_;
  }
}

void SampleRing::Put(const uint8_t* token, uint32_t n) {
  uint32_t size = end_ - begin_;
  // A stream at its size limit loses its oldest samples first.
  while (size + n > kMaxBytes && size > 0) {
    DropFront();
    size = end_ - begin_;
  }
  if (end_ + n > cap_) {
    uint8_t* buffer = data();
    if (size + n <= cap_) {
      std::memmove(buffer, buffer + begin_, size);
    } else {
      // Grow by half: a stream's length is set by the retention, so slack stays for good.
      uint32_t capacity = cap_;
      while (capacity < size + n)
        capacity = std::min<uint32_t>((capacity * 3 / 2 + 7) & ~7u, kMaxBytes);
      auto* grown = new uint8_t[capacity];
      std::memcpy(grown, buffer + begin_, size);
      if (on_heap_) delete[] heap();
      set_heap(grown);
      on_heap_ = 1;
      cap_ = static_cast<uint16_t>(capacity);
    }
    begin_ = 0;
    end_ = static_cast<uint16_t>(size);
  }
  std::memcpy(data() + end_, token, n);
  end_ = static_cast<uint16_t>(end_ + n);
}

void SampleRing::AppendValue(uint32_t seq, double value) {
  uint8_t token[16];
  uint32_t n = 0;
  if (empty()) {
    first_seq_ = end_seq_ = seq;
  } else if (seq > end_seq_) {
    n = PutVarint(0, token);
    n += PutVarint(seq - end_seq_, token + n);
    Put(token, n);
    n = 0;
  }
  const double last = LastValue();
  if (IsCount(value) && IsCount(last) && value >= last) {
    n = PutVarint(4 + static_cast<uint64_t>(value - last), token);
  } else if (IsCount(value)) {
    n = PutVarint(3, token);
    n += PutVarint(static_cast<uint64_t>(value), token + n);
  } else {
    n = PutVarint(2, token);
    std::memcpy(token + n, &value, sizeof value);
    n += sizeof value;
  }
  Put(token, n);
  end_seq_ = seq + 1;
  ++values_;
  last_is_value_ = 1;
}

void SampleRing::AppendStale(uint32_t seq) {
  uint8_t token[16];
  uint32_t n = 0;
  if (empty()) {
    first_seq_ = end_seq_ = seq;
  } else if (seq > end_seq_) {
    n = PutVarint(0, token);
    n += PutVarint(seq - end_seq_, token + n);
  }
  n += PutVarint(1, token + n);
  Put(token, n);
  end_seq_ = seq + 1;
  last_is_value_ = 0;
}

void SampleRing::DropBefore(uint32_t seq) {
  while (!empty()) {
    const uint8_t* p = data() + begin_;
    const bool gap = *p == 0;  // varint 0 is the single byte 0
    if (!gap && first_seq_ >= seq) break;
    DropFront();  // a gap at the front carries nothing: always dropped
  }
}

void SampleRing::Shrink() {
  if (!on_heap_) return;
  const uint32_t size = end_ - begin_;
  uint8_t* old = heap();
  if (size <= kInline) {
    std::memcpy(storage_, old + begin_, size);
    delete[] old;
    on_heap_ = 0;
    cap_ = kInline;
  } else if (size * 2 <= cap_) {
    const uint32_t capacity = std::min<uint32_t>((size + size / 4 + 7) & ~7u, kMaxBytes);
    auto* smaller = new uint8_t[capacity];
    std::memcpy(smaller, old + begin_, size);
    delete[] old;
    set_heap(smaller);
    cap_ = static_cast<uint16_t>(capacity);
  } else {
    return;
  }
  begin_ = 0;
  end_ = static_cast<uint16_t>(size);
}

}  // namespace smi::sources::sidecars
