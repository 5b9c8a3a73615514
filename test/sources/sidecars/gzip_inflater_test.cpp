// Inflating gzip bodies as they arrive, within a limit. The compressed inputs are made by the
// gzip program (a fixed byte string) and by zlib's deflate, never by the code under test.
#include "sources/sidecars/gzip_inflater.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <stdexcept>
#include <string>

namespace smi::sources::sidecars {
namespace {

// `printf 'up 1\nrequest_total{direction="inbound"} 7\n' | gzip -n -9`
const unsigned char kGzipProgramOutput[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x2b, 0x2d, 0x50, 0x30, 0xe4, 0x2a,
    0x4a, 0x2d, 0x2c, 0x4d, 0x2d, 0x2e, 0x89, 0x2f, 0xc9, 0x2f, 0x49, 0xcc, 0xa9, 0x4e, 0xc9, 0x2c,
    0x4a, 0x4d, 0x2e, 0xc9, 0xcc, 0xcf, 0xb3, 0x55, 0xca, 0xcc, 0x4b, 0xca, 0x2f, 0xcd, 0x4b, 0x51,
    0xaa, 0x55, 0x30, 0xe7, 0x02, 0x00, 0xad, 0x57, 0x54, 0xab, 0x2a, 0x00, 0x00, 0x00};
const std::string kGzipProgramInput = "up 1\nrequest_total{direction=\"inbound\"} 7\n";

std::string FromGzipProgram() {
  return std::string(reinterpret_cast<const char*>(kGzipProgramOutput), sizeof kGzipProgramOutput);
}

std::string Deflate(const std::string& data) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Inflates `compressed` fed in pieces of `piece` bytes; the body, or the result that stopped it.
struct Inflated {
  GzipInflater::Result result = GzipInflater::Result::kOk;
  bool finished = false;
  std::string body;
};
Inflated Inflate(GzipInflater& inflater, const std::string& compressed, size_t limit,
                 size_t piece = 1 << 20) {
  Inflated r;
  EXPECT_TRUE(inflater.Reset());
  std::string out;
  size_t used = 0;
  for (size_t i = 0; i < compressed.size() && r.result == GzipInflater::Result::kOk; i += piece) {
    r.result = inflater.Feed(std::string_view(compressed).substr(i, piece), out, used, limit);
  }
  r.finished = inflater.Finished();
  r.body = out.substr(0, used);
  return r;
}

TEST(GzipInflaterTest, InflatesWhatTheGzipProgramWrote) {
  GzipInflater inflater;
  const Inflated r = Inflate(inflater, FromGzipProgram(), 1000);
  EXPECT_EQ(r.result, GzipInflater::Result::kOk);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.body, kGzipProgramInput);
}

TEST(GzipInflaterTest, ByteByByteGivesTheSameBody) {
  GzipInflater inflater;
  const Inflated r = Inflate(inflater, FromGzipProgram(), 1000, 1);
  EXPECT_EQ(r.result, GzipInflater::Result::kOk);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.body, kGzipProgramInput);
}

TEST(GzipInflaterTest, ConcatenatedMembersAreOneBody) {
  std::string large;
  for (int i = 0; i < 20000; ++i) large += "line " + std::to_string(i) + "\n";  // > one step
  GzipInflater inflater;
  const Inflated r =
      Inflate(inflater, FromGzipProgram() + Deflate(large) + FromGzipProgram(), 1 << 20, 4096);
  EXPECT_EQ(r.result, GzipInflater::Result::kOk);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.body, kGzipProgramInput + large + kGzipProgramInput);
}

TEST(GzipInflaterTest, TheLimitIsOnTheInflatedSize) {
  const std::string body(100000, 'z');  // compresses to a few hundred bytes
  GzipInflater inflater;
  const Inflated exact = Inflate(inflater, Deflate(body), body.size());
  EXPECT_EQ(exact.result, GzipInflater::Result::kOk);
  EXPECT_EQ(exact.body, body);
  const Inflated over = Inflate(inflater, Deflate(body), body.size() - 1);  // reused inflater
  EXPECT_EQ(over.result, GzipInflater::Result::kTooLarge);
  EXPECT_EQ(over.body.size(), body.size());  // stopped one byte past the limit, not later
}

TEST(GzipInflaterTest, CutShortIsNotFinished) {
  const std::string compressed = FromGzipProgram();
  GzipInflater inflater;
  const Inflated r = Inflate(inflater, compressed.substr(0, compressed.size() - 5), 1000);
  EXPECT_EQ(r.result, GzipInflater::Result::kOk);
  EXPECT_FALSE(r.finished);
}

TEST(GzipInflaterTest, NotGzipIsAnErrorWithZlibsReason) {
  GzipInflater inflater;
  const Inflated r = Inflate(inflater, "# TYPE up gauge\nup 1\n", 1000);
  EXPECT_EQ(r.result, GzipInflater::Result::kError);
  EXPECT_FALSE(inflater.error().empty());
  // The same inflater starts over cleanly.
  EXPECT_EQ(Inflate(inflater, FromGzipProgram(), 1000).body, kGzipProgramInput);
}

TEST(GzipInflaterTest, ACorruptChecksumIsAnError) {
  std::string compressed = FromGzipProgram();
  compressed[compressed.size() - 6] ^= 0x01;  // inside the CRC-32 of the trailer
  GzipInflater inflater;
  EXPECT_EQ(Inflate(inflater, compressed, 1000).result, GzipInflater::Result::kError);
}

}  // namespace
}  // namespace smi::sources::sidecars
