// Scrapes committed by a writer thread while reader threads select: a reader sees every target
// either before or after a scrape, never in between, and every series' samples in order.
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "sources/sidecars/series_store.h"

namespace smi::sources::sidecars {
namespace {

constexpr int kTargets = 4;
constexpr int kSeries = 60;
constexpr int kScrapes = 300;

// Scrape s of a target: every series at value s, at time s seconds; every 37th scrape of
// target 0 fails instead.
std::string Payload(int scrape) {
  std::string out = "# TYPE response_total counter\n";
  for (int i = 0; i < kSeries; ++i) {
    out += "response_total{peer=\"p" + std::to_string(i) + "\",direction=\"inbound\"} " +
           std::to_string(scrape) + "\n";
  }
  return out;
}

TEST(SeriesStoreConcurrency, ReadersNeverSeeAHalfWrittenScrape) {
  SeriesStore store(std::chrono::seconds(60), Retained{{"response_total"}});
  std::atomic<bool> done{false};
  std::atomic<size_t> reads{0};
  std::atomic<size_t> problems{0};

  std::thread writer([&] {
    for (int s = 1; s <= kScrapes; ++s) {
      const std::string payload = Payload(s);
      for (int t = 0; t < kTargets; ++t) {
        const std::string id = "pod-" + std::to_string(t);
        const LabelSet labels({{"pod", id}, {"namespace", "ns"}});
        if (t == 0 && s % 37 == 0) {
          store.IngestFailure(id, labels, s * 1000);
        } else if (!store.Ingest(id, labels, s * 1000, payload).ok) {
          ++problems;
        }
      }
      if (s % 50 == 0) store.Compact(s * 1000);
    }
    done = true;
  });

  const auto reader = [&] {
    do {
      // Latest sample per series: per target, all or none of its series, with one timestamp.
      std::map<std::string, std::vector<Sample>> latest;
      store.SelectInstant("response_total", 1'000'000'000, 1'000'000'000, nullptr,
                          [&](const LabelSet& labels, const Sample& s) {
                            latest[std::string(labels.Get("pod"))].push_back(s);
                          });
      for (const auto& [pod, samples] : latest) {
        if (samples.size() != kSeries) ++problems;
        for (const Sample& s : samples) {
          if (s.t_ms != samples[0].t_ms || s.value * 1000 != static_cast<double>(s.t_ms)) {
            ++problems;
          }
        }
      }
      // Ranges: in time order, value = time in seconds, within the retention of the newest.
      store.Select("response_total", 0, 1'000'000'000, nullptr,
                   [&](const LabelSet&, const std::vector<Sample>& samples) {
                     for (size_t i = 0; i < samples.size(); ++i) {
                       if (samples[i].value * 1000 != static_cast<double>(samples[i].t_ms)) {
                         ++problems;
                       }
                       if (i > 0 && samples[i].t_ms <= samples[i - 1].t_ms) ++problems;
                     }
                     if (samples.back().t_ms - samples.front().t_ms > 60'000) ++problems;
                   });
      const SeriesStore::Stats stats = store.GetStats();
      if (stats.targets > static_cast<size_t>(kTargets)) ++problems;
      ++reads;
    } while (!done.load());
  };
  std::thread reader1(reader);
  std::thread reader2(reader);
  writer.join();
  reader1.join();
  reader2.join();
  EXPECT_EQ(problems.load(), 0u);
  EXPECT_GE(reads.load(), 2u);

  // After the last scrape: every target complete at 300 s.
  size_t series = 0;
  store.SelectInstant("response_total", kScrapes * 1000, 1, nullptr,
                      [&](const LabelSet&, const Sample& s) {
                        EXPECT_EQ(s.value, kScrapes);
                        ++series;
                      });
  EXPECT_EQ(series, static_cast<size_t>(kTargets * kSeries));
}

}  // namespace
}  // namespace smi::sources::sidecars
