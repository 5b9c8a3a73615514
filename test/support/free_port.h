// A TCP port on 127.0.0.1 for a server a test starts (one that cannot report the port it bound).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <stdexcept>

namespace smi::test_support {

// A free port below the kernel's ephemeral range (32768 and up): no outgoing connection's local
// port can take it between this check and the server's bind, as one taken from bind(0) could
// while tests run in parallel. Random, so parallel tests rarely try the same one; a caller that
// can retry its bind on another port should.
inline int FreePort() {
  static std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = 20000 + static_cast<int>(rng() % 12000);
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (free) return port;
  }
  throw std::runtime_error("no free port below 32000 on 127.0.0.1");
}

}  // namespace smi::test_support
