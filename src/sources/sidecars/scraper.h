// Scraping the mesh proxies: asynchronous HTTP/1.1 on a Boost.Asio io_context (the one the
// server serves on), keep-alive, gzip, bounded concurrency, start times spread over the
// interval, a timeout and a size limit per scrape. A slow, hung, huge or garbage target never
// delays the others.
//
// The scraper's health metrics, in the registry of ScraperOptions:
//
// clang-format off
//   smi_sidecar_scrape_last_success_timestamp_seconds{target}  start (wall clock) of the target's
//                                                              last successful scrape
//   smi_sidecar_scrape_duration_seconds{target}                how long its last scrape took
//   smi_sidecar_scrape_errors_total{target,cause}              its failed scrapes by cause
//                                                              (ScrapeErrorName)
//   smi_sidecar_scrape_series{target}                          what the sink last returned
//   smi_sidecar_scrapes_total{result}                          every target's scrapes: success,
//                                                              error, skipped (a scrape due while
//                                                              the target's previous one had not
//                                                              ended, or waited for a slot)
//   smi_sidecar_scrapes_in_flight                              scrapes holding a slot now
//   smi_sidecar_targets                                        targets being scraped
// clang-format on
//
// A removed target's series are removed with it. One scraper per registry.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/registry.h>

#include "base/clock.h"

namespace boost::asio {
class io_context;
}

namespace smi::sources::sidecars {

// One proxy to scrape.
struct ScrapeTarget {
  std::string id;    // stable and unique, e.g. "emojivoto/web-5d8f9-abcde"
  std::string host;  // IPv4 or IPv6 address (the pod IP); never resolved through DNS
  uint16_t port = 0;
  std::string path;  // e.g. "/metrics"; may carry a query string
  bool operator==(const ScrapeTarget&) const = default;
};

struct ScraperOptions {
  std::chrono::milliseconds interval{10000};
  // The whole scrape: connect, request, response. Longer than the interval is allowed: a target
  // is never scraped twice at once, so a slow one's due scrapes are skipped (and counted).
  std::chrono::milliseconds timeout{5000};
  size_t max_body_bytes = 16 << 20;  // after decompression; larger: cut off, an error
  size_t max_concurrent = 64;        // scrapes in flight at once
  // Ask for gzip (Accept-Encoding). Compressed answers are inflated either way; without it the
  // proxies send several times the bytes and the scraper spends about half the CPU.
  bool gzip = true;
  std::shared_ptr<::prometheus::Registry> registry;  // where smi_sidecar_scrape_* go; null: own
  // Where the once-per-transition lines go ("scrape of X failing: ...", "... recovered");
  // null: standard error, prefixed "smi-metrics-server: ".
  std::function<void(const std::string&)> log;
};

// Why a scrape failed (label `cause` of smi_sidecar_scrape_errors_total):
//   kConnect     no connection, or it failed under the request (refused, reset, closed early,
//                a host that is not an IP address)
//   kTimeout     no complete answer within the timeout
//   kHttpStatus  an answer other than 200
//   kTooLarge    a body larger than max_body_bytes (after decompression): cut off there
//   kDecode      a compressed body that does not inflate, an unsupported Content-Encoding, or a
//                payload the sink could not parse
//   kProtocol    an answer that is not HTTP/1.x
enum class ScrapeError { kConnect, kTimeout, kHttpStatus, kTooLarge, kDecode, kProtocol };
// "connect", "timeout", "http_status", "too_large", "decode", "protocol".
std::string_view ScrapeErrorName(ScrapeError error);

// The outcome of one scrape, given to the sink on an io_context thread.
struct ScrapeOutcome {
  int64_t t_ms = 0;  // when the scrape started (Clock::Now, ms): the samples' timestamp
  bool ok = false;
  ScrapeError error = ScrapeError::kConnect;  // when !ok
  std::string message;                        // when !ok: what went wrong, for the log
  std::string_view body;  // when ok: the decompressed payload, valid during the sink call only
  std::string_view content_type;  // when ok: the answer's Content-Type ("" when absent)
  std::chrono::microseconds duration{0};
};

class Scraper {
 public:
  // Called once per scrape, on an io_context thread, for different targets concurrently (never
  // twice at once for one target); returns the series kept (for the target's health metric) or
  // -1 when the payload did not parse (counted as a kDecode error). For a failed scrape a
  // non-negative return still sets the health metric. The sink must not call SetTargets or Stop.
  using Sink = std::function<long(const ScrapeTarget&, const ScrapeOutcome&)>;
  // Throws std::invalid_argument for a zero interval, timeout, size limit or concurrency.
  Scraper(boost::asio::io_context& io, ScraperOptions options, Sink sink,
          const base::Clock& clock = base::DefaultClock());
  ~Scraper();  // stops, as Stop()
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  // Replaces the set of targets: new ones are scheduled within one interval (their first scrape
  // at a spread offset), removed ones stop (an in-flight scrape is cancelled, and the sink is not
  // called for a removed target once SetTargets has returned). A target whose address changed is
  // a new target. Of targets sharing an id the first counts. Any thread.
  void SetTargets(std::vector<ScrapeTarget> targets);
  // Cancels everything; no sink call after it returns; SetTargets does nothing afterwards.
  void Stop();
  // Whether every current target has been scraped (successfully or not) at least once since it
  // was added: the source's readiness. False until SetTargets has been called once.
  bool RoundComplete() const;

  const std::shared_ptr<::prometheus::Registry>& registry() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace smi::sources::sidecars
