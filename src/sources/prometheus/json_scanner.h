// A strict JSON parser (RFC 8259) that reports what it reads as events, for the large answers of
// the Prometheus API (/api/v1/query at cluster scale, tens of MB). The events are those of
// nlohmann's SAX interface (start_object, key, string, number_integer / number_unsigned /
// number_float, boolean, null, start_array, end_object, end_array), in the same order and with
// the same values, so a reader written for nlohmann::json::sax_parse reads the same through
// ScanJson. It accepts only what nlohmann accepts: a document it accepts gives the same events
// there. It does not say what is wrong with a document it refuses: the caller parses that one
// again with nlohmann for its error message (errors are rare, their cost does not matter).
//
// Why a parser of our own: nlohmann's lexer reads a byte at a time through an input adapter and
// appends each byte of a string to its token buffer; at 270,000 samples that was the largest part
// of a cluster-wide request's own CPU. Here strings are found by a loop over 8 bytes at a time to
// the next quote, backslash, control character or non-ASCII byte, copied at once, and escapes are
// decoded only where there are some. String and key buffers are reused; a handler may move from
// them.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace smi::sources::prometheus {

namespace json_scanner_detail {

inline bool IsSpace(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

inline bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }

// Whether any of 8 bytes is a quote, a backslash, a control character or not ASCII: where the
// byte-wise loop has to look. (A byte after a true hit may be flagged as well; that only means
// the byte-wise loop starts there.)
inline bool MayEndRun(uint64_t v) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  auto has_zero = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  return (has_zero(v ^ (kOnes * '"')) | has_zero(v ^ (kOnes * '\\')) |
          ((v - kOnes * 0x20) & ~v & kHigh) | (v & kHigh)) != 0;
}

// The length of the valid UTF-8 sequence starting at p (at a byte >= 0x80), or 0 when it is not
// valid (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), as nlohmann checks.
inline size_t Utf8Length(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  auto in = [&](size_t i, unsigned char lo, unsigned char hi) {
    return p + i < end && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
  if (c == 0xE0) return in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c == 0xED) return in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
  if (c == 0xF0) return in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) {
    return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  }
  if (c == 0xF4) return in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  return 0;
}

// Four hex digits at p (p + 4 <= end checked by the caller); -1 when they are not.
inline int HexQuad(const unsigned char* p) {
  int out = 0;
  for (int i = 0; i < 4; ++i) {
    const unsigned char c = p[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return -1;
    }
    out = out * 16 + d;
  }
  return out;
}

inline void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Reads the string whose opening quote is just before p into out; returns the position after
// its closing quote, or nullptr when it is not a valid JSON string.
inline const unsigned char* ScanString(const unsigned char* p, const unsigned char* end,
                                       std::string& out) {
  out.clear();
  const unsigned char* run = p;  // the start of the bytes not yet copied to out
  for (;;) {
    while (end - p >= 8) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      if (MayEndRun(v)) break;
      p += 8;
    }
    if (p == end) return nullptr;
    const unsigned char c = *p;
    if (c == '"') {
      out.append(reinterpret_cast<const char*>(run), p - run);
      return p + 1;
    }
    if (c < 0x20) return nullptr;
    if (c < 0x80 && c != '\\') {
      ++p;
      continue;
    }
    if (c >= 0x80) {
      const size_t n = Utf8Length(p, end);
      if (n == 0) return nullptr;
      p += n;
      continue;
    }
    // An escape.
    out.append(reinterpret_cast<const char*>(run), p - run);
    if (end - p < 2) return nullptr;
    switch (p[1]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        if (end - p < 6) return nullptr;
        const int high = HexQuad(p + 2);
        if (high < 0) return nullptr;
        if (high >= 0xDC00 && high <= 0xDFFF) return nullptr;  // a low surrogate alone
        if (high >= 0xD800 && high <= 0xDBFF) {
          // Must be followed by its low surrogate.
          if (end - p < 12 || p[6] != '\\' || p[7] != 'u') return nullptr;
          const int low = HexQuad(p + 8);
          if (low < 0xDC00 || low > 0xDFFF) return nullptr;
          AppendUtf8(out, 0x10000 + ((static_cast<uint32_t>(high) - 0xD800) << 10) +
                              (static_cast<uint32_t>(low) - 0xDC00));
          p += 12;
        } else {
          AppendUtf8(out, static_cast<uint32_t>(high));
          p += 6;
        }
        run = p;
        continue;
      }
      default:
        return nullptr;
    }
    p += 2;
    run = p;
  }
}

}  // namespace json_scanner_detail

// Parses `text` as one JSON document (whitespace around it allowed, a UTF-8 byte order mark
// skipped as nlohmann does) and calls `handler`'s SAX methods for what it reads. Returns true when
// the whole text was a valid document; false at the first syntax error (or when a handler method
// returned false), after the events up to there. Nesting depth is bounded by memory only, as in
// nlohmann's parser.
template <typename Handler>
bool ScanJson(std::string_view text, Handler& handler) {
  using namespace json_scanner_detail;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  if (end - p >= 1 && p[0] == 0xEF) {
    if (end - p < 3 || p[1] != 0xBB || p[2] != 0xBF) return false;
    p += 3;
  }
  std::vector<bool> in_object;  // the open containers, innermost last
  bool opened = false;          // value() opened a non-empty container
  std::string str, number;
  auto skip_space = [&] {
    while (p != end && IsSpace(*p)) ++p;
  };
  auto literal = [&](std::string_view word) {
    if (static_cast<size_t>(end - p) < word.size() || std::memcmp(p, word.data(), word.size())) {
      return false;
    }
    p += word.size();
    return true;
  };

  // A value at p (after its leading whitespace).
  auto value = [&]() -> bool {
    if (p == end) return false;
    switch (*p) {
      case '{':
        ++p;
        if (!handler.start_object(static_cast<std::size_t>(-1))) return false;
        skip_space();
        if (p != end && *p == '}') {
          ++p;
          return handler.end_object();
        }
        in_object.push_back(true);
        opened = true;
        return true;
      case '[':
        ++p;
        if (!handler.start_array(static_cast<std::size_t>(-1))) return false;
        skip_space();
        if (p != end && *p == ']') {
          ++p;
          return handler.end_array();
        }
        in_object.push_back(false);
        opened = true;
        return true;
      case '"':
        p = ScanString(p + 1, end, str);
        return p != nullptr && handler.string(str);
      case 't':
        return literal("true") && handler.boolean(true);
      case 'f':
        return literal("false") && handler.boolean(false);
      case 'n':
        return literal("null") && handler.null();
      default:
        break;
    }
    // A number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    const unsigned char* start = p;
    const bool negative = *p == '-';
    if (negative) ++p;
    if (p == end) return false;
    if (*p == '0') {
      ++p;
    } else if (*p >= '1' && *p <= '9') {
      while (p != end && IsDigit(*p)) ++p;
    } else {
      return false;
    }
    bool integer = true;
    if (p != end && *p == '.') {
      integer = false;
      ++p;
      if (p == end || !IsDigit(*p)) return false;
      while (p != end && IsDigit(*p)) ++p;
    }
    if (p != end && (*p == 'e' || *p == 'E')) {
      integer = false;
      ++p;
      if (p != end && (*p == '+' || *p == '-')) ++p;
      if (p == end || !IsDigit(*p)) return false;
      while (p != end && IsDigit(*p)) ++p;
    }
    const char* first = reinterpret_cast<const char*>(start);
    const char* last = reinterpret_cast<const char*>(p);
    // Integers that fit 64 bits are integers, signed when negative, as nlohmann classifies them;
    // larger ones are read as doubles.
    if (integer) {
      if (negative) {
        int64_t v = 0;
        if (auto r = std::from_chars(first, last, v); r.ec == std::errc() && r.ptr == last) {
          return handler.number_integer(v);
        }
      } else {
        uint64_t v = 0;
        if (auto r = std::from_chars(first, last, v); r.ec == std::errc() && r.ptr == last) {
          return handler.number_unsigned(v);
        }
      }
    }
    double v = 0;
    number.assign(first, last);
    if (auto r = std::from_chars(first, last, v); r.ec == std::errc::result_out_of_range) {
      // nlohmann refuses what overflows and takes strtod's value of what underflows.
      v = std::strtod(number.c_str(), nullptr);
      if (!std::isfinite(v)) return false;
    } else if (r.ec != std::errc() || r.ptr != last) {
      return false;
    }
    return handler.number_float(v, number);
  };

  // A key at p, with its colon and the whitespace after it.
  auto key = [&]() -> bool {
    skip_space();
    if (p == end || *p != '"') return false;
    p = ScanString(p + 1, end, str);
    if (p == nullptr || !handler.key(str)) return false;
    skip_space();
    if (p == end || *p != ':') return false;
    ++p;
    skip_space();
    return true;
  };

  skip_space();
  if (!value()) return false;
  for (;;) {
    if (opened) {
      // The first item of the container just opened.
      opened = false;
      if (in_object.back() && !key()) return false;
      if (!value()) return false;
      continue;
    }
    skip_space();
    // nlohmann reads a NUL byte where a token would start as the end of the input.
    if (in_object.empty()) return p == end || *p == '\0';
    if (p == end) return false;
    const bool object = in_object.back();
    if (*p == ',') {
      ++p;
      if (object) {
        if (!key()) return false;
      } else {
        skip_space();
      }
      if (!value()) return false;
    } else if (*p == (object ? '}' : ']')) {
      ++p;
      in_object.pop_back();
      if (!(object ? handler.end_object() : handler.end_array())) return false;
    } else {
      return false;
    }
  }
}

}  // namespace smi::sources::prometheus
