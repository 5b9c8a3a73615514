// Time is injected, never read from the wall clock inside logic, so window math can be tested.
#pragma once

#include <chrono>

namespace smi::model {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace smi::model
