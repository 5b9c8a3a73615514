#include "kube/label_selector.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

namespace smi::kube {

namespace {

// ---- apimachinery/pkg/util/validation ----------------------------------------------------------

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool MatchesQualifiedNameRegex(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
// The pattern alone, not model::IsDns1123Subdomain (which also limits the length to 253): a label
// key's prefix reports the length and the pattern as two errors, as validation.IsDNS1123Subdomain
// does, so a long prefix that matches the pattern gets only the length error.
bool MatchesDns1123Subdomain(std::string_view s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view part =
        s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty()) return false;
    auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!lower_alnum(part.front()) || !lower_alnum(part.back())) return false;
    for (char c : part) {
      if (!lower_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string RegexError(const std::string& msg, const std::string& fmt,
                       const std::vector<std::string>& examples) {
  std::string out = msg;
  if (examples.empty()) return out + " (regex used for validation is '" + fmt + "')";
  out += " (e.g. ";
  for (size_t i = 0; i < examples.size(); ++i) {
    if (i > 0) out += " or ";
    out += "'" + examples[i] + "', ";
  }
  return out + "regex used for validation is '" + fmt + "')";
}

std::string MaxLenError(int n) {
  return "must be no more than " + std::to_string(n) + " characters";
}

constexpr const char* kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr const char* kQualifiedNameErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

// field.Invalid(path, value, detail).Error()
std::string InvalidValue(const std::string& path, std::string_view value,
                         const std::string& detail) {
  return path + ": Invalid value: " + GoQuote(value) + ": " + detail;
}

// ---- the lexer (apimachinery/pkg/labels/selector.go) -------------------------------------------

enum class Tok {
  kError,
  kEnd,
  kClosedPar,
  kComma,
  kDoesNotExist,
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

std::optional<Tok> KeywordToken(std::string_view s) {
  if (s == ")") return Tok::kClosedPar;
  if (s == ",") return Tok::kComma;
  if (s == "!") return Tok::kDoesNotExist;
  if (s == "==") return Tok::kDoubleEquals;
  if (s == "=") return Tok::kEquals;
  if (s == ">") return Tok::kGreaterThan;
  if (s == "in") return Tok::kIn;
  if (s == "<") return Tok::kLessThan;
  if (s == "!=") return Tok::kNotEquals;
  if (s == "notin") return Tok::kNotIn;
  if (s == "(") return Tok::kOpenPar;
  return std::nullopt;
}

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsSpecialSymbol(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

struct Token {
  Tok tok;
  std::string lit;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Token Lex() {
    char ch = Read();
    while (IsWhitespace(ch)) ch = Read();
    if (ch == 0) return {Tok::kEnd, ""};
    Unread();
    if (IsSpecialSymbol(ch)) return ScanSpecialSymbol();
    return ScanIdOrKeyword();
  }

 private:
  // A NUL byte ends the input, as in Go's lexer.
  char Read() {
    char ch = 0;
    if (pos_ < s_.size()) ch = s_[pos_];
    ++pos_;
    return ch;
  }
  void Unread() { --pos_; }

  Token ScanIdOrKeyword() {
    std::string buf;
    while (true) {
      const char ch = Read();
      if (ch == 0) break;
      if (IsSpecialSymbol(ch) || IsWhitespace(ch)) {
        Unread();
        break;
      }
      buf += ch;
    }
    if (auto t = KeywordToken(buf)) return {*t, buf};
    return {Tok::kIdentifier, buf};
  }

  Token ScanSpecialSymbol() {
    std::optional<Token> last;
    std::string buf;
    while (true) {
      const char ch = Read();
      if (ch == 0) break;
      if (!IsSpecialSymbol(ch)) {
        Unread();
        break;
      }
      buf += ch;
      if (auto t = KeywordToken(buf)) {
        last = Token{*t, buf};
      } else if (last) {
        Unread();
        break;
      }
    }
    if (!last) return {Tok::kError, "error expected: keyword found '" + buf + "'"};
    return *last;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

enum class Context { kKeyAndOperator, kValues };

class Parser {
 public:
  explicit Parser(std::string_view s) {
    Lexer l(s);
    while (true) {
      Token t = l.Lex();
      const bool end = t.tok == Tok::kEnd;
      items_.push_back(std::move(t));
      if (end) break;
    }
  }

  std::vector<LabelRequirement> Parse() {
    std::vector<LabelRequirement> reqs;
    while (true) {
      const Token t = Lookahead(Context::kValues);
      if (t.tok == Tok::kIdentifier || t.tok == Tok::kDoesNotExist) {
        std::string err;
        auto r = ParseRequirement(&err);
        if (!r) throw SelectorParseError("unable to parse requirement: " + err);
        reqs.push_back(std::move(*r));
        const Token c = Consume(Context::kValues);
        if (c.tok == Tok::kEnd) return reqs;
        if (c.tok == Tok::kComma) {
          const Token n = Lookahead(Context::kValues);
          if (n.tok != Tok::kIdentifier && n.tok != Tok::kDoesNotExist) {
            throw SelectorParseError("found '" + n.lit + "', expected: identifier after ','");
          }
        } else {
          throw SelectorParseError("found '" + c.lit + "', expected: ',' or 'end of string'");
        }
      } else if (t.tok == Tok::kEnd) {
        return reqs;
      } else {
        throw SelectorParseError("found '" + t.lit +
                                 "', expected: !, identifier, or 'end of string'");
      }
    }
  }

 private:
  Token Lookahead(Context ctx) const {
    Token t = items_[pos_];
    if (ctx == Context::kValues && (t.tok == Tok::kIn || t.tok == Tok::kNotIn)) {
      t.tok = Tok::kIdentifier;
    }
    return t;
  }
  Token Consume(Context ctx) {
    Token t = Lookahead(ctx);
    if (pos_ + 1 < items_.size()) ++pos_;
    return t;
  }

  std::optional<LabelRequirement> ParseRequirement(std::string* err) {
    LabelRequirement r;
    Token t = Consume(Context::kValues);
    bool not_exists = false;
    if (t.tok == Tok::kDoesNotExist) {
      not_exists = true;
      t = Consume(Context::kValues);
    }
    if (t.tok != Tok::kIdentifier) {
      *err = "found '" + t.lit + "', expected: identifier";
      return std::nullopt;
    }
    if (auto errs = IsQualifiedName(t.lit); !errs.empty()) {
      *err = InvalidValue("<nil>", t.lit, Join(errs, "; "));
      return std::nullopt;
    }
    r.key = t.lit;
    // "!key" is complete whatever follows (Go returns it at once; what follows must then be ','
    // or the end, or parse() reports it).
    if (not_exists) {
      r.op = SelectorOp::kDoesNotExist;
      return r;
    }
    const Tok next = Lookahead(Context::kValues).tok;
    if (next == Tok::kEnd || next == Tok::kComma) {
      r.op = SelectorOp::kExists;
      return r;
    }
    const Token op = Consume(Context::kKeyAndOperator);
    switch (op.tok) {
      case Tok::kIn:
        r.op = SelectorOp::kIn;
        break;
      case Tok::kEquals:
        r.op = SelectorOp::kEquals;
        break;
      case Tok::kDoubleEquals:
        r.op = SelectorOp::kDoubleEquals;
        break;
      case Tok::kGreaterThan:
        r.op = SelectorOp::kGreaterThan;
        break;
      case Tok::kLessThan:
        r.op = SelectorOp::kLessThan;
        break;
      case Tok::kNotIn:
        r.op = SelectorOp::kNotIn;
        break;
      case Tok::kNotEquals:
        r.op = SelectorOp::kNotEquals;
        break;
      default:
        *err = "found '" + op.lit + "', expected: in, notin, =, ==, !=, gt, lt";
        return std::nullopt;
    }
    std::set<std::string> values;
    if (r.op == SelectorOp::kIn || r.op == SelectorOp::kNotIn) {
      if (!ParseValues(&values, err)) return std::nullopt;
    } else if (!ParseExactValue(&values, err)) {
      return std::nullopt;
    }
    r.values.assign(values.begin(), values.end());
    if (auto e = Validate(r); !e.empty()) {
      *err = e;
      return std::nullopt;
    }
    return r;
  }

  bool ParseValues(std::set<std::string>* s, std::string* err) {
    Token t = Consume(Context::kValues);
    if (t.tok != Tok::kOpenPar) {
      *err = "found '" + t.lit + "' expected: '('";
      return false;
    }
    t = Lookahead(Context::kValues);
    if (t.tok == Tok::kIdentifier || t.tok == Tok::kComma) {
      if (!ParseIdentifiersList(s, err)) return false;
      if (Consume(Context::kValues).tok != Tok::kClosedPar) {
        *err = "found '" + t.lit + "', expected: ')'";
        return false;
      }
      return true;
    }
    if (t.tok == Tok::kClosedPar) {
      Consume(Context::kValues);
      s->insert("");
      return true;
    }
    *err = "found '" + t.lit + "', expected: ',', ')' or identifier";
    return false;
  }

  bool ParseIdentifiersList(std::set<std::string>* s, std::string* err) {
    while (true) {
      const Token t = Consume(Context::kValues);
      if (t.tok == Tok::kIdentifier) {
        s->insert(t.lit);
        const Token n = Lookahead(Context::kValues);
        if (n.tok == Tok::kComma) continue;
        if (n.tok == Tok::kClosedPar) return true;
        *err = "found '" + n.lit + "', expected: ',' or ')'";
        return false;
      }
      if (t.tok == Tok::kComma) {
        if (s->empty()) s->insert("");
        const Tok n = Lookahead(Context::kValues).tok;
        if (n == Tok::kClosedPar) {
          s->insert("");
          return true;
        }
        if (n == Tok::kComma) {
          Consume(Context::kValues);
          s->insert("");
        }
        continue;
      }
      *err = "found '" + t.lit + "', expected: ',', or identifier";
      return false;
    }
  }

  bool ParseExactValue(std::set<std::string>* s, std::string* err) {
    const Tok n = Lookahead(Context::kValues).tok;
    if (n == Tok::kEnd || n == Tok::kComma) {
      s->insert("");
      return true;
    }
    const Token t = Consume(Context::kValues);
    if (t.tok == Tok::kIdentifier) {
      s->insert(t.lit);
      return true;
    }
    *err = "found '" + t.lit + "', expected: identifier";
    return false;
  }

 public:
  // labels.NewRequirement's validation; the message of its aggregate error (empty when valid).
  static std::string Validate(const LabelRequirement& r) {
    std::vector<std::string> errs;
    if (auto e = IsQualifiedName(r.key); !e.empty()) {
      errs.push_back(InvalidValue("key", r.key, Join(e, "; ")));
    }
    auto values_repr = [&] {
      std::string s = "[]string{";
      for (size_t i = 0; i < r.values.size(); ++i) s += (i ? ", " : "") + GoQuote(r.values[i]);
      return s + "}";
    };
    switch (r.op) {
      case SelectorOp::kIn:
      case SelectorOp::kNotIn:
        if (r.values.empty()) {
          errs.push_back("values: Invalid value: " + values_repr() +
                         ": for 'in', 'notin' operators, values set can't be empty");
        }
        break;
      case SelectorOp::kEquals:
      case SelectorOp::kDoubleEquals:
      case SelectorOp::kNotEquals:
        if (r.values.size() != 1) {
          errs.push_back("values: Invalid value: " + values_repr() +
                         ": exact-match compatibility requires one single value");
        }
        break;
      case SelectorOp::kExists:
      case SelectorOp::kDoesNotExist:
        if (!r.values.empty()) {
          errs.push_back("values: Invalid value: " + values_repr() +
                         ": values set must be empty for exists and does not exist");
        }
        break;
      case SelectorOp::kGreaterThan:
      case SelectorOp::kLessThan:
        if (r.values.size() != 1) {
          errs.push_back("values: Invalid value: " + values_repr() +
                         ": for 'Gt', 'Lt' operators, exactly one value is required");
        }
        for (size_t i = 0; i < r.values.size(); ++i) {
          const std::string& v = r.values[i];
          char* end = nullptr;
          errno = 0;
          std::strtoll(v.c_str(), &end, 10);
          if (v.empty() || *end != 0 || errno != 0 || v[0] == ' ') {
            errs.push_back(InvalidValue("values[" + std::to_string(i) + "]", v,
                                        "for 'Gt', 'Lt' operators, the value must be an integer"));
          }
        }
        break;
    }
    for (size_t i = 0; i < r.values.size(); ++i) {
      if (auto e = IsValidLabelValue(r.values[i]); !e.empty()) {
        errs.push_back(InvalidValue("values[" + std::to_string(i) + "][" + r.key + "]", r.values[i],
                                    Join(e, "; ")));
      }
    }
    if (errs.empty()) return "";
    if (errs.size() == 1) return errs[0];
    return "[" + Join(errs, ", ") + "]";
  }

 private:
  std::vector<Token> items_;
  size_t pos_ = 0;
};

std::optional<int64_t> ParseInt64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != 0 || errno != 0 || IsWhitespace(s[0])) return std::nullopt;
  return v;
}

}  // namespace

std::vector<std::string> IsQualifiedName(std::string_view value) {
  std::vector<std::string> errs;
  std::string_view name = value;
  const size_t slashes = std::count(value.begin(), value.end(), '/');
  if (slashes > 1) {
    errs.push_back(
        "a qualified name " +
        RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}) +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    return errs;
  }
  if (slashes == 1) {
    const size_t slash = value.find('/');
    const std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      if (prefix.size() > 253) errs.push_back("prefix part " + MaxLenError(253));
      if (!MatchesDns1123Subdomain(prefix)) {
        errs.push_back(
            "prefix part " +
            RegexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                       "characters, '-' or '.', and must start and end with an alphanumeric "
                       "character",
                       "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
                       {"example.com"}));
      }
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errs.push_back("name part " + MaxLenError(63));
  }
  if (!MatchesQualifiedNameRegex(name)) {
    errs.push_back("name part " + RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt,
                                             {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> IsValidLabelValue(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63) errs.push_back(MaxLenError(63));
  if (!value.empty() && !MatchesQualifiedNameRegex(value)) {
    errs.push_back(RegexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character",
        "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

bool LabelRequirement::Matches(const Labels& labels) const {
  const auto it = labels.find(key);
  const bool has = it != labels.end();
  auto in_values = [&] { return std::binary_search(values.begin(), values.end(), it->second); };
  switch (op) {
    case SelectorOp::kIn:
    case SelectorOp::kEquals:
    case SelectorOp::kDoubleEquals:
      return has && in_values();
    case SelectorOp::kNotIn:
    case SelectorOp::kNotEquals:
      return !has || !in_values();
    case SelectorOp::kExists:
      return has;
    case SelectorOp::kDoesNotExist:
      return !has;
    case SelectorOp::kGreaterThan:
    case SelectorOp::kLessThan: {
      if (!has || values.size() != 1) return false;
      const auto have = ParseInt64(it->second);
      const auto want = ParseInt64(values[0]);
      if (!have || !want) return false;
      return op == SelectorOp::kGreaterThan ? *have > *want : *have < *want;
    }
  }
  return false;
}

std::string LabelRequirement::String() const {
  std::string out;
  if (op == SelectorOp::kDoesNotExist) out += "!";
  out += key;
  switch (op) {
    case SelectorOp::kEquals:
      out += "=";
      break;
    case SelectorOp::kDoubleEquals:
      out += "==";
      break;
    case SelectorOp::kNotEquals:
      out += "!=";
      break;
    case SelectorOp::kIn:
      out += " in ";
      break;
    case SelectorOp::kNotIn:
      out += " notin ";
      break;
    case SelectorOp::kGreaterThan:
      out += ">";
      break;
    case SelectorOp::kLessThan:
      out += "<";
      break;
    case SelectorOp::kExists:
    case SelectorOp::kDoesNotExist:
      return out;
  }
  const bool set = op == SelectorOp::kIn || op == SelectorOp::kNotIn;
  if (set) out += "(";
  out += Join(values, ",");
  if (set) out += ")";
  return out;
}

LabelSelector LabelSelector::Nothing() {
  LabelSelector s;
  s.nothing_ = true;
  return s;
}

LabelSelector LabelSelector::Parse(std::string_view text) {
  Parser p(text);
  LabelSelector s;
  s.requirements_ = p.Parse();
  std::stable_sort(s.requirements_.begin(), s.requirements_.end(),
                   [](const auto& a, const auto& b) { return a.key < b.key; });
  return s;
}

LabelSelector LabelSelector::FromLabelSelectorJson(const nlohmann::json& selector) {
  if (selector.is_null()) return Nothing();
  if (!selector.is_object()) throw SelectorParseError("label selector is not an object");
  LabelSelector s;
  auto add = [&](LabelRequirement r) {
    std::sort(r.values.begin(), r.values.end());
    r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
    if (auto e = Parser::Validate(r); !e.empty()) throw SelectorParseError(e);
    s.requirements_.push_back(std::move(r));
  };
  if (auto it = selector.find("matchLabels"); it != selector.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      add({k, SelectorOp::kEquals, {v.is_string() ? v.get<std::string>() : v.dump()}});
    }
  }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && it->is_array()) {
    for (const auto& e : *it) {
      const std::string op = e.value("operator", "");
      LabelRequirement r;
      r.key = e.value("key", "");
      if (op == "In") {
        r.op = SelectorOp::kIn;
      } else if (op == "NotIn") {
        r.op = SelectorOp::kNotIn;
      } else if (op == "Exists") {
        r.op = SelectorOp::kExists;
      } else if (op == "DoesNotExist") {
        r.op = SelectorOp::kDoesNotExist;
      } else {
        throw SelectorParseError(GoQuote(op) + " is not a valid label selector operator");
      }
      if (auto v = e.find("values"); v != e.end() && v->is_array()) {
        for (const auto& x : *v) {
          if (x.is_string()) r.values.push_back(x.get<std::string>());
        }
      }
      add(std::move(r));
    }
  }
  std::stable_sort(s.requirements_.begin(), s.requirements_.end(),
                   [](const auto& a, const auto& b) { return a.key < b.key; });
  return s;
}

bool LabelSelector::Matches(const Labels& labels) const {
  if (nothing_) return false;
  for (const auto& r : requirements_) {
    if (!r.Matches(labels)) return false;
  }
  return true;
}

std::string LabelSelector::String() const {
  std::vector<std::string> parts;
  for (const auto& r : requirements_) parts.push_back(r.String());
  return Join(parts, ",");
}

}  // namespace smi::kube
