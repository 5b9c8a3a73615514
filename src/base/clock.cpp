#include "base/clock.h"

namespace smi::base {

const Clock& DefaultClock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace smi::base
