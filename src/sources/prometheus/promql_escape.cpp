#include "sources/prometheus/promql_escape.h"

namespace smi::sources::prometheus {
std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EqualMatcher(std::string_view label, std::string_view value) {
  std::string out(label);
  out += "=\"";
  out += EscapeLabelValue(value);
  out += '"';
  return out;
}

}  // namespace smi::sources::prometheus
