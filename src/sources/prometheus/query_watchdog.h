// Aborts HTTP exchanges that outlive their deadline. httplib's timeouts bound each connect, read
// and write, not the whole exchange: a server that sends a byte every few seconds would hold a
// request forever. At the deadline the watchdog's thread calls httplib's stop(), which shuts the
// socket down under the request (the documented way to cancel from another thread), and repeats
// that every 20ms in case the request was between connecting and using its socket.
//
// Deadlines are real monotonic time (std::chrono::steady_clock): they bound real socket waits.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace httplib {
class Client;
}

namespace smi::sources::prometheus {

class QueryWatchdog {
 public:
  QueryWatchdog();
  ~QueryWatchdog();
  QueryWatchdog(const QueryWatchdog&) = delete;
  QueryWatchdog& operator=(const QueryWatchdog&) = delete;

  // Watches `cli` until Disarm(id); stops it from `deadline` on.
  uint64_t Arm(httplib::Client* cli, std::chrono::steady_clock::time_point deadline);
  // After this returns the watchdog no longer touches the client. True if it fired.
  bool Disarm(uint64_t id);

 private:
  struct Armed {
    httplib::Client* cli;
    std::chrono::steady_clock::time_point next;  // the deadline, then the next repeat
    bool fired;
  };

  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Armed> armed_;
  uint64_t next_id_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace smi::sources::prometheus
