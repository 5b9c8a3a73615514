// A streaming parser of the Prometheus text exposition format (0.0.4) as the proxies serve it,
// as lenient as Prometheus' own scrape parser and as strict where Prometheus fails a scrape.
//
// Accepted: families interleaved or declared twice (the first TYPE wins), a missing final
// newline, `\r\n` line ends, blank lines, runs of blanks and tabs between tokens, a trailing
// comma or a missing comma between labels, `{}`, no blank between `}` and the value, escapes
// `\\` `\"` `\n` (any other escape is kept as written), values in Go's ParseFloat syntax
// (`+Inf`, `-inf`, `NaN`, `Infinity`, exponents, long decimals, integers beyond 2^63),
// optional int64 millisecond timestamps (ignored), and the OpenMetrics fragments found in
// `text/plain` bodies: `# EOF` and `# UNIT` (comments), exemplars (stripped), `_total`
// samples of a counter family, `_created` samples (skipped, they are not data), the OpenMetrics
// types, and float-second timestamps when the body ends with `# EOF`. Metric and label names may
// be quoted UTF-8 strings (`{"my.metric","label.name"="v"}`), as Prometheus 3 reads them.
//
// Rejected, with the line number: a label without a quoted value, an unterminated string, a
// raw newline inside a string, invalid UTF-8 in a string or HELP text, a value that is not a
// number (hexadecimal, `1_2`, `0x..`, `0b..`, words), a timestamp that is not an integer, more
// than one token after the value, duplicate label names in one sample, `__name__` as a label, a
// sample without a metric name, an unknown TYPE, and any other line that is neither a sample nor
// a comment. Every line is checked, whether its family is kept or not.
//
// The parser allocates nothing per sample once its scratch buffers have grown to the payload's
// widest line: labels are views into the input (or into a reused buffer for escaped strings).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "sources/sidecars/flat_index.h"

namespace smi::sources::sidecars {

// The TYPE a family declared; kUntyped when it declared none.
enum class MetricType : uint8_t {
  kUntyped,
  kCounter,
  kGauge,
  kHistogram,
  kSummary,
  kGaugeHistogram,
  kInfo,
  kStateSet,
};
std::string_view MetricTypeName(MetricType type);

struct ExpositionLabel {
  std::string_view name;
  std::string_view value;  // unescaped; may be empty (an empty value means "no such label")
};

// One sample line, valid only during the sink call.
struct ExpositionSample {
  std::string_view name;    // the sample's metric name (unescaped when it was quoted)
  std::string_view series;  // the name and label set exactly as written: the series' identity
                            // within one target as long as the exporter writes it the same way
  std::span<const ExpositionLabel> labels;  // in the order written
  double value = 0;
  MetricType type = MetricType::kUntyped;  // the TYPE of the family the sample belongs to
  size_t line = 0;                         // 1-based
  // The caller said it knows the series text (see ExpositionParser::Parse with `known`): the
  // line was not taken apart, `labels` is empty, and `series_hash` is HashBytes(series).
  bool known = false;
  uint64_t series_hash = 0;
  // When `known`: what the caller's `known` returned for it when that was an id (a
  // predicate's `true` is 0), so that the sink need not look the series up again.
  uint32_t known_id = 0;
};

struct ExpositionError {
  size_t line = 0;  // 1-based
  std::string message;
  std::string ToString() const;  // "line N: message"
};

class ExpositionParser {
 public:
  // What a `known` that returns ids returns for a text it does not hold, and for one it was
  // given as a line of a family not kept (Parse with `unkept`).
  static constexpr uint32_t kUnknown = UINT32_MAX;
  static constexpr uint32_t kUnkept = UINT32_MAX - 1;

  // Only samples whose metric name is in `keep` reach the sink; empty: every sample does.
  explicit ExpositionParser(std::vector<std::string> keep = {});

  // Parses `text`, calling sink(const ExpositionSample&) for each kept sample in order. Returns
  // the first error; the sink may have seen samples of earlier lines by then.
  template <class Sink>
  std::optional<ExpositionError> Parse(std::string_view text, Sink&& sink) {
    known_ = {};
    return ParseText(text, SinkRef(sink));
  }
  // The same, where known(uint64_t hash) -> bool says whether the caller already holds a series
  // whose text (ExpositionSample::series) has that HashBytes: a line that is exactly such a
  // series text, blanks and a value is then not taken apart again (the same bytes were checked
  // when the series was first seen), and reaches the sink with `known` set and no labels. A
  // scrape repeats nearly every line of the one before, so this skips most of the work.
  // known may also return a uint32_t id, kUnknown when it does not hold the text: the sink then
  // gets that id as ExpositionSample::known_id.
  template <class Sink, class Known>
  std::optional<ExpositionError> Parse(std::string_view text, Sink&& sink, Known&& known) {
    known_ = KnownRef(known);
    auto error = ParseText(text, SinkRef(sink));
    known_ = {};
    return error;
  }
  // The same for the lines of families not kept, which are most of a real proxy's payload:
  // unkept(uint64_t hash, bool fresh) is called for every valid sample line of such a family
  // that has the form `series value` (no timestamp, no exemplar, an unquoted metric name), with
  // the HashBytes of its series text: fresh when the line was taken apart. When known(hash)
  // later returns kUnkept for such a text, a line that is that text, blanks and a value has only
  // its value checked, and is reported to unkept with fresh false (so that the caller can count
  // the texts still written). A caller answers kUnkept only for texts it was given through
  // unkept.
  template <class Sink, class Known, class Unkept>
  std::optional<ExpositionError> Parse(std::string_view text, Sink&& sink, Known&& known,
                                       Unkept&& unkept) {
    known_ = KnownRef(known);
    unkept_ = UnkeptRef(unkept);
    auto error = ParseText(text, SinkRef(sink));
    known_ = {};
    unkept_ = {};
    return error;
  }

  void SetKeep(std::vector<std::string> keep);
  const std::vector<std::string>& keep() const { return keep_; }
  bool Keeps(std::string_view name) const;

  // Of the last Parse (up to its error, if any): every sample line, and those given to the sink.
  size_t samples_seen() const { return samples_seen_; }
  size_t samples_kept() const { return samples_kept_; }

 private:
  class SinkRef {
   public:
    template <class F>
    explicit SinkRef(F& f)
        : object_(const_cast<void*>(static_cast<const void*>(&f))),
          call_([](void* o, const ExpositionSample& s) { (*static_cast<F*>(o))(s); }) {}
    void operator()(const ExpositionSample& s) const { call_(object_, s); }

   private:
    void* object_;
    void (*call_)(void*, const ExpositionSample&);
  };

  class KnownRef {
   public:
    KnownRef() = default;
    template <class F>
    explicit KnownRef(F& f)
        : object_(const_cast<void*>(static_cast<const void*>(&f))),
          call_([](void* o, uint64_t h) -> uint32_t {
            if constexpr (std::is_same_v<decltype((*static_cast<F*>(o))(h)), bool>) {
              return (*static_cast<F*>(o))(h) ? 0 : kUnknown;
            } else {
              return static_cast<uint32_t>((*static_cast<F*>(o))(h));
            }
          }) {}
    explicit operator bool() const { return call_ != nullptr; }
    uint32_t operator()(uint64_t h) const { return call_(object_, h); }

   private:
    void* object_ = nullptr;
    uint32_t (*call_)(void*, uint64_t) = nullptr;
  };

  class UnkeptRef {
   public:
    UnkeptRef() = default;
    template <class F>
    explicit UnkeptRef(F& f)
        : object_(const_cast<void*>(static_cast<const void*>(&f))),
          call_([](void* o, uint64_t h, bool fresh) { (*static_cast<F*>(o))(h, fresh); }) {}
    explicit operator bool() const { return call_ != nullptr; }
    void operator()(uint64_t h, bool fresh) const { call_(object_, h, fresh); }

   private:
    void* object_ = nullptr;
    void (*call_)(void*, uint64_t, bool) = nullptr;
  };

  // A string token as found in the line: where it is, and whether it needs unescaping.
  struct Token {
    size_t begin = 0;
    size_t end = 0;
    bool escaped = false;
    bool quoted = false;  // a quoted name (the quotes are not part of [begin, end))
  };
  struct RawLabel {
    Token name;
    Token value;
  };
  struct Family {
    std::string name;
    MetricType type = MetricType::kUntyped;
  };

  std::optional<ExpositionError> ParseText(std::string_view text, SinkRef sink);
  std::optional<std::string> ParseLine(std::string_view line, size_t number, const SinkRef& sink);
  std::optional<std::string> ParseComment(std::string_view line, size_t i);
  std::optional<std::string> ParseSample(std::string_view line, size_t i, size_t number,
                                         const SinkRef& sink);
  // The `known` path of ParseSample: true when it handled the line; false leaves it to the full
  // path (an unknown text, another form, or a last token that is no value).
  bool ParseKnownSample(std::string_view line, size_t i, size_t number, const SinkRef& sink);
  // A quoted string starting at line[i]; on success i is past the closing quote.
  std::optional<std::string> ScanQuoted(std::string_view line, size_t& i, Token* token,
                                        const char* what) const;
  static size_t UnescapedSize(std::string_view raw);
  static char* Unescape(std::string_view raw, char* out);
  // The sample's family TYPE; sets *created when the sample is the `_created` line of a counter,
  // histogram or summary family.
  MetricType FamilyType(std::string_view name, bool* created);
  void DeclareType(std::string_view name, MetricType type);
  const Family* FindFamily(std::string_view name) const;

  KnownRef known_;                 // during a Parse with `known`
  UnkeptRef unkept_;               // during a Parse with `unkept`
  std::vector<std::string> keep_;  // sorted
  bool float_timestamps_ = false;  // the body ends with `# EOF`: OpenMetrics timestamps allowed
  bool line_continues_ = false;    // the current line ended with a newline (not the input)
  size_t samples_seen_ = 0;
  size_t samples_kept_ = 0;

  // Scratch, reused from line to line and from payload to payload.
  std::vector<RawLabel> raw_labels_;
  std::vector<ExpositionLabel> labels_;
  std::vector<size_t> order_;
  std::array<uint32_t, 4096> name_slots_{};  // stamps, for the duplicate label name check
  uint32_t name_stamp_ = 0;
  std::string unescaped_;
  std::vector<Family> families_;  // the first families_used_ are this payload's
  size_t families_used_ = 0;
  FlatIndex family_index_;
  std::string type_cache_name_;
  MetricType type_cache_type_ = MetricType::kUntyped;
  bool type_cache_created_ = false;
  bool type_cache_valid_ = false;
};

// Go's strconv.ParseFloat as Prometheus uses it for sample values, without the locale:
// decimal with optional sign, fraction and exponent; `Inf`/`Infinity` with optional sign and
// `NaN` in any case. Hexadecimal, underscores and anything else are rejected. Out-of-range
// magnitudes are rejected as Go does (an underflow is 0).
std::optional<double> ParseExpositionValue(std::string_view text);

}  // namespace smi::sources::sidecars
