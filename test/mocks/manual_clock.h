// A clock the test moves by hand: both the wall and the monotonic time stand still until
// Advance() (or an assignment to `now` / `monotonic`), so nothing in a test waits on real time.
#pragma once

#include <chrono>

#include "base/clock.h"

namespace smi::testing {

class ManualClock : public base::Clock {
 public:
  ManualClock() = default;
  explicit ManualClock(std::chrono::system_clock::time_point wall) : now(wall) {}

  std::chrono::system_clock::time_point Now() const override { return now; }
  std::chrono::steady_clock::time_point Monotonic() const override { return monotonic; }

  // Moves both clocks forward by `d`.
  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> d) {
    now += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    monotonic += std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
  }

  std::chrono::system_clock::time_point now{};
  std::chrono::steady_clock::time_point monotonic{std::chrono::hours(1000)};
};

}  // namespace smi::testing
