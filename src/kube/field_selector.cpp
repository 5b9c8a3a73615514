#include "kube/field_selector.h"

#include <algorithm>

namespace smi::kube {

namespace {

std::vector<std::string> SplitTerms(std::string_view s) {
  std::vector<std::string> terms;
  if (s.empty()) return terms;
  size_t start = 0;
  bool in_slash = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_slash) {
      in_slash = false;
    } else if (c == '\\') {
      in_slash = true;
    } else if (c == ',') {
      terms.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  terms.emplace_back(s.substr(start));
  return terms;
}

// The first position where one of !=, ==, = starts (tried in that order at each position).
bool SplitTerm(const std::string& term, std::string* lhs, std::string* op, std::string* rhs) {
  static const char* kOps[] = {"!=", "==", "="};
  for (size_t i = 0; i < term.size(); ++i) {
    for (const char* o : kOps) {
      const std::string_view ov(o);
      if (term.compare(i, ov.size(), ov) == 0) {
        *lhs = term.substr(0, i);
        *op = std::string(ov);
        *rhs = term.substr(i + ov.size());
        return true;
      }
    }
  }
  return false;
}

std::string UnescapeValue(const std::string& s) {
  if (s.find_first_of("\\,=") == std::string::npos) return s;
  std::string out;
  bool in_slash = false;
  for (char c : s) {
    if (in_slash) {
      if (c != '\\' && c != ',' && c != '=') {
        throw SelectorParseError(
            std::string("invalid field selector: invalid escape sequence: \\") + c);
      }
      out += c;
      in_slash = false;
      continue;
    }
    if (c == '\\') {
      in_slash = true;
    } else if (c == ',' || c == '=') {
      // Go prints the rune with %v: its code point.
      throw SelectorParseError("invalid field selector: unescaped character in value: " +
                               std::to_string(static_cast<int>(c)));
    } else {
      out += c;
    }
  }
  if (in_slash) throw SelectorParseError("invalid field selector: invalid escape sequence: \\");
  return out;
}

std::string EscapeValue(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == ',' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

FieldSelector FieldSelector::Parse(std::string_view text) {
  std::vector<std::string> parts = SplitTerms(text);
  std::sort(parts.begin(), parts.end());
  FieldSelector s;
  for (const auto& part : parts) {
    if (part.empty()) continue;
    std::string lhs, op, rhs;
    if (!SplitTerm(part, &lhs, &op, &rhs)) {
      throw SelectorParseError("invalid selector: '" + std::string(text) + "'; can't understand '" +
                               part + "'");
    }
    s.requirements_.push_back({lhs, op == "!=", UnescapeValue(rhs)});
  }
  // The conversion step (runtime.DefaultMetaV1FieldSelectorConversion), in the parsed order.
  for (const auto& r : s.requirements_) {
    if (r.field != "metadata.name" && r.field != "metadata.namespace") {
      throw SelectorParseError(GoQuote(r.field) +
                               " is not a known field selector: only \"metadata.name\", "
                               "\"metadata.namespace\"");
    }
  }
  return s;
}

bool FieldSelector::Matches(std::string_view ns, std::string_view name) const {
  for (const auto& r : requirements_) {
    const std::string_view have = r.field == "metadata.name" ? name : ns;
    if ((have == r.value) == r.negate) return false;
  }
  return true;
}

std::string FieldSelector::String() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ",";
    out += r.field + (r.negate ? "!=" : "=") + EscapeValue(r.value);
  }
  return out;
}

}  // namespace smi::kube
