#include "sources/prometheus/query_watchdog.h"

#include <algorithm>

#include <httplib.h>

namespace smi::sources::prometheus {

using Clock = std::chrono::steady_clock;

QueryWatchdog::QueryWatchdog() : thread_([this] { Loop(); }) {}

QueryWatchdog::~QueryWatchdog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t QueryWatchdog::Arm(httplib::Client* cli, Clock::time_point deadline) {
  std::lock_guard lock(mu_);
  const uint64_t id = ++next_id_;
  armed_.emplace(id, Armed{cli, deadline, false});
  cv_.notify_all();
  return id;
}

bool QueryWatchdog::Disarm(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = armed_.find(id);
  const bool fired = it->second.fired;
  armed_.erase(it);
  return fired;
}

void QueryWatchdog::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    Clock::time_point wake = Clock::time_point::max();
    const auto now = Clock::now();
    for (auto& [id, a] : armed_) {
      if (a.next <= now) {
        a.cli->stop();
        a.fired = true;
        a.next = now + std::chrono::milliseconds(20);
      }
      wake = std::min(wake, a.next);
    }
    if (wake == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, wake);
    }
  }
}

}  // namespace smi::sources::prometheus
