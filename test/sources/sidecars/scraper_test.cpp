// The scraper against local proxies that answer well, slowly, never, too much, or not in HTTP.
// Nothing here waits on time to synchronise: every wait is for a scrape's outcome (the sink
// signals), with a deadline only so that a broken scraper fails instead of hanging. Assertions
// count scrapes; none bounds a duration.
#include "sources/sidecars/scraper.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mocks/manual_clock.h"
#include "sources/sidecars/test_proxy.h"
#include "sources/source_metrics.h"
#include "support/free_port.h"
#include "support/metrics_text.h"

namespace smi::sources::sidecars {
namespace {

using namespace std::chrono_literals;
using test_support::TestProxy;

constexpr auto kWait = 20s;  // a scraper that works reaches every awaited state long before

// gzip with zlib's deflate (a gzip wrapper: windowBits 15 + 16), as the proxies send it.
std::string Gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  return out;
}

// A payload in the shape of a proxy's: `lines` counter samples.
std::string Payload(int lines) {
  std::string p = "# TYPE request_total counter\n";
  for (int i = 0; i < lines; ++i) {
    p += "request_total{direction=\"inbound\",peer=\"p" + std::to_string(i) + "\"} " +
         std::to_string(i * 7) + "\n";
  }
  return p;
}

TestProxy::Handler Answer(std::string body, std::vector<std::string> extra = {}) {
  return [body = std::move(body), extra = std::move(extra)](TestProxy&, int fd,
                                                            const TestProxy::Request&) {
    return TestProxy::Send(fd, TestProxy::Response(200, body, extra));
  };
}

ScrapeTarget TargetOf(const std::string& id, const TestProxy& proxy,
                      std::string path = "/metrics") {
  return {id, "127.0.0.1", proxy.port(), std::move(path)};
}

// What the sink saw, per target id.
struct Seen {
  bool ok;
  ScrapeError error;
  std::string message;
  std::string body;
  std::string content_type;
  int64_t t_ms;
};

class ScraperTest : public ::testing::Test {
 protected:
  ScraperTest() : clock_(std::chrono::system_clock::time_point(1700000000123ms)) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  ~ScraperTest() override {
    if (scraper_) scraper_->Stop();
    work_.reset();
    io_.stop();
    for (std::thread& t : threads_) t.join();
  }

  // A short interval for tests of several scrapes; a timeout no loaded machine (sanitizers,
  // parallel tests) reaches unless a proxy is meant never to finish.
  static ScraperOptions FastOptions() {
    ScraperOptions o;
    o.interval = 100ms;
    o.timeout = 10s;
    o.max_body_bytes = 1 << 20;
    return o;
  }

  Scraper& Start(ScraperOptions options, std::vector<ScrapeTarget> targets) {
    options.log = [this](const std::string& line) {
      std::lock_guard lock(mu_);
      log_.push_back(line);
    };
    scraper_ = std::make_unique<Scraper>(
        io_, std::move(options),
        [this](const ScrapeTarget& target, const ScrapeOutcome& outcome) -> long {
          {
            std::lock_guard lock(mu_);
            seen_[target.id].push_back({outcome.ok, outcome.error, outcome.message,
                                        std::string(outcome.body),
                                        std::string(outcome.content_type), outcome.t_ms});
          }
          cv_.notify_all();
          return sink_returns_;
        },
        clock_);
    scraper_->SetTargets(std::move(targets));
    return *scraper_;
  }

  // Waits until `done` (called under the lock) holds; false at the deadline.
  template <typename Pred>
  bool WaitUntil(Pred done) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return done(); });
  }

  bool WaitForScrapes(const std::string& id, size_t n) {
    return WaitUntil([&] { return seen_[id].size() >= n; });
  }

  std::vector<Seen> SeenOf(const std::string& id) {
    std::lock_guard lock(mu_);
    return seen_[id];
  }

  size_t CountOf(const std::string& id, bool ok) {
    std::lock_guard lock(mu_);
    return std::count_if(seen_[id].begin(), seen_[id].end(),
                         [&](const Seen& s) { return s.ok == ok; });
  }

  std::vector<std::string> Log() {
    std::lock_guard lock(mu_);
    return log_;
  }

  std::string MetricsText() { return SerializeMetrics(*scraper_->registry()); }

  // The first outcome of a single target served by `handler`.
  Seen FirstOutcome(TestProxy::Handler handler, ScraperOptions options = FastOptions()) {
    TestProxy proxy(std::move(handler));
    Start(options, {TargetOf("t", proxy)});
    EXPECT_TRUE(WaitForScrapes("t", 1));
    scraper_->Stop();
    const auto seen = SeenOf("t");
    return seen.empty() ? Seen{} : seen.front();
  }

  testing::ManualClock clock_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::vector<std::thread> threads_;
  std::unique_ptr<Scraper> scraper_;
  std::atomic<long> sink_returns_{42};

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<Seen>> seen_;
  std::vector<std::string> log_;
};

TEST_F(ScraperTest, DeliversTheBodyWithTheClockTimeAndSendsTheRequestAProxyExpects) {
  const std::string body = Payload(20);
  TestProxy proxy(Answer(body, {"Content-Type: text/plain; version=0.0.4"}));
  Start(FastOptions(), {TargetOf("emojivoto/web-1", proxy, "/stats/prometheus?usedonly")});
  ASSERT_TRUE(WaitForScrapes("emojivoto/web-1", 1));

  const Seen first = SeenOf("emojivoto/web-1").front();
  EXPECT_TRUE(first.ok) << first.message;
  EXPECT_EQ(first.body, body);
  EXPECT_EQ(first.content_type, "text/plain; version=0.0.4");
  EXPECT_EQ(first.t_ms, 1700000000123);  // the injected clock, not the system's

  const TestProxy::Request request = proxy.last_request();
  EXPECT_TRUE(request.head.starts_with("GET /stats/prometheus?usedonly HTTP/1.1\r\n"))
      << request.head;
  EXPECT_EQ(request.Header("Host"), "127.0.0.1:" + std::to_string(proxy.port()));
  EXPECT_EQ(request.Header("Accept"), "text/plain;version=0.0.4;q=1.0,*/*;q=0.1");
  EXPECT_EQ(request.Header("Accept-Encoding"), "gzip");
  EXPECT_TRUE(request.Header("User-Agent").starts_with("smi-metrics-server/"))
      << request.Header("User-Agent");
}

TEST_F(ScraperTest, InflatesGzipBodies) {
  const std::string body = Payload(5000);  // ~250 KB: several reads, several inflate steps
  const std::string compressed = Gzip(body);
  std::atomic<bool> asked_for_gzip{false};
  TestProxy proxy([&](TestProxy&, int fd, const TestProxy::Request& request) {
    asked_for_gzip = request.Header("Accept-Encoding").find("gzip") != std::string::npos;
    return TestProxy::Send(fd, TestProxy::Response(200, compressed, {"Content-Encoding: gzip"}));
  });
  Start(FastOptions(), {TargetOf("t", proxy)});
  ASSERT_TRUE(WaitForScrapes("t", 2));
  EXPECT_TRUE(asked_for_gzip);
  for (const Seen& s : SeenOf("t")) {
    EXPECT_TRUE(s.ok) << s.message;
    EXPECT_EQ(s.body, body);
  }
}

TEST_F(ScraperTest, AsksForNoEncodingWhenToldNotTo) {
  TestProxy proxy(Answer("up 1\n"));
  ScraperOptions options = FastOptions();
  options.gzip = false;
  Start(options, {TargetOf("t", proxy)});
  ASSERT_TRUE(WaitForScrapes("t", 1));
  EXPECT_TRUE(SeenOf("t").front().ok);
  EXPECT_EQ(proxy.last_request().Header("Accept-Encoding"), "");
}

TEST_F(ScraperTest, InflatesConcatenatedGzipMembers) {
  const std::string a = Payload(300), b = "extra_total 1\n";
  const Seen s = FirstOutcome(Answer(Gzip(a) + Gzip(b), {"Content-Encoding: gzip"}));
  EXPECT_TRUE(s.ok) << s.message;
  EXPECT_EQ(s.body, a + b);
}

TEST_F(ScraperTest, CorruptGzipIsADecodeError) {
  std::string compressed = Gzip(Payload(300));
  compressed[compressed.size() / 2] ^= 0x5a;
  compressed[compressed.size() / 2 + 1] ^= 0x5a;
  const Seen s = FirstOutcome(Answer(compressed, {"Content-Encoding: gzip"}));
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, ScrapeError::kDecode) << s.message;
}

TEST_F(ScraperTest, TruncatedGzipIsADecodeError) {
  const std::string compressed = Gzip(Payload(300));
  const Seen s =
      FirstOutcome(Answer(compressed.substr(0, compressed.size() / 2), {"Content-Encoding: gzip"}));
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, ScrapeError::kDecode) << s.message;
}

TEST_F(ScraperTest, AnEncodingNotAskedForIsADecodeError) {
  const Seen s = FirstOutcome(Answer("(zstd bytes)", {"Content-Encoding: zstd"}));
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, ScrapeError::kDecode);
  EXPECT_NE(s.message.find("zstd"), std::string::npos) << s.message;
}

TEST_F(ScraperTest, KeepsOneConnectionAcrossScrapes) {
  TestProxy proxy(Answer(Payload(10)));
  Start(FastOptions(), {TargetOf("t", proxy)});
  ASSERT_TRUE(WaitForScrapes("t", 5));
  EXPECT_EQ(CountOf("t", true), SeenOf("t").size());
  EXPECT_EQ(proxy.accepts(), 1);
  EXPECT_GE(proxy.requests(), 5);
}

TEST_F(ScraperTest, ReconnectsWhenTheProxyClosedTheIdleConnection) {
  // Answers as if the connection stayed open, then closes it: the next scrape finds it closed
  // and must not count that as a failure.
  TestProxy proxy([](TestProxy&, int fd, const TestProxy::Request&) {
    TestProxy::Send(fd, TestProxy::Response(200, "up 1\n"));
    return false;
  });
  Start(FastOptions(), {TargetOf("t", proxy)});
  ASSERT_TRUE(WaitForScrapes("t", 4));
  for (const Seen& s : SeenOf("t")) EXPECT_TRUE(s.ok) << s.message;
  EXPECT_GE(proxy.accepts(), 4);
}

TEST_F(ScraperTest, HonoursConnectionClose) {
  TestProxy proxy(Answer("up 1\n", {"Connection: close"}));
  Start(FastOptions(), {TargetOf("t", proxy)});
  ASSERT_TRUE(WaitForScrapes("t", 3));
  for (const Seen& s : SeenOf("t")) EXPECT_TRUE(s.ok) << s.message;
  EXPECT_EQ(proxy.accepts(), proxy.requests());
}

// A plain body is read straight into the buffer the sink sees, and every other framing through
// the HTTP parser: each must arrive whole, however the proxy cuts it into writes.
TEST_F(ScraperTest, EveryFramingOfABodyArrivesWhole) {
  const std::string body = Payload(40);
  const std::string large = Payload(6000);  // ~300 KB: several reads into the body
  // Header a byte at a time, then the body in three writes with pauses between them.
  TestProxy pieces([&](TestProxy& p, int fd, const TestProxy::Request&) {
    const std::string answer = TestProxy::Response(200, body);
    const size_t header = answer.find("\r\n\r\n") + 4;
    for (size_t i = 0; i < header; ++i) {
      if (!TestProxy::Send(fd, answer.substr(i, 1))) return false;
    }
    const size_t third = body.size() / 3;
    for (size_t at = header; at < answer.size(); at += third) {
      if (!p.Hold(2ms) || !TestProxy::Send(fd, answer.substr(at, third))) return false;
    }
    return true;
  });
  TestProxy chunked([&](TestProxy&, int fd, const TestProxy::Request&) {
    std::string answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const size_t half = body.size() / 2;
    for (const std::string_view part :
         {std::string_view(body).substr(0, half), std::string_view(body).substr(half)}) {
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", part.size());
      answer += size;
      answer += part;
      answer += "\r\n";
    }
    answer += "0\r\n\r\n";
    return TestProxy::Send(fd, answer);
  });
  TestProxy to_close([&](TestProxy&, int fd, const TestProxy::Request&) {
    TestProxy::Send(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body);
    return false;
  });
  TestProxy empty(Answer(""));
  TestProxy big(Answer(large));
  Start(FastOptions(),
        {TargetOf("pieces", pieces), TargetOf("chunked", chunked), TargetOf("to_close", to_close),
         TargetOf("empty", empty), TargetOf("big", big)});
  ASSERT_TRUE(WaitUntil([&] {
    for (const char* id : {"pieces", "chunked", "to_close", "empty", "big"}) {
      if (seen_[id].size() < 3) return false;
    }
    return true;
  }));
  const std::map<std::string, std::string> expected = {
      {"pieces", body}, {"chunked", body}, {"to_close", body}, {"empty", ""}, {"big", large}};
  for (const auto& [id, want] : expected) {
    for (const Seen& s : SeenOf(id)) {
      EXPECT_TRUE(s.ok) << id << ": " << s.message;
      EXPECT_EQ(s.body, want) << id;
    }
  }
  EXPECT_EQ(pieces.accepts(), 1);  // kept alive across answers read in pieces
  EXPECT_EQ(big.accepts(), 1);
}

// A proxy that trickles an answer it never finishes.
bool Trickle(TestProxy& p, int fd, std::atomic<int>& started) {
  if (!TestProxy::Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")) return false;
  ++started;
  while (p.Hold(5ms)) {
    if (!TestProxy::Send(fd, "x")) return false;
  }
  return false;
}

TEST_F(ScraperTest, HungAndTricklingProxiesDoNotDelayAHealthyOne) {
  std::atomic<int> hung_requests{0}, trickling{0};
  TestProxy healthy(Answer(Payload(50)));
  TestProxy hung([&](TestProxy& p, int, const TestProxy::Request&) {
    ++hung_requests;
    p.HoldForever();  // accepts and reads the request, never answers
    return false;
  });
  TestProxy trickle(
      [&](TestProxy& p, int fd, const TestProxy::Request&) { return Trickle(p, fd, trickling); });
  ScraperOptions options = FastOptions();  // the stuck scrapes stay stuck throughout (10 s)
  options.max_concurrent = 3;
  Start(options,
        {TargetOf("healthy", healthy), TargetOf("hung", hung), TargetOf("trickle", trickle)});
  ASSERT_TRUE(WaitUntil([&] { return hung_requests > 0 && trickling > 0; }));
  // While both are stuck, the healthy one is scraped every interval, and always successfully.
  ASSERT_TRUE(WaitForScrapes("healthy", SeenOf("healthy").size() + 5));
  EXPECT_EQ(CountOf("healthy", false), 0u);
  EXPECT_TRUE(SeenOf("hung").empty());
  EXPECT_TRUE(SeenOf("trickle").empty());
  EXPECT_EQ(hung_requests, 1);  // no second scrape of a target while its first is running...
  EXPECT_GE(
      test_support::ScrapeValue(MetricsText(), R"(smi_sidecar_scrapes_total{result="skipped"})"),
      1);  // ...its due scrapes are skipped instead
}

TEST_F(ScraperTest, HungAndTricklingProxiesTimeOut) {
  std::atomic<int> trickling{0};
  TestProxy hung([](TestProxy& p, int, const TestProxy::Request&) {
    p.HoldForever();
    return false;
  });
  TestProxy trickle(
      [&](TestProxy& p, int fd, const TestProxy::Request&) { return Trickle(p, fd, trickling); });
  ScraperOptions options = FastOptions();
  options.timeout = 200ms;
  Start(options, {TargetOf("hung", hung), TargetOf("trickle", trickle)});
  ASSERT_TRUE(WaitUntil([&] { return seen_["hung"].size() >= 2 && seen_["trickle"].size() >= 2; }));
  for (const char* id : {"hung", "trickle"}) {
    for (const Seen& s : SeenOf(id)) {
      EXPECT_FALSE(s.ok) << id;
      EXPECT_EQ(s.error, ScrapeError::kTimeout) << id << ": " << s.message;
      EXPECT_NE(s.message.find("200ms"), std::string::npos) << s.message;
    }
  }
}

TEST_F(ScraperTest, BodiesOverTheLimitAreCutOff) {
  constexpr size_t kLimit = 64 * 1024;
  // Says so up front.
  TestProxy declared([](TestProxy&, int fd, const TestProxy::Request&) {
    if (!TestProxy::Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")) return false;
    const std::string block(16 * 1024, 'x');
    while (TestProxy::Send(fd, block)) {
    }
    return false;
  });
  // Chunked, never ending.
  TestProxy endless([](TestProxy&, int fd, const TestProxy::Request&) {
    if (!TestProxy::Send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) return false;
    const std::string chunk = "4000\r\n" + std::string(0x4000, 'x') + "\r\n";
    while (TestProxy::Send(fd, chunk)) {
    }
    return false;
  });
  // Small on the wire, huge inflated.
  const std::string bomb = Gzip(std::string(64 * kLimit, '\n'));
  TestProxy inflating(Answer(bomb, {"Content-Encoding: gzip"}));
  // Exactly the limit: whole, plain and compressed.
  const std::string exact(kLimit, 'y');
  TestProxy at_limit(Answer(exact));
  TestProxy at_limit_gzip(Answer(Gzip(exact), {"Content-Encoding: gzip"}));

  ScraperOptions options = FastOptions();
  options.max_body_bytes = kLimit;
  Start(options, {TargetOf("declared", declared), TargetOf("endless", endless),
                  TargetOf("inflating", inflating), TargetOf("at_limit", at_limit),
                  TargetOf("at_limit_gzip", at_limit_gzip)});
  ASSERT_TRUE(WaitUntil([&] {
    for (const char* id : {"declared", "endless", "inflating", "at_limit", "at_limit_gzip"}) {
      if (seen_[id].empty()) return false;
    }
    return true;
  }));
  for (const char* id : {"declared", "endless", "inflating"}) {
    const Seen s = SeenOf(id).front();
    EXPECT_FALSE(s.ok) << id;
    EXPECT_EQ(s.error, ScrapeError::kTooLarge) << id << ": " << s.message;
  }
  for (const char* id : {"at_limit", "at_limit_gzip"}) {
    const Seen s = SeenOf(id).front();
    EXPECT_TRUE(s.ok) << id << ": " << s.message;
    EXPECT_EQ(s.body, exact) << id;
  }
}

TEST_F(ScraperTest, NonOkStatusIsAnHttpStatusError) {
  const Seen s = FirstOutcome([](TestProxy&, int fd, const TestProxy::Request&) {
    return TestProxy::Send(fd, TestProxy::Response(500, "upstream broke\n"));
  });
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, ScrapeError::kHttpStatus);
  EXPECT_NE(s.message.find("500"), std::string::npos) << s.message;
}

TEST_F(ScraperTest, RefusedConnectionIsAConnectError) {
  Start(FastOptions(),
        {{"t", "127.0.0.1", static_cast<uint16_t>(test_support::FreePort()), "/metrics"}});
  ASSERT_TRUE(WaitForScrapes("t", 1));
  const Seen s = SeenOf("t").front();
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, ScrapeError::kConnect) << s.message;
}

TEST_F(ScraperTest, AHostThatIsNotAnAddressIsAConnectErrorWithoutALookup) {
  Start(FastOptions(), {{"t", "web.emojivoto.svc", 4191, "/metrics"}});
  ASSERT_TRUE(WaitForScrapes("t", 1));
  const Seen s = SeenOf("t").front();
  EXPECT_EQ(s.error, ScrapeError::kConnect);
  EXPECT_NE(s.message.find("not an IP address"), std::string::npos) << s.message;
}

TEST_F(ScraperTest, BytesThatAreNotHttpAreAProtocolError) {
  const Seen s = FirstOutcome([](TestProxy&, int fd, const TestProxy::Request&) {
    TestProxy::Send(fd, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    return false;
  });
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, ScrapeError::kProtocol) << s.message;
}

TEST_F(ScraperTest, APayloadTheSinkRefusesIsADecodeError) {
  sink_returns_ = -1;
  TestProxy proxy(Answer("not { a payload\n"));
  Start(FastOptions(), {TargetOf("t", proxy)});
  ASSERT_TRUE(WaitForScrapes("t", 2));  // the first is counted when the second arrives
  ASSERT_TRUE(SeenOf("t").front().ok);  // the sink saw the body; its answer makes the error
  EXPECT_GE(test_support::ScrapeValue(
                MetricsText(), R"(smi_sidecar_scrape_errors_total{cause="decode",target="t"})"),
            1);
}

TEST_F(ScraperTest, RemovedTargetsAreNoLongerScrapedAndAddedOnesAre) {
  TestProxy a(Answer("a 1\n")), b(Answer("b 1\n"));
  Scraper& scraper = Start(FastOptions(), {TargetOf("a", a)});
  ASSERT_TRUE(WaitForScrapes("a", 1));
  scraper.SetTargets({TargetOf("a", a), TargetOf("b", b)});
  ASSERT_TRUE(WaitForScrapes("b", 1));
  EXPECT_EQ(a.accepts(), 1);  // kept: the same connection as before
  scraper.SetTargets({TargetOf("b", b)});
  const size_t a_scrapes = SeenOf("a").size();
  const size_t b_scrapes = SeenOf("b").size();
  ASSERT_TRUE(WaitForScrapes("b", b_scrapes + 3));
  EXPECT_EQ(SeenOf("a").size(), a_scrapes);

  const std::string metrics = MetricsText();
  EXPECT_EQ(metrics.find(R"(target="a")"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(target="b")"), std::string::npos) << metrics;
  EXPECT_EQ(test_support::ScrapeValue(metrics, "smi_sidecar_targets"), 1);
}

TEST_F(ScraperTest, ATargetWhoseAddressChangedIsANewTarget) {
  TestProxy a(Answer("old 1\n")), b(Answer("new 1\n"));
  Scraper& scraper = Start(FastOptions(), {TargetOf("pod", a)});
  ASSERT_TRUE(WaitForScrapes("pod", 1));
  scraper.SetTargets({TargetOf("pod", b)});
  ASSERT_TRUE(
      WaitUntil([&] { return !seen_["pod"].empty() && seen_["pod"].back().body == "new 1\n"; }));
  const size_t a_requests = a.requests();
  ASSERT_TRUE(WaitForScrapes("pod", SeenOf("pod").size() + 2));
  EXPECT_EQ(a.requests(), a_requests);
}

TEST_F(ScraperTest, RoundCompleteOnceEveryTargetWasScraped) {
  bool open = false;       // under mu_
  bool answering = false;  // under mu_
  TestProxy gated([&](TestProxy&, int fd, const TestProxy::Request&) {
    {
      std::unique_lock lock(mu_);
      answering = true;
      cv_.notify_all();
      cv_.wait_for(lock, kWait, [&] { return open; });
    }
    return TestProxy::Send(fd, TestProxy::Response(200, "up 1\n"));
  });
  TestProxy quick(Answer("up 1\n"));
  ScraperOptions options = FastOptions();  // the gated scrape cannot time out while this test looks
  Scraper probe(io_, options, [](const ScrapeTarget&, const ScrapeOutcome&) { return 0L; });
  EXPECT_FALSE(probe.RoundComplete());  // no targets given yet: nothing is known
  probe.Stop();

  Scraper& scraper = Start(options, {TargetOf("quick", quick), TargetOf("gated", gated)});
  EXPECT_FALSE(scraper.RoundComplete());
  ASSERT_TRUE(WaitUntil([&] { return answering && !seen_["quick"].empty(); }));
  EXPECT_FALSE(scraper.RoundComplete());  // the gated one has not been answered
  {
    std::lock_guard lock(mu_);
    open = true;
  }
  cv_.notify_all();
  ASSERT_TRUE(WaitForScrapes("gated", 1));
  // The sink has been called; the scraper counts the target right after it returns.
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!scraper.RoundComplete() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(scraper.RoundComplete());
}

// The schedule's beats follow the number of targets (about twenty targets a beat): when it grows
// or shrinks tenfold the schedule is rebuilt, and every target, old and new, goes on being
// scraped. The targets are refused connections, which cost next to nothing.
TEST_F(ScraperTest, EveryTargetGoesOnWhenTheirNumberChangesTenfold) {
  const uint16_t closed = static_cast<uint16_t>(test_support::FreePort());
  const auto Id = [](int i) {
    std::string id = "t";
    id += std::to_string(i);
    return id;
  };
  const auto targets = [&](int n) {
    std::vector<ScrapeTarget> out;
    for (int i = 0; i < n; ++i) out.push_back({Id(i), "127.0.0.1", closed, "/"});
    return out;
  };
  ScraperOptions options = FastOptions();
  options.interval = 1s;
  Scraper& scraper = Start(options, targets(10));
  ASSERT_TRUE(WaitForScrapes("t0", 1));
  scraper.SetTargets(targets(2500));
  const auto each_has = [&](int n, size_t scrapes) {
    return WaitUntil([&] {
      for (int i = 0; i < n; ++i) {
        if (seen_[Id(i)].size() < scrapes) return false;
      }
      return true;
    });
  };
  ASSERT_TRUE(each_has(2500, 2));
  scraper.SetTargets(targets(10));
  size_t before = 0;
  {
    std::lock_guard lock(mu_);
    for (int i = 0; i < 10; ++i) before = std::max(before, seen_[Id(i)].size());
  }
  EXPECT_TRUE(each_has(10, before + 2));
}

TEST_F(ScraperTest, NoMoreScrapesInFlightThanAllowed) {
  std::atomic<int> in_flight{0}, most{0};
  auto slow = [&](TestProxy& p, int fd, const TestProxy::Request&) {
    const int now = ++in_flight;
    int seen = most;
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    p.Hold(50ms);  // a slow proxy: 50 ms per answer
    --in_flight;
    return TestProxy::Send(fd, TestProxy::Response(200, "up 1\n"));
  };
  std::vector<std::unique_ptr<TestProxy>> proxies;
  std::vector<ScrapeTarget> targets;
  for (int i = 0; i < 6; ++i) {
    proxies.push_back(std::make_unique<TestProxy>(slow));
    targets.push_back(TargetOf("t" + std::to_string(i), *proxies.back()));
  }
  ScraperOptions options = FastOptions();
  options.interval = 300ms;
  options.max_concurrent = 2;
  Start(options, targets);
  // Six proxies needing 50 ms each per 300 ms overlap often; two slots must keep them apart.
  ASSERT_TRUE(WaitUntil([&] {
    for (const ScrapeTarget& t : targets) {
      if (seen_[t.id].size() < 4) return false;
    }
    return most >= 2;
  })) << "most concurrent: "
      << most;
  EXPECT_LE(most, 2);
  for (const ScrapeTarget& t : targets) EXPECT_EQ(CountOf(t.id, false), 0u) << t.id;
}

TEST_F(ScraperTest, HealthMetricsPerTargetAndInTotal) {
  TestProxy good(Answer(Payload(3)));
  TestProxy bad([](TestProxy&, int fd, const TestProxy::Request&) {
    return TestProxy::Send(fd, TestProxy::Response(503, "no\n"));
  });
  Start(FastOptions(), {TargetOf("good", good), TargetOf("bad", bad)});
  // The metrics follow each sink call: once the sink saw three scrapes, two are counted.
  ASSERT_TRUE(WaitUntil([&] { return seen_["good"].size() >= 3 && seen_["bad"].size() >= 3; }));
  const std::string m = MetricsText();
  using test_support::ScrapeValue;
  EXPECT_EQ(ScrapeValue(m, R"(smi_sidecar_scrape_series{target="good"})"), 42);
  EXPECT_NEAR(ScrapeValue(m, R"(smi_sidecar_scrape_last_success_timestamp_seconds{target="good"})"),
              1700000000.123, 1e-3);
  EXPECT_GE(ScrapeValue(m, R"(smi_sidecar_scrape_duration_seconds{target="good"})"), 0);
  EXPECT_GE(ScrapeValue(m, R"(smi_sidecar_scrape_errors_total{cause="http_status",target="bad"})"),
            2);
  EXPECT_EQ(test_support::FindSample(
                m, R"(smi_sidecar_scrape_errors_total{cause="http_status",target="good"})"),
            std::nullopt);
  EXPECT_EQ(test_support::FindSample(
                m, R"(smi_sidecar_scrape_last_success_timestamp_seconds{target="bad"})"),
            0);
  EXPECT_GE(ScrapeValue(m, R"(smi_sidecar_scrapes_total{result="success"})"), 2);
  EXPECT_GE(ScrapeValue(m, R"(smi_sidecar_scrapes_total{result="error"})"), 2);
  EXPECT_EQ(ScrapeValue(m, "smi_sidecar_targets"), 2);
  EXPECT_GE(ScrapeValue(m, "smi_sidecar_scrapes_in_flight"), 0);
}

TEST_F(ScraperTest, LogsAFailureOnceAndTheRecoveryOnce) {
  std::atomic<int> answered{0};
  TestProxy flaky([&](TestProxy&, int fd, const TestProxy::Request&) {
    const int n = ++answered;
    return TestProxy::Send(fd, TestProxy::Response(n <= 3 ? 500 : 200, "up 1\n"));
  });
  Start(FastOptions(), {TargetOf("emojivoto/web-1", flaky)});
  ASSERT_TRUE(WaitForScrapes("emojivoto/web-1", 6));
  const std::vector<std::string> log = Log();
  ASSERT_EQ(log.size(), 2u) << ::testing::PrintToString(log);
  EXPECT_NE(log[0].find("emojivoto/web-1"), std::string::npos) << log[0];
  EXPECT_NE(log[0].find("failing: http_status: HTTP 500"), std::string::npos) << log[0];
  EXPECT_NE(log[1].find("recovered"), std::string::npos) << log[1];
}

TEST(ScraperOptionsTest, NonsenseIsRefusedWithAReason) {
  boost::asio::io_context io;
  auto sink = [](const ScrapeTarget&, const ScrapeOutcome&) { return 0L; };
  ScraperOptions o;
  o.max_concurrent = 0;
  try {
    Scraper s(io, o, sink);
    FAIL() << "no concurrency was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("concurrent"), std::string::npos) << e.what();
  }
  o = {};
  o.timeout = 0ms;
  EXPECT_THROW(Scraper(io, o, sink), std::invalid_argument);
  o = {};
  o.max_body_bytes = 0;
  EXPECT_THROW(Scraper(io, o, sink), std::invalid_argument);
  o = {};
  o.interval = 0ms;
  EXPECT_THROW(Scraper(io, o, sink), std::invalid_argument);
}

TEST(ScrapeErrorNameTest, LabelValues) {
  EXPECT_EQ(ScrapeErrorName(ScrapeError::kConnect), "connect");
  EXPECT_EQ(ScrapeErrorName(ScrapeError::kTimeout), "timeout");
  EXPECT_EQ(ScrapeErrorName(ScrapeError::kHttpStatus), "http_status");
  EXPECT_EQ(ScrapeErrorName(ScrapeError::kTooLarge), "too_large");
  EXPECT_EQ(ScrapeErrorName(ScrapeError::kDecode), "decode");
  EXPECT_EQ(ScrapeErrorName(ScrapeError::kProtocol), "protocol");
}

}  // namespace
}  // namespace smi::sources::sidecars
