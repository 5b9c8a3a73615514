// What the sidecar scraper costs: N in-process proxies on 127.0.0.1, each serving the same
// payload (a file, e.g. a ~40 KB Linkerd scrape), scraped at an interval for a duration. Prints
// the CPU seconds of the scraper's own thread (the proxies run on another), scrapes per second
// and failures. The sink only counts bytes, so the figure is the scraper alone, without parsing.
//
//   scrape_bench PAYLOAD [--targets N] [--interval-ms MS] [--duration-s S] [--gzip]
//                        [--no-accept-gzip] [--max-concurrent K] [--timeout-ms MS]
//     --gzip: the proxies can answer gzip; --no-accept-gzip: the scraper does not ask for it
//   scrape_bench --memory-only --targets N
//     the resident memory N targets cost the scraper between scrapes (no proxies, no scraping)
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <utility>  // first: Boost 1.74's Asio uses std::exchange without including it

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sources/sidecars/scraper.h"
#include "sources/source_metrics.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using smi::sources::sidecars::ScrapeOutcome;
using smi::sources::sidecars::Scraper;
using smi::sources::sidecars::ScraperOptions;
using smi::sources::sidecars::ScrapeTarget;

std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
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

std::string Response(const std::string& body, bool gzip) {
  std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n";
  if (gzip) r += "Content-Encoding: gzip\r\n";
  return r + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// One keep-alive connection of a proxy: reads a request, writes the canned answer, repeats.
class ProxyConnection : public std::enable_shared_from_this<ProxyConnection> {
 public:
  ProxyConnection(tcp::socket socket, const std::string& plain, const std::string& gzip)
      : socket_(std::move(socket)), plain_(plain), gzip_(gzip) {}
  void Read() {
    request_ = {};
    http::async_read(socket_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return;
                       const bool wants_gzip =
                           !self->gzip_.empty() &&
                           request_accepts_gzip(self->request_[http::field::accept_encoding]);
                       const std::string& answer = wants_gzip ? self->gzip_ : self->plain_;
                       asio::async_write(self->socket_, asio::buffer(answer),
                                         [self](beast::error_code ec, size_t) {
                                           if (!ec) self->Read();
                                         });
                     });
  }

 private:
  static bool request_accepts_gzip(beast::string_view v) {
    return v.find("gzip") != beast::string_view::npos;
  }
  tcp::socket socket_;
  const std::string& plain_;
  const std::string& gzip_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
};

class Proxy {
 public:
  Proxy(asio::io_context& io, const std::string& plain, const std::string& gzip)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        plain_(plain),
        gzip_(gzip) {
    Accept();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      socket.set_option(tcp::no_delay(true));
      std::make_shared<ProxyConnection>(std::move(socket), plain_, gzip_)->Read();
      Accept();
    });
  }
  tcp::acceptor acceptor_;
  const std::string& plain_;
  const std::string& gzip_;
};

double ThreadCpuSeconds(pthread_t thread) {
  clockid_t id;
  timespec ts{};
  if (pthread_getcpuclockid(thread, &id) != 0 || clock_gettime(id, &ts) != 0) return -1;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// User and system CPU seconds of the thread running `io` (asked on that thread).
std::pair<double, double> UserAndSystemSeconds(asio::io_context& io) {
  std::promise<std::pair<double, double>> answer;
  asio::post(io, [&] {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    auto seconds = [](timeval t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    answer.set_value({seconds(u.ru_utime), seconds(u.ru_stime)});
  });
  return answer.get_future().get();
}

long ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// The resident memory of `n` targets that are not scraped yet (their first scrape is up to an
// hour away): schedule, strand, socket, timers, request, health series.
int MeasureMemory(int n) {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread thread([&] { io.run(); });
  ScraperOptions options;
  options.interval = std::chrono::hours(1);
  Scraper scraper(io, options, [](const ScrapeTarget&, const ScrapeOutcome&) { return 0L; });
  std::vector<ScrapeTarget> targets;
  for (int i = 0; i < n; ++i) {
    targets.push_back({"namespace-" + std::to_string(i % 50) + "/deployment-" +
                           std::to_string(i / 50) + "-5d8f9c7b6d-" + std::to_string(10000 + i),
                       "10." + std::to_string(i / 65536 % 256) + "." +
                           std::to_string(i / 256 % 256) + "." + std::to_string(i % 256),
                       4191, "/metrics"});
  }
  const long before = ResidentBytes();
  scraper.SetTargets(targets);
  std::promise<void> armed;  // every target's first tick armed on the loop
  asio::post(io, [&] { armed.set_value(); });
  armed.get_future().get();
  const long after = ResidentBytes();
  std::printf("%d targets: resident memory +%.1f MiB, %.0f bytes per target\n", n,
              (after - before) / 1048576.0, static_cast<double>(after - before) / n);
  scraper.Stop();
  work.reset();
  io.stop();
  thread.join();
  return 0;
}

[[noreturn]] void Usage(const char* why) {
  std::cerr << "scrape_bench: " << why
            << "\nusage: scrape_bench PAYLOAD [--targets N] [--interval-ms MS] [--duration-s S] "
               "[--gzip] [--no-accept-gzip] [--max-concurrent K] [--timeout-ms MS]\n"
               "       scrape_bench --memory-only --targets N\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--memory-only" && std::string(argv[2]) == "--targets") {
    return MeasureMemory(std::atoi(argv[3]));
  }
  if (argc < 2) Usage("no payload file");
  const std::string payload_path = argv[1];
  int targets = 100, duration_s = 10;
  bool gzip = false;
  ScraperOptions options;
  options.interval = std::chrono::milliseconds(1000);
  options.timeout = std::chrono::milliseconds(1000);
  bool timeout_given = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> long {
      if (i + 1 >= argc) Usage(("no value after " + a).c_str());
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v <= 0) Usage(("not a positive number after " + a).c_str());
      return v;
    };
    if (a == "--targets") {
      targets = static_cast<int>(next());
    } else if (a == "--interval-ms") {
      options.interval = std::chrono::milliseconds(next());
    } else if (a == "--duration-s") {
      duration_s = static_cast<int>(next());
    } else if (a == "--gzip") {
      gzip = true;  // the proxies answer gzip to requests that ask for it
    } else if (a == "--no-accept-gzip") {
      options.gzip = false;
    } else if (a == "--max-concurrent") {
      options.max_concurrent = static_cast<size_t>(next());
    } else if (a == "--timeout-ms") {
      options.timeout = std::chrono::milliseconds(next());
      timeout_given = true;
    } else {
      Usage(("unknown argument " + a).c_str());
    }
  }
  if (!timeout_given) options.timeout = options.interval;

  std::ifstream in(payload_path, std::ios::binary);
  if (!in) Usage(("cannot read " + payload_path).c_str());
  std::stringstream text;
  text << in.rdbuf();
  const std::string payload = text.str();
  const std::string plain_answer = Response(payload, false);
  const std::string gzip_answer = gzip ? Response(Gzip(payload), true) : "";

  // A listener and two sockets (both ends) per target stay open for the whole run.
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < static_cast<rlim_t>(3 * targets + 64)) {
    std::cerr << "scrape_bench: " << targets << " targets need " << 3 * targets + 64
              << " open files; the limit is " << limit.rlim_cur << "\n";
    return 1;
  }

  asio::io_context proxies_io;
  std::vector<std::unique_ptr<Proxy>> proxies;
  std::vector<ScrapeTarget> scrape_targets;
  for (int i = 0; i < targets; ++i) {
    proxies.push_back(std::make_unique<Proxy>(proxies_io, plain_answer, gzip_answer));
    scrape_targets.push_back(
        {"bench/pod-" + std::to_string(i), "127.0.0.1", proxies.back()->port(), "/metrics"});
  }
  auto proxies_work = asio::make_work_guard(proxies_io);
  std::thread proxies_thread([&] { proxies_io.run(); });
  pthread_setname_np(proxies_thread.native_handle(), "proxies");

  std::atomic<long> ok{0}, failed{0}, bytes{0};
  asio::io_context scraper_io;
  auto scraper_work = asio::make_work_guard(scraper_io);
  Scraper scraper(scraper_io, options,
                  [&](const ScrapeTarget&, const ScrapeOutcome& outcome) -> long {
                    if (outcome.ok) {
                      ++ok;
                      bytes += static_cast<long>(outcome.body.size());
                    } else {
                      ++failed;
                    }
                    return 0;
                  });
  std::thread scraper_thread([&] { scraper_io.run(); });
  pthread_setname_np(scraper_thread.native_handle(), "scraper");  // for perf --comm
  scraper.SetTargets(scrape_targets);

  // Every target scraped once (connections open) before measuring.
  const auto warmup_deadline =
      std::chrono::steady_clock::now() + 3 * options.interval + std::chrono::seconds(5);
  while (!scraper.RoundComplete() && std::chrono::steady_clock::now() < warmup_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(options.interval);  // past the first round's connection storm
  const long ok0 = ok, failed0 = failed, bytes0 = bytes;
  const double cpu0 = ThreadCpuSeconds(scraper_thread.native_handle());
  const auto [user0, system0] = UserAndSystemSeconds(scraper_io);
  const double proxies_cpu0 = ThreadCpuSeconds(proxies_thread.native_handle());
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(duration_s));  // the measured window
  const double cpu = ThreadCpuSeconds(scraper_thread.native_handle()) - cpu0;
  const auto [user1, system1] = UserAndSystemSeconds(scraper_io);
  const double proxies_cpu = ThreadCpuSeconds(proxies_thread.native_handle()) - proxies_cpu0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long scrapes = ok - ok0, failures = failed - failed0;

  const std::string metrics = smi::sources::SerializeMetrics(*scraper.registry());
  scraper.Stop();
  scraper_work.reset();
  scraper_io.stop();
  scraper_thread.join();
  proxies_work.reset();
  proxies_io.stop();
  proxies_thread.join();

  std::string line;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "targets %d, payload %zu bytes%s, interval %lld ms, window %.1f s\n", targets, payload.size(),
      gzip ? (" (gzip " + std::to_string(gzip_answer.size()) + " bytes on the wire)").c_str() : "",
      static_cast<long long>(options.interval.count()), wall);
  std::printf("scrapes %ld (%.1f/s), failures %ld, %.1f MB/s of payload\n", scrapes,
              static_cast<double>(scrapes) / wall, failures,
              static_cast<double>(bytes - bytes0) / wall / 1e6);
  std::printf("scraper CPU %.3f s (%.1f%% of a core), %.1f us per scrape, %.4f mCPU per target\n",
              cpu, 100 * cpu / wall, scrapes ? 1e6 * cpu / static_cast<double>(scrapes) : 0.0,
              1e3 * cpu / wall / targets);
  std::printf("scraper user %.3f s, system %.3f s\n", user1 - user0, system1 - system0);
  std::printf("proxies CPU %.3f s (serving, for reference); peak RSS of the process %ld MiB\n",
              proxies_cpu, usage.ru_maxrss / 1024);
  for (std::istringstream lines(metrics); std::getline(lines, line);) {
    if (line.starts_with("smi_sidecar_scrapes_total")) std::printf("%s\n", line.c_str());
  }
  return failures == 0 ? 0 : 1;
}
