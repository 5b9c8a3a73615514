// A server-side TLS stream on a TCP socket of the event loop, for Beast (an AsyncReadStream and
// AsyncWriteStream). Private to https_server.cpp, the only file that includes it.
//
// OpenSSL reads and writes the non-blocking socket itself (a BIO over recv/send); the event loop
// only waits for the socket to become readable or writable. asio::ssl::stream instead stages
// every byte through two 17 KiB buffers and a BIO pair of two more, allocated for the life of
// the connection: about 70 KiB that an idle keep-alive connection keeps. Here an idle connection
// holds no buffer at all: OpenSSL releases its record buffers between records
// (SSL_MODE_RELEASE_BUFFERS), and the server waits for the next request with WaitReadable,
// without a read buffer (docs/measurements.md, "Memory per connection").
//
// Deadlines belong to the owner: Abort(true) makes the operation in progress (or the next one)
// fail with beast::error::timeout; ClearTimeout() arms the stream again. One operation at a time
// in each direction, on the socket's executor (a strand), as for any Beast stream.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace smi::apiserver::tls {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// A BIO on a socket descriptor (held as the BIO's data) that sends with MSG_NOSIGNAL, so that a
// peer that went away is an error and never SIGPIPE, and reports EAGAIN as "retry", so that OpenSSL
// answers WANT_READ / WANT_WRITE.
inline BIO_METHOD* SocketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "smi socket");
    BIO_meth_set_write(m, [](BIO* b, const char* data, int n) -> int {
      BIO_clear_retry_flags(b);
      const int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
      const ssize_t r = ::send(fd, data, static_cast<size_t>(n), MSG_NOSIGNAL);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        BIO_set_retry_write(b);
      }
      return static_cast<int>(r);
    });
    BIO_meth_set_read(m, [](BIO* b, char* data, int n) -> int {
      BIO_clear_retry_flags(b);
      const int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
      const ssize_t r = ::recv(fd, data, static_cast<size_t>(n), 0);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        BIO_set_retry_read(b);
      }
      return static_cast<int>(r);
    });
    BIO_meth_set_ctrl(
        m, [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH ? 1 : 0; });
    return m;
  }();
  return method;
}

class TlsStream {
 public:
  using executor_type = tcp::socket::executor_type;

  // `ctx` configures the handshake (certificate, client-certificate request, ALPN). Throws
  // std::runtime_error when OpenSSL cannot make the connection's state.
  TlsStream(tcp::socket socket, SSL_CTX* ctx) : socket_(std::move(socket)), ssl_(SSL_new(ctx)) {
    if (!ssl_) throw std::runtime_error("cannot make a TLS connection (SSL_new failed)");
    beast::error_code ignored;
    socket_.non_blocking(true, ignored);
    SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                 SSL_MODE_RELEASE_BUFFERS);
    BIO* bio = BIO_new(SocketMethod());
    if (!bio) throw std::runtime_error("cannot make a TLS connection (BIO_new failed)");
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(socket_.native_handle())));
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl_.get(), bio, bio);  // takes ownership
    SSL_set_accept_state(ssl_.get());
  }

  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  tcp::socket& socket() { return socket_; }
  SSL* native_handle() { return ssl_.get(); }

  // Fails the operation waiting on the socket, and any started after it until ClearTimeout():
  // with beast::error::timeout when `timeout`, else with operation_aborted.
  void Abort(bool timeout) {
    aborted_ = true;
    timed_out_ = timeout;
    beast::error_code ignored;
    socket_.cancel(ignored);
  }
  void ClearTimeout() {
    aborted_ = false;
    timed_out_ = false;
  }

  template <typename Handler>
  auto async_handshake(Handler&& handler) {
    return Run<void(beast::error_code)>([](SSL* ssl, size_t*) { return SSL_do_handshake(ssl); },
                                        std::forward<Handler>(handler));
  }

  // The same, with OpenSSL's work (key exchange, signatures, certificate decoding: about a
  // millisecond) done on `pool`, so that a burst of new connections does not hold the event loop
  // that serves the established ones. Nothing else touches the stream meanwhile.
  template <typename Executor, typename Handler>
  auto async_handshake(const Executor& pool, Handler&& handler) {
    return Run<void(beast::error_code)>([](SSL* ssl, size_t*) { return SSL_do_handshake(ssl); },
                                        std::forward<Handler>(handler), pool);
  }

  template <typename MutableBufferSequence, typename Handler>
  auto async_read_some(const MutableBufferSequence& buffers, Handler&& handler) {
    const asio::mutable_buffer b = FirstNonEmpty(buffers);
    return Run<void(beast::error_code, size_t)>(
        [b](SSL* ssl, size_t* n) {
          if (b.size() == 0) return 1;
          return SSL_read_ex(ssl, b.data(), b.size(), n);
        },
        std::forward<Handler>(handler));
  }

  // Up to 16 KiB of the sequence in one record: the serializer's header and body go out in one
  // TLS record and one send, as nginx writes them.
  template <typename ConstBufferSequence, typename Handler>
  auto async_write_some(const ConstBufferSequence& buffers, Handler&& handler) {
    constexpr size_t kRecord = 16 * 1024;
    const asio::const_buffer first = FirstNonEmpty(buffers);
    std::shared_ptr<char[]> flat;
    size_t size = first.size();
    const void* data = first.data();
    if (size < kRecord && beast::buffer_bytes(buffers) > size) {
      size = std::min(kRecord, beast::buffer_bytes(buffers));
      flat = std::shared_ptr<char[]>(new char[size]);
      asio::buffer_copy(asio::buffer(flat.get(), size), buffers);
      data = flat.get();
    }
    // A write that must wait is retried with the same bytes, as OpenSSL requires.
    return Run<void(beast::error_code, size_t)>(
        [data, size, flat](SSL* ssl, size_t* n) {
          if (size == 0) return 1;
          return SSL_write_ex(ssl, data, size, n);
        },
        std::forward<Handler>(handler));
  }

  // Sends close_notify; does not wait for the peer's.
  template <typename Handler>
  auto async_shutdown(Handler&& handler) {
    return Run<void(beast::error_code)>(
        [](SSL* ssl, size_t*) {
          const int r = SSL_shutdown(ssl);
          return r >= 0 ? 1 : r;
        },
        std::forward<Handler>(handler));
  }

  // Completes when a request may have begun to arrive: OpenSSL holds decrypted bytes, or the
  // socket is readable. Holds no buffer meanwhile.
  template <typename Handler>
  auto WaitReadable(Handler&& handler) {
    return Run<void(beast::error_code)>(
        [waited = false](SSL* ssl, size_t*) mutable {
          if (SSL_has_pending(ssl) || waited) return 1;
          waited = true;
          // Not an OpenSSL call: ask the caller to wait for readability.
          return -2;
        },
        std::forward<Handler>(handler));
  }

 private:
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };

  template <typename Buffers>
  static auto FirstNonEmpty(const Buffers& buffers) {
    auto it = asio::buffer_sequence_begin(buffers);
    const auto end = asio::buffer_sequence_end(buffers);
    using Buffer = std::decay_t<decltype(*it)>;
    for (; it != end; ++it) {
      if (Buffer(*it).size() > 0) return Buffer(*it);
    }
    return Buffer();
  }

  // What one OpenSSL call answered, read on the thread that made it (the error queue and errno
  // are per thread).
  struct StepResult {
    int r = 0;
    int ssl_error = SSL_ERROR_NONE;
    int saved_errno = 0;
    unsigned long error = 0;
    size_t bytes = 0;
  };

  template <typename Step>
  static StepResult RunStep(SSL* ssl, Step& step) {
    ERR_clear_error();
    errno = 0;
    StepResult out;
    out.r = step(ssl, &out.bytes);
    out.saved_errno = errno;
    if (out.r != 1 && out.r != -2) {
      out.ssl_error = SSL_get_error(ssl, out.r);
      out.error = ERR_get_error();
      ERR_clear_error();
    }
    return out;
  }

  // Runs nothing elsewhere: every OpenSSL call on the event loop.
  struct OnTheLoop {};

  // One OpenSSL call retried until it succeeds or fails: `step(ssl, &n)` returns 1 on success
  // (n bytes), or what OpenSSL returned; -2 asks for one wait for readability. kBytes: the
  // completion passes the byte count. With an executor as Offload, each call runs there and the
  // result comes back to the socket's executor; waits always stay on the socket's.
  template <typename Step, bool kBytes, typename Offload = OnTheLoop>
  struct Op {
    Op(TlsStream& stream, Step s_step, Offload s_offload = {})
        : s(stream), step(std::move(s_step)), offload(std::move(s_offload)) {}
    TlsStream& s;
    Step step;
    Offload offload;
    bool waited = false;  // completing before any wait goes through the executor, not inline
    bool done = false;
    beast::error_code result;
    size_t bytes = 0;

    template <typename Self>
    void operator()(Self& self, beast::error_code ec = {}) {
      if (done) return Complete(self);
      if (ec || s.aborted_) return Finish(self, AbortError(ec));
      if constexpr (std::is_same_v<Offload, OnTheLoop>) {
        Handle(self, RunStep(s.ssl_.get(), step));
      } else {
        waited = true;  // the result comes back through the executor
        SSL* ssl = s.ssl_.get();
        asio::post(offload, [self = std::move(self), ssl, step = step]() mutable {
          const StepResult result = RunStep(ssl, step);
          const auto back = asio::get_associated_executor(self);
          asio::post(back, beast::bind_front_handler(std::move(self), result));
        });
      }
    }

    // The result of a call made elsewhere, back on the socket's executor.
    template <typename Self>
    void operator()(Self& self, StepResult result) {
      if (s.aborted_) return Finish(self, AbortError({}));
      Handle(self, result);
    }

    beast::error_code AbortError(beast::error_code ec) const {
      if (s.timed_out_) return beast::error::timeout;
      return ec ? ec : beast::error_code(asio::error::operation_aborted);
    }

    template <typename Self>
    void Handle(Self& self, const StepResult& step_result) {
      if (step_result.r == 1) {
        bytes = step_result.bytes;
        return Finish(self, {});
      }
      if (step_result.r == -2) return Wait(self, tcp::socket::wait_read);
      switch (step_result.ssl_error) {
        case SSL_ERROR_WANT_READ:
          return Wait(self, tcp::socket::wait_read);
        case SSL_ERROR_WANT_WRITE:
          return Wait(self, tcp::socket::wait_write);
        case SSL_ERROR_ZERO_RETURN:
          return Finish(self, asio::error::eof);
        case SSL_ERROR_SYSCALL:
          // No errno: the peer closed the connection without close_notify.
          if (step_result.saved_errno == 0) return Finish(self, asio::error::eof);
          return Finish(self, beast::error_code(step_result.saved_errno, beast::system_category()));
        default:
          return Finish(self, beast::error_code(
                                  static_cast<int>(step_result.error != 0 ? step_result.error
                                                                          : step_result.ssl_error),
                                  asio::error::get_ssl_category()));
      }
    }

    template <typename Self>
    void Wait(Self& self, tcp::socket::wait_type type) {
      waited = true;
      s.socket_.async_wait(type, std::move(self));
    }

    template <typename Self>
    void Finish(Self& self, beast::error_code ec) {
      result = ec;
      if (!waited) {
        // Never complete from within the initiating function.
        done = true;
        return asio::post(std::move(self));
      }
      Complete(self);
    }

    template <typename Self>
    void Complete(Self& self) {
      if constexpr (kBytes) {
        self.complete(result, bytes);
      } else {
        self.complete(result);
      }
    }
  };

  template <typename Signature, typename Step, typename Handler, typename Offload = OnTheLoop>
  auto Run(Step step, Handler&& handler, Offload offload = {}) {
    constexpr bool kBytes = std::is_same_v<Signature, void(beast::error_code, size_t)>;
    return asio::async_compose<Handler, Signature>(
        Op<Step, kBytes, Offload>(*this, std::move(step), std::move(offload)), handler, socket_);
  }

  tcp::socket socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
  bool aborted_ = false;
  bool timed_out_ = false;
};

}  // namespace smi::apiserver::tls
