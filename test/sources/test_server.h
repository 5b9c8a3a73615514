// A plain-HTTP server on 127.0.0.1 (random port) for client tests: serves canned answers, records
// what it was asked.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace smi::sources::prometheus::testing {

inline std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(SMI_TEST_FIXTURES) + "/promapi/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Line `index` (0-based) of a .jsonl fixture.
inline std::string FixtureLine(const std::string& name, int index) {
  std::istringstream in(ReadFixture(name));
  std::string line;
  for (int i = 0; i <= index; ++i) std::getline(in, line);
  return line;
}

struct Seen {
  std::string method;
  std::string path;
  std::string content_type;
  std::map<std::string, std::string> params;  // query string and form body alike
};

class TestServer {
 public:
  TestServer() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind a test port");
    // Recorded before the answer is written (the logger runs after), so a client that got its
    // answer always finds its request here.
    server_.set_post_routing_handler([this](const httplib::Request& req, httplib::Response&) {
      Seen s{req.method, req.path, req.get_header_value("Content-Type"), {}};
      for (const auto& [k, v] : req.params) s.params[k] = v;
      std::lock_guard lock(mu_);
      seen_.push_back(std::move(s));
    });
  }
  ~TestServer() {
    Release();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Server& server() { return server_; }
  void Start() {
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 200 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  // Answers every request for `path` (GET or POST) with this status, content type and body.
  void Serve(const std::string& path, int status, const std::string& content_type,
             const std::string& body) {
    auto handler = [=](const httplib::Request&, httplib::Response& res) {
      res.status = status;
      res.set_content(body, content_type.c_str());
    };
    server_.Get(path, handler);
    server_.Post(path, handler);
  }

  // Handlers that block until Release() (or `limit`), for timeouts.
  void WaitForRelease(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, limit, [this] { return released_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::vector<Seen> seen_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
inline int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace smi::sources::prometheus::testing
