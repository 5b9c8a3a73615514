#include "model/quantity.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace smi::model {
namespace {

// 2^63 as a double: the first magnitude that no longer fits in int64_t. Every double below it in
// magnitude converts to int64_t without overflow.
constexpr double kInt64Limit = 9223372036854775808.0;

double PowerOfTen(int exponent) { return std::pow(10.0, exponent); }

// The DecimalSI suffix Kubernetes uses for an exponent that is a multiple of 3 (suffix.go's
// decSuffixes table), or nullptr where the table has no entry.
const char* DecimalSuffix(int exponent) {
  switch (exponent) {
    case -9:
      return "n";
    case -6:
      return "u";
    case -3:
      return "m";
    case 0:
      return "";
    case 3:
      return "k";
    case 6:
      return "M";
    case 9:
      return "G";
    case 12:
      return "T";
    case 15:
      return "P";
    case 18:
      return "E";
    default:
      return nullptr;
  }
}

}  // namespace

Quantity Quantity::FromDouble(double value, int scale) {
  if (!std::isfinite(value)) {
    throw std::domain_error("Quantity::FromDouble: value is not finite");
  }
  // Multiplying by an exact power of ten (10^9 is exact in a double) keeps 0.604255 at
  // 604255000 instead of the off-by-one-ulp result that dividing by the inexact 1e-9 gives.
  // When the rounded value does not fit in int64 (counts beyond 9.2e15 at milli scale), the
  // scale is made coarser one decade at a time: the quantity keeps its magnitude and loses only
  // digits that a double could not have held exactly anyway.
  for (;;) {
    const double scaled = scale < 0 ? value * PowerOfTen(-scale) : value / PowerOfTen(scale);
    const double rounded = std::round(scaled);  // half away from zero, as the API promises
    if (std::fabs(rounded) < kInt64Limit) {
      return Quantity(static_cast<int64_t>(rounded), scale);
    }
    ++scale;
  }
}

double Quantity::ToDouble() const {
  // Dividing by the exact 10^9 gives the correctly rounded double for nano quantities.
  if (scale_ < 0) return static_cast<double>(mantissa_) / PowerOfTen(-scale_);
  return static_cast<double>(mantissa_) * PowerOfTen(scale_);
}

// Port of Kubernetes' int64Amount.AsCanonicalBytes + CanonicalizeBytes for DecimalSI: move every
// factor of ten from the mantissa into the exponent, then lower the exponent to a multiple of 3 by
// appending one or two zeros to the mantissa. Kubernetes falls back to big decimals when that
// append overflows int64; appending the zeros as text gives the same digits without the overflow.
std::string Quantity::ToString() const {
  if (mantissa_ == 0) return "0";

  const bool negative = mantissa_ < 0;
  // Through uint64 so that INT64_MIN has a magnitude too.
  uint64_t magnitude =
      negative ? (~static_cast<uint64_t>(mantissa_) + 1) : static_cast<uint64_t>(mantissa_);
  int exponent = scale_;
  while (magnitude >= 10 && magnitude % 10 == 0) {
    magnitude /= 10;
    ++exponent;
  }

  std::string digits = std::to_string(magnitude);
  // Go's % truncates toward zero like C++'s, so the cases match quantity.go's switch.
  switch (exponent % 3) {
    case 1:
    case -2:
      digits += "0";
      exponent -= 1;
      break;
    case 2:
    case -1:
      digits += "00";
      exponent -= 2;
      break;
    default:
      break;
  }

  std::string text = negative ? "-" + digits : digits;
  if (const char* suffix = DecimalSuffix(exponent)) {
    return text + suffix;
  }
  // Outside n..E Kubernetes' DecimalSI formatter finds no suffix and silently prints the bare
  // mantissa (1e21 would read "1"). The API must not state a wrong number, so these values,
  // which only arise from hand-built quantities or counts above 10^21, use the decimal exponent
  // form that Kubernetes itself parses: "1e21", "1e-12".
  return text + "e" + std::to_string(exponent);
}

}  // namespace smi::model
