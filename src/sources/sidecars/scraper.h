// Scraping the mesh proxies: asynchronous HTTP/1.1 on a Boost.Asio io_context (the one the
// server serves on), keep-alive, gzip, bounded concurrency, start times spread over the
// interval, a timeout and a size limit per scrape. A slow, hung, huge or garbage target never
// delays the others.
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
  std::string path;  // e.g. "/metrics"
  bool operator==(const ScrapeTarget&) const = default;
};

struct ScraperOptions {
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds timeout{5000};  // whole scrape: connect, request, response
  size_t max_body_bytes = 16 << 20;         // after decompression; larger: cut off, an error
  size_t max_concurrent = 64;               // scrapes in flight at once
  std::shared_ptr<::prometheus::Registry> registry;  // where smi_sidecar_scrape_* go; null: own
};

// Why a scrape failed (label `cause` of smi_sidecar_scrape_errors_total).
enum class ScrapeError { kConnect, kTimeout, kHttpStatus, kTooLarge, kDecode, kProtocol };
std::string_view ScrapeErrorName(ScrapeError error);

// The outcome of one scrape, given to the sink on an io_context thread.
struct ScrapeOutcome {
  int64_t t_ms = 0;  // when the scrape started (wall clock, ms): the samples' timestamp
  bool ok = false;
  ScrapeError error = ScrapeError::kConnect;  // when !ok
  std::string message;                        // when !ok: what went wrong, for the log
  std::string_view body;                      // when ok: the decompressed payload
  std::chrono::microseconds duration{0};
};

class Scraper {
 public:
  // Called once per scrape, on an io_context thread; returns the series kept (for the target's
  // health metric) or -1 when the payload did not parse (counted as a kDecode error).
  using Sink = std::function<long(const ScrapeTarget&, const ScrapeOutcome&)>;
  Scraper(boost::asio::io_context& io, ScraperOptions options, Sink sink,
          const base::Clock& clock = base::DefaultClock());
  ~Scraper();  // stops; call Stop() first when the io_context runs on other threads
  // Replaces the set of targets: new ones are scheduled within one interval (their first scrape
  // at a spread offset), removed ones stop (an in-flight scrape is cancelled, and the sink is not
  // called for a removed target once SetTargets has returned). A target whose address changed is
  // a new target.
  void SetTargets(std::vector<ScrapeTarget> targets);
  // Cancels everything; no sink call after it returns.
  void Stop();
  // Whether every current target has been scraped (successfully or not) at least once since it
  // was added: the source's readiness.
  bool RoundComplete() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace smi::sources::sidecars
