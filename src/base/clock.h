// The one clock. Time is injected, never read directly inside logic: windows and evaluation times
// use the wall clock (`Now`), timeouts and cache expiry the monotonic clock (`Monotonic`), and a
// test drives both with a manual clock instead of sleeping.
#pragma once

#include <chrono>

namespace smi::base {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time: evaluation times, timestamps in answers.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time: deadlines, expiry of cached answers.
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
};

// The process-wide system clock, for components built without an injected one.
const Clock& DefaultClock();

}  // namespace smi::base
