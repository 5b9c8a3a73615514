#include "sources/sidecars/exposition_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <system_error>
#include <utility>

#include "sources/sidecars/flat_index.h"

namespace smi::sources::sidecars {

uint64_t HashSeed() {
  static const uint64_t seed = [] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }();
  return seed;
}

namespace {

// Character classes by table: the parser's inner loops test one byte at a time.
enum : uint8_t { kLabelStart = 1, kLabelChar = 2, kMetricStart = 4, kMetricChar = 8 };
constexpr auto kClasses = [] {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    table[c] = static_cast<uint8_t>((letter ? kLabelStart | kMetricStart : 0) |
                                    (letter || digit ? kLabelChar | kMetricChar : 0) |
                                    (c == ':' ? kMetricStart | kMetricChar : 0));
  }
  return table;
}();

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool Is(char c, uint8_t cls) { return (kClasses[static_cast<unsigned char>(c)] & cls) != 0; }
bool IsLabelNameStart(char c) { return Is(c, kLabelStart); }
bool IsLabelNameChar(char c) { return Is(c, kLabelChar); }
bool IsMetricNameStart(char c) { return Is(c, kMetricStart); }
bool IsMetricNameChar(char c) { return Is(c, kMetricChar); }

// Whether any byte of s is >= 0x80, eight at a time.
bool HasHighBytes(std::string_view s) {
  size_t i = 0;
  uint64_t any = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    any |= word;
  }
  for (; i < s.size(); ++i) any |= static_cast<unsigned char>(s[i]);
  return (any & 0x8080808080808080ULL) != 0;
}

size_t SkipBlanks(std::string_view s, size_t i) {
  while (i < s.size() && IsBlank(s[i])) ++i;
  return i;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// Go's utf8.Valid: no overlong forms, no surrogates, nothing above U+10FFFF.
bool ValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {  // ASCII, the common case, eight bytes at a time
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c == 0xe0) {
      n = 2;
      lo = 0xa0;
    } else if (c == 0xed) {
      n = 2;
      hi = 0x9f;
    } else if (c >= 0xe1 && c <= 0xef) {
      n = 2;
    } else if (c == 0xf0) {
      n = 3;
      lo = 0x90;
    } else if (c == 0xf4) {
      n = 3;
      hi = 0x8f;
    } else if (c >= 0xf1 && c <= 0xf3) {
      n = 3;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (size_t k = 2; k <= n; ++k) {
      if (p[k] < 0x80 || p[k] > 0xbf) return false;
    }
    p += n + 1;
  }
  return true;
}

// A token for an error message: quoted, cut short, non-printable bytes as \xNN.
std::string Describe(std::string_view s, size_t max = 40) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...";
  return out + "\"";
}

// What a line holds from position i on, for "expected X, got Y" messages.
std::string DescribeAt(std::string_view line, size_t i) {
  if (i >= line.size()) return "the end of the line";
  return Describe(line.substr(i, 12), 12);
}

bool ParseTypeWord(std::string_view word, MetricType* type) {
  static constexpr std::pair<std::string_view, MetricType> kWords[] = {
      {"counter", MetricType::kCounter},
      {"gauge", MetricType::kGauge},
      {"histogram", MetricType::kHistogram},
      {"summary", MetricType::kSummary},
      {"untyped", MetricType::kUntyped},
      {"unknown", MetricType::kUntyped},
      {"gaugehistogram", MetricType::kGaugeHistogram},
      {"gauge_histogram", MetricType::kGaugeHistogram},
      {"info", MetricType::kInfo},
      {"stateset", MetricType::kStateSet},
  };
  for (const auto& [text, value] : kWords) {
    if (word == text) {
      *type = value;
      return true;
    }
  }
  return false;
}

// Whether a sample named <family><suffix> belongs to a family of `type`; *created for the
// `_created` samples that carry a start time rather than data.
bool SuffixBelongs(std::string_view suffix, MetricType type, bool* created) {
  *created = false;
  switch (type) {
    case MetricType::kCounter:
      if (suffix == "_total") return true;
      return *created = suffix == "_created";
    case MetricType::kHistogram:
      if (suffix == "_bucket" || suffix == "_count" || suffix == "_sum") return true;
      return *created = suffix == "_created";
    case MetricType::kSummary:
      if (suffix == "_count" || suffix == "_sum") return true;
      return *created = suffix == "_created";
    case MetricType::kGaugeHistogram:
      return suffix == "_bucket" || suffix == "_gcount" || suffix == "_gsum";
    case MetricType::kInfo:
      return suffix == "_info";
    default:
      return false;
  }
}

// The body's last non-blank line is `# EOF`: OpenMetrics syntax (or a Linkerd body with an
// OpenMetrics tail), whose timestamps are float seconds.
bool EndsWithEof(std::string_view text) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || IsBlank(text[end - 1]))) {
    --end;
  }
  const size_t newline = text.rfind('\n', end == 0 ? 0 : end - 1);
  size_t begin = newline == std::string_view::npos || end == 0 ? 0 : newline + 1;
  begin = SkipBlanks(text, begin);
  return end > begin && text.substr(begin, end - begin) == "# EOF";
}

bool ValidTimestamp(std::string_view token, bool allow_float) {
  int64_t ms = 0;
  const auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), ms);
  if (ec == std::errc() && p == token.data() + token.size()) return true;
  return allow_float && ParseExpositionValue(token).has_value();
}

// For an out-of-range decimal: whether its magnitude is tiny (an underflow, which Go reads as 0)
// rather than huge. `text` is digits, an optional point and an optional exponent.
bool Underflows(std::string_view text) {
  long long e10 = 0;
  bool nonzero = false;
  bool point = false;
  size_t i = 0;
  for (; i < text.size() && text[i] != 'e' && text[i] != 'E'; ++i) {
    if (text[i] == '.') {
      point = true;
    } else if (!nonzero) {
      if (text[i] != '0') {
        nonzero = true;
        if (!point) ++e10;
      } else if (point) {
        --e10;
      }
    } else if (!point) {
      ++e10;
    }
  }
  if (i < text.size()) {
    ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    long long exponent = 0;
    for (; i < text.size(); ++i) exponent = std::min(exponent * 10 + (text[i] - '0'), 1000000LL);
    e10 += negative ? -exponent : exponent;
  }
  return e10 <= 0;
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kGaugeHistogram:
      return "gaugehistogram";
    case MetricType::kInfo:
      return "info";
    case MetricType::kStateSet:
      return "stateset";
    case MetricType::kUntyped:
      break;
  }
  return "untyped";
}

std::string ExpositionError::ToString() const {
  return "line " + std::to_string(line) + ": " + message;
}

std::optional<double> ParseExpositionValue(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  size_t i = 0;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    i = 1;
  }
  const std::string_view rest = text.substr(i);
  if (rest.empty()) return std::nullopt;
  // Most values are small integers: up to 15 digits the integer is exact in a double, the very
  // value from_chars would give.
  if (rest.size() <= 15) {
    uint64_t integer = 0;
    size_t k = 0;
    for (; k < rest.size() && IsDigit(rest[k]); ++k) {
      integer = integer * 10 + static_cast<uint64_t>(rest[k] - '0');
    }
    if (k == rest.size()) {
      const auto value = static_cast<double>(integer);
      return negative ? -value : value;
    }
  }
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (!IsDigit(rest[0]) && rest[0] != '.') {
    if (EqualsIgnoreCase(rest, "inf") || EqualsIgnoreCase(rest, "infinity")) {
      return negative ? -kInf : kInf;
    }
    // Go reads a sign before Inf, never before NaN.
    if (i == 0 && EqualsIgnoreCase(rest, "nan")) return std::numeric_limits<double>::quiet_NaN();
    return std::nullopt;
  }
  // Only decimal syntax reaches from_chars (general format: no hex, no inf/nan spelled out).
  for (const char c : rest) {
    if (!IsDigit(c) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') {
      return std::nullopt;
    }
  }
  double value = 0;
  const auto [p, ec] =
      std::from_chars(rest.data(), rest.data() + rest.size(), value, std::chars_format::general);
  if (p != rest.data() + rest.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    if (!Underflows(rest)) return std::nullopt;
    value = 0;
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

ExpositionParser::ExpositionParser(std::vector<std::string> keep) { SetKeep(std::move(keep)); }

void ExpositionParser::SetKeep(std::vector<std::string> keep) {
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  keep_ = std::move(keep);
}

bool ExpositionParser::Keeps(std::string_view name) const {
  if (keep_.empty()) return true;
  const auto it = std::lower_bound(keep_.begin(), keep_.end(), name,
                                   [](const std::string& a, std::string_view b) { return a < b; });
  return it != keep_.end() && *it == name;
}

std::optional<ExpositionError> ExpositionParser::ParseText(std::string_view text, SinkRef sink) {
  samples_seen_ = 0;
  samples_kept_ = 0;
  families_used_ = 0;
  family_index_.Clear();
  type_cache_valid_ = false;
  float_timestamps_ = EndsWithEof(text);
  size_t number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++number;
    size_t end = text.find('\n', pos);
    line_continues_ = end != std::string_view::npos;
    if (!line_continues_) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (auto error = ParseLine(line, number, sink)) {
      return ExpositionError{number, std::move(*error)};
    }
  }
  return std::nullopt;
}

std::optional<std::string> ExpositionParser::ParseLine(std::string_view line, size_t number,
                                                       const SinkRef& sink) {
  const size_t i = SkipBlanks(line, 0);
  if (i == line.size()) return std::nullopt;
  if (line[i] == '#') return ParseComment(line, i);
  return ParseSample(line, i, number, sink);
}

std::optional<std::string> ExpositionParser::ScanQuoted(std::string_view line, size_t& i,
                                                        Token* token, const char* what) const {
  // line[i] is the opening quote. The closing one is the first quote not escaped: find quotes
  // with memchr, and only where a backslash precedes one look at the escapes.
  const char* const begin = line.data() + i + 1;
  const char* const end = line.data() + line.size();
  const char* p = begin;
  bool escaped = false;
  for (;;) {
    const auto* quote = static_cast<const char*>(std::memchr(p, '"', end - p));
    if (quote == nullptr) {
      return std::string(line_continues_ ? "a raw newline inside a quoted "
                                         : "unterminated quoted ") +
             what;
    }
    const auto* backslash = static_cast<const char*>(std::memchr(p, '\\', quote - p));
    if (backslash == nullptr) {
      p = quote;
      break;
    }
    // Walk the escapes up to the quote: a backslash takes the next byte with it.
    escaped = true;
    p = backslash;
    while (p < quote) p += *p == '\\' ? 2 : 1;
    if (p == quote) break;  // the quote ends the string
    // p is just past the quote: it was escaped; search on from there.
  }
  token->begin = static_cast<size_t>(begin - line.data());
  token->end = static_cast<size_t>(p - line.data());
  token->escaped = escaped;
  token->quoted = true;
  const std::string_view content(begin, p - begin);
  if (HasHighBytes(content) && !ValidUtf8(content)) {
    return std::string("invalid UTF-8 in a quoted ") + what + " " + Describe(content);
  }
  i = token->end + 1;
  return std::nullopt;
}

size_t ExpositionParser::UnescapedSize(std::string_view raw) {
  size_t n = 0;
  for (size_t k = 0; k < raw.size(); ++k, ++n) {
    if (raw[k] == '\\' && k + 1 < raw.size()) {
      const char d = raw[k + 1];
      if (d == '\\' || d == '"' || d == 'n') ++k;
    }
  }
  return n;
}

char* ExpositionParser::Unescape(std::string_view raw, char* out) {
  for (size_t k = 0; k < raw.size(); ++k) {
    const char c = raw[k];
    if (c == '\\' && k + 1 < raw.size()) {
      const char d = raw[k + 1];
      if (d == '\\' || d == '"') {
        *out++ = d;
        ++k;
        continue;
      }
      if (d == 'n') {
        *out++ = '\n';
        ++k;
        continue;
      }
    }
    *out++ = c;  // an unknown escape stays as written, as Prometheus keeps it
  }
  return out;
}

std::optional<std::string> ExpositionParser::ParseComment(std::string_view line, size_t i) {
  size_t k = i + 1;
  // "#" alone, "#foo": a comment. "# HELP", "# TYPE" (after any blanks): metadata. "# EOF",
  // "# UNIT" and everything else: comments.
  if (k >= line.size() || !IsBlank(line[k])) return std::nullopt;
  k = SkipBlanks(line, k);
  const std::string_view keyword = line.substr(k, 4);
  const bool help = keyword == "HELP";
  if (!help && keyword != "TYPE") return std::nullopt;
  if (k + 4 >= line.size() || !IsBlank(line[k + 4])) return std::nullopt;
  const char* what = help ? "HELP" : "TYPE";
  k = SkipBlanks(line, k + 4);

  Token name;
  if (k < line.size() && line[k] == '"') {
    if (auto error = ScanQuoted(line, k, &name, "metric name")) return error;
    if (name.begin == name.end) return std::string("an empty metric name after ") + what;
  } else if (k < line.size() && IsMetricNameStart(line[k])) {
    name.begin = k;
    while (k < line.size() && IsMetricNameChar(line[k])) ++k;
    name.end = k;
  } else {
    return std::string("expected a metric name after ") + what + ", got " + DescribeAt(line, k);
  }
  const std::string_view rest = line.substr(k);
  if (help) {
    if (!ValidUtf8(rest)) return "HELP text is not valid UTF-8";
    return std::nullopt;
  }
  size_t word_begin = SkipBlanks(rest, 0);
  size_t word_end = rest.size();
  while (word_end > word_begin && IsBlank(rest[word_end - 1])) --word_end;
  const std::string_view word = rest.substr(word_begin, word_end - word_begin);
  MetricType type = MetricType::kUntyped;
  if (!ParseTypeWord(word, &type)) return "unknown metric type " + Describe(word);

  std::string_view raw_name = line.substr(name.begin, name.end - name.begin);
  if (!name.escaped) {
    DeclareType(raw_name, type);
  } else {
    unescaped_.resize(UnescapedSize(raw_name));
    const char* end = Unescape(raw_name, unescaped_.data());
    DeclareType(std::string_view(unescaped_.data(), end - unescaped_.data()), type);
  }
  return std::nullopt;
}

void ExpositionParser::DeclareType(std::string_view name, MetricType type) {
  const uint64_t hash = HashBytes(name);
  const auto matches = [&](uint32_t id) { return families_[id].name == name; };
  if (family_index_.Find(hash, matches) != FlatIndex::kNone) return;  // the first TYPE wins
  if (families_used_ == families_.size()) families_.emplace_back();
  Family& family = families_[families_used_];
  family.name.assign(name);
  family.type = type;
  family_index_.Insert(hash, static_cast<uint32_t>(families_used_),
                       [&](uint32_t id) { return HashBytes(families_[id].name); });
  ++families_used_;
}

const ExpositionParser::Family* ExpositionParser::FindFamily(std::string_view name) const {
  if (families_used_ == 0) return nullptr;
  const uint32_t id = family_index_.Find(
      HashBytes(name), [&](uint32_t candidate) { return families_[candidate].name == name; });
  return id == FlatIndex::kNone ? nullptr : &families_[id];
}

MetricType ExpositionParser::FamilyType(std::string_view name, bool* created) {
  // Samples of one family mostly come together: remember the last answer.
  if (type_cache_valid_ && type_cache_name_ == name) {
    *created = type_cache_created_;
    return type_cache_type_;
  }
  MetricType type = MetricType::kUntyped;
  *created = false;
  if (const Family* family = FindFamily(name)) {
    type = family->type;
  } else {
    static constexpr std::string_view kSuffixes[] = {"_bucket",  "_count",  "_sum",  "_total",
                                                     "_created", "_gcount", "_gsum", "_info"};
    for (const std::string_view suffix : kSuffixes) {
      if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
      const Family* family = FindFamily(name.substr(0, name.size() - suffix.size()));
      bool is_created = false;
      if (family != nullptr && SuffixBelongs(suffix, family->type, &is_created)) {
        type = family->type;
        *created = is_created;
        break;
      }
    }
  }
  type_cache_name_.assign(name);
  type_cache_type_ = type;
  type_cache_created_ = *created;
  type_cache_valid_ = true;
  return type;
}

namespace {

// A sample line read as `series value`: the value is the last token, the series text what comes
// before it without the blanks. False when the line has no such form (one token only, or a
// quoted name first). A line with a timestamp or an exemplar has another last token, so that
// its "series text" is one no valid line has as its series.
bool SplitLastToken(std::string_view line, size_t i, std::string_view* series,
                    std::string_view* value) {
  if (!IsMetricNameStart(line[i])) return false;
  size_t end = line.size();
  while (end > i && IsBlank(line[end - 1])) --end;
  size_t value_begin = end;
  while (value_begin > i && !IsBlank(line[value_begin - 1])) --value_begin;
  size_t series_end = value_begin;
  while (series_end > i && IsBlank(line[series_end - 1])) --series_end;
  if (series_end == i) return false;
  *series = line.substr(i, series_end - i);
  *value = line.substr(value_begin, end - value_begin);
  return true;
}

}  // namespace

bool ExpositionParser::ParseKnownSample(std::string_view line, size_t i, size_t number,
                                        const SinkRef& sink) {
  // Only `name{...} value` or `name value` (SplitLastToken): a line with a timestamp or an
  // exemplar has no series text the caller holds, and takes the full path; so does one whose
  // name is quoted inside the braces.
  std::string_view series;
  std::string_view value_token;
  if (!SplitLastToken(line, i, &series, &value_token)) return false;
  const uint64_t hash = HashBytes(series);
  const uint32_t known_id = known_(hash);
  if (known_id == kUnknown) return false;

  // A last token that is no value may be the end of another series written with the same
  // start: `rt {a=""}+26` splits as the known `rt` and `{a=""}+26`, where the full path reads the
  // series `rt{a=""}` (the same series as `rt`) and the value +26. The full path decides.
  const std::optional<double> value = ParseExpositionValue(value_token);
  if (!value) return false;
  ++samples_seen_;
  if (known_id == kUnkept) {
    if (unkept_) unkept_(hash, false);
    return true;
  }
  // Samples of one family mostly come together: a line that starts with the name FamilyType
  // last answered for (always a kept one) is of that family, without scanning the name again.
  std::string_view metric;
  bool created = false;
  MetricType type;
  const size_t cached = type_cache_name_.size();
  if (type_cache_valid_ && series.size() >= cached &&
      std::memcmp(series.data(), type_cache_name_.data(), cached) == 0 &&
      (series.size() == cached || !IsMetricNameChar(series[cached]))) {
    metric = series.substr(0, cached);
    type = type_cache_type_;
    created = type_cache_created_;
  } else {
    size_t name_end = i;
    while (name_end < i + series.size() && IsMetricNameChar(line[name_end])) ++name_end;
    metric = line.substr(i, name_end - i);
    if (!Keeps(metric)) return true;
    type = FamilyType(metric, &created);
  }
  if (created) return true;
  ExpositionSample sample;
  sample.name = metric;
  sample.series = series;
  sample.value = *value;
  sample.type = type;
  sample.line = number;
  sample.known = true;
  sample.series_hash = hash;
  sample.known_id = known_id;
  ++samples_kept_;
  sink(sample);
  return true;
}

std::optional<std::string> ExpositionParser::ParseSample(std::string_view line, size_t i,
                                                         size_t number, const SinkRef& sink) {
  if (known_ && ParseKnownSample(line, i, number, sink)) return std::nullopt;
  const size_t n = line.size();
  const size_t series_begin = i;
  raw_labels_.clear();
  Token name;
  bool has_name = false;
  if (IsMetricNameStart(line[i])) {
    name.begin = i;
    while (i < n && IsMetricNameChar(line[i])) ++i;
    name.end = i;
    has_name = true;
  } else if (line[i] != '{') {
    return "expected a metric name, got " + DescribeAt(line, i);
  }
  size_t series_end = i;
  size_t k = SkipBlanks(line, i);
  if (k < n && line[k] == '{') {
    i = k + 1;
    for (;;) {
      i = SkipBlanks(line, i);
      if (i >= n) return "unterminated label set";
      if (line[i] == '}') {
        ++i;
        break;
      }
      Token label_name;
      if (line[i] == '"') {
        if (auto error = ScanQuoted(line, i, &label_name, "name")) return error;
        const size_t after = SkipBlanks(line, i);
        if (after >= n || line[after] != '=') {
          // A quoted string on its own is the metric name (Prometheus 3's UTF-8 names).
          if (has_name) return "a second metric name in the label set";
          if (label_name.begin == label_name.end) return "an empty metric name";
          name = label_name;
          has_name = true;
          i = after;
          if (i < n && line[i] == ',') ++i;
          continue;
        }
        if (label_name.begin == label_name.end) return "an empty label name";
        i = after;
      } else if (IsLabelNameStart(line[i])) {
        label_name.begin = i;
        while (i < n && IsLabelNameChar(line[i])) ++i;
        label_name.end = i;
        i = SkipBlanks(line, i);
      } else {
        return "expected a label name, got " + DescribeAt(line, i);
      }
      if (i >= n || line[i] != '=') {
        return "expected '=' after label name " +
               Describe(line.substr(label_name.begin, label_name.end - label_name.begin)) +
               ", got " + DescribeAt(line, i);
      }
      i = SkipBlanks(line, i + 1);
      if (i >= n || line[i] != '"') {
        return "expected a quoted value for label " +
               Describe(line.substr(label_name.begin, label_name.end - label_name.begin)) +
               ", got " + DescribeAt(line, i);
      }
      Token value;
      if (auto error = ScanQuoted(line, i, &value, "label value")) return error;
      raw_labels_.push_back({label_name, value});
      i = SkipBlanks(line, i);
      if (i < n && line[i] == ',') ++i;  // a trailing comma is fine, a missing one too
    }
    series_end = i;
  } else if (k == i && i < n) {
    return "expected a blank after metric name " +
           Describe(line.substr(name.begin, name.end - name.begin)) + ", got " +
           DescribeAt(line, i);
  }
  if (!has_name) return "a sample without a metric name";

  // The value, then an optional timestamp, then an optional exemplar (` # {...} v [t]`).
  i = SkipBlanks(line, series_end);
  const size_t value_begin = i;
  while (i < n && !IsBlank(line[i])) ++i;
  if (value_begin == i) return "expected a value after the metric";
  const std::string_view value_token = line.substr(value_begin, i - value_begin);
  const std::optional<double> value = ParseExpositionValue(value_token);
  if (!value) return "invalid value " + Describe(value_token);
  i = SkipBlanks(line, i);
  const bool plain = i == n;  // no timestamp, no exemplar
  if (i < n && line[i] != '#') {
    const size_t ts_begin = i;
    while (i < n && !IsBlank(line[i])) ++i;
    const std::string_view ts = line.substr(ts_begin, i - ts_begin);
    if (!ValidTimestamp(ts, float_timestamps_)) {
      return "invalid timestamp " + Describe(ts) + " (expected integer milliseconds)";
    }
    i = SkipBlanks(line, i);
    if (i < n && line[i] != '#')
      return "unexpected text after the timestamp: " + DescribeAt(line, i);
  }

  // Resolve names and values: views into the line, or into one buffer for escaped strings
  // (sized first, so that no view moves while others are written).
  size_t needed = 0;
  const auto raw = [&](const Token& t) { return line.substr(t.begin, t.end - t.begin); };
  if (name.escaped) needed += UnescapedSize(raw(name));
  for (const RawLabel& label : raw_labels_) {
    if (label.name.escaped) needed += UnescapedSize(raw(label.name));
    if (label.value.escaped) needed += UnescapedSize(raw(label.value));
  }
  if (unescaped_.size() < needed) unescaped_.resize(needed);
  char* out = unescaped_.data();
  const auto resolve = [&](const Token& t) -> std::string_view {
    if (!t.escaped) return raw(t);
    char* begin = out;
    out = Unescape(raw(t), out);
    return std::string_view(begin, out - begin);
  };
  const std::string_view metric = resolve(name);
  labels_.clear();
  for (const RawLabel& label : raw_labels_) {
    labels_.push_back({resolve(label.name), resolve(label.value)});
  }

  // Label names must be unique, and __name__ is the metric name's.
  for (const ExpositionLabel& label : labels_) {
    if (label.name == "__name__") return "label name \"__name__\" is reserved";
  }
  // Duplicate names: each name's hash marks a slot of a table stamped with this line's number;
  // only when two names land in one slot are the names sorted and compared.
  bool collision = false;
  ++name_stamp_;
  for (const ExpositionLabel& label : labels_) {
    uint32_t h = 2166136261u;  // FNV-1a: label names are short
    for (const char c : label.name) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    uint32_t& slot = name_slots_[(h ^ (h >> 16)) & (name_slots_.size() - 1)];
    if (slot == name_stamp_) collision = true;
    slot = name_stamp_;
  }
  if (collision) {
    order_.resize(labels_.size());
    for (size_t a = 0; a < order_.size(); ++a) order_[a] = a;
    std::sort(order_.begin(), order_.end(),
              [&](size_t a, size_t b) { return labels_[a].name < labels_[b].name; });
    for (size_t a = 1; a < order_.size(); ++a) {
      if (labels_[order_[a]].name == labels_[order_[a - 1]].name) {
        return "duplicate label name " + Describe(labels_[order_[a]].name);
      }
    }
  }

  ++samples_seen_;
  if (!Keeps(metric)) {
    // The line is valid: the caller may let the next scrape's same text skip all but the value,
    // provided that the known path would read this very line as this series and value.
    std::string_view known_series;
    std::string_view known_value;
    if (unkept_ && plain && !name.quoted &&
        SplitLastToken(line, series_begin, &known_series, &known_value) &&
        known_series.data() == line.data() + series_begin &&
        known_series.size() == series_end - series_begin && known_value == value_token) {
      unkept_(HashBytes(known_series), true);
    }
    return std::nullopt;
  }
  bool created = false;
  const MetricType type = FamilyType(metric, &created);
  if (created) return std::nullopt;  // a start time, not data
  ExpositionSample sample;
  sample.name = metric;
  sample.series = line.substr(series_begin, series_end - series_begin);
  sample.labels = labels_;
  sample.value = *value;
  sample.type = type;
  sample.line = number;
  ++samples_kept_;
  sink(sample);
  return std::nullopt;
}

}  // namespace smi::sources::sidecars
