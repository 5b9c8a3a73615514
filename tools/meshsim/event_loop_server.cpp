#include "meshsim/event_loop_server.h"

#include <utility>  // before Asio: its headers use std::exchange

#include <boost/asio.hpp>
#include <cctype>
#include <memory>
#include <string>
#include <utility>

namespace meshsim {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t kMaxHeader = 16 * 1024;

// One accepted connection: reads a request head, writes the page, repeats until the peer closes
// or asks to.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::size_t pod, const PageFunction& pages)
      : socket_(std::move(socket)), pod_(pod), pages_(pages) {}

  void Read() {
    asio::async_read_until(
        socket_, asio::dynamic_buffer(in_, kMaxHeader), "\r\n\r\n",
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (!ec) self->Answer(n);
        });
  }

 private:
  void Answer(std::size_t head_size) {
    const std::string_view head(in_.data(), head_size);
    const auto line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 == std::string_view::npos ? 0 : sp1 + 1);
    std::string_view method, target;
    if (sp1 != std::string_view::npos && sp2 != std::string_view::npos) {
      method = line.substr(0, sp1);
      target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    }
    std::string lower(head);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool close = lower.find("\r\nconnection: close") != std::string::npos ||
                       line.substr(sp2 == std::string_view::npos ? 0 : sp2 + 1) == "HTTP/1.0";
    const std::string_view path = target.substr(0, target.find('?'));

    std::optional<Page> page;
    if (method == "GET" || method == "HEAD") page = pages_(pod_, path);
    out_.clear();
    if (page) {
      out_ = "HTTP/1.1 200 OK\r\nContent-Type: " + page->content_type +
             "\r\nContent-Length: " + std::to_string(page->body.size()) + "\r\n";
    } else {
      out_ = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n";
    }
    out_ += close ? "Connection: close\r\n\r\n" : "\r\n";
    if (method != "HEAD") out_ += page ? page->body : std::string("not found\n");
    in_.erase(0, head_size);
    asio::async_write(
        socket_, asio::buffer(out_),
        [self = shared_from_this(), close](boost::system::error_code ec, std::size_t) {
          if (ec) return;
          if (close) {
            boost::system::error_code ignored;
            self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
            return;
          }
          self->Read();
        });
  }

  tcp::socket socket_;
  std::size_t pod_;
  const PageFunction& pages_;
  std::string in_;
  std::string out_;
};

}  // namespace

struct EventLoopServer::Impl {
  asio::io_context io{1};
  PageFunction pages;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;

  void Accept(tcp::acceptor& acceptor, std::size_t pod) {
    acceptor.async_accept([this, &acceptor, pod](boost::system::error_code ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket), pod, pages)->Read();
      }
      Accept(acceptor, pod);
    });
  }
};

EventLoopServer::EventLoopServer() : impl_(new Impl) {}
EventLoopServer::~EventLoopServer() { delete impl_; }

std::vector<std::string> EventLoopServer::Bind(const std::vector<std::string>& addresses, int port,
                                               PageFunction pages) {
  impl_->pages = std::move(pages);
  std::vector<std::string> failed;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    boost::system::error_code ec;
    auto acceptor = std::make_unique<tcp::acceptor>(impl_->io);
    const tcp::endpoint endpoint(asio::ip::make_address(addresses[i], ec),
                                 static_cast<unsigned short>(port));
    if (!ec) acceptor->open(endpoint.protocol(), ec);
    // SO_REUSEADDR only: a second simulator on the same address must fail, not share it.
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      failed.push_back(addresses[i]);
      continue;
    }
    impl_->Accept(*acceptor, i);
    impl_->acceptors.push_back(std::move(acceptor));
  }
  return failed;
}

void EventLoopServer::Run() { impl_->io.run(); }

void EventLoopServer::Stop() { impl_->io.stop(); }

}  // namespace meshsim
