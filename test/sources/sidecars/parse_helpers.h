// Test helpers: a payload parsed into plain values (copies, so that they outlive the parse), and
// fixture files read whole.
#pragma once

#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sources/sidecars/exposition_parser.h"

namespace smi::sources::sidecars::testing {

struct Parsed {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // as written
  double value = 0;
  MetricType type = MetricType::kUntyped;
  size_t line = 0;
  std::string series;

  std::string Label(std::string_view label) const {
    for (const auto& [n, v] : labels) {
      if (n == label) return v;
    }
    return "<absent>";
  }
};

struct ParseOutcome {
  std::vector<Parsed> samples;
  std::optional<ExpositionError> error;
  size_t seen = 0;
  bool ok() const { return !error.has_value(); }
  std::string message() const { return error ? error->ToString() : "no error"; }
};

inline ParseOutcome ParseAll(std::string_view text, std::vector<std::string> keep = {}) {
  ExpositionParser parser(std::move(keep));
  ParseOutcome out;
  out.error = parser.Parse(text, [&](const ExpositionSample& s) {
    Parsed p;
    p.name = std::string(s.name);
    for (const ExpositionLabel& l : s.labels) p.labels.emplace_back(l.name, l.value);
    p.value = s.value;
    p.type = s.type;
    p.line = s.line;
    p.series = std::string(s.series);
    out.samples.push_back(std::move(p));
  });
  out.seen = parser.samples_seen();
  return out;
}

inline std::string ReadFixture(const std::string& relative) {
  const std::string path = std::string(SMI_TEST_FIXTURES) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The first sample named `name` whose label `label` is `value` (any, when label is empty).
inline const Parsed* Find(const ParseOutcome& outcome, std::string_view name,
                          std::string_view label = "", std::string_view value = "") {
  for (const Parsed& p : outcome.samples) {
    if (p.name == name && (label.empty() || p.Label(label) == value)) return &p;
  }
  return nullptr;
}

}  // namespace smi::sources::sidecars::testing
