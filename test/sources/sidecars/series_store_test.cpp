// The series store: what Select and SelectInstant see after scrapes, failures, removals, respelled
// and duplicate series, staleness and retention; labels (own and target), matchers, limits.
#include "sources/sidecars/series_store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace smi::sources::sidecars {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr int64_t kFiveMinutesMs = 300'000;

// Labels rendered as {a="1", b="2"} for map keys and messages.
std::string Render(const LabelSet& labels) {
  std::string out = "{";
  for (const auto& [name, value] : labels.items()) {
    if (out.size() > 1) out += ", ";
    out += name + "=\"" + value + "\"";
  }
  return out + "}";
}

using RangeResult = std::map<std::string, std::vector<Sample>>;
using InstantResult = std::map<std::string, Sample>;

RangeResult Range(const SeriesStore& store, std::string_view metric, int64_t from, int64_t to,
                  const SeriesStore::Keep& keep = nullptr) {
  RangeResult out;
  store.Select(metric, from, to, keep, [&](const LabelSet& labels, const std::vector<Sample>& s) {
    EXPECT_FALSE(out.contains(Render(labels))) << "a series visited twice: " << Render(labels);
    out[Render(labels)] = s;
  });
  return out;
}

InstantResult Instant(const SeriesStore& store, std::string_view metric, int64_t at,
                      int64_t lookback = 300'000) {
  InstantResult out;
  store.SelectInstant(metric, at, lookback, nullptr,
                      [&](const LabelSet& labels, const Sample& s) { out[Render(labels)] = s; });
  return out;
}

std::vector<double> Values(const std::vector<Sample>& samples) {
  std::vector<double> out;
  for (const Sample& s : samples) out.push_back(s.value);
  return out;
}

const LabelSet kPod({{"namespace", "emojivoto"}, {"pod", "web-1"}, {"job", "linkerd-proxy"}});

SeriesStore Store(std::vector<std::string> metrics = {"response_total"},
                  milliseconds retention = minutes(5)) {
  return SeriesStore(retention, Retained{std::move(metrics)});
}

TEST(LabelSet, SortsDropsEmptyValuesAndKeepsTheFirstOfARepeatedName) {
  const LabelSet labels({{"b", "2"}, {"a", "1"}, {"c", ""}, {"b", "3"}});
  ASSERT_EQ(labels.items().size(), 2u);
  EXPECT_EQ(labels.items()[0].first, "a");
  EXPECT_EQ(labels.Get("b"), "2");
  EXPECT_EQ(labels.Get("c"), "");
  EXPECT_EQ(labels.Get("zzz"), "");
}

TEST(SeriesStore, SamplesOfEachScrapeWithOwnAndTargetLabels) {
  SeriesStore store = Store({"response_total", "response_latency_ms_bucket"});
  const std::string payload1 =
      "# TYPE response_total counter\n"
      "response_total{direction=\"inbound\",classification=\"success\",pod=\"own-wins\"} 10\n"
      "response_total{direction=\"outbound\",classification=\"failure\"} 1\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"5\"} 3\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"+Inf\"} 4\n"
      "tcp_open_total 99\n";
  const IngestResult r1 = store.Ingest("emojivoto/web-1", kPod, 10'000, payload1);
  ASSERT_TRUE(r1.ok) << r1.error;
  EXPECT_EQ(r1.series_kept, 4u);
  EXPECT_EQ(r1.samples_seen, 5u);
  const IngestResult r2 = store.Ingest(
      "emojivoto/web-1", kPod, 20'000,
      "response_total{direction=\"inbound\",classification=\"success\",pod=\"own-wins\"} 15\n"
      "response_total{direction=\"outbound\",classification=\"failure\"} 2.5\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"5\"} 3\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"+Inf\"} 9\n");
  ASSERT_TRUE(r2.ok) << r2.error;

  const RangeResult totals = Range(store, "response_total", 0, 20'000);
  ASSERT_EQ(totals.size(), 2u);
  const auto& inbound = totals.at(
      "{classification=\"success\", direction=\"inbound\", job=\"linkerd-proxy\", "
      "namespace=\"emojivoto\", pod=\"own-wins\"}");
  ASSERT_EQ(inbound.size(), 2u);
  EXPECT_EQ(inbound[0].t_ms, 10'000);
  EXPECT_EQ(inbound[0].value, 10);
  EXPECT_EQ(inbound[1].t_ms, 20'000);
  EXPECT_EQ(inbound[1].value, 15);
  EXPECT_EQ(Values(totals.at("{classification=\"failure\", direction=\"outbound\", "
                             "job=\"linkerd-proxy\", namespace=\"emojivoto\", pod=\"web-1\"}")),
            (std::vector<double>{1, 2.5}));

  const RangeResult buckets = Range(store, "response_latency_ms_bucket", 0, 20'000);
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(Values(buckets.at("{direction=\"inbound\", job=\"linkerd-proxy\", le=\"+Inf\", "
                              "namespace=\"emojivoto\", pod=\"web-1\"}")),
            (std::vector<double>{4, 9}));
  EXPECT_TRUE(Range(store, "tcp_open_total", 0, 20'000).empty()) << "not a retained family";

  const InstantResult up = Instant(store, "up", 20'000);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up.begin()->first, "{job=\"linkerd-proxy\", namespace=\"emojivoto\", pod=\"web-1\"}");
  EXPECT_EQ(up.begin()->second.value, 1);
  EXPECT_EQ(up.begin()->second.t_ms, 20'000);
}

// Later scrapes repeat the series texts of earlier ones, which the parser then does not take
// apart again; the values must be the same as when every line is parsed in full, including a
// series written in another spelling (label order) in between.
TEST(SeriesStore, RepeatedSeriesTextsKeepTheirValues) {
  SeriesStore store = Store({"response_total"});
  const auto line = [](const char* labels, int v) {
    return std::string("response_total{") + labels + "} " + std::to_string(v) + "\n";
  };
  const char* a = "direction=\"inbound\",classification=\"success\"";
  const char* a_respelled = "classification=\"success\",direction=\"inbound\"";
  const char* b = "direction=\"outbound\",classification=\"failure\"";
  ASSERT_TRUE(store.Ingest("ns/p", kPod, 10'000, line(a, 1) + line(b, 10)).ok);
  ASSERT_TRUE(store.Ingest("ns/p", kPod, 20'000, line(a, 2) + line(b, 20)).ok);
  ASSERT_TRUE(store.Ingest("ns/p", kPod, 30'000, line(a_respelled, 3) + line(b, 30)).ok);
  ASSERT_TRUE(store.Ingest("ns/p", kPod, 40'000, line(a_respelled, 4) + line(b, 40)).ok);
  const IngestResult bad = store.Ingest(
      "ns/p", kPod, 50'000, line(a_respelled, 5) + "response_total{" + std::string(b) + "} 0x50\n");
  EXPECT_FALSE(bad.ok) << "a known series with a bad value still fails the scrape";

  const RangeResult totals = Range(store, "response_total", 0, 40'000);
  ASSERT_EQ(totals.size(), 2u);
  EXPECT_EQ(Values(totals.at("{classification=\"success\", direction=\"inbound\", "
                             "job=\"linkerd-proxy\", namespace=\"emojivoto\", pod=\"web-1\"}")),
            (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(Values(totals.at("{classification=\"failure\", direction=\"outbound\", "
                             "job=\"linkerd-proxy\", namespace=\"emojivoto\", pod=\"web-1\"}")),
            (std::vector<double>{10, 20, 30, 40}));
}

// A known line's series is looked for first in the slot after the previous line's series (the
// order of the target's first scrape). Lines in any other order, series that skip scrapes and
// series that appear later must still land in their own series: the expected values are the
// ones the test wrote.
TEST(SeriesStore, SeriesInAnyOrderFromScrapeToScrape) {
  SeriesStore store = Store({"response_total"});
  constexpr int kSeries = 30;
  constexpr int kScrapes = 12;
  std::map<int, std::vector<double>> want;  // per series, the values written, in time order
  for (int s = 0; s < kScrapes; ++s) {
    std::vector<int> order;
    for (int k = 0; k < kSeries; ++k) {
      const bool absent = (k + s) % 7 == 0 || (k >= 25 && s < 6);  // gaps; late series
      if (!absent) order.push_back(k);
    }
    switch (s % 4) {
      case 1:
        std::reverse(order.begin(), order.end());
        break;
      case 2:
        std::rotate(order.begin(), order.begin() + s % static_cast<int>(order.size()), order.end());
        break;
      case 3:
        std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<unsigned>(s)));
        break;
    }
    std::string payload = "# TYPE response_total counter\n";
    for (const int k : order) {
      const int value = s * 100 + k;
      payload +=
          "response_total{peer=\"p" + std::to_string(k) + "\"} " + std::to_string(value) + "\n";
      payload += "tcp_open_total{peer=\"p" + std::to_string(k) + "\"} " + std::to_string(s) + "\n";
      want[k].push_back(value);
    }
    ASSERT_TRUE(store.Ingest("ns/p", kPod, (s + 1) * 10'000, payload).ok) << "scrape " << s;
  }
  const RangeResult got = Range(store, "response_total", 0, kScrapes * 10'000);
  ASSERT_EQ(got.size(), static_cast<size_t>(kSeries));
  for (const auto& [k, values] : want) {
    const std::string key = "{job=\"linkerd-proxy\", namespace=\"emojivoto\", peer=\"p" +
                            std::to_string(k) + "\", pod=\"web-1\"}";
    ASSERT_TRUE(got.contains(key)) << key;
    EXPECT_EQ(Values(got.at(key)), values) << key;
  }
}

// Lines of families not kept are taken apart once and then only have their values checked. Each
// scrape must still succeed or fail exactly as in a store that parses every line in full (a new
// store per payload), with the same samples seen, when those families change between scrapes:
// new texts, a bad value or a bad label set on a text seen before, texts that churn.
TEST(SeriesStore, UnkeptFamiliesThatChangeBetweenScrapes) {
  SeriesStore store = Store({"response_total"}, minutes(1));
  const std::string kept = "response_total{classification=\"success\"} ";
  std::vector<std::string> payloads = {
      kept + "1\ntcp_open_total{peer=\"x\"} 5\ntcp_close_total 1\n",
      kept + "2\ntcp_open_total{peer=\"x\"} 6\ntcp_open_total{peer=\"y\"} 1\ntcp_close_total 1\n",
      kept + "3\ntcp_open_total{peer=\"x\"} 0x7\n",                       // a bad value, text seen
      kept + "4\ntcp_close_total Inf\ntcp_open_total{peer=\"x\"} 1 2\n",  // a timestamp
      kept + "5\ntcp_open_total{peer=\"x\",peer=\"x\"} 1\n",  // a bad label set, new text
      kept + "6\ntcp_open_total{peer=\"x\"}\n",               // no value
      kept + "7\ntcp_close_total 1 # {trace_id=\"t\"} 1\ntcp_open_total{peer=\"x\"} 8\n",
  };
  for (int k = 0; k < 40; ++k) {  // every scrape writes texts never written before
    std::string payload = kept + std::to_string(8 + k) + "\n";
    for (int i = 0; i < 100; ++i) {
      payload += "tcp_open_total{peer=\"p" + std::to_string(k * 100 + i) + "\"} 1\n";
    }
    payloads.push_back(std::move(payload));
  }
  std::vector<double> want;
  size_t bytes_early = 0;
  for (size_t k = 0; k < payloads.size(); ++k) {
    const int64_t t = static_cast<int64_t>(k + 1) * 10'000;
    SeriesStore fresh = Store({"response_total"}, minutes(1));
    const IngestResult expected = fresh.Ingest("ns/p", kPod, t, payloads[k]);
    const IngestResult got = store.Ingest("ns/p", kPod, t, payloads[k]);
    EXPECT_EQ(got.ok, expected.ok)
        << "scrape " << k << ": " << got.error << " / " << expected.error;
    EXPECT_EQ(got.error, expected.error) << "scrape " << k;
    EXPECT_EQ(got.samples_seen, expected.samples_seen) << "scrape " << k;
    if (k == 17) bytes_early = store.GetStats().bytes;  // ten scrapes of new texts
  }
  for (size_t k = payloads.size() - 6; k < payloads.size(); ++k) {
    want.push_back(static_cast<double>(k + 1));  // the value each payload's kept line has
  }
  const int64_t last = static_cast<int64_t>(payloads.size()) * 10'000;
  const RangeResult totals = Range(store, "response_total", last - 50'000, last);
  ASSERT_EQ(totals.size(), 1u);
  EXPECT_EQ(Values(totals.begin()->second), want);
  // Texts no longer written are forgotten: 40 scrapes of new texts cost no more than a few.
  EXPECT_LT(store.GetStats().bytes, bytes_early + 8 * 1024);
}

TEST(SeriesStore, RangeIncludesBothEndsAndInstantIncludesTheLookbackStart) {
  SeriesStore store = Store();
  for (int i = 0; i <= 3; ++i) {
    ASSERT_TRUE(
        store.Ingest("t", kPod, i * 10'000, "response_total " + std::to_string(i) + "\n").ok);
  }
  EXPECT_EQ(Values(Range(store, "response_total", 10'000, 20'000).begin()->second),
            (std::vector<double>{1, 2}));
  EXPECT_TRUE(Range(store, "response_total", 10'001, 19'999).empty())
      << "a series with nothing in the range is not visited";
  EXPECT_EQ(Instant(store, "response_total", 25'000).begin()->second.value, 2);
  EXPECT_EQ(Instant(store, "response_total", 30'000).begin()->second.value, 3);
  EXPECT_EQ(Instant(store, "response_total", 35'000, 5'000).size(), 1u) << "30000 >= 35000-5000";
  EXPECT_TRUE(Instant(store, "response_total", 35'001, 5'000).empty());
  EXPECT_TRUE(Instant(store, "response_total", -1).empty()) << "nothing before the first scrape";
}

TEST(SeriesStore, ASeriesMissingFromAScrapeIsStale) {
  SeriesStore store = Store();
  ASSERT_TRUE(
      store.Ingest("t", kPod, 10'000, "response_total{a=\"1\"} 1\nresponse_total{a=\"2\"} 5\n").ok);
  ASSERT_TRUE(store.Ingest("t", kPod, 20'000, "response_total{a=\"1\"} 2\n").ok);  // a=2 gone
  ASSERT_TRUE(store.Ingest("t", kPod, 30'000, "response_total{a=\"1\"} 3\n").ok);
  ASSERT_TRUE(
      store.Ingest("t", kPod, 40'000, "response_total{a=\"1\"} 4\nresponse_total{a=\"2\"} 0\n").ok);

  const std::string a2 = "{a=\"2\", job=\"linkerd-proxy\", namespace=\"emojivoto\", pod=\"web-1\"}";
  // Within the lookback of its last sample, yet stale from 20000 on: not selected.
  EXPECT_TRUE(Instant(store, "response_total", 10'000).contains(a2));
  EXPECT_FALSE(Instant(store, "response_total", 20'000).contains(a2));
  EXPECT_FALSE(Instant(store, "response_total", 35'000).contains(a2));
  EXPECT_EQ(Instant(store, "response_total", 40'000).at(a2).value, 0) << "back after the gap";
  // The range skips the marker and the scrapes it was absent from.
  const auto samples = Range(store, "response_total", 0, 40'000).at(a2);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].t_ms, 10'000);
  EXPECT_EQ(samples[1].t_ms, 40'000);
  EXPECT_EQ(samples[1].value, 0);
}

TEST(SeriesStore, AFailedScrapeIsUpZeroAndStalesTheSeries) {
  SeriesStore store = Store();
  ASSERT_TRUE(store.Ingest("t", kPod, 10'000, "response_total 1\n").ok);
  store.IngestFailure("t", kPod, 20'000);
  EXPECT_EQ(Instant(store, "up", 20'000).begin()->second.value, 0);
  EXPECT_TRUE(Instant(store, "response_total", 20'000).empty());
  EXPECT_EQ(Instant(store, "response_total", 19'999).size(), 1u);

  // A payload that does not parse: the same, and nothing of it is kept.
  ASSERT_TRUE(store.Ingest("t", kPod, 30'000, "response_total 2\n").ok);
  const IngestResult bad =
      store.Ingest("t", kPod, 40'000, "response_total 3\nresponse_total{x=\"1\"} oops\n");
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("line 2"), std::string::npos) << bad.error;
  EXPECT_EQ(Instant(store, "up", 40'000).begin()->second.value, 0);
  EXPECT_TRUE(Instant(store, "response_total", 40'000).empty());
  EXPECT_EQ(Values(Range(store, "response_total", 0, 40'000).begin()->second),
            (std::vector<double>{1, 2}));
  EXPECT_EQ(Values(Range(store, "up", 0, 40'000).begin()->second),
            (std::vector<double>{1, 0, 1, 0}));
}

TEST(SeriesStore, ARemovedTargetIsStaleThenReleasedAfterTheRetention) {
  SeriesStore store = Store({"response_total"}, minutes(5));
  ASSERT_TRUE(store.Ingest("t", kPod, 10'000, "response_total 1\n").ok);
  ASSERT_TRUE(store
                  .Ingest("other", LabelSet({{"pod", "web-2"}, {"namespace", "emojivoto"}}), 10'000,
                          "response_total 7\n")
                  .ok);
  store.RemoveTarget("t", 15'000);
  EXPECT_EQ(Instant(store, "up", 15'000).size(), 1u) << "only the other target's up";
  EXPECT_EQ(Instant(store, "response_total", 15'000).size(), 1u);
  // Its samples stay for windows that reach back before the removal.
  EXPECT_EQ(Range(store, "response_total", 0, 15'000).size(), 2u);

  store.Compact(10'000 + kFiveMinutesMs);
  EXPECT_EQ(store.GetStats().targets, 2u) << "the sample at 10000 is not older than the retention";
  store.Compact(15'001 + kFiveMinutesMs);
  const SeriesStore::Stats stats = store.GetStats();
  EXPECT_EQ(stats.targets, 0u) << "the other target was not scraped either";
  EXPECT_EQ(stats.series, 0u);
  EXPECT_EQ(stats.samples, 0u);
  // A target coming back starts afresh.
  ASSERT_TRUE(store.Ingest("t", kPod, 400'000, "response_total 3\n").ok);
  EXPECT_EQ(Values(Range(store, "response_total", 0, 400'000).begin()->second),
            (std::vector<double>{3}));
}

TEST(SeriesStore, ARemovedTargetScrapedAgainContinues) {
  SeriesStore store = Store();
  ASSERT_TRUE(store.Ingest("t", kPod, 10'000, "response_total 1\n").ok);
  store.RemoveTarget("t", 20'000);
  store.RemoveTarget("t", 25'000);  // twice: no second marker needed
  store.RemoveTarget("never-seen", 25'000);
  ASSERT_TRUE(store.Ingest("t", kPod, 30'000, "response_total 2\n").ok);
  EXPECT_EQ(Values(Range(store, "response_total", 0, 30'000).begin()->second),
            (std::vector<double>{1, 2}));
  EXPECT_EQ(Instant(store, "up", 30'000).begin()->second.value, 1);
}

TEST(SeriesStore, RetentionDropsOldSamplesAsScrapesArrive) {
  SeriesStore store = Store({"response_total"}, milliseconds(60'000));
  for (int i = 0; i <= 20; ++i) {
    ASSERT_TRUE(
        store.Ingest("t", kPod, i * 10'000, "response_total{a=\"x\"} " + std::to_string(i) + "\n")
            .ok);
  }
  const auto samples = Range(store, "response_total", 0, 200'000).begin()->second;
  ASSERT_EQ(samples.size(), 7u) << "140000..200000";
  EXPECT_EQ(samples.front().t_ms, 140'000);
  EXPECT_EQ(samples.front().value, 14);
  EXPECT_EQ(store.GetStats().samples, 14u) << "7 of the series, 7 of up";
}

TEST(SeriesStore, SeriesGoneForLongerThanTheRetentionAreReleased) {
  SeriesStore store = Store({"response_total"}, milliseconds(30'000));
  std::string many;
  for (int i = 0; i < 100; ++i) many += "response_total{peer=\"p" + std::to_string(i) + "\"} 1\n";
  ASSERT_TRUE(store.Ingest("t", kPod, 0, many).ok);
  EXPECT_EQ(store.GetStats().series, 101u);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(store.Ingest("t", kPod, i * 10'000, "response_total{peer=\"p0\"} 1\n").ok);
  }
  EXPECT_EQ(store.GetStats().series, 2u);
  const size_t bytes_after_release = store.GetStats().bytes;
  store.Compact(50'000);  // rebuilds the names without the released series' strings
  EXPECT_LT(store.GetStats().bytes, bytes_after_release);
  EXPECT_EQ(Range(store, "response_total", 0, 50'000).size(), 1u);
  // New series after the rebuild get found and stored as before.
  ASSERT_TRUE(store
                  .Ingest("t", kPod, 60'000,
                          "response_total{peer=\"p0\"} 2\nresponse_total{peer=\"p7\"} 1\n")
                  .ok);
  ASSERT_TRUE(store
                  .Ingest("t", kPod, 70'000,
                          "response_total{peer=\"p0\"} 3\nresponse_total{peer=\"p7\"} 2\n")
                  .ok);
  const RangeResult after = Range(store, "response_total", 0, 70'000);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(Values(after.begin()->second), (std::vector<double>{1, 1, 2, 3}));
}

TEST(SeriesStore, ValuesAreKeptExactly) {
  SeriesStore store = Store({"v"}, minutes(60));
  const std::vector<double> values = {0,
                                      1,
                                      1,
                                      2,
                                      125,
                                      124,
                                      1e6,
                                      -5,
                                      0.5,
                                      0.5,
                                      1e300,
                                      9007199254740992.0,
                                      9007199254740993.0 + 2,
                                      18446744073709551616.0,
                                      -0.0,
                                      0,
                                      std::numeric_limits<double>::infinity(),
                                      3,
                                      2.25,
                                      1e-300};
  for (size_t i = 0; i < values.size(); ++i) {
    char text[64];
    std::snprintf(text, sizeof text, "v %.17g\n", values[i]);
    ASSERT_TRUE(store.Ingest("t", kPod, static_cast<int64_t>(i) * 1000, text).ok) << text;
  }
  ASSERT_TRUE(store.Ingest("t", kPod, 100'000, "v NaN\n").ok);
  const auto samples = Range(store, "v", 0, 100'000).begin()->second;
  ASSERT_EQ(samples.size(), values.size() + 1);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(samples[i].value, values[i]) << i;
    EXPECT_EQ(std::signbit(samples[i].value), std::signbit(values[i])) << i;
  }
  EXPECT_TRUE(std::isnan(samples.back().value));
}

TEST(SeriesStore, DuplicateSeriesInOnePayloadKeepTheFirst) {
  SeriesStore store = Store();
  const IngestResult r =
      store.Ingest("t", kPod, 10'000,
                   "response_total{a=\"1\",b=\"2\"} 5\n"
                   "response_total{a=\"1\",b=\"2\"} 6\n"  // the same text again
                   "response_total{b=\"2\",a=\"1\"} 7\n"  // the same series, written differently
                   "response_total{b=\"2\", a=\"1\", } 8\n"
                   "response_total{a=\"1\",b=\"2\",c=\"\"} 9\n");  // an empty label is no label
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.series_kept, 1u);
  EXPECT_EQ(r.duplicates, 4u);
  EXPECT_EQ(store.GetStats().duplicates, 4u);
  const RangeResult result = Range(store, "response_total", 0, 10'000);
  ASSERT_EQ(result.size(), 1u);
  EXPECT_EQ(Values(result.begin()->second), (std::vector<double>{5}));

  // Next scrape: an existing series under a new spelling is still that series, and a duplicate
  // of it is still a duplicate.
  const IngestResult r2 = store.Ingest("t", kPod, 20'000,
                                       "response_total{b=\"2\",a=\"1\"} 10\n"
                                       "response_total{a=\"1\",b=\"2\"} 11\n");
  ASSERT_TRUE(r2.ok) << r2.error;
  EXPECT_EQ(r2.duplicates, 1u);
  const IngestResult r3 = store.Ingest("t", kPod, 30'000, "response_total{a=\"1\",b=\"2\"} 12\n");
  ASSERT_TRUE(r3.ok) << r3.error;
  EXPECT_EQ(Values(Range(store, "response_total", 0, 30'000).begin()->second),
            (std::vector<double>{5, 10, 12}));
}

TEST(SeriesStore, AnEmptyOwnLabelHidesTheTargetLabel) {
  SeriesStore store = Store();
  ASSERT_TRUE(store
                  .Ingest("t", kPod, 10'000,
                          "response_total{pod=\"\",x=\"1\"} 1\nresponse_total{x=\"2\"} 2\n")
                  .ok);
  const RangeResult result = Range(store, "response_total", 0, 10'000);
  EXPECT_TRUE(result.contains("{job=\"linkerd-proxy\", namespace=\"emojivoto\", x=\"1\"}"));
  EXPECT_TRUE(
      result.contains("{job=\"linkerd-proxy\", namespace=\"emojivoto\", pod=\"web-1\", x=\"2\"}"));
}

TEST(SeriesStore, UpInThePayloadIsNotTheTargetsUp) {
  SeriesStore store = Store({"up", "response_total"});
  ASSERT_TRUE(store.Ingest("t", kPod, 10'000, "up{x=\"y\"} 0\nup 0\nresponse_total 1\n").ok);
  const InstantResult up = Instant(store, "up", 10'000);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up.begin()->second.value, 1);
}

TEST(SeriesStore, MatchersAndKeep) {
  SeriesStore store = Store({"response_total"});
  const LabelSet web1({{"namespace", "emojivoto"}, {"pod", "web-1"}, {"deployment", "web"}});
  const LabelSet vote1({{"namespace", "emojivoto"}, {"pod", "vote-1"}, {"deployment", "voting"}});
  const LabelSet other({{"namespace", "other"}, {"pod", "x-1"}});
  const std::string payload =
      "response_total{direction=\"inbound\",classification=\"success\"} 1\n"
      "response_total{direction=\"outbound\",classification=\"success\",dst_deployment=\"voting\"} "
      "2\n"
      "response_total{direction=\"inbound\",classification=\"failure\",namespace=\"own\"} 3\n";
  ASSERT_TRUE(store.Ingest("web-1", web1, 10'000, payload).ok);
  ASSERT_TRUE(store.Ingest("vote-1", vote1, 10'000, payload).ok);
  ASSERT_TRUE(store.Ingest("x-1", other, 10'000, payload).ok);

  const auto count = [&](std::vector<LabelMatcher> matchers, SeriesStore::Keep keep = nullptr) {
    size_t n = 0;
    store.Select("response_total", matchers, 0, 10'000, keep,
                 [&](const LabelSet& labels, const std::vector<Sample>&) {
                   for (const LabelMatcher& m : matchers) {
                     EXPECT_EQ(labels.Get(m.name) == m.value, !m.negated) << Render(labels);
                   }
                   ++n;
                 });
    return n;
  };
  EXPECT_EQ(count({}), 9u);
  EXPECT_EQ(count({{"namespace", "emojivoto"}}), 4u) << "an own namespace label wins";
  EXPECT_EQ(count({{"namespace", "own"}}), 3u);
  EXPECT_EQ(count({{"direction", "inbound"}, {"namespace", "emojivoto"}, {"deployment", "web"}}),
            1u);
  EXPECT_EQ(count({{"deployment", "", true}}), 6u) << "deployment!=\"\"";
  EXPECT_EQ(count({{"deployment", ""}}), 3u) << "deployment=\"\"";
  EXPECT_EQ(count({{"dst_deployment", "voting"}, {"classification", "failure"}}), 0u);
  EXPECT_EQ(count({{"nonexistent", "x"}}), 0u);
  EXPECT_EQ(count({{"nonexistent", "x", true}}), 9u);
  EXPECT_EQ(count({{"classification", "success"}},
                  [](const LabelSet& l) { return l.Get("pod") == "vote-1"; }),
            2u);

  size_t instant = 0;
  const std::vector<LabelMatcher> matchers = {{"namespace", "emojivoto"}, {"pod", "vote-1"}};
  store.SelectInstant("up", matchers, 10'000, 300'000, nullptr,
                      [&](const LabelSet&, const Sample& s) {
                        EXPECT_EQ(s.value, 1);
                        ++instant;
                      });
  EXPECT_EQ(instant, 1u);
}

TEST(SeriesStore, SelectionByNamespaceSeesCurrentRetiredAndRecreatedTargets) {
  SeriesStore store = Store({"response_total"});
  const auto pod = [](std::string ns, std::string name, std::string deployment = "") {
    return LabelSet({{"namespace", ns}, {"pod", name}, {"deployment", deployment}});
  };
  for (int i = 0; i < 20; ++i) {
    // (built step by step: GCC 12 warns falsely about chained string additions here)
    std::string ns = "ns";
    ns += std::to_string(i % 4);
    std::string name = "p";
    name += std::to_string(i);
    ASSERT_TRUE(store
                    .Ingest(ns + "/" + name, pod(ns, name), 10'000,
                            "response_total{direction=\"inbound\"} 1\n")
                    .ok);
  }
  // ns1/p1 gets an owner label: the old target is retired, still in ns1.
  ASSERT_TRUE(store
                  .Ingest("ns1/p1", pod("ns1", "p1", "web"), 20'000,
                          "response_total{direction=\"inbound\"} 2\n")
                  .ok);
  const auto pods_of = [&](std::vector<LabelMatcher> matchers) {
    std::multiset<std::string> pods;
    store.Select(
        "response_total", matchers, 0, 20'000, nullptr,
        [&](const LabelSet& labels, const std::vector<Sample>&) {
          pods.insert(std::string(labels.Get("pod")) + "/" + std::string(labels.Get("deployment")));
        });
    return pods;
  };
  EXPECT_EQ(pods_of({{"namespace", "ns1"}}),
            (std::multiset<std::string>{"p1/", "p1/web", "p5/", "p9/", "p13/", "p17/"}));
  EXPECT_EQ(pods_of({{"namespace", "ns1"}, {"deployment", "web"}}),
            (std::multiset<std::string>{"p1/web"}));
  EXPECT_TRUE(pods_of({{"namespace", "nowhere"}}).empty());
  EXPECT_EQ(pods_of({{"namespace", "ns1", true}}).size(), 15u);

  // Everything compacted away, then one target back: the index follows.
  store.Compact(20'001 + kFiveMinutesMs);
  EXPECT_EQ(store.GetStats().targets, 0u);
  ASSERT_TRUE(
      store.Ingest("ns1/p5", pod("ns1", "p5"), 400'000, "response_total{direction=\"inbound\"} 3\n")
          .ok);
  std::vector<double> values;
  const std::vector<LabelMatcher> ns1 = {{"namespace", "ns1"}};
  store.Select(
      "response_total", ns1, 0, 400'000, nullptr,
      [&](const LabelSet&, const std::vector<Sample>& s) { values.push_back(s[0].value); });
  EXPECT_EQ(values, (std::vector<double>{3}));
}

TEST(SeriesStore, BucketsAndQuantilesByTheirBound) {
  SeriesStore store = Store({"lat_bucket", "lat"});
  ASSERT_TRUE(store
                  .Ingest("t", kPod, 10'000,
                          "lat_bucket{a=\"1\",le=\"5\",z=\"9\"} 1\n"
                          "lat_bucket{a=\"1\",le=\"+Inf\",z=\"9\"} 2\n"
                          "lat_bucket{a=\"2\",le=\"5\",z=\"9\"} 3\n"
                          "lat{quantile=\"0.5\",a=\"1\"} 7\n"
                          "lat{quantile=\"0.9\",a=\"1\",le=\"odd\"} 8\n")
                  .ok);
  const auto count = [&](std::string_view metric, std::vector<LabelMatcher> matchers) {
    std::vector<std::string> seen;
    store.Select(metric, matchers, 0, 10'000, nullptr,
                 [&](const LabelSet& labels, const std::vector<Sample>&) {
                   seen.push_back(Render(labels));
                 });
    return seen;
  };
  EXPECT_EQ(count("lat_bucket", {{"le", "5"}}).size(), 2u);
  EXPECT_EQ(count("lat_bucket", {{"le", "+Inf"}}),
            (std::vector<std::string>{"{a=\"1\", job=\"linkerd-proxy\", le=\"+Inf\", "
                                      "namespace=\"emojivoto\", pod=\"web-1\", z=\"9\"}"}));
  EXPECT_EQ(count("lat_bucket", {{"le", "5", true}, {"a", "1"}}).size(), 1u);
  EXPECT_EQ(count("lat", {{"quantile", "0.5"}}).size(), 1u);
  EXPECT_EQ(count("lat", {{"quantile", "0.9"}, {"le", "odd"}}),
            (std::vector<std::string>{"{a=\"1\", job=\"linkerd-proxy\", le=\"odd\", "
                                      "namespace=\"emojivoto\", pod=\"web-1\", "
                                      "quantile=\"0.9\"}"}));
  EXPECT_EQ(count("lat", {{"le", ""}}).size(), 1u) << "the 0.5 quantile has no le";
}

TEST(SeriesStore, LongHistoriesWithLargeSteps) {
  // An hour at 1 s of a busy counter (steps of thousands) and of a fractional gauge.
  SeriesStore store = Store({"busy", "gauge"}, std::chrono::hours(1));
  double busy = 0;
  for (int i = 0; i < 4000; ++i) {
    busy += 1000 + (i % 7) * 3000;
    const std::string payload = "busy " + std::to_string(static_cast<int64_t>(busy)) + "\ngauge " +
                                std::to_string(i) + ".5\n";
    ASSERT_TRUE(store.Ingest("t", kPod, i * 1000, payload).ok);
    if (i % 500 == 0) store.Compact(i * 1000);
  }
  const RangeResult result = Range(store, "busy", 0, 4'000'000);
  const auto& samples = result.begin()->second;
  ASSERT_EQ(samples.size(), 3601u) << "399 s .. 3999 s";
  EXPECT_EQ(samples.front().t_ms, 399'000);
  EXPECT_EQ(samples.back().value, busy);
  double expected = busy;
  for (size_t k = samples.size() - 1; k > 0; --k) {
    const int i = static_cast<int>(samples[k].t_ms / 1000);
    expected -= 1000 + (i % 7) * 3000;
    ASSERT_EQ(samples[k - 1].value, expected) << "at " << samples[k - 1].t_ms;
  }
  const auto gauge = Range(store, "gauge", 0, 4'000'000).begin()->second;
  ASSERT_EQ(gauge.size(), 3601u);
  EXPECT_EQ(gauge.front().value, 399.5);
  EXPECT_EQ(gauge.back().value, 3999.5);
}

TEST(SeriesStore, AStreamAtItsSizeLimitLosesItsOldestSamples) {
  // Fractional values take 9 bytes each: 8000 of them exceed a series' 64 KiB.
  SeriesStore store = Store({"g"}, std::chrono::hours(24));
  for (int i = 0; i < 8000; ++i) {
    ASSERT_TRUE(store.Ingest("t", kPod, i * 1000, "g " + std::to_string(i) + ".25\n").ok);
  }
  const auto samples = Range(store, "g", 0, 8'000'000).begin()->second;
  EXPECT_LT(samples.size(), 8000u);
  EXPECT_GT(samples.size(), 7000u);
  EXPECT_EQ(samples.back().value, 7999.25);
  EXPECT_EQ(samples.front().value, static_cast<double>(samples.front().t_ms / 1000) + 0.25);
  EXPECT_EQ(Values(Range(store, "up", 0, 8'000'000).begin()->second).size(), 8000u)
      << "up takes one byte per scrape";
}

TEST(SeriesStore, NewTargetLabelsStartNewSeriesAndStaleTheOldOnes) {
  SeriesStore store = Store();
  ASSERT_TRUE(store.Ingest("t", kPod, 10'000, "response_total 1\n").ok);
  const LabelSet moved({{"namespace", "emojivoto"}, {"pod", "web-1"}, {"deployment", "web"}});
  ASSERT_TRUE(store.Ingest("t", moved, 20'000, "response_total 2\n").ok);
  const InstantResult now = Instant(store, "response_total", 20'000);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now.begin()->first, "{deployment=\"web\", namespace=\"emojivoto\", pod=\"web-1\"}");
  EXPECT_EQ(Range(store, "response_total", 0, 20'000).size(), 2u);
  EXPECT_EQ(Instant(store, "up", 20'000).size(), 1u);
  EXPECT_EQ(store.GetStats().targets, 2u);
  store.Compact(20'001 + kFiveMinutesMs);
  EXPECT_EQ(store.GetStats().targets, 0u);
}

TEST(SeriesStore, OutOfOrderScrapesAreRefused) {
  SeriesStore store = Store();
  ASSERT_TRUE(store.Ingest("t", kPod, 10'000, "response_total 1\n").ok);
  const IngestResult same = store.Ingest("t", kPod, 10'000, "response_total 2\n");
  EXPECT_FALSE(same.ok);
  EXPECT_NE(same.error.find("not after"), std::string::npos);
  EXPECT_FALSE(store.Ingest("t", kPod, 5'000, "response_total 3\n").ok);
  store.IngestFailure("t", kPod, 9'000);
  EXPECT_EQ(Values(Range(store, "response_total", 0, 20'000).begin()->second),
            (std::vector<double>{1}));
  EXPECT_EQ(Values(Range(store, "up", 0, 20'000).begin()->second), (std::vector<double>{1}));
}

TEST(SeriesStore, MoreSeriesThanTheLimitFailsTheScrape) {
  Retained retained{{"response_total"}};
  retained.max_series_per_target = 10;
  SeriesStore store(minutes(5), retained);
  std::string payload;
  for (int i = 0; i < 10; ++i) payload += "response_total{i=\"" + std::to_string(i) + "\"} 1\n";
  ASSERT_TRUE(store.Ingest("t", kPod, 10'000, payload).ok);
  const IngestResult over =
      store.Ingest("t", kPod, 20'000, payload + "response_total{i=\"x\"} 1\n");
  EXPECT_FALSE(over.ok);
  EXPECT_NE(over.error.find("more than 10 series"), std::string::npos) << over.error;
  EXPECT_EQ(Instant(store, "up", 20'000).begin()->second.value, 0);
  EXPECT_TRUE(Instant(store, "response_total", 20'000).empty());
}

TEST(SeriesStore, EveryFamilyWhenNoneIsNamed) {
  SeriesStore store(minutes(5), Retained{});
  ASSERT_TRUE(
      store.Ingest("t", kPod, 10'000, "a 1\nb{x=\"y\"} 2\n# TYPE c counter\nc_total 3\n").ok);
  EXPECT_EQ(Range(store, "a", 0, 10'000).size(), 1u);
  EXPECT_EQ(Range(store, "b", 0, 10'000).size(), 1u);
  EXPECT_EQ(Range(store, "c_total", 0, 10'000).size(), 1u);
  EXPECT_EQ(store.GetStats().series, 4u);
}

// Found by the exposition fuzz target: a series written with an empty label, then again without
// it in the same scrape (one series, the second line a duplicate), must parse the same in the
// scrape after, where the first line's text is known.
TEST(SeriesStore, ASeriesRepeatedWithAnEmptyLabelParsesTheSameNextScrape) {
  Retained retained{{"response_total", "#"}};
  SeriesStore store(minutes(5), retained);
  const std::string body = "# H\nsmthh{blem=\"\"}+26\nrt {blem=\"\"}+26\nrt 23\n";
  const IngestResult r1 = store.Ingest("ns/p", kPod, 10'000, body);
  const IngestResult r2 = store.Ingest("ns/p", kPod, 20'000, body);
  EXPECT_EQ(r1.ok, r2.ok) << "first: " << r1.error << "; second: " << r2.error;
  EXPECT_EQ(r1.samples_seen, r2.samples_seen);
}

}  // namespace
}  // namespace smi::sources::sidecars
