// Kubernetes resource.Quantity values in canonical DecimalSI form, as Kubernetes prints them.
#pragma once

#include <cstdint>
#include <string>

namespace smi::model {

// A decimal value held as mantissa * 10^scale (scale is -9 for nano, -3 for milli, 0 for units).
class Quantity {
 public:
  Quantity() = default;
  Quantity(int64_t mantissa, int scale) : mantissa_(mantissa), scale_(scale) {}

  // Rounds `value` to the nearest multiple of 10^scale (half away from zero). Non-finite values are
  // a programming error: callers never put NaN or Inf into the API (throws std::domain_error).
  // When the result would not fit in int64 the scale is made coarser one decade at a time, so
  // the magnitude is kept and only digits beyond a double's precision are lost.
  static Quantity FromDouble(double value, int scale);

  // Canonical DecimalSI string: "0", "10m", "1k", "73492m", "604255n", "1500", "-5m", "2M", ...
  // Exactly Kubernetes' Quantity.String() for exponents n..E; beyond them (1e21, 1e-12), where
  // Kubernetes would drop the exponent and print a wrong number, the exponent form "1e21".
  std::string ToString() const;
  double ToDouble() const;

  int64_t mantissa() const { return mantissa_; }
  int scale() const { return scale_; }

 private:
  int64_t mantissa_ = 0;
  int scale_ = 0;
};

// Counts keep milli precision (Prometheus' increase() extrapolates to fractions); latencies in
// seconds keep nano precision.
inline constexpr int kCountScale = -3;
inline constexpr int kSecondsScale = -9;

}  // namespace smi::model
