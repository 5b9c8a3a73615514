// One thread serving every simulated pod's metrics endpoint (--event-loop): what lets the
// simulator stand in for thousands of proxies, where a server and its threads per pod would not
// fit in the machine's thread limit.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshsim {

// The answer to a GET of `path` on pod `pod` (its index in the listen addresses): a body with its
// content type, or nullopt for a 404.
struct Page {
  std::string content_type;
  std::string body;
};
using PageFunction = std::function<std::optional<Page>(std::size_t pod, std::string_view path)>;

class EventLoopServer {
 public:
  EventLoopServer();
  ~EventLoopServer();
  EventLoopServer(const EventLoopServer&) = delete;
  EventLoopServer& operator=(const EventLoopServer&) = delete;

  // Listens on every address at `port`. Returns the addresses it could not bind (empty: all
  // bound). HTTP/1.1 with keep-alive; requests are answered in order.
  std::vector<std::string> Bind(const std::vector<std::string>& addresses, int port,
                                PageFunction pages);
  // Serves on the calling thread until Stop().
  void Run();
  // From any thread.
  void Stop();

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace meshsim
