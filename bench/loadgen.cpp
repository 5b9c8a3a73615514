// Load generator for the serving benchmarks (bench/serving.sh, slow_clients.sh, soak.sh): HTTPS
// GETs over keep-alive connections that present a client certificate, as kube-apiserver's proxy
// and kubectl do, and optionally slow clients held open beside them:
//   --trickle N  connections that finish the TLS handshake and then send one header byte per
//                second, never ending the header (a slowloris client);
//   --idle N     connections that make one request and then stay open, idle, on keep-alive.
// Those are opened first (at most --ramp seconds), on an event-loop thread of their own so that
// their handshakes (trickling ones reconnect whenever the server closes them) never delay the
// measured requests inside loadgen; then the measured connections run for
// --duration seconds (or --requests N) and their answers are counted: 2xx, other statuses,
// connection failures, timeouts (--timeout per request, the connection's set-up included, so a
// server that stalls shows up as timeouts and never hangs the run). Every run ends within
// --ramp + --duration seconds.
//
// Only loopback addresses: this measures a server on the same machine and must not load anybody
// else's. Not a test: it prints what it measured and exits 0 (2 on bad arguments).
//
//   loadgen --url https://127.0.0.1:8443/path [--url ...] [options]   (--help for all)
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;
using asio::awaitable;
using boost::system::error_code;

constexpr auto kUsage = R"(usage: loadgen --url https://HOST:PORT/PATH [--url ...] [options]
  --url URL           a path to request; several --url (same host and port) are requested in
                      turn by every connection. HOST must be a loopback address or localhost.
  --connections N     measured keep-alive connections (default 8)
  --threads T         event-loop threads of the measured connections (default 1); the slow
                      and idle connections have one more of their own
  --duration S        seconds of measurement (default 10); also the bound with --requests
  --requests N        stop after N requests (over all connections)
  --rate R            at most R requests/s over all measured connections (default: as fast as
                      answered, one request in flight per connection)
  --timeout S         per request, connecting included (default 5)
  --cert F --key F    client certificate and key presented (PEM)
  --ca F              CA to verify the server against (its name must match HOST)
  --insecure          do not verify the server
  --trickle N         slow connections sending one header byte per second, never finishing
  --idle N            connections making one request, then idle on keep-alive
  --ramp S            at most S seconds to open the slow/idle connections first (default 30)
  --interval S        print running totals every S seconds to stderr (default: none)
  --output text|kv    result as a table (default) or KEY=VALUE lines for scripts
)";

struct Options {
  std::string host;
  std::string port;
  std::vector<std::string> paths;
  int connections = 8;
  int threads = 1;
  double duration = 10;
  long requests = 0;
  double rate = 0;
  double timeout = 5;
  std::string cert, key, ca;
  bool insecure = false;
  int trickle = 0;
  int idle = 0;
  double ramp = 30;
  double interval = 0;
  bool kv = false;
};

[[noreturn]] void Usage(const std::string& error) {
  std::cerr << "loadgen: " << error << "\n" << kUsage;
  std::exit(2);
}

[[noreturn]] void Fail(const std::string& error) {
  std::cerr << "loadgen: " << error << "\n";
  std::exit(2);
}

double ParseNumber(const std::string& name, std::string v, double min) {
  if (!v.empty() && v.back() == 's') v.pop_back();  // "10s" reads as 10
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size() && d >= min) return d;
  } catch (const std::exception&) {
  }
  Usage("--" + name + ": expected a number of at least " + std::to_string(min));
}

// https://HOST:PORT/PATH, HOST possibly a bracketed IPv6 address.
void ParseUrl(const std::string& url, Options& o) {
  const std::string scheme = "https://";
  if (url.rfind(scheme, 0) != 0) Usage("--url " + url + ": expected https://HOST:PORT/PATH");
  const size_t slash = url.find('/', scheme.size());
  const std::string authority = url.substr(scheme.size(), slash - scheme.size());
  const std::string path = slash == std::string::npos ? "/" : url.substr(slash);
  std::string host, port = "443";
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) Usage("--url " + url + ": unterminated [");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty()) Usage("--url " + url + ": expected https://HOST:PORT/PATH");
  if (!o.host.empty() && (o.host != host || o.port != port)) {
    Usage("every --url must name the same host and port");
  }
  o.host = host;
  o.port = port;
  o.paths.push_back(path);
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (name == "--help" || name == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (name.rfind("--", 0) != 0) Usage("unexpected argument " + name);
    name = name.substr(2);
    if (name == "insecure") {
      o.insecure = true;
      continue;
    }
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (i + 1 >= args.size()) Usage("--" + name + " needs a value");
      value = args[++i];
    }
    if (name == "url") {
      ParseUrl(value, o);
    } else if (name == "connections") {
      o.connections = static_cast<int>(ParseNumber(name, value, 1));
    } else if (name == "threads") {
      o.threads = static_cast<int>(ParseNumber(name, value, 1));
    } else if (name == "duration") {
      o.duration = ParseNumber(name, value, 0.1);
    } else if (name == "requests") {
      o.requests = static_cast<long>(ParseNumber(name, value, 1));
    } else if (name == "rate") {
      o.rate = ParseNumber(name, value, 0);
    } else if (name == "timeout") {
      o.timeout = ParseNumber(name, value, 0.01);
    } else if (name == "cert") {
      o.cert = value;
    } else if (name == "key") {
      o.key = value;
    } else if (name == "ca") {
      o.ca = value;
    } else if (name == "trickle") {
      o.trickle = static_cast<int>(ParseNumber(name, value, 0));
    } else if (name == "idle") {
      o.idle = static_cast<int>(ParseNumber(name, value, 0));
    } else if (name == "ramp") {
      o.ramp = ParseNumber(name, value, 0);
    } else if (name == "interval") {
      o.interval = ParseNumber(name, value, 0);
    } else if (name == "output") {
      if (value != "text" && value != "kv") Usage("--output: text or kv");
      o.kv = value == "kv";
    } else {
      Usage("unknown option --" + name);
    }
  }
  if (o.paths.empty()) Usage("--url is required");
  if (o.cert.empty() != o.key.empty()) Usage("--cert and --key go together");
  if (o.ca.empty() == !o.insecure) Usage("give --ca to verify the server, or --insecure");
  return o;
}

// The one endpoint HOST:PORT resolves to, which must be a loopback address.
tcp::endpoint LoopbackEndpoint(const Options& o) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  error_code ec;
  const auto results = resolver.resolve(o.host, o.port, ec);
  if (ec || results.empty()) Usage("cannot resolve " + o.host + ":" + o.port);
  for (const auto& r : results) {
    if (!r.endpoint().address().is_loopback()) {
      Usage(o.host + " resolves to " + r.endpoint().address().to_string() +
            ", not a loopback address: loadgen only loads servers on this machine");
    }
  }
  return results.begin()->endpoint();
}

// Sockets for thousands of slow and idle connections: as many descriptors as allowed.
void RaiseFileLimit() {
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur < l.rlim_max) {
    l.rlim_cur = l.rlim_max;
    setrlimit(RLIMIT_NOFILE, &l);
  }
}

// What the run shares across threads: read-only settings and atomic counters.
struct Shared {
  Options opt;
  ssl::context tls{ssl::context::tls_client};
  tcp::endpoint endpoint;
  bool sni = false;
  std::vector<std::string> requests;  // the request bytes, per path
  std::string trickle_prefix;         // the start of the header trickled byte by byte
  std::atomic<bool> stop{false};
  std::atomic<long> issued{0};    // requests started (for --requests)
  std::atomic<long> finished{0};  // answered or failed
  std::atomic<long> failed{0};
  // Slow and idle connections.
  std::atomic<long> trickle_open{0}, idle_open{0};
  std::atomic<long> bg_refused{0};  // connect or handshake failed (or timed out)
  std::atomic<long> bg_failed{0};   // idle connection's first request failed
  std::atomic<long> bg_closed{0};   // closed by the server once open
};

struct PathStats {
  std::vector<uint32_t> latency_us;  // of every answered request
  long ok = 0, status_errors = 0, connect_errors = 0, timeouts = 0, io_errors = 0;
  uint64_t bytes = 0;  // HTTP bytes of the answers (headers and bodies)
};

struct Worker {
  asio::io_context ioc{1};
  std::vector<PathStats> paths;
  long connects = 0, server_closes = 0;
  // When each measured connection of this worker started the request it waits for (or zero).
  std::vector<Clock::time_point> in_flight;
  std::thread thread;
};

// One TLS connection with a deadline: when the deadline passes, the socket is closed, which
// fails the pending operation (and Conn::timed_out says why).
struct Conn : std::enable_shared_from_this<Conn> {
  Conn(const asio::any_io_executor& ex, Shared& s) : stream(ex, s.tls), timer(ex) {
    if (s.sni) SSL_set_tlsext_host_name(stream.native_handle(), s.opt.host.c_str());
  }
  void Arm(Clock::time_point deadline) {
    ++generation;
    timed_out = false;
    timer.expires_at(deadline);
    // A generation, not the error code, decides: a deadline that fired just as the operation
    // ended must not close the next operation's socket.
    timer.async_wait([self = shared_from_this(), g = generation](error_code ec) {
      if (ec || g != self->generation) return;
      self->timed_out = true;
      error_code ignored;
      self->stream.lowest_layer().close(ignored);
    });
  }
  void Disarm() {
    ++generation;
    timer.cancel();
  }
  void Close() {
    error_code ignored;
    stream.lowest_layer().close(ignored);
  }

  ssl::stream<tcp::socket> stream;
  asio::steady_timer timer;
  uint64_t generation = 0;
  bool timed_out = false;
};

enum class Outcome { kOk, kRefused, kTimeout };

awaitable<Outcome> Connect(Shared& s, Conn& c, Clock::time_point deadline) {
  c.Arm(deadline);
  error_code ec;
  co_await c.stream.lowest_layer().async_connect(s.endpoint,
                                                 asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) {
    // As the server sets it: without it, Nagle's algorithm holds small writes for the delayed ACK.
    c.stream.lowest_layer().set_option(tcp::no_delay(true), ec);
    co_await c.stream.async_handshake(ssl::stream_base::client,
                                      asio::redirect_error(asio::use_awaitable, ec));
  }
  const bool timed_out = c.timed_out;
  c.Disarm();
  if (!ec) co_return Outcome::kOk;
  co_return timed_out ? Outcome::kTimeout : Outcome::kRefused;
}

awaitable<void> Sleep(Clock::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

Clock::duration ToDuration(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(Seconds(seconds));
}

// A measured connection: requests its paths in turn, one at a time, reconnecting when the server
// closes the connection or it fails.
awaitable<void> Measured(Shared& s, Worker& w, int index, size_t slot) {
  const auto ex = co_await asio::this_coro::executor;
  const size_t n_paths = s.requests.size();
  size_t path = index % n_paths;
  std::shared_ptr<Conn> c;
  boost::beast::flat_buffer buffer;
  const auto interval =
      s.opt.rate > 0 ? ToDuration(s.opt.connections / s.opt.rate) : Clock::duration(0);
  // Spread the paced connections over the interval rather than sending in bursts.
  auto next = Clock::now() + interval * index / s.opt.connections;
  while (!s.stop) {
    if (interval.count() > 0) {
      if (next > Clock::now()) co_await Sleep(next - Clock::now());
      next = std::max(next + interval, Clock::now());
      if (s.stop) break;
    }
    if (s.opt.requests > 0 && s.issued.fetch_add(1) >= s.opt.requests) break;
    PathStats& ps = w.paths[path];
    const auto start = Clock::now();
    const auto deadline = start + ToDuration(s.opt.timeout);
    w.in_flight[slot] = start;
    if (!c) {
      c = std::make_shared<Conn>(ex, s);
      buffer.clear();
      ++w.connects;
      const Outcome o = co_await Connect(s, *c, deadline);
      if (o != Outcome::kOk) {
        (o == Outcome::kTimeout ? ps.timeouts : ps.connect_errors)++;
        c.reset();
        w.in_flight[slot] = {};
        ++s.failed;
        ++s.finished;
        // Not a busy loop against a server that refuses at once.
        if (o == Outcome::kRefused) co_await Sleep(std::chrono::milliseconds(100));
        continue;
      }
    }
    c->Arm(deadline);
    error_code ec;
    co_await asio::async_write(c->stream, asio::buffer(s.requests[path]),
                               asio::redirect_error(asio::use_awaitable, ec));
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ULL << 30);
    size_t n = 0;
    if (!ec) {
      n = co_await http::async_read(c->stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
    }
    const bool timed_out = c->timed_out;
    c->Disarm();
    const auto end = Clock::now();
    w.in_flight[slot] = {};
    ++s.finished;
    if (ec) {
      (timed_out ? ps.timeouts : ps.io_errors)++;
      ++s.failed;
      c->Close();
      c.reset();
      continue;
    }
    const unsigned status = parser.get().result_int();
    if (status / 100 == 2) {
      ++ps.ok;
    } else {
      ++ps.status_errors;
      ++s.failed;
    }
    ps.latency_us.push_back(static_cast<uint32_t>(std::min<int64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(end - start).count(), UINT32_MAX)));
    ps.bytes += n;
    if (!parser.get().keep_alive()) {
      ++w.server_closes;
      c->Close();
      c.reset();
    }
    path = (path + 1) % n_paths;
  }
  if (c) c->Close();
}

// Opens a background connection (TLS done); for an idle one also makes its one request.
awaitable<std::shared_ptr<Conn>> OpenBackground(Shared& s, bool idle) {
  const auto ex = co_await asio::this_coro::executor;
  auto c = std::make_shared<Conn>(ex, s);
  // Generous: a server busy accepting thousands of connections answers late, and a slow one is
  // what is measured, not a failure of the slow client.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  if (co_await Connect(s, *c, deadline) != Outcome::kOk) {
    ++s.bg_refused;
    co_return nullptr;
  }
  if (!idle) co_return c;
  c->Arm(deadline);
  error_code ec;
  co_await asio::async_write(c->stream, asio::buffer(s.requests[0]),
                             asio::redirect_error(asio::use_awaitable, ec));
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ULL << 30);
  if (!ec) {
    co_await http::async_read(c->stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
  }
  c->Disarm();
  if (ec || !parser.get().keep_alive()) {
    ++s.bg_failed;
    c->Close();
    co_return nullptr;
  }
  co_return c;
}

// Holds an idle connection until the server closes it; then opens another (a second later, so a
// server that closes at once is not hammered).
awaitable<void> HoldIdle(Shared& s, std::shared_ptr<Conn> c) {
  for (;;) {
    ++s.idle_open;
    char byte;
    error_code ec;
    co_await c->stream.async_read_some(asio::buffer(&byte, 1),
                                       asio::redirect_error(asio::use_awaitable, ec));
    --s.idle_open;
    c->Close();
    if (s.stop) co_return;
    ++s.bg_closed;
    do {
      co_await Sleep(std::chrono::seconds(1));
      if (s.stop) co_return;
      c = co_await OpenBackground(s, /*idle=*/true);
    } while (!c);
  }
}

// Trickles one byte of a never-ending header per second until the server closes the
// connection; then opens another (as HoldIdle).
awaitable<void> HoldTrickle(Shared& s, std::shared_ptr<Conn> c, Clock::duration phase) {
  const auto ex = co_await asio::this_coro::executor;
  for (;;) {
    ++s.trickle_open;
    struct State {
      explicit State(const asio::any_io_executor& ex) : tick(ex) {}
      asio::steady_timer tick;
      bool closed = false;
    };
    auto state = std::make_shared<State>(ex);
    // Reads whatever the server sends (an error status, say) until it closes the connection.
    asio::co_spawn(
        ex,
        [c]() -> awaitable<void> {
          char sink[1024];
          error_code ec;
          while (!ec) {
            co_await c->stream.async_read_some(asio::buffer(sink),
                                               asio::redirect_error(asio::use_awaitable, ec));
          }
        },
        [state](std::exception_ptr) {
          state->closed = true;
          state->tick.cancel();
        });
    state->tick.expires_after(phase);
    error_code ec;
    co_await state->tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    for (size_t i = 0; !state->closed; ++i) {
      const char byte = i < s.trickle_prefix.size() ? s.trickle_prefix[i] : 'a';
      co_await asio::async_write(c->stream, asio::buffer(&byte, 1),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      state->tick.expires_after(std::chrono::seconds(1));
      co_await state->tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    c->Close();
    while (!state->closed) {  // the reader ends once the socket is closed
      state->tick.expires_after(std::chrono::seconds(1));
      co_await state->tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    --s.trickle_open;
    if (s.stop) co_return;
    ++s.bg_closed;
    do {
      co_await Sleep(std::chrono::seconds(1));
      if (s.stop) co_return;
      c = co_await OpenBackground(s, /*idle=*/false);
    } while (!c);
    phase = Clock::duration(0);
  }
}

// Opens this launcher's share of the background connections one after another (so that the
// server sees at most a few handshakes at once per launcher), each then held by its own coroutine.
awaitable<void> Launcher(Shared& s, int first, int step) {
  const auto ex = co_await asio::this_coro::executor;
  std::minstd_rand random(first);
  const int total = s.opt.trickle + s.opt.idle;
  for (int i = first; i < total && !s.stop; i += step) {
    const bool idle = i >= s.opt.trickle;
    std::shared_ptr<Conn> c;
    while (!c && !s.stop) {
      c = co_await OpenBackground(s, idle);
      if (!c) co_await Sleep(std::chrono::seconds(1));
    }
    if (!c) break;
    if (idle) {
      asio::co_spawn(ex, HoldIdle(s, c), asio::detached);
    } else {
      // Trickled bytes spread over the second, not all at once.
      const auto phase = std::chrono::milliseconds(random() % 1000);
      asio::co_spawn(ex, HoldTrickle(s, c, phase), asio::detached);
    }
  }
}

std::string Ms(double us) {
  char out[32];
  std::snprintf(out, sizeof out, "%.2f", us / 1000.0);
  return out;
}

struct Summary {
  long answered = 0, ok = 0, status_errors = 0, connect_errors = 0, timeouts = 0, io_errors = 0;
  uint64_t bytes = 0;
  std::string p50 = "-", p90 = "-", p99 = "-", max = "-";

  long errors() const { return status_errors + connect_errors + timeouts + io_errors; }
};

Summary Summarize(const std::vector<const PathStats*>& parts) {
  Summary sum;
  std::vector<uint32_t> latency;
  for (const PathStats* p : parts) {
    latency.insert(latency.end(), p->latency_us.begin(), p->latency_us.end());
    sum.ok += p->ok;
    sum.status_errors += p->status_errors;
    sum.connect_errors += p->connect_errors;
    sum.timeouts += p->timeouts;
    sum.io_errors += p->io_errors;
    sum.bytes += p->bytes;
  }
  sum.answered = static_cast<long>(latency.size());
  if (!latency.empty()) {
    std::sort(latency.begin(), latency.end());
    // Nearest rank.
    auto at = [&](double q) {
      const size_t rank = static_cast<size_t>(std::ceil(q * latency.size()));
      return Ms(latency[std::clamp<size_t>(rank, 1, latency.size()) - 1]);
    };
    sum.p50 = at(0.50);
    sum.p90 = at(0.90);
    sum.p99 = at(0.99);
    sum.max = Ms(latency.back());
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  Shared s;
  s.opt = ParseOptions(argc, argv);
  const Options& o = s.opt;
  s.endpoint = LoopbackEndpoint(o);
  RaiseFileLimit();
  try {
    if (!o.cert.empty()) {
      s.tls.use_certificate_chain_file(o.cert);
      s.tls.use_private_key_file(o.key, ssl::context::pem);
    }
    if (o.insecure) {
      s.tls.set_verify_mode(ssl::verify_none);
    } else {
      s.tls.load_verify_file(o.ca);
      s.tls.set_verify_mode(ssl::verify_peer);
      s.tls.set_verify_callback(ssl::host_name_verification(o.host));
    }
  } catch (const std::exception& e) {
    Fail(std::string("TLS setup (--cert, --key, --ca): ") + e.what());
  }
  error_code ec;
  asio::ip::make_address(o.host, ec);
  s.sni = static_cast<bool>(ec);  // a name, not an address literal
  const std::string host_header =
      (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) + ":" + o.port;
  for (const std::string& path : o.paths) {
    s.requests.push_back("GET " + path + " HTTP/1.1\r\nHost: " + host_header +
                         "\r\nAccept: application/json\r\nUser-Agent: smi-loadgen\r\n\r\n");
  }
  s.trickle_prefix = "GET " + o.paths[0] + " HTTP/1.1\r\nHost: " + host_header + "\r\nX-Trickle: ";

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) {
    auto w = std::make_unique<Worker>();
    w->paths.resize(o.paths.size());
    workers.push_back(std::move(w));
  }
  for (int i = 0; i < o.connections; ++i) workers[i % o.threads]->in_flight.emplace_back();
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : workers) {
    guards.push_back(asio::make_work_guard(w->ioc));
    w->thread = std::thread([&ioc = w->ioc] { ioc.run(); });
  }

  // The slow and idle connections first, open before measuring (or the ramp's time is up), on
  // their own thread: what a client measures is then the server's time, not loadgen's queue.
  const long background = static_cast<long>(o.trickle) + o.idle;
  const auto ramp_start = Clock::now();
  Worker slow;
  auto slow_guard = asio::make_work_guard(slow.ioc);
  if (background > 0) {
    slow.thread = std::thread([&ioc = slow.ioc] { ioc.run(); });
    const int launchers = static_cast<int>(std::min<long>(background, 32));
    for (int l = 0; l < launchers; ++l) {
      asio::co_spawn(slow.ioc, Launcher(s, l, launchers), asio::detached);
    }
    auto last_note = ramp_start;
    while (s.trickle_open + s.idle_open < background &&
           Clock::now() - ramp_start < ToDuration(o.ramp)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (Clock::now() - last_note > std::chrono::seconds(5)) {
        last_note = Clock::now();
        std::cerr << "loadgen: " << s.trickle_open << "/" << o.trickle << " trickling and "
                  << s.idle_open << "/" << o.idle << " idle connections open\n";
      }
    }
  }
  const double ramp_seconds = Seconds(Clock::now() - ramp_start).count();
  const long trickle_at_start = s.trickle_open, idle_at_start = s.idle_open;
  long trickle_min = trickle_at_start, idle_min = idle_at_start;

  const auto start = Clock::now();
  for (int i = 0; i < o.connections; ++i) {
    Worker& w = *workers[i % o.threads];
    asio::co_spawn(w.ioc, Measured(s, w, i, i / o.threads), asio::detached);
  }
  const auto bound = start + ToDuration(o.duration);
  auto next_interval = start + ToDuration(o.interval);
  long interval_finished = 0, interval_failed = 0;
  while (Clock::now() < bound && !(o.requests > 0 && s.finished >= o.requests)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    trickle_min = std::min<long>(trickle_min, s.trickle_open);
    idle_min = std::min<long>(idle_min, s.idle_open);
    if (o.interval > 0 && Clock::now() >= next_interval) {
      const long finished = s.finished, failed = s.failed;
      std::fprintf(stderr, "interval t=%.0f requests=%ld errors=%ld rps=%.1f\n",
                   Seconds(Clock::now() - start).count(), finished - interval_finished,
                   failed - interval_failed, (finished - interval_finished) / o.interval);
      interval_finished = finished;
      interval_failed = failed;
      next_interval += ToDuration(o.interval);
    }
  }
  const auto end = Clock::now();
  s.stop = true;
  const long trickle_at_end = s.trickle_open, idle_at_end = s.idle_open;
  for (auto& w : workers) w->ioc.stop();
  slow.ioc.stop();
  for (auto& w : workers) w->thread.join();
  if (slow.thread.joinable()) slow.thread.join();

  // Requests still unanswered when the time was up: a stalled server leaves some.
  long unfinished = 0, connects = 0, server_closes = 0;
  double oldest_unfinished = 0;
  for (const auto& w : workers) {
    connects += w->connects;
    server_closes += w->server_closes;
    for (const auto& since : w->in_flight) {
      if (since == Clock::time_point{}) continue;
      ++unfinished;
      oldest_unfinished = std::max(oldest_unfinished, Seconds(end - since).count());
    }
  }
  const double seconds = Seconds(end - start).count();
  std::vector<const PathStats*> all;
  for (const auto& w : workers) {
    for (const auto& p : w->paths) all.push_back(&p);
  }
  const Summary sum = Summarize(all);
  const double rps = sum.ok / seconds;
  char rps_text[32];
  std::snprintf(rps_text, sizeof rps_text, "%.1f", rps);
  char seconds_text[32];
  std::snprintf(seconds_text, sizeof seconds_text, "%.2f", seconds);
  const uint64_t per_answer = sum.answered ? sum.bytes / sum.answered : 0;

  if (o.kv) {
    std::cout << "seconds=" << seconds_text << "\nconnections=" << o.connections
              << "\nthreads=" << o.threads
              << "\nrequests=" << sum.answered + sum.connect_errors + sum.timeouts + sum.io_errors
              << "\nanswered=" << sum.answered << "\nok=" << sum.ok << "\nerrors=" << sum.errors()
              << "\nstatus_errors=" << sum.status_errors
              << "\nconnect_errors=" << sum.connect_errors << "\ntimeouts=" << sum.timeouts
              << "\nio_errors=" << sum.io_errors << "\nunfinished=" << unfinished
              << "\noldest_unfinished_s=" << oldest_unfinished << "\nrps=" << rps_text
              << "\np50_ms=" << sum.p50 << "\np90_ms=" << sum.p90 << "\np99_ms=" << sum.p99
              << "\nmax_ms=" << sum.max << "\nbytes=" << sum.bytes
              << "\nbytes_per_answer=" << per_answer << "\nconnects=" << connects
              << "\nserver_closes=" << server_closes << "\nramp_s=" << ramp_seconds
              << "\ntrickle=" << o.trickle << "\ntrickle_open_start=" << trickle_at_start
              << "\ntrickle_open_min=" << trickle_min << "\ntrickle_open_end=" << trickle_at_end
              << "\nidle=" << o.idle << "\nidle_open_start=" << idle_at_start
              << "\nidle_open_min=" << idle_min << "\nidle_open_end=" << idle_at_end
              << "\nbackground_refused=" << s.bg_refused << "\nbackground_failed=" << s.bg_failed
              << "\nbackground_closed=" << s.bg_closed << "\n";
    for (size_t i = 0; i < o.paths.size(); ++i) {
      std::vector<const PathStats*> parts;
      for (const auto& w : workers) parts.push_back(&w->paths[i]);
      const Summary p = Summarize(parts);
      std::cout << "path" << i << "=" << o.paths[i] << "\npath" << i << "_ok=" << p.ok << "\npath"
                << i << "_errors=" << p.errors() << "\npath" << i << "_p99_ms=" << p.p99 << "\n";
    }
  } else {
    std::cout << "target      https://" << host_header << " (" << o.paths.size() << " path"
              << (o.paths.size() == 1 ? "" : "s") << ")\n"
              << "measured    " << seconds_text << " s, " << o.connections
              << " keep-alive connections, " << o.threads << " thread(s), " << connects
              << " connects\n"
              << "requests    " << sum.answered << " answered, " << sum.ok << " 2xx, " << rps_text
              << " 2xx/s\n"
              << "errors      " << sum.errors() << " (status " << sum.status_errors << ", refused "
              << sum.connect_errors << ", timeouts " << sum.timeouts << ", connection "
              << sum.io_errors << "); unanswered at the end " << unfinished << " (oldest "
              << Ms(oldest_unfinished * 1e6) << " ms)\n"
              << "latency ms  p50 " << sum.p50 << "  p90 " << sum.p90 << "  p99 " << sum.p99
              << "  max " << sum.max << "\n"
              << "bytes       " << sum.bytes << " (" << per_answer << " per answer)\n";
    if (background > 0) {
      std::cout << "background  trickling " << trickle_at_start << "/" << o.trickle
                << " open at start, " << trickle_min << " at least; idle " << idle_at_start << "/"
                << o.idle << ", " << idle_min << " at least; refused " << s.bg_refused
                << ", closed by the server " << s.bg_closed << "\n";
    }
    if (o.paths.size() > 1) {
      for (size_t i = 0; i < o.paths.size(); ++i) {
        std::vector<const PathStats*> parts;
        for (const auto& w : workers) parts.push_back(&w->paths[i]);
        const Summary p = Summarize(parts);
        std::cout << "  " << o.paths[i] << ": " << p.ok << " 2xx, " << p.errors() << " errors, p99 "
                  << p.p99 << " ms\n";
      }
    }
  }
  std::cout.flush();
  // Suspended coroutines and thousands of sockets need no orderly teardown.
  std::_Exit(0);
}
