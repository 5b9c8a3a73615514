#include "sources/sidecars/gzip_inflater.h"

#include <zlib.h>

#include <algorithm>

namespace smi::sources::sidecars {

namespace {
// Inflated bytes per zlib call: the output grows by at most this much beyond what it holds.
constexpr size_t kStep = 64 * 1024;
}  // namespace

struct GzipInflater::Stream {
  z_stream z{};
};

GzipInflater::GzipInflater() : stream_(std::make_unique<Stream>()) {}

GzipInflater::~GzipInflater() {
  if (initialized_) inflateEnd(&stream_->z);
}

bool GzipInflater::Reset() {
  ended_ = false;
  error_.clear();
  if (initialized_) return inflateReset(&stream_->z) == Z_OK;
  stream_->z = {};
  initialized_ = inflateInit2(&stream_->z, 16 + MAX_WBITS) == Z_OK;  // 16: the gzip wrapper only
  return initialized_;
}

GzipInflater::Result GzipInflater::Feed(std::string_view in, std::string& out, size_t& used,
                                        size_t limit) {
  if (!initialized_) return Fail("the inflater was not started");
  z_stream& z = stream_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  while (z.avail_in > 0) {
    if (ended_) {  // another member follows
      if (inflateReset(&z) != Z_OK) return Fail("cannot restart the gzip stream");
      ended_ = false;
    }
    const size_t room = std::min(kStep, limit + 1 - used);
    if (out.size() < used + room) out.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_NO_FLUSH);
    used += room - z.avail_out;
    if (used > limit) return Result::kTooLarge;
    if (rc == Z_STREAM_END) {
      ended_ = true;
    } else if (rc != Z_OK) {
      // With input and room left, Z_BUF_ERROR cannot mean "more input": an error too.
      return Fail(z.msg ? z.msg : "zlib error " + std::to_string(rc));
    }
  }
  return Result::kOk;
}

GzipInflater::Result GzipInflater::Fail(std::string why) {
  error_ = std::move(why);
  return Result::kError;
}

}  // namespace smi::sources::sidecars
