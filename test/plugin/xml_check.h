// A small XML reader for the tests: enough to tell a well-formed document (an SVG) from an empty,
// cut or malformed one, and to look at its elements. Written apart from anything the plugin uses.
#pragma once

#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace smi::plugin::testing {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<XmlElement> children;
  std::string text;  // character data directly inside, entities decoded

  // Every element below this one (depth first) with the name `name`.
  void FindAll(const std::string& wanted, std::vector<const XmlElement*>* out) const {
    for (const auto& c : children) {
      if (c.name == wanted) out->push_back(&c);
      c.FindAll(wanted, out);
    }
  }
};

class XmlReader {
 public:
  explicit XmlReader(const std::string& text) : s_(text) {}

  // The root element, or nullopt with `error` saying what is wrong and where.
  std::optional<XmlElement> Parse(std::string* error) {
    try {
      SkipMisc();
      if (Peek() != '<') Fail("no root element");
      XmlElement root = Element();
      SkipMisc();
      if (i_ != s_.size()) Fail("content after the root element");
      return root;
    } catch (const std::string& e) {
      *error = e + " at byte " + std::to_string(i_);
      return std::nullopt;
    }
  }

 private:
  [[noreturn]] void Fail(const std::string& what) { throw what; }
  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool StartsWith(const char* p) const {
    return s_.compare(i_, std::char_traits<char>::length(p), p) == 0;
  }
  void Expect(const char* p) {
    if (!StartsWith(p)) Fail(std::string("expected ") + p);
    i_ += std::char_traits<char>::length(p);
  }
  void SkipSpace() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void SkipUntil(const char* end) {
    const size_t at = s_.find(end, i_);
    if (at == std::string::npos) Fail(std::string("unterminated, expected ") + end);
    i_ = at + std::char_traits<char>::length(end);
  }
  // Declarations, processing instructions, comments, DOCTYPE and white space between elements.
  void SkipMisc() {
    for (;;) {
      SkipSpace();
      if (StartsWith("<?")) {
        SkipUntil("?>");
      } else if (StartsWith("<!--")) {
        SkipUntil("-->");
      } else if (StartsWith("<!DOCTYPE")) {
        // Quoted identifiers may hold '>'; no internal subset is expected in an SVG.
        while (i_ < s_.size() && s_[i_] != '>') {
          if (s_[i_] == '"' || s_[i_] == '\'') {
            const char q = s_[i_++];
            const size_t at = s_.find(q, i_);
            if (at == std::string::npos) Fail("unterminated DOCTYPE");
            i_ = at;
          }
          ++i_;
        }
        Expect(">");
      } else {
        return;
      }
    }
  }
  static bool NameChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '-' ||
           c == '.';
  }
  std::string Name() {
    const size_t start = i_;
    if (!(std::isalpha(static_cast<unsigned char>(Peek())) || Peek() == '_' || Peek() == ':')) {
      Fail("expected a name");
    }
    while (NameChar(Peek())) ++i_;
    return s_.substr(start, i_ - start);
  }
  std::string Decode(const std::string& raw) {
    std::string out;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '<') Fail("'<' in character data");
      if (raw[k] != '&') {
        out += raw[k];
        continue;
      }
      const size_t semi = raw.find(';', k);
      if (semi == std::string::npos) Fail("unterminated entity");
      const std::string entity = raw.substr(k + 1, semi - k - 1);
      if (entity == "amp") {
        out += '&';
      } else if (entity == "lt") {
        out += '<';
      } else if (entity == "gt") {
        out += '>';
      } else if (entity == "quot") {
        out += '"';
      } else if (entity == "apos") {
        out += '\'';
      } else if (entity.size() > 1 && entity[0] == '#') {
        const bool hex = entity[1] == 'x';
        const std::string digits = entity.substr(hex ? 2 : 1);
        if (digits.empty()) Fail("empty character reference");
        for (char c : digits) {
          if (!(hex ? std::isxdigit(static_cast<unsigned char>(c))
                    : std::isdigit(static_cast<unsigned char>(c)))) {
            Fail("bad character reference &" + entity + ";");
          }
        }
        const long code = std::stol(digits, nullptr, hex ? 16 : 10);
        if (code < 0x80) {
          out += static_cast<char>(code);
        } else {
          out += '?';  // enough for the tests: they compare ASCII names
        }
      } else {
        Fail("unknown entity &" + entity + ";");
      }
      k = semi;
    }
    return out;
  }
  XmlElement Element() {
    Expect("<");
    XmlElement e;
    e.name = Name();
    for (;;) {
      SkipSpace();
      if (StartsWith("/>")) {
        i_ += 2;
        return e;
      }
      if (Peek() == '>') {
        ++i_;
        break;
      }
      const std::string attr = Name();
      SkipSpace();
      Expect("=");
      SkipSpace();
      const char q = Peek();
      if (q != '"' && q != '\'') Fail("attribute " + attr + " is not quoted");
      ++i_;
      const size_t end = s_.find(q, i_);
      if (end == std::string::npos) Fail("unterminated attribute " + attr);
      if (e.attributes.count(attr)) Fail("attribute " + attr + " given twice");
      e.attributes[attr] = Decode(s_.substr(i_, end - i_));
      i_ = end + 1;
    }
    for (;;) {
      if (i_ >= s_.size()) Fail("element <" + e.name + "> is not closed");
      if (StartsWith("</")) {
        i_ += 2;
        const std::string closing = Name();
        if (closing != e.name) Fail("</" + closing + "> closes <" + e.name + ">");
        SkipSpace();
        Expect(">");
        return e;
      }
      if (StartsWith("<!--")) {
        SkipUntil("-->");
      } else if (StartsWith("<![CDATA[")) {
        const size_t start = i_ + 9;
        SkipUntil("]]>");
        e.text += s_.substr(start, i_ - 3 - start);
      } else if (StartsWith("<?")) {
        SkipUntil("?>");
      } else if (Peek() == '<') {
        e.children.push_back(Element());
      } else {
        const size_t end = s_.find('<', i_);
        if (end == std::string::npos) Fail("element <" + e.name + "> is not closed");
        e.text += Decode(s_.substr(i_, end - i_));
        i_ = end;
      }
    }
  }

  const std::string& s_;
  size_t i_ = 0;
};

}  // namespace smi::plugin::testing
