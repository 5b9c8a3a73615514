// What a client may cost the server: deadlines, sizes and caps, each a flag (docs/serving.md).
#pragma once

#include <chrono>
#include <cstddef>

namespace smi::apiserver {

struct ServingLimits {
  std::chrono::milliseconds handshake_timeout{10000};  // TCP accept to TLS established
  std::chrono::milliseconds header_timeout{10000};     // first byte to the end of the header
  std::chrono::milliseconds idle_timeout{90000};       // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60000};      // writing one answer
  std::size_t max_header_bytes = 64 * 1024;            // request line and headers: else 431
  std::size_t max_body_bytes = 1024 * 1024;            // else 413
  std::size_t max_connections = 20000;                 // open at once (the oldest idle go first)
  std::size_t max_requests_in_flight = 400;            // being answered at once: else 429
};

}  // namespace smi::apiserver
