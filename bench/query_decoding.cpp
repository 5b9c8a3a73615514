// Decoding a cluster-wide /api/v1/query answer: a synthetic vector answer like the latency buckets
// of every pod at 10,000 pods (270,000 samples of 7 labels each, about 50 MB), decoded by
// DecodeQueryAnswer (our JSON scanner) and by the same decoding over nlohmann's parser, in one
// run. Prints ms and MB/s of each (median of the repetitions) and the speed-up, for the whole
// decoding and for the two parsers alone (a reader that keeps nothing).
//
//   build-dir/bench/query_decoding_bench [SAMPLES] [REPETITIONS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sources/prometheus/api_decoding.h"
#include "sources/prometheus/json_scanner.h"

namespace {

using namespace smi::sources::prometheus;

std::string SyntheticAnswer(int samples) {
  static const char* const kLe[] = {"0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1",
                                    "5",     "10",    "50",   "100",  "500", "+Inf"};
  std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)";
  body.reserve(static_cast<size_t>(samples) * 120);
  for (int i = 0; i < samples; ++i) {
    const int pod = i / 27, ns = pod / 500, deployment = pod / 10;
    if (i > 0) body += ',';
    body += R"({"metric":{"deployment":"web-)" + std::to_string(deployment) + R"(","direction":")" +
            (i % 2 ? "inbound" : "outbound") + R"(","instance":"10.)" +
            std::to_string(pod / 256 % 256) + "." + std::to_string(pod % 256) +
            R"(:4191","job":"linkerd","le":")" + kLe[i % 13] + R"(","namespace":"ns-)" +
            std::to_string(ns) + R"(","pod":"web-)" + std::to_string(deployment) + "-" +
            std::to_string(10000 + pod) + R"("},"value":[1796185939.123,")" +
            std::to_string(i % 1000) + R"(.5"]})";
  }
  body += "]}}";
  return body;
}

// The time of one decoding in ms; `samples`: how many it decoded.
template <typename Decode>
double DecodeMs(Decode decode, const HttpAnswer& answer, size_t* samples) {
  const auto start = std::chrono::steady_clock::now();
  const QueryResult result = decode(answer, "Prometheus at http://bench");
  const auto stop = std::chrono::steady_clock::now();
  *samples = result.samples.size();
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

// A reader that only counts strings: the parsers alone, without the samples' maps.
class StringCount final : public nlohmann::json_sax<nlohmann::json> {
 public:
  size_t strings = 0;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return ++strings > 0; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool key(string_t&) override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
};

template <typename Parse>
double ParseMs(Parse parse, size_t* strings) {
  StringCount count;
  const auto start = std::chrono::steady_clock::now();
  parse(count);
  const auto stop = std::chrono::steady_clock::now();
  *strings = count.strings;
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int samples = argc > 1 ? std::atoi(argv[1]) : 270000;
  const int repetitions = argc > 2 ? std::atoi(argv[2]) : 7;
  const HttpAnswer answer{200, "application/json", SyntheticAnswer(samples)};
  const double mb = answer.body.size() / 1e6;
  std::printf("answer: %d samples, %.1f MB, median of %d decodings each\n", samples, mb,
              repetitions);
  // The two alternate, so that neither runs on a machine the other left warmer or busier.
  size_t n_library = 0, n_ours = 0;
  std::vector<double> library_ms, ours_ms;
  for (int r = 0; r < repetitions; ++r) {
    library_ms.push_back(DecodeMs(DecodeQueryAnswerWithLibraryParser, answer, &n_library));
    ours_ms.push_back(DecodeMs(DecodeQueryAnswer, answer, &n_ours));
  }
  const double library = Median(library_ms), ours = Median(ours_ms);
  size_t strings_library = 0, strings_ours = 0;
  std::vector<double> parse_library_ms, parse_ours_ms;
  for (int r = 0; r < repetitions; ++r) {
    parse_library_ms.push_back(ParseMs(
        [&](StringCount& c) { nlohmann::json::sax_parse(answer.body, &c); }, &strings_library));
    parse_ours_ms.push_back(
        ParseMs([&](StringCount& c) { ScanJson(answer.body, c); }, &strings_ours));
  }
  const double parse_library = Median(parse_library_ms), parse_ours = Median(parse_ours_ms);
  if (n_library != static_cast<size_t>(samples) || n_ours != n_library) {
    std::fprintf(stderr, "decoded %zu and %zu samples, expected %d\n", n_library, n_ours, samples);
    return 1;
  }
  std::printf("nlohmann parser: %8.1f ms %8.1f MB/s\n", library, mb / (library / 1e3));
  std::printf("JSON scanner:    %8.1f ms %8.1f MB/s\n", ours, mb / (ours / 1e3));
  std::printf("speed-up: %.2fx\n", library / ours);
  if (strings_library != strings_ours) {
    std::fprintf(stderr, "the parsers read %zu and %zu strings\n", strings_library, strings_ours);
    return 1;
  }
  std::printf("parsing alone (no samples kept):\n");
  std::printf("nlohmann parser: %8.1f ms %8.1f MB/s\n", parse_library, mb / (parse_library / 1e3));
  std::printf("JSON scanner:    %8.1f ms %8.1f MB/s\n", parse_ours, mb / (parse_ours / 1e3));
  std::printf("speed-up: %.2fx\n", parse_library / parse_ours);
  return 0;
}
