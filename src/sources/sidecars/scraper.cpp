#include "sources/sidecars/scraper.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "base/strings.h"
#include "sources/sidecars/gzip_inflater.h"
#include "sources/sidecars/scrape_metrics.h"

#ifndef SMI_METRICS_SERVER_VERSION
#define SMI_METRICS_SERVER_VERSION "dev"
#endif

namespace smi::sources::sidecars {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;

std::string_view ScrapeErrorName(ScrapeError error) {
  switch (error) {
    case ScrapeError::kConnect:
      return "connect";
    case ScrapeError::kTimeout:
      return "timeout";
    case ScrapeError::kHttpStatus:
      return "http_status";
    case ScrapeError::kTooLarge:
      return "too_large";
    case ScrapeError::kDecode:
      return "decode";
    case ScrapeError::kProtocol:
      return "protocol";
  }
  return "unknown";
}

namespace {

constexpr size_t kCauses = 6;
constexpr size_t kReadChunk = 64 * 1024;      // body bytes per read
constexpr size_t kGzipChunk = 16 * 1024;      // compressed bytes per read
constexpr uint32_t kHeaderLimit = 16 * 1024;  // a proxy's answer header is a few hundred bytes
constexpr size_t kReadBufferLimit = kHeaderLimit + kReadChunk;
// Pooled bodies larger than this are given back to the allocator instead of being kept.
constexpr size_t kKeepCapacity = 4 << 20;
constexpr char kAccept[] = "text/plain;version=0.0.4;q=1.0,*/*;q=0.1";
constexpr char kUserAgent[] = "smi-metrics-server/" SMI_METRICS_SERVER_VERSION;

// FNV-1a: the same offset for a target in every run and on every platform (std::hash is neither).
uint64_t StableHash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

int64_t UnixMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

// What one scrape needs besides the connection; pooled, so that at most max_concurrent exist
// and their capacity is reused from scrape to scrape instead of being kept per target.
struct ScrapeBuffers {
  // What Beast parses a body from that is not read straight into `body` (gzip, chunked).
  beast::flat_buffer read{kReadBufferLimit};
  // The header and a plain body as received, or the body Beast's parser or the inflater put.
  std::string body;
  std::array<char, kGzipChunk> compressed;
  GzipInflater gzip;
};

void LogToStderr(const std::string& line) { std::cerr << "smi-metrics-server: " << line << "\n"; }

class Target;

// The targets, the concurrency slots and the buffer pool, shared by the targets' strands.
struct Scheduler : std::enable_shared_from_this<Scheduler> {
  Scheduler(asio::io_context& io, ScraperOptions o, Scraper::Sink s, const base::Clock& c)
      : io(io),
        options(std::move(o)),
        sink(std::move(s)),
        clock(c),
        registry(options.registry ? options.registry : std::make_shared<::prometheus::Registry>()),
        metrics(*registry),
        raw_limit(options.max_body_bytes + options.max_body_bytes / 8 + 64 * 1024),
        interval(std::chrono::duration_cast<SteadyClock::duration>(options.interval)),
        min_beats(std::max<size_t>(
            kMinBeats,
            static_cast<size_t>(
                4 * interval / std::chrono::duration_cast<SteadyClock::duration>(options.timeout)) +
                1)),
        max_beats(std::max<size_t>(
            min_beats,
            std::min<size_t>(kMaxBeats,
                             static_cast<size_t>(interval / std::chrono::microseconds(100))))),
        beat_timer(io) {
    if (!options.log) options.log = LogToStderr;
  }

  // Beats per interval: about kScrapesPerBeat targets in each. Batching several scrapes per
  // wake-up of the loop is what makes it cheap (measured at 1,000 pods and 10 s: 10 ms beats
  // cost 50% more CPU than 50 ms ones, 200 ms beats about 15% less); bounding the batch keeps
  // the burst of work at each beat short, so that requests served beside it wait less (at
  // 10,000 pods a GET's p99 was about 4 ms with 200-target beats, 3.6 ms with 20-target ones).
  // At least 50 beats (start times spread over the interval), at most 1,000, and beats no longer
  // than a quarter of the timeout (deadlines are checked at every beat).
  static constexpr size_t kScrapesPerBeat = 20;
  static constexpr size_t kMinBeats = 50;
  static constexpr size_t kMaxBeats = 1000;

  // A slot for `target`'s scrape: true when it may start now; otherwise it is queued and
  // started on its strand when a slot frees.
  bool AcquireSlot(const std::shared_ptr<Target>& target);
  // Gives the slot back, or hands it to the first live target waiting; `ended`: the target whose
  // scrape ended (no longer watched for its deadline), or null.
  void ReleaseSlot(const Target* ended);
  std::unique_ptr<ScrapeBuffers> TakeBuffers();
  void ReturnBuffers(std::unique_ptr<ScrapeBuffers> buffers);
  void SetTargets(std::vector<ScrapeTarget> wanted);
  void Stop();
  // Under mu: a scrape of `target` (run `run`) in flight until `deadline`; Unwatch when it ends.
  void Watch(const std::shared_ptr<Target>& target, uint64_t run, SteadyClock::time_point deadline);
  void Unwatch(const Target* target);

  // The schedule. Time is cut into beats (BeatOf), numbered from the steady clock's epoch; a
  // target falls due at the same beat of every interval (its offset, from a hash of its id). One
  // timer, armed for the next beat that has something to do, starts every target due at it
  // and times out the scrapes past their deadline: no timer per target, and the scrapes of a
  // beat go out together, so that one wake-up of the loop serves several.
  void Schedule(const std::shared_ptr<Target>& target);  // under mu
  // Under mu: the beats per interval for the current number of targets, and the schedule
  // rebuilt on them when the number moved by a factor of two since it was last built.
  void Rebeat(SteadyClock::time_point now);
  // Under mu; `started`: scrapes were started just now (they are in flight from the next beat).
  void ArmBeat(SteadyClock::time_point now, bool started = false);
  void OnBeat();

  asio::io_context& io;
  ScraperOptions options;
  // Called, and reset by Stop, only under a target's mutex while the target is alive.
  Scraper::Sink sink;
  const base::Clock& clock;
  std::shared_ptr<::prometheus::Registry> registry;
  ScrapeMetrics metrics;
  const size_t raw_limit;  // compressed bytes: the limit plus gzip's worst-case framing

  std::atomic<bool> ever_set{false};
  std::atomic<long> unscraped{0};  // current targets not yet scraped once

  std::mutex mu;  // guards what follows; taken before a Target::mu, never after
  bool stopped = false;
  std::unordered_map<std::string, std::shared_ptr<Target>> targets;
  std::deque<std::shared_ptr<Target>> waiting;
  size_t in_flight = 0;
  std::vector<std::unique_ptr<ScrapeBuffers>> pool;

  const SteadyClock::duration interval;
  const size_t min_beats;
  const size_t max_beats;
  SteadyClock::duration beat{0};  // interval / beats
  size_t beats = 0;               // per interval; 0 until the first targets are set
  std::vector<std::vector<std::weak_ptr<Target>>> due;  // per beat of the interval
  int64_t next_beat = -1;  // the first beat not yet handled; -1: none yet
  asio::steady_timer beat_timer;
  bool beat_armed = false;
  struct Watched {
    std::weak_ptr<Target> target;
    const Target* key;
    uint64_t run;
    SteadyClock::time_point deadline;
  };
  std::vector<Watched> watched;  // scrapes in flight, with their deadlines
};

// One proxy: its connection, its schedule and its health. Everything but `mu`'s members runs on
// the target's strand.
class Target : public std::enable_shared_from_this<Target> {
 public:
  Target(std::shared_ptr<Scheduler> impl, ScrapeTarget spec)
      : impl_(std::move(impl)),
        spec_(std::move(spec)),
        strand_(asio::make_strand(impl_->io)),
        socket_(strand_) {
    error_code ec;
    const auto address = asio::ip::make_address(spec_.host, ec);
    const std::string shown_host = address.is_v6() ? "[" + spec_.host + "]" : spec_.host;
    const std::string host_header = shown_host + ":" + std::to_string(spec_.port);
    url_ = "http://" + host_header + spec_.path;
    if (ec) {
      invalid_ = "the host \"" + spec_.host + "\" is not an IP address";
    } else if (spec_.port == 0) {
      invalid_ = "the port is 0";
    } else if (spec_.path.empty() || spec_.path.front() != '/' ||
               std::any_of(spec_.path.begin(), spec_.path.end(), [](char c) {
                 return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
               })) {
      invalid_ = "the path \"" + spec_.path + "\" is not an absolute path without spaces";
    }
    if (invalid_.empty()) {
      endpoint_ = tcp::endpoint(address, spec_.port);
      // Serialized once: the request never changes, and a scrape then costs no header building.
      http::request<http::empty_body> request(http::verb::get, spec_.path, 11);
      request.set(http::field::host, host_header);
      request.set(http::field::user_agent, kUserAgent);
      request.set(http::field::accept, kAccept);
      if (impl_->options.gzip) request.set(http::field::accept_encoding, "gzip");
      std::ostringstream out;
      out << request;
      request_ = out.str();
    }
    const ::prometheus::Labels labels{{"target", spec_.id}};
    ScrapeMetrics& m = impl_->metrics;
    last_success_ = &m.last_success.Add(labels);
    duration_ = &m.duration.Add(labels);
    series_ = &m.series.Add(labels);
  }

  const ScrapeTarget& spec() const { return spec_; }
  bool Alive() const { return alive_hint_; }

  // The target's beat within the interval (Scheduler::Schedule).
  size_t Beat() const {
    const uint64_t interval_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(impl_->options.interval).count());
    const uint64_t offset = StableHash(spec_.id) % interval_ns;
    const uint64_t beat_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(impl_->beat).count());
    return std::min<size_t>(static_cast<size_t>(offset / beat_ns), impl_->beats - 1);
  }

  // Its scrape falls due (from the beat timer).
  void Tick() {
    asio::post(strand_, [self = shared_from_this()] { self->OnTick(); });
  }

  // Its scrape `run` is past its deadline (from the beat timer).
  void TimeOut(uint64_t run) {
    asio::post(strand_, [self = shared_from_this(), run] {
      if (run != self->run_) return;
      self->timed_out_ = true;
      self->CloseSocket();  // the pending operation ends with operation_aborted
    });
  }

  // Under Scheduler::mu: no sink call, log line or metric update for this target after it returns.
  void Retire() {
    {
      std::lock_guard lock(mu_);
      alive_ = false;
      alive_hint_ = false;
      if (!scraped_once_) impl_->unscraped.fetch_sub(1);
      ScrapeMetrics& m = impl_->metrics;
      m.last_success.Remove(last_success_);
      m.duration.Remove(duration_);
      m.series.Remove(series_);
      for (::prometheus::Counter* c : errors_) {
        if (c) m.errors.Remove(c);
      }
      errors_.fill(nullptr);
    }
    asio::post(strand_, [self = shared_from_this()] { self->Cancel(); });
  }

  // Begins the scrape on the strand: the slot has been handed over.
  void BeginOnStrand() {
    asio::post(strand_, [self = shared_from_this()] { self->Begin(); });
  }

  // On the strand, holding a slot.
  void Begin() {
    if (!alive_hint_) return EndWithoutScrape();
    {
      std::lock_guard lock(mu_);
      if (!alive_) return EndWithoutScrape();
      t_ms_ = UnixMillis(impl_->clock.Now());
    }
    started_ = SteadyClock::now();
    timed_out_ = false;
    retried_ = false;
    header_done_ = false;
    used_ = 0;
    body_begin_ = 0;
    gzip_ = false;
    buffers_ = impl_->TakeBuffers();
    {
      std::lock_guard lock(impl_->mu);
      impl_->Watch(shared_from_this(), run_, started_ + impl_->options.timeout);
    }
    if (!invalid_.empty()) return Finish(ScrapeError::kConnect, invalid_);
    reused_ = socket_.is_open();
    reused_ ? Send() : Connect();
  }

 private:
  void OnTick() {
    if (!alive_hint_) return;
    if (busy_) {
      impl_->metrics.skipped.Increment();
      return;
    }
    busy_ = true;
    if (impl_->AcquireSlot(shared_from_this())) Begin();
  }

  void EndWithoutScrape() {
    busy_ = false;
    impl_->ReleaseSlot(nullptr);
  }

  void Cancel() { CloseSocket(); }

  void CloseSocket() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  void Connect() {
    error_code ec;
    socket_.open(endpoint_.protocol(), ec);
    if (ec) return Finish(ScrapeError::kConnect, "cannot open a socket: " + ec.message());
    socket_.async_connect(endpoint_, [self = shared_from_this()](error_code ec) {
      if (self->timed_out_) return self->FinishTimeout();
      if (ec) return self->Finish(ScrapeError::kConnect, "connect: " + ec.message());
      error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      // Sends and reads that cannot go on at once say so instead of blocking (Send, OnReadable).
      self->socket_.non_blocking(true, ec);
      if (ec) return self->Finish(ScrapeError::kConnect, "non-blocking mode: " + ec.message());
      self->Send();
    });
  }

  // Reconnects once when a kept-alive connection turns out to have been closed by the peer
  // before it answered: proxies close idle connections, and a GET may be repeated.
  bool RetryOnFreshConnection() {
    if (!reused_ || retried_) return false;
    retried_ = true;
    reused_ = false;
    CloseSocket();
    Connect();
    return true;
  }

  void Send() {
    // The request is a few hundred bytes and the connection idle: it nearly always fits in the
    // socket's buffer at once, which spares a round through the event loop (and a thread's
    // wake-up) per scrape. What does not fit is written asynchronously.
    error_code ec;
    size_t sent = 0;
    if (socket_.non_blocking()) {
      sent = socket_.send(asio::buffer(request_), 0, ec);
      if (!ec && sent == request_.size()) return ReadHeader();
      if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
      if (ec) return OnSent(ec);
    }
    asio::async_write(socket_, asio::buffer(request_.data() + sent, request_.size() - sent),
                      [self = shared_from_this()](error_code ec, size_t) { self->OnSent(ec); });
  }

  void OnSent(error_code ec) {
    if (timed_out_) return FinishTimeout();
    if (ec) {
      if (RetryOnFreshConnection()) return;
      return Finish(ScrapeError::kConnect, "sending the request: " + ec.message());
    }
    ReadHeader();
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(impl_->raw_limit);
    parser_->eager(false);  // the header alone first: OnHeader decides how to take the body
    raw_ = 0;
    parsed_ = 0;
    body_begin_ = 0;
    body_end_ = 0;
    direct_ = false;
    WaitReadable();
  }

  // The answer is read by this scrape's own loop rather than Beast's composed reads: one wait
  // for the socket to be readable, then every byte it holds read at once without blocking. Each
  // composed read that completes at once goes round the event loop on its own; an answer of
  // ~80 KB took about six such rounds.
  void WaitReadable() {
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](error_code ec) { self->OnReadable(ec); });
  }

  static bool WouldBlock(error_code ec) {
    return ec == asio::error::would_block || ec == asio::error::try_again;
  }

  void OnReadable(error_code ec) {
    if (timed_out_) return FinishTimeout();
    if (ec) return FinishReadError(ec);
    if (!header_done_ || direct_) return ReadDirect();
    ReadFramed();
  }

  // The header, and then a plain body of a known length, are read straight into the body
  // buffer: the header is parsed where it lies and the body is handed to the sink where it
  // was received, never copied. That is the common answer (a proxy's metrics, not
  // compressed); every other one (gzip, chunked, up to the close) goes on in ReadFramed.
  void ReadDirect() {
    std::string& raw = buffers_->body;
    error_code ec;
    for (;;) {
      // The header and whatever came with it: at most a read chunk, so that what follows the
      // header always fits the framed path's buffer. Then the rest of the body, exactly.
      const size_t want = direct_ ? body_end_ : raw_ + kReadChunk;
      if (raw.size() < want) raw.resize(want);
      const size_t n = socket_.read_some(asio::buffer(raw.data() + raw_, want - raw_), ec);
      if (WouldBlock(ec)) return WaitReadable();
      if (ec == asio::error::eof && direct_) {
        return Finish(ScrapeError::kConnect, "the connection closed in the middle of the body");
      }
      if (ec == asio::error::eof) {
        if (!parser_->got_some()) {
          if (RetryOnFreshConnection()) return;
          return FinishReadError(http::error::end_of_stream);
        }
        ec = {};
        parser_->put_eof(ec);  // a header cut short
        if (ec) return FinishReadError(ec);
        return FinishReadError(http::error::partial_message);
      }
      if (ec) {
        if (PeerClosed(ec) && !parser_->got_some() && RetryOnFreshConnection()) return;
        return FinishReadError(ec);
      }
      raw_ += n;
      if (direct_) {
        if (raw_ >= body_end_) return DirectBodyDone();
        continue;
      }
      parsed_ += parser_->put(asio::buffer(raw.data() + parsed_, raw_ - parsed_), ec);
      if (ec == http::error::need_more) continue;
      if (ec) return FinishReadError(ec);
      if (!parser_->is_header_done()) continue;
      if (!OnHeader()) return;
      const auto length = parser_->content_length();
      if (!gzip_ && length && !parser_->chunked()) {
        direct_ = true;
        body_begin_ = parsed_;
        body_end_ = parsed_ + static_cast<size_t>(*length);
        if (raw_ >= body_end_) return DirectBodyDone();
        continue;
      }
      // Any other body goes through Beast's parser: what came after the header moves to the
      // read buffer it parses from, and the body buffer is free for the body.
      beast::flat_buffer& buffer = buffers_->read;
      buffer.clear();
      // Beast reads into the free capacity: a small buffer would take a body in 512-byte reads.
      buffer.reserve(kReadChunk);
      const size_t rest = raw_ - parsed_;
      asio::buffer_copy(buffer.prepare(rest), asio::buffer(raw.data() + parsed_, rest));
      buffer.commit(rest);
      used_ = 0;
      parser_->eager(true);
      return ReadFramed();
    }
  }

  void DirectBodyDone() {
    used_ = body_end_ - body_begin_;
    Finish(std::nullopt, {}, parser_->keep_alive() && raw_ == body_end_);
  }

  // Beast's parser takes the body from the read buffer into the body buffer (or, for gzip,
  // into the inflater).
  void ReadFramed() {
    error_code ec;
    beast::flat_buffer& buffer = buffers_->read;
    for (;;) {
      // Parse what is buffered.
      while (buffer.size() > 0) {
        SetBodyBuffer();
        const size_t used = parser_->put(buffer.data(), ec);
        buffer.consume(used);
        if (!TakeBody()) return;
        if (ec == http::error::need_buffer) {
          ec = {};
          continue;
        }
        if (ec == http::error::need_more) {
          ec = {};
          break;
        }
        if (ec) return FinishReadError(ec);
        if (parser_->is_done()) return BodyDone();
        if (used == 0) break;
      }
      if (parser_->is_done()) return BodyDone();
      // Read what the socket holds.
      const size_t size = beast::read_size(buffer, kReadChunk);
      if (size == 0) return Finish(ScrapeError::kTooLarge, "the answer's header is too large");
      const size_t n = socket_.read_some(buffer.prepare(size), ec);
      if (WouldBlock(ec)) return WaitReadable();
      if (ec == asio::error::eof) {
        ec = {};
        parser_->put_eof(ec);  // the end of a body that runs to the close, or an answer cut short
        if (ec) return FinishReadError(ec);
        return BodyDone();
      }
      if (ec) return FinishReadError(ec);
      buffer.commit(n);
    }
  }

  static bool PeerClosed(error_code ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::connection_aborted;
  }

  // The header is complete: false when the scrape ended here (Finish was called).
  bool OnHeader() {
    header_done_ = true;
    const auto& header = parser_->get();
    if (header.result_int() != 200) {
      std::string message = "HTTP " + std::to_string(header.result_int());
      if (!header.reason().empty()) message += " " + std::string(Sv(header.reason()));
      Finish(ScrapeError::kHttpStatus, message);
      return false;
    }
    const std::string encoding =
        base::Lower(base::TrimView(Sv(header[http::field::content_encoding])));
    if (encoding == "gzip" || encoding == "x-gzip") {
      gzip_ = true;
      if (!buffers_->gzip.Reset()) {
        Finish(ScrapeError::kDecode, "cannot start inflating: out of memory");
        return false;
      }
    } else if (!encoding.empty() && encoding != "identity") {
      Finish(ScrapeError::kDecode, "unsupported Content-Encoding \"" + encoding + "\"");
      return false;
    } else if (const auto length = parser_->content_length();
               length && *length > impl_->options.max_body_bytes) {
      Finish(ScrapeError::kTooLarge, "the body is " + std::to_string(*length) +
                                         " bytes, more than the limit of " +
                                         std::to_string(impl_->options.max_body_bytes));
      return false;
    }
    return true;
  }

  // Where the parser puts the next body bytes.
  void SetBodyBuffer() {
    auto& body = parser_->get().body();
    std::string& out = buffers_->body;
    if (gzip_) {
      body.data = buffers_->compressed.data();
      body.size = buffers_->compressed.size();
    } else {
      // Straight into the body, at most one byte past the limit.
      const size_t room = std::min(kReadChunk, impl_->options.max_body_bytes + 1 - used_);
      if (out.size() < used_ + room) out.resize(used_ + room);
      body.data = out.data() + used_;
      body.size = room;
    }
    room_ = body.size;
  }

  // Takes the body bytes the parser has just put: false when the scrape ended (Finish called).
  bool TakeBody() {
    const size_t n = room_ - parser_->get().body().size;
    room_ = parser_->get().body().size;
    const size_t limit = impl_->options.max_body_bytes;
    if (gzip_) {
      switch (buffers_->gzip.Feed(std::string_view(buffers_->compressed.data(), n), buffers_->body,
                                  used_, limit)) {
        case GzipInflater::Result::kOk:
          return true;
        case GzipInflater::Result::kTooLarge:
          Finish(ScrapeError::kTooLarge,
                 "the body inflates to more than the limit of " + std::to_string(limit) + " bytes");
          return false;
        case GzipInflater::Result::kError:
          Finish(ScrapeError::kDecode, "gzip: " + buffers_->gzip.error());
          return false;
      }
      return true;
    }
    used_ += n;
    if (used_ > limit) {
      Finish(ScrapeError::kTooLarge,
             "the body is larger than the limit of " + std::to_string(limit) + " bytes");
      return false;
    }
    return true;
  }

  void BodyDone() {
    if (gzip_ && !buffers_->gzip.Finished()) {
      return Finish(ScrapeError::kDecode, "gzip: the compressed body is cut short");
    }
    Finish(std::nullopt, {}, parser_->keep_alive());
  }

  void FinishTimeout() {
    Finish(ScrapeError::kTimeout,
           "no complete answer within " + std::to_string(impl_->options.timeout.count()) + "ms");
  }

  void FinishReadError(error_code ec) {
    if (ec == http::error::body_limit) {
      return Finish(ScrapeError::kTooLarge, "the body is larger than the limit of " +
                                                std::to_string(impl_->options.max_body_bytes) +
                                                " bytes");
    }
    if (ec == http::error::end_of_stream) {
      return Finish(ScrapeError::kConnect, "the connection closed before an answer");
    }
    if (ec == http::error::partial_message) {
      return header_done_
                 ? Finish(ScrapeError::kConnect, "the connection closed in the middle of the body")
                 : Finish(ScrapeError::kProtocol, "the answer is not HTTP (it ended early)");
    }
    if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
      return Finish(ScrapeError::kProtocol, "the answer is not HTTP/1.x: " + ec.message());
    }
    Finish(ScrapeError::kConnect, "reading the answer: " + ec.message());
  }

  // Ends the scrape (error: why it failed, nullopt: it succeeded) and tells the sink.
  void Finish(std::optional<ScrapeError> error, std::string message, bool keep_alive = false) {
    ++run_;
    if (error || !keep_alive) CloseSocket();
    const auto duration =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started_);
    {
      std::lock_guard lock(mu_);
      if (alive_) Deliver(error, std::move(message), duration);
    }
    parser_.reset();
    impl_->ReturnBuffers(std::move(buffers_));
    busy_ = false;
    impl_->ReleaseSlot(this);
  }

  // Under mu_, alive.
  void Deliver(std::optional<ScrapeError> error, std::string message,
               std::chrono::microseconds duration) {
    ScrapeOutcome outcome;
    outcome.t_ms = t_ms_;
    outcome.ok = !error;
    outcome.duration = duration;
    if (error) {
      outcome.error = *error;
      outcome.message = std::move(message);
    } else {
      outcome.body = std::string_view(buffers_->body.data() + body_begin_, used_);
      outcome.content_type = Sv(parser_->get()[http::field::content_type]);
    }
    long kept = -1;
    try {
      kept = impl_->sink(spec_, outcome);
    } catch (const std::exception& e) {  // a sink's bug must not end the I/O thread
      kept = -1;
      if (outcome.ok) outcome.message = std::string("the payload did not parse: ") + e.what();
    } catch (...) {
      kept = -1;
    }
    if (outcome.ok && kept < 0) {
      outcome.ok = false;
      outcome.error = ScrapeError::kDecode;
      if (outcome.message.empty()) outcome.message = "the payload did not parse";
    }
    ScrapeMetrics& m = impl_->metrics;
    if (kept >= 0) series_->Set(static_cast<double>(kept));
    duration_->Set(static_cast<double>(duration.count()) / 1e6);
    if (outcome.ok) {
      m.success.Increment();
      last_success_->Set(static_cast<double>(t_ms_) / 1e3);
      if (failing_) impl_->options.log("scrape of " + spec_.id + " (" + url_ + ") recovered");
      failing_ = false;
    } else {
      m.error.Increment();
      const size_t cause = static_cast<size_t>(outcome.error);
      if (!errors_[cause]) {
        errors_[cause] = &m.errors.Add(
            {{"target", spec_.id}, {"cause", std::string(ScrapeErrorName(outcome.error))}});
      }
      errors_[cause]->Increment();
      if (!failing_) {
        impl_->options.log("scrape of " + spec_.id + " (" + url_ + ") failing: " +
                           std::string(ScrapeErrorName(outcome.error)) + ": " + outcome.message);
      }
      failing_ = true;
    }
    if (!scraped_once_) {
      scraped_once_ = true;
      impl_->unscraped.fetch_sub(1);
    }
  }

  const std::shared_ptr<Scheduler> impl_;
  const ScrapeTarget spec_;
  std::string url_;
  std::string request_;  // the serialized GET
  std::string invalid_;  // why the target cannot be scraped at all, or empty
  tcp::endpoint endpoint_;

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::socket socket_;

  // Whether the target is still wanted: set false by Retire, under mu_, so that a sink call
  // either ends before Retire returns or never starts. alive_hint_ is its lock-free early-out.
  std::mutex mu_;
  bool alive_ = true;
  std::atomic<bool> alive_hint_{true};
  bool scraped_once_ = false;  // under mu_
  bool failing_ = false;       // under mu_
  ::prometheus::Gauge* last_success_ = nullptr;
  ::prometheus::Gauge* duration_ = nullptr;
  ::prometheus::Gauge* series_ = nullptr;
  std::array<::prometheus::Counter*, kCauses> errors_{};

  // The scrape in progress (strand only).
  bool busy_ = false;  // waiting for a slot or scraping
  uint64_t run_ = 0;   // advances when a scrape ends: a late deadline of an old scrape is ignored
  int64_t t_ms_ = 0;
  SteadyClock::time_point started_;
  bool reused_ = false;
  bool retried_ = false;
  bool timed_out_ = false;
  bool header_done_ = false;
  bool gzip_ = false;
  size_t used_ = 0;  // body bytes (decompressed) so far
  // ReadDirect: bytes received into the body buffer, of them parsed as the header; where the
  // body lies in it (a plain body of known length: direct_).
  size_t raw_ = 0;
  size_t parsed_ = 0;
  size_t body_begin_ = 0;
  size_t body_end_ = 0;
  bool direct_ = false;
  size_t room_ = 0;  // size of the buffer handed to the parser for this read
  std::unique_ptr<ScrapeBuffers> buffers_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
};

bool Scheduler::AcquireSlot(const std::shared_ptr<Target>& target) {
  std::lock_guard lock(mu);
  if (stopped) return false;
  if (in_flight < options.max_concurrent) {
    ++in_flight;
    metrics.in_flight.Set(static_cast<double>(in_flight));
    return true;
  }
  waiting.push_back(target);
  return false;
}

void Scheduler::ReleaseSlot(const Target* ended) {
  std::shared_ptr<Target> next;
  {
    std::lock_guard lock(mu);
    if (ended != nullptr) Unwatch(ended);
    while (!waiting.empty() && !next) {
      std::shared_ptr<Target> t = std::move(waiting.front());
      waiting.pop_front();
      if (t->Alive()) next = std::move(t);
    }
    if (!next) {
      --in_flight;
      metrics.in_flight.Set(static_cast<double>(in_flight));
    }
  }
  if (next) next->BeginOnStrand();
}

std::unique_ptr<ScrapeBuffers> Scheduler::TakeBuffers() {
  {
    std::lock_guard lock(mu);
    if (!pool.empty()) {
      std::unique_ptr<ScrapeBuffers> b = std::move(pool.back());
      pool.pop_back();
      return b;
    }
  }
  return std::make_unique<ScrapeBuffers>();
}

void Scheduler::ReturnBuffers(std::unique_ptr<ScrapeBuffers> buffers) {
  if (!buffers) return;
  if (buffers->body.capacity() > kKeepCapacity) std::string().swap(buffers->body);
  std::lock_guard lock(mu);
  if (pool.size() < options.max_concurrent) pool.push_back(std::move(buffers));
}

void Scheduler::SetTargets(std::vector<ScrapeTarget> wanted) {
  std::lock_guard lock(mu);
  if (stopped) return;
  std::unordered_map<std::string, std::shared_ptr<Target>> next;
  next.reserve(wanted.size());
  std::vector<std::shared_ptr<Target>> added;
  for (ScrapeTarget& spec : wanted) {
    if (next.contains(spec.id)) continue;
    auto it = targets.find(spec.id);
    if (it != targets.end() && it->second->spec() == spec) {
      next.emplace(spec.id, std::move(it->second));
      targets.erase(it);
      continue;
    }
    if (it != targets.end()) {  // the same id at a new address: a new target
      it->second->Retire();
      targets.erase(it);
    }
    std::string id = spec.id;
    unscraped.fetch_add(1);
    auto target = std::make_shared<Target>(shared_from_this(), std::move(spec));
    added.push_back(target);
    next.emplace(std::move(id), std::move(target));
  }
  for (auto& [id, target] : targets) target->Retire();
  targets = std::move(next);
  ever_set = true;  // after the new targets are counted in `unscraped`
  metrics.targets.Set(static_cast<double>(targets.size()));
  const auto now = SteadyClock::now();
  const size_t built = beats;
  Rebeat(now);
  if (beats == built) {
    for (const auto& target : added) Schedule(target);
  }
  // A new target may fall due before the beat the timer waits for.
  if (!added.empty() || beats != built) ArmBeat(now);
}

void Scheduler::Rebeat(SteadyClock::time_point now) {
  const size_t wanted = std::clamp(targets.size() / kScrapesPerBeat, min_beats, max_beats);
  if (beats != 0 && wanted < 2 * beats && 2 * wanted > beats) return;
  // Each target takes its place in the new beats; around the change a target's scrape may come
  // up to an interval early or late once.
  beats = wanted;
  beat = interval / static_cast<SteadyClock::rep>(beats);
  due.assign(beats, {});
  for (const auto& [id, target] : targets) Schedule(target);
  next_beat = now.time_since_epoch() / beat + 1;
}

void Scheduler::Stop() {
  std::lock_guard lock(mu);
  if (stopped) return;
  stopped = true;
  for (auto& [id, target] : targets) target->Retire();
  targets.clear();
  waiting.clear();
  for (auto& beat_targets : due) beat_targets.clear();
  watched.clear();
  beat_timer.cancel();
  beat_armed = false;
  metrics.targets.Set(0);
  // Every target is retired: nothing reads these any more, and what they hold (the caller's
  // store, its logger) need not outlive the scraper.
  sink = nullptr;
  options.log = nullptr;
}

void Scheduler::Watch(const std::shared_ptr<Target>& target, uint64_t run,
                      SteadyClock::time_point deadline) {
  watched.push_back({target, target.get(), run, deadline});
}

void Scheduler::Unwatch(const Target* target) {
  for (size_t i = 0; i < watched.size(); ++i) {
    if (watched[i].key != target) continue;
    watched[i] = std::move(watched.back());
    watched.pop_back();
    return;
  }
}

void Scheduler::Schedule(const std::shared_ptr<Target>& target) {
  due[target->Beat()].push_back(target);
}

void Scheduler::ArmBeat(SteadyClock::time_point now, bool started) {
  if (stopped || targets.empty()) {
    if (beat_armed) beat_timer.cancel();
    beat_armed = false;
    return;
  }
  const int64_t current = now.time_since_epoch() / beat;
  // After a pause (no targets) the schedule starts from here, not from where it stopped.
  if (!beat_armed || next_beat < 0) next_beat = current + 1;
  // The next beat that starts a scrape; every beat while scrapes are in flight or waiting,
  // for their deadlines.
  int64_t at = next_beat;
  if (!started && watched.empty() && waiting.empty()) {
    for (size_t n = 0;
         n < beats && due[static_cast<size_t>(at % static_cast<int64_t>(beats))].empty(); ++n) {
      ++at;
    }
  }
  beat_timer.expires_at(SteadyClock::time_point(at * beat));
  beat_armed = true;
  beat_timer.async_wait([weak = weak_from_this()](error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->OnBeat();
  });
}

void Scheduler::OnBeat() {
  std::lock_guard lock(mu);
  if (stopped) return;
  const auto now = SteadyClock::now();
  bool started = false;
  const int64_t current = now.time_since_epoch() / beat;
  // Every beat since the last one handled, each bucket at most once when the loop fell behind
  // by more than an interval (those scrapes are late, not repeated).
  int64_t first = next_beat < 0 ? current : next_beat;
  first = std::max(first, current - static_cast<int64_t>(beats) + 1);
  for (int64_t b = first; b <= current; ++b) {
    auto& bucket = due[static_cast<size_t>(b % static_cast<int64_t>(beats))];
    for (size_t i = 0; i < bucket.size();) {
      std::shared_ptr<Target> target = bucket[i].lock();
      if (target == nullptr || !target->Alive()) {  // retired: dropped here
        bucket[i] = std::move(bucket.back());
        bucket.pop_back();
        continue;
      }
      target->Tick();
      started = true;
      ++i;
    }
  }
  next_beat = current + 1;
  for (size_t i = 0; i < watched.size();) {
    if (watched[i].deadline > now) {
      ++i;
      continue;
    }
    if (auto target = watched[i].target.lock()) target->TimeOut(watched[i].run);
    watched[i] = std::move(watched.back());
    watched.pop_back();
  }
  beat_armed = false;
  ArmBeat(now, started);
}

}  // namespace

struct Scraper::Impl : Scheduler {
  using Scheduler::Scheduler;
};

Scraper::Scraper(asio::io_context& io, ScraperOptions options, Sink sink,
                 const base::Clock& clock) {
  if (options.interval.count() <= 0) throw std::invalid_argument("the scrape interval must be > 0");
  if (options.timeout.count() <= 0) throw std::invalid_argument("the scrape timeout must be > 0");
  if (options.max_body_bytes == 0) throw std::invalid_argument("the scrape size limit must be > 0");
  if (options.max_concurrent == 0) {
    throw std::invalid_argument("the number of concurrent scrapes must be > 0");
  }
  if (!sink) throw std::invalid_argument("the scraper needs a sink");
  impl_ = std::make_shared<Impl>(io, std::move(options), std::move(sink), clock);
}

Scraper::~Scraper() { Stop(); }

void Scraper::SetTargets(std::vector<ScrapeTarget> targets) {
  impl_->SetTargets(std::move(targets));
}

void Scraper::Stop() { impl_->Stop(); }

bool Scraper::RoundComplete() const { return impl_->ever_set && impl_->unscraped.load() == 0; }

const std::shared_ptr<::prometheus::Registry>& Scraper::registry() const { return impl_->registry; }

}  // namespace smi::sources::sidecars
