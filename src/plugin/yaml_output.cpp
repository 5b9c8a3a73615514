#include "plugin/yaml_output.h"

#include <cctype>
#include <regex>

#include <nlohmann/json.hpp>

namespace smi::plugin {

namespace {

using nlohmann::json;

// Whether a plain (unquoted) scalar would read back as this same string.
bool PlainIsSafe(const std::string& s) {
  if (s.empty()) return false;
  static const std::regex kNotAString(
      R"(^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N)$|^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$|^0[xXoObB][0-9a-fA-F_]+$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$|^[0-9]+(:[0-5]?[0-9])+(\.[0-9]*)?$|^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$)");
  if (std::regex_match(s, kNotAString)) return false;
  const char first = s.front();
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(first) != std::string_view::npos) {
    // "-x" and "?x" or ":x" are plain scalars when followed by a non-space; be conservative.
    return false;
  }
  if (std::isspace(static_cast<unsigned char>(first)) ||
      std::isspace(static_cast<unsigned char>(s.back()))) {
    return false;
  }
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
  if (s.back() == ':') return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string Scalar(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    return PlainIsSafe(s) ? s : json(s).dump();  // JSON's quoting is valid YAML double-quoting
  }
  if (v.is_null()) return "null";
  return v.dump();
}

bool IsEmptyCollection(const json& v) { return (v.is_object() || v.is_array()) && v.empty(); }

void Emit(const json& v, int indent, std::string& out);

void EmitValueAfterKey(const json& v, int indent, std::string& out) {
  if (IsEmptyCollection(v)) {
    out += v.is_object() ? " {}\n" : " []\n";
  } else if (v.is_object()) {
    out += "\n";
    Emit(v, indent + 2, out);
  } else if (v.is_array()) {
    out += "\n";
    Emit(v, indent, out);  // kubectl's YAML puts a list's dashes at its key's indentation
  } else {
    out += ' ';
    out += Scalar(v);
    out += '\n';
  }
}

void Emit(const json& v, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      out += pad + (PlainIsSafe(key) ? key : json(key).dump()) + ":";
      EmitValueAfterKey(value, indent, out);
    }
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if (item.is_object() && !item.empty()) {
        // The first key on the dash's line, the rest aligned under it.
        std::string nested;
        Emit(item, indent + 2, nested);
        out += pad + "- " + nested.substr(static_cast<size_t>(indent) + 2);
      } else if (item.is_array() && !item.empty()) {
        std::string nested;
        Emit(item, indent + 2, nested);
        out += pad + "- " + nested.substr(static_cast<size_t>(indent) + 2);
      } else {
        out += pad + "- " +
               (IsEmptyCollection(item) ? (item.is_object() ? "{}" : "[]") : Scalar(item)) + "\n";
      }
    }
  } else {
    out += pad + Scalar(v) + "\n";
  }
}

}  // namespace

std::string ToYaml(const json& document) {
  std::string out;
  if (IsEmptyCollection(document)) return document.is_object() ? "{}\n" : "[]\n";
  Emit(document, 0, out);
  return out;
}

}  // namespace smi::plugin
