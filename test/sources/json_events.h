// The events a JSON parser reports through nlohmann's SAX interface, written down as text, so
// that ScanJson (json_scanner.h) can be held to nlohmann::json::sax_parse: for any text, both
// accept it or both refuse it, and where they accept it they report the same events.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sources/prometheus/json_scanner.h"

namespace smi::testing {

class JsonEventLog final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<std::string> events;

  bool null() override { return Add("null"); }
  bool boolean(bool v) override { return Add(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return Add("int " + std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    return Add("unsigned " + std::to_string(v));
  }
  bool number_float(number_float_t v, const string_t& text) override {
    return Add("float " + std::to_string(std::bit_cast<uint64_t>(v)) + " " + text);
  }
  bool string(string_t& v) override { return Add("string " + v); }
  bool binary(binary_t&) override { return Add("binary"); }
  bool start_object(std::size_t) override { return Add("{"); }
  bool end_object() override { return Add("}"); }
  bool start_array(std::size_t) override { return Add("["); }
  bool end_array() override { return Add("]"); }
  bool key(string_t& v) override { return Add("key " + v); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Add(std::string event) {
    events.push_back(std::move(event));
    return true;
  }
};

struct JsonParse {
  bool ok = false;
  std::vector<std::string> events;  // all of them when ok; those before the error otherwise
};

inline JsonParse ParseWithNlohmann(std::string_view text) {
  JsonEventLog log;
  JsonParse out;
  out.ok = nlohmann::json::sax_parse(text, &log);
  out.events = std::move(log.events);
  return out;
}

inline JsonParse ParseWithScanner(std::string_view text) {
  JsonEventLog log;
  JsonParse out;
  out.ok = sources::prometheus::ScanJson(text, log);
  out.events = std::move(log.events);
  return out;
}

}  // namespace smi::testing
