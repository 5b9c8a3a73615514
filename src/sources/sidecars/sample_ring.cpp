#include "sources/sidecars/sample_ring.h"

#include <cmath>
#include <cstring>
#include <new>
#include <utility>

namespace smi::sources::sidecars {
namespace {

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// A non-negative integer that a double holds exactly (and that is not -0).
bool IsCount(double v) {
  return v >= 0 && v < kMaxExactInteger && v == std::floor(v) && !std::signbit(v);
}

}  // namespace

SampleRing::~SampleRing() {
  if (cap_ > kInline) delete[] heap_;
}

SampleRing::SampleRing(SampleRing&& other) noexcept { *this = std::move(other); }

SampleRing& SampleRing::operator=(SampleRing&& other) noexcept {
  if (this == &other) return *this;
  if (cap_ > kInline) delete[] heap_;
  base_ = other.base_;
  last_ = other.last_;
  cap_ = other.cap_;
  begin_ = other.begin_;
  end_ = other.end_;
  first_seq_ = other.first_seq_;
  end_seq_ = other.end_seq_;
  values_ = other.values_;
  last_is_value_ = other.last_is_value_;
  if (other.cap_ > kInline) {
    heap_ = other.heap_;
  } else {
    std::memcpy(inline_, other.inline_, kInline);
  }
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

void SampleRing::Reserve(uint32_t n) {
  if (end_ + n <= cap_) return;
  const uint32_t size = end_ - begin_;
  uint8_t* buffer = data();
  if (size + n <= cap_ && begin_ > 0) {
    std::memmove(buffer, buffer + begin_, size);
  } else {
    uint32_t capacity = cap_ * 2;
    while (capacity < size + n) capacity *= 2;
    auto* grown = new uint8_t[capacity];
    std::memcpy(grown, buffer + begin_, size);
    if (cap_ > kInline) delete[] heap_;
    heap_ = grown;
    cap_ = capacity;
  }
  begin_ = 0;
  end_ = size;
}

void SampleRing::PutVarint(uint64_t v) {
  uint8_t* out = data() + end_;
  while (v >= 0x80) {
    *out++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<uint8_t>(v);
  end_ = static_cast<uint32_t>(out - data());
}

void SampleRing::PutGap(uint32_t scrapes) {
  Reserve(1 + 5);
  PutVarint(0);
  PutVarint(scrapes);
}

void SampleRing::AppendValue(uint32_t seq, double value) {
  if (empty()) {
    first_seq_ = end_seq_ = seq;
  } else if (seq > end_seq_) {
    PutGap(seq - end_seq_);
  }
  Reserve(1 + 10);
  if (IsCount(value) && IsCount(last_) && value >= last_) {
    PutVarint(4 + static_cast<uint64_t>(value - last_));
  } else if (IsCount(value)) {
    PutVarint(3);
    PutVarint(static_cast<uint64_t>(value));
  } else {
    PutVarint(2);
    std::memcpy(data() + end_, &value, sizeof value);
    end_ += sizeof value;
  }
  last_ = value;
  end_seq_ = seq + 1;
  ++values_;
  last_is_value_ = 1;
}

void SampleRing::AppendStale(uint32_t seq) {
  if (empty()) {
    first_seq_ = end_seq_ = seq;
  } else if (seq > end_seq_) {
    PutGap(seq - end_seq_);
  }
  Reserve(1);
  PutVarint(1);
  end_seq_ = seq + 1;
  last_is_value_ = 0;
}

void SampleRing::DropBefore(uint32_t seq) {
  const uint8_t* start = data();
  const uint8_t* p = start + begin_;
  const uint8_t* end = start + end_;
  bool dropped = false;
  while (p < end) {
    const uint8_t* token = p;
    const uint64_t tag = ReadVarint(p);
    if (tag == 0) {
      // A gap carries nothing: drop it whenever it is at the front.
      first_seq_ += static_cast<uint32_t>(ReadVarint(p));
      dropped = true;
      continue;
    }
    if (first_seq_ >= seq) {
      p = token;
      break;
    }
    if (tag != 1) {
      base_ = DecodeValue(tag, p, base_);
      --values_;
    }
    ++first_seq_;
    dropped = true;
  }
  if (!dropped) return;
  begin_ = static_cast<uint32_t>(p - start);
  if (begin_ == end_) {
    begin_ = end_ = 0;
    first_seq_ = end_seq_;
    base_ = last_;
  }
}

void SampleRing::Shrink() {
  if (cap_ <= kInline) return;
  const uint32_t size = end_ - begin_;
  if (size <= kInline) {
    uint8_t* old = heap_;
    std::memcpy(inline_, old + begin_, size);
    delete[] old;
    cap_ = kInline;
  } else if (size * 4 <= cap_) {
    uint32_t capacity = kInline;
    while (capacity < size * 2) capacity *= 2;
    auto* smaller = new uint8_t[capacity];
    std::memcpy(smaller, heap_ + begin_, size);
    delete[] heap_;
    heap_ = smaller;
    cap_ = capacity;
  } else {
    return;
  }
  begin_ = 0;
  end_ = size;
}

}  // namespace smi::sources::sidecars
