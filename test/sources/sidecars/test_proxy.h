// A plain-HTTP server on 127.0.0.1 standing in for a mesh proxy's metrics endpoint, for the
// scraper's tests: each test says how it answers, including the ways a proxy misbehaves (never
// answering, trickling, unending bodies, bytes that are not HTTP). One thread per connection:
// tests open few, and a handler may simply block.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace smi::test_support {

class TestProxy {
 public:
  struct Request {
    std::string head;  // request line and header fields
    // The value of the header field `name` (case-insensitive), or "".
    std::string Header(std::string_view name) const {
      size_t pos = head.find("\r\n");
      while (pos != std::string::npos && pos + 2 < head.size()) {
        const size_t start = pos + 2;
        const size_t end = head.find("\r\n", start);
        const std::string_view line(head.data() + start,
                                    (end == std::string::npos ? head.size() : end) - start);
        const size_t colon = line.find(':');
        if (colon == name.size() &&
            std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) ==
                     std::tolower(static_cast<unsigned char>(b));
            })) {
          std::string_view value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          return std::string(value);
        }
        pos = end;
      }
      return "";
    }
    // The request-target of the request line.
    std::string Target() const {
      const size_t a = head.find(' ');
      const size_t b = head.find(' ', a + 1);
      return a == std::string::npos || b == std::string::npos ? "" : head.substr(a + 1, b - a - 1);
    }
  };

  // Answers one request on `fd`; returns whether to read another request on the connection.
  using Handler = std::function<bool(TestProxy&, int fd, const Request&)>;

  explicit TestProxy(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) throw std::runtime_error("socket");
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // the kernel picks; port() reports it
    socklen_t len = sizeof addr;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 64) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(listen_fd_);
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestProxy() { Stop(); }
  TestProxy(const TestProxy&) = delete;
  TestProxy& operator=(const TestProxy&) = delete;

  uint16_t port() const { return port_; }
  int accepts() const { return accepts_; }
  int requests() const { return requests_; }
  Request last_request() const {
    std::lock_guard lock(mu_);
    return last_request_;
  }

  // Waits `d`, or less when the proxy stops: false then. What a handler simulating a slow or
  // hung proxy waits on, so that stopping never waits for it.
  bool Hold(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !stop_cv_.wait_for(lock, d, [this] { return stopping_; });
  }
  // Holds until the proxy stops.
  void HoldForever() {
    std::unique_lock lock(mu_);
    stop_cv_.wait(lock, [this] { return stopping_; });
  }

  static bool Send(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // A whole answer with Content-Length; `extra` are further header lines ("Name: value").
  static std::string Response(int status, std::string_view body,
                              const std::vector<std::string>& extra = {}) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Error") +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    for (const std::string& line : extra) r += line + "\r\n";
    r += "\r\n";
    r.append(body);
    return r;
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      for (const int fd : open_) shutdown(fd, SHUT_RDWR);
    }
    stop_cv_.notify_all();
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    accept_thread_.join();
    close(listen_fd_);
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }

 private:
  void AcceptLoop() {
    for (;;) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      ++accepts_;
      open_.insert(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string pending;
    char buf[4096];
    for (bool more = true; more;) {
      size_t end;
      while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
          more = false;
          break;
        }
        pending.append(buf, static_cast<size_t>(n));
      }
      if (!more) break;
      Request request{pending.substr(0, end + 4)};
      pending.erase(0, end + 4);
      {
        std::lock_guard lock(mu_);
        last_request_ = request;
      }
      ++requests_;
      more = handler_(*this, fd, request);
    }
    std::lock_guard lock(mu_);
    open_.erase(fd);
    close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::atomic<int> accepts_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::set<int> open_;
  std::vector<std::thread> threads_;
  Request last_request_;
};

}  // namespace smi::test_support
