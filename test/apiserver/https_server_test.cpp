// The HTTPS server's limits, one test each, and the clients that must not hurt it: slow,
// trickling, pipelining, closing, never reading. A real TLS client over loopback; every wait
// is bounded and nothing sleeps to synchronise (reads block until the server acts or a generous
// bound passes, and the bound only turns a hang into a failure).
#include "apiserver/https_server.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "aggregation/traffic_metrics_service.h"
#include "apiserver/pki.h"
#include "base/pem.h"
#include "mocks/fake_source.h"
#include "support/metrics_text.h"
#include "support/temp_dir.h"

namespace smi::apiserver {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

PemPair ServingPair(const PemPair& ca, const std::string& cn) {
  CertRequest r;
  r.common_name = cn;
  r.dns_names = {"localhost"};
  r.ip_addresses = {"127.0.0.1"};
  r.server_auth = true;
  return IssueCertificate(ca, r);
}

// A blocking TLS client whose every read and write gives up after `bound`.
class Client {
 public:
  explicit Client(int port, bool handshake = true, std::chrono::seconds bound = 10s)
      : ctx_(ssl::context::tls_client), stream_(io_, ctx_) {
    stream_.lowest_layer().open(tcp::v4());
    // Small buffers, so that a client that stops reading is felt by the server soon.
    stream_.lowest_layer().set_option(asio::socket_base::receive_buffer_size(16384));
    stream_.lowest_layer().connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    const timeval tv{static_cast<time_t>(bound.count()), 0};
    const int fd = stream_.lowest_layer().native_handle();
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    stream_.set_verify_mode(ssl::verify_none);
    if (handshake) stream_.handshake(ssl::stream_base::client);
  }

  void Send(const std::string& bytes) { asio::write(stream_, asio::buffer(bytes)); }
  // Bytes of TLS-less garbage straight on the socket.
  void SendRaw(const std::string& bytes) { asio::write(stream_.next_layer(), asio::buffer(bytes)); }

  // One response: status line, headers, and a body of Content-Length bytes. "" when the
  // connection ended (or the bound passed) first.
  std::string ReadResponse() {
    boost::system::error_code ec;
    const size_t header_end = asio::read_until(stream_, buffer_, "\r\n\r\n", ec);
    if (ec) return "";
    std::string head(asio::buffers_begin(buffer_.data()),
                     asio::buffers_begin(buffer_.data()) + static_cast<long>(header_end));
    buffer_.consume(header_end);
    size_t length = 0;
    const auto cl = head.find("Content-Length: ");
    if (cl != std::string::npos) length = std::stoul(head.substr(cl + 16));
    if (buffer_.size() < length)
      asio::read(stream_, buffer_, asio::transfer_exactly(length - buffer_.size()), ec);
    if (ec) return "";
    std::string body(asio::buffers_begin(buffer_.data()),
                     asio::buffers_begin(buffer_.data()) + static_cast<long>(length));
    buffer_.consume(length);
    return head + body;
  }

  // Whether the server closed the connection (a read ends without data before the bound).
  bool Closed() {
    boost::system::error_code ec;
    char c;
    const size_t n = stream_.read_some(asio::buffer(&c, 1), ec);
    return n == 0 && ec && ec != asio::error::would_block && ec != asio::error::try_again &&
           ec.value() != EAGAIN;
  }

  ssl::stream<tcp::socket>& stream() { return stream_; }

 private:
  asio::io_context io_;
  ssl::context ctx_;
  ssl::stream<tcp::socket> stream_;
  asio::streambuf buffer_;
};

int StatusOf(const std::string& response) {
  if (response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

class HttpsServerTest : public ::testing::Test {
 protected:
  HttpsServerTest() : service_(source_, clock_, {}), handler_(service_) {
    ca_ = GenerateCa("test serving CA");
    options_.bind_address = "127.0.0.1";
    options_.port = 0;
    options_.serving = ServingPair(ca_, "first");
    options_.worker_threads = 4;
    options_.metrics = &registry_;
  }
  ~HttpsServerTest() override {
    if (server_) server_->Stop();
  }

  int Start() {
    server_ = std::make_unique<HttpsServer>(options_, handler_);
    server_->Start();
    return server_->BoundPort();
  }

  double Closed(const std::string& reason) {
    const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
    return test_support::FindSample(
               text, "smi_serving_connections_closed_total{reason=\"" + reason + "\"}")
        .value_or(0);
  }

  // The samples of the closed connections by reason and of the requests answered, for a
  // failure's message.
  std::string ServingCounts() {
    const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
    std::string out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("smi_serving_connections_closed_total{") ||
          line.starts_with("apiserver_request_total{")) {
        out += line + "\n";
      }
    }
    return out;
  }

  // Polls the metric until it reaches `want` (the server counts a close just after it). The bound
  // is for a server that never gets there; a loaded machine only makes the wait longer.
  bool ClosedReaches(const std::string& reason, double want) {
    for (int i = 0; i < 3000; ++i) {
      if (Closed(reason) >= want) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  // Polls a gauge until it equals `want` (the server updates it just after it acts).
  bool GaugeReaches(const std::string& series, double want) {
    for (int i = 0; i < 3000; ++i) {
      const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
      if (test_support::FindSample(text, series) == want) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  static std::string Get(const std::string& path, const std::string& extra = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
  }

  testing::FakeSource source_;
  testing::ManualClock clock_;
  aggregation::TrafficMetricsService service_;
  ApiHandler handler_;
  prometheus::Registry registry_;
  PemPair ca_;
  ServingOptions options_;
  std::unique_ptr<HttpsServer> server_;
};

TEST_F(HttpsServerTest, AnswersAndCountsRequests) {
  const int port = Start();
  Client c(port);
  c.Send(Get("/version"));
  const std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_NE(r.find("gitVersion"), std::string::npos) << r;
  const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
  EXPECT_EQ(test_support::ScrapeValue(
                text, "apiserver_request_total{code=\"200\",resource=\"\",verb=\"get\"}"),
            1);
}

TEST_F(HttpsServerTest, HeaderLargerThanTheLimitIs431) {
  options_.limits.max_header_bytes = 2048;
  const int port = Start();
  Client c(port);
  c.Send(Get("/version", "X-Big: " + std::string(4096, 'a') + "\r\n"));
  const std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 431) << r;
  EXPECT_NE(r.find("RequestHeaderFieldsTooLarge"), std::string::npos) << r;
  EXPECT_TRUE(c.Closed());
  EXPECT_TRUE(ClosedReaches("header_too_large", 1));
}

TEST_F(HttpsServerTest, BodyLargerThanTheLimitIs413) {
  options_.limits.max_body_bytes = 1024;
  const int port = Start();
  Client c(port);
  c.Send("POST /version HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
         std::string(2000, 'x'));
  const std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 413) << r;
  EXPECT_TRUE(ClosedReaches("body_too_large", 1));
}

TEST_F(HttpsServerTest, HandshakeDeadline) {
  options_.limits.handshake_timeout = 200ms;
  const int port = Start();
  Client c(port, /*handshake=*/false);
  EXPECT_TRUE(c.Closed());
  EXPECT_TRUE(ClosedReaches("handshake_timeout", 1));
}

TEST_F(HttpsServerTest, TlsGarbageIsClosed) {
  const int port = Start();
  Client c(port, /*handshake=*/false);
  c.SendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n");  // plain HTTP to a TLS port
  EXPECT_TRUE(c.Closed());
  EXPECT_TRUE(ClosedReaches("tls_error", 1));
}

TEST_F(HttpsServerTest, HeaderDeadlineHoldsAgainstATrickle) {
  options_.limits.header_timeout = 300ms;
  const int port = Start();
  Client c(port);
  c.Send("GET /version HTTP/1.1\r\n");  // and never the rest
  EXPECT_TRUE(c.Closed());
  EXPECT_TRUE(ClosedReaches("header_timeout", 1));
}

TEST_F(HttpsServerTest, IdleKeepAliveIsClosed) {
  options_.limits.idle_timeout = 300ms;
  const int port = Start();
  Client c(port);
  c.Send(Get("/healthz"));
  EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
  EXPECT_TRUE(c.Closed());
  EXPECT_TRUE(ClosedReaches("idle_timeout", 1));
}

TEST_F(HttpsServerTest, AtTheCapTheLongestIdleConnectionMakesRoom) {
  options_.limits.max_connections = 3;
  const int port = Start();
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<Client>(port));
    idle.back()->Send(Get("/healthz"));
    ASSERT_EQ(StatusOf(idle.back()->ReadResponse()), 200);
  }
  ASSERT_TRUE(GaugeReaches("smi_serving_idle_connections", 3));
  Client fresh(port);
  fresh.Send(Get("/healthz"));
  EXPECT_EQ(StatusOf(fresh.ReadResponse()), 200);
  EXPECT_TRUE(idle.front()->Closed());  // the oldest idle one
  EXPECT_TRUE(ClosedReaches("over_capacity", 1));
  idle.back()->Send(Get("/healthz"));  // the others still serve
  EXPECT_EQ(StatusOf(idle.back()->ReadResponse()), 200);
}

TEST_F(HttpsServerTest, AtTheCapWithNoneIdleANewConnectionIsRefused) {
  options_.limits.max_connections = 2;
  const int port = Start();
  Client a(port), b(port);
  for (Client* c : {&a, &b}) {
    c->Send(Get("/healthz"));
    ASSERT_EQ(StatusOf(c->ReadResponse()), 200);
  }
  ASSERT_TRUE(GaugeReaches("smi_serving_idle_connections", 2));
  a.Send("GET /healthz HTTP/1.1\r\n");  // both mid-request: not idle
  b.Send("GET /healthz HTTP/1.1\r\n");
  ASSERT_TRUE(GaugeReaches("smi_serving_idle_connections", 0));  // the server has read both
  Client c(port, /*handshake=*/false);
  EXPECT_TRUE(c.Closed());
  EXPECT_TRUE(ClosedReaches("refused", 1));
  a.Send("Host: x\r\n\r\n");
  EXPECT_EQ(StatusOf(a.ReadResponse()), 200);
}

TEST_F(HttpsServerTest, OneBytePerWrite) {
  const int port = Start();
  Client c(port);
  for (const char ch : Get("/version")) c.Send(std::string(1, ch));
  EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
}

TEST_F(HttpsServerTest, PipelinedRequestsAreAnsweredInOrder) {
  const int port = Start();
  Client c(port);
  c.Send(Get("/version") + Get("/healthz") + Get("/nope"));
  EXPECT_NE(c.ReadResponse().find("gitVersion"), std::string::npos);
  const std::string second = c.ReadResponse();
  EXPECT_EQ(StatusOf(second), 200);
  EXPECT_NE(second.find("\r\n\r\nok"), std::string::npos) << second;
  EXPECT_EQ(StatusOf(c.ReadResponse()), 401);  // not open: needs an identity
}

TEST_F(HttpsServerTest, ConnectionCloseIsHonoured) {
  const int port = Start();
  Client c(port);
  c.Send(Get("/healthz", "Connection: close\r\n"));
  const std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
  EXPECT_TRUE(c.Closed());
}

TEST_F(HttpsServerTest, AClientThatNeverReadsIsClosedAndOthersAreServed) {
  options_.limits.write_timeout = 300ms;
  const int port = Start();
  Client stuck(port);
  // Requests and never a read, until the server closes the connection. It answers each one until
  // the kernel's buffers are full (about 16,000 answers of /version on loopback here, which take a
  // second or two), then gives up on the write; the client's write fails when it does. How many
  // requests that takes depends on the kernel's buffer sizes, so there is no fixed number.
  std::string burst;
  for (int i = 0; i < 1000; ++i) burst += Get("/version");
  boost::system::error_code ec;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (!ec && std::chrono::steady_clock::now() < give_up) {
    asio::write(stuck.stream(), asio::buffer(burst), ec);
  }
  ASSERT_TRUE(ec) << "the server was still reading after 60s";
  EXPECT_TRUE(ClosedReaches("write_timeout", 1))
      << "the client's write ended with " << ec.message() << "\n"
      << ServingCounts();
  Client other(port);
  other.Send(Get("/version"));
  EXPECT_EQ(StatusOf(other.ReadResponse()), 200);
}

TEST_F(HttpsServerTest, SlowClientsDoNotStarveAWellBehavedOne) {
  options_.worker_threads = 2;
  const int port = Start();
  std::vector<std::unique_ptr<Client>> slow;
  for (int i = 0; i < 64; ++i) {
    slow.push_back(std::make_unique<Client>(port));
    slow.back()->Send("GET /version HTTP/1.1\r\nX-Slow: ");  // an unfinished header each
  }
  Client good(port);
  good.Send(Get("/version"));
  EXPECT_EQ(StatusOf(good.ReadResponse()), 200);
}

// The serving certificate rotated on disk while a client loops over requests: no request
// fails, and new connections get the new certificate.
TEST_F(HttpsServerTest, RotatedCertificateIsServedWithoutDroppingRequests) {
  test_support::TempDir dir("https_server_test");
  const std::string cert = dir.Write("tls.crt", options_.serving.cert);
  const std::string key = dir.Write("tls.key", options_.serving.key);
  options_.cert_file = cert;
  options_.key_file = key;
  options_.reload_interval = 50ms;
  const int port = Start();

  const auto peer_cn = [&] {
    Client c(port);
    X509* x = SSL_get1_peer_certificate(c.stream().native_handle());
    char cn[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    X509_free(x);
    c.Send(Get("/healthz"));
    EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
    return std::string(cn);
  };
  ASSERT_EQ(peer_cn(), "first");

  Client looping(port);
  // A bad pair first: refused, the old one stays.
  {
    std::ofstream(dir.File("tls.crt.new")) << "not a certificate";
    std::filesystem::rename(dir.File("tls.crt.new"), cert);
  }
  int requests = 0;
  for (; requests < 400; ++requests) {
    looping.Send(Get("/healthz"));
    ASSERT_EQ(StatusOf(looping.ReadResponse()), 200);
    if (test_support::FindSample(prometheus::TextSerializer().Serialize(registry_.Collect()),
                                 "smi_serving_file_reloads_total{file=\"serving certificate\","
                                 "outcome=\"refused\"}")) {
      break;
    }
    std::this_thread::sleep_for(10ms);  // pacing the loop, not synchronising
  }
  EXPECT_EQ(peer_cn(), "first");
  // Then a good one, swapped in as a symlink flip does (both files renamed into place).
  const PemPair second = ServingPair(ca_, "second");
  std::ofstream(dir.File("tls.key.new")) << second.key;
  std::ofstream(dir.File("tls.crt.new")) << second.cert;
  std::filesystem::rename(dir.File("tls.key.new"), key);
  std::filesystem::rename(dir.File("tls.crt.new"), cert);
  std::string cn;
  for (int i = 0; i < 400 && cn != "second"; ++i) {
    looping.Send(Get("/healthz"));
    ASSERT_EQ(StatusOf(looping.ReadResponse()), 200);  // the open connection keeps serving
    cn = peer_cn();
    if (cn != "second") std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(cn, "second");
}

TEST(Alpn, PicksHttp11WhenOffered) {
  const unsigned char both[] = "\x02h2\x08http/1.1";
  EXPECT_TRUE(OffersHttp11(both, sizeof both - 1));
  const unsigned char h2[] = "\x02h2";
  EXPECT_FALSE(OffersHttp11(h2, sizeof h2 - 1));
  const unsigned char broken[] = "\x09http/1.1";
  EXPECT_FALSE(OffersHttp11(broken, sizeof broken - 1));
}

}  // namespace
}  // namespace smi::apiserver
