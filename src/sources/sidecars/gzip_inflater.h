// Inflating gzip answers as they arrive, with a limit on the inflated size: the scraper's way of
// taking `Content-Encoding: gzip` without ever holding more than the limit.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace smi::sources::sidecars {

class GzipInflater {
 public:
  enum class Result { kOk, kTooLarge, kError };

  GzipInflater();
  ~GzipInflater();
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  // Starts a new body (keeping zlib's state allocated); false when zlib cannot (out of memory).
  bool Reset();
  // Inflates `in`, the next compressed bytes of the body, into `out` after its first `used`
  // bytes, advancing `used` (`out` may be longer than `used`: its capacity is reused). Stops one
  // byte past `limit` with kTooLarge, so that a body of exactly `limit` bytes is whole. Several
  // gzip members in a row make one body, as Go's reader (and so Prometheus) accepts.
  Result Feed(std::string_view in, std::string& out, size_t& used, size_t limit);
  // Whether the body so far ends at the end of a member: otherwise it was cut short.
  bool Finished() const { return ended_; }
  // Why the last Feed failed (zlib's words).
  const std::string& error() const { return error_; }

 private:
  Result Fail(std::string why);

  struct Stream;  // zlib's z_stream, kept out of this header
  std::unique_ptr<Stream> stream_;
  bool initialized_ = false;
  bool ended_ = false;
  std::string error_;
};

}  // namespace smi::sources::sidecars
