#include "apiserver/warnings.h"

#include <algorithm>

namespace smi::apiserver {

namespace {

// The length of the UTF-8 sequence starting at `s[i]`, or 0 when it is not a valid one.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  // Overlong forms, surrogates and code points beyond U+10FFFF.
  if (n == 3 && c == 0xE0 && b(i + 1) < 0xA0) return 0;
  if (n == 3 && c == 0xED && b(i + 1) >= 0xA0) return 0;
  if (n == 4 && c == 0xF0 && b(i + 1) < 0x90) return 0;
  if (n == 4 && c == 0xF4 && b(i + 1) >= 0x90) return 0;
  return n;
}

}  // namespace

std::string WarningHeaderValue(std::string_view text) {
  // Each character of the text as it will be written: valid UTF-8 (U+FFFD for a byte that is
  // not, as Go writes it), control characters (CR, LF, tabs) as spaces, `"` and `\` escaped.
  std::vector<std::string> characters;
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8Length(text, i);
    if (n == 0) {
      characters.emplace_back("\xEF\xBF\xBD");
      ++i;
      continue;
    }
    const char c = text[i];
    if (n == 1 && (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)) {
      characters.emplace_back(" ");
    } else if (n == 1 && (c == '"' || c == '\\')) {
      characters.push_back(std::string("\\") + c);
    } else {
      characters.emplace_back(text.substr(i, n));
    }
    i += n;
  }
  const bool cut = characters.size() > kMaxWarningCharacters;
  if (cut) characters.resize(kMaxWarningCharacters - 3);
  std::string body;
  for (const auto& c : characters) body += c;
  if (cut) body += "...";
  return "299 - \"" + body + "\"";
}

void AddWarnings(HttpResponse& response, const std::vector<std::string>& warnings) {
  std::vector<std::string> distinct;
  for (const auto& w : warnings) {
    if (std::find(distinct.begin(), distinct.end(), w) == distinct.end()) distinct.push_back(w);
  }
  const size_t shown =
      distinct.size() <= kMaxWarningsPerAnswer ? distinct.size() : kMaxWarningsPerAnswer - 1;
  for (size_t i = 0; i < shown; ++i) {
    response.headers.emplace_back("Warning", WarningHeaderValue("metrics source: " + distinct[i]));
  }
  if (shown < distinct.size()) {
    const size_t more = distinct.size() - shown;
    response.headers.emplace_back(
        "Warning", WarningHeaderValue("metrics source: " + std::to_string(more) +
                                      " more warnings about this answer were left out"));
  }
}

}  // namespace smi::apiserver
