// Proxy payloads: a /metrics body parsed by the sidecar parser (every family, and only a few as
// the store asks), then scraped twice into a series store and read back with Select,
// SelectInstant and Increase. Whatever a proxy serves, the result is samples or an error with a
// line number, never undefined behaviour, an exception or a broken invariant.
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "sources/sidecars/exposition_parser.h"
#include "sources/sidecars/increase.h"
#include "sources/sidecars/series_store.h"

namespace {

using namespace smi::sources::sidecars;

void CheckSample(const ExpositionSample& s, std::string_view text) {
  if (s.name.empty()) smi::fuzz::Fail("a sample without a name", text);
  if (s.line == 0) smi::fuzz::Fail("a sample without a line number", text);
  for (size_t a = 0; a < s.labels.size(); ++a) {
    if (s.labels[a].name.empty()) smi::fuzz::Fail("an empty label name", text);
    if (s.labels[a].name == "__name__") smi::fuzz::Fail("__name__ as a label", text);
    for (size_t b = 0; b < a; ++b) {
      if (s.labels[a].name == s.labels[b].name) smi::fuzz::Fail("duplicate label names", text);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = smi::fuzz::Text(data, size);
  ParseExpositionValue(text);

  static ExpositionParser* const all = new ExpositionParser();
  size_t kept = 0;
  const auto error = all->Parse(text, [&](const ExpositionSample& s) {
    CheckSample(s, text);
    ++kept;
  });
  if (error && error->line == 0) smi::fuzz::Fail("an error without a line number", text);
  if (kept != all->samples_kept() || kept > all->samples_seen()) {
    smi::fuzz::Fail("inconsistent sample counts", text);
  }
  const size_t lines = smi::fuzz::Lines(text).size();
  if (all->samples_seen() > lines) smi::fuzz::Fail("more samples than lines", text);

  // The same body twice into a store keeping a few families (the first word of the input is
  // one of them, so that fuzzed names are kept too).
  std::string first(text.substr(0, std::min<size_t>(text.find_first_of(" {\n"), 64)));
  Retained retained{{"response_total", "response_latency_ms_bucket", "a", first}};
  retained.max_series_per_target = 1000;
  SeriesStore store(std::chrono::minutes(5), retained);
  const LabelSet target({{"namespace", "ns"}, {"pod", "p"}});
  const IngestResult r1 = store.Ingest("ns/p", target, 10'000, text);
  const IngestResult r2 = store.Ingest("ns/p", target, 20'000, text);
  if (r1.ok != !error.has_value() && r1.error.find("series in one scrape") == std::string::npos) {
    smi::fuzz::Fail("the store and the parser disagree", text);
  }
  if (r1.ok != r2.ok) smi::fuzz::Fail("the same body parsed differently", text);
  // The second scrape reads the lines the first one checked by their known paths (kept series,
  // and texts of families not kept): it must count every sample line as the full path did.
  if (r1.ok && r2.samples_seen != r1.samples_seen) {
    smi::fuzz::Fail("the known paths counted other samples than the full path", text);
  }
  for (const std::string& metric : retained.metrics) {
    store.Select(metric, 0, 30'000, nullptr,
                 [&](const LabelSet&, const std::vector<Sample>& samples) {
                   if (samples.empty() || samples.size() > 2) {
                     smi::fuzz::Fail("a series with a sample per scrape expected", text);
                   }
                   if (samples.size() == 2 && samples[0].t_ms >= samples[1].t_ms) {
                     smi::fuzz::Fail("samples out of order", text);
                   }
                   Increase(samples, 0, 30'000);
                 });
    store.SelectInstant(metric, 20'000, 300'000, nullptr, [&](const LabelSet&, const Sample& s) {
      if (s.t_ms != 20'000) smi::fuzz::Fail("a stale or old sample selected", text);
    });
  }
  store.RemoveTarget("ns/p", 30'000);
  store.Compact(1'000'000);
  if (store.GetStats().series != 0) smi::fuzz::Fail("series left after the retention", text);
  return 0;
}
