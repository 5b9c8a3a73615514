// Helpers shared by the fuzz targets: the input as text, split into the fields a target needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace smi::fuzz {

inline std::string_view Text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input's lines ('\n'-separated; a last line without '\n' counts).
inline std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      if (start < text.size()) out.push_back(text.substr(start));
      break;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// A broken invariant: say which, then stop the way libFuzzer and the corpus replay both catch.
[[noreturn]] inline void Fail(const char* what, std::string_view detail = "") {
  const std::string d(detail);
  std::fprintf(stderr, "fuzz invariant broken: %s: %s\n", what, d.c_str());
  __builtin_trap();
}

}  // namespace smi::fuzz
