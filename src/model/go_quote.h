// Strings quoted as Go's %q prints them: the wording of Kubernetes' own messages (selector parse
// errors, Forbidden and NotFound texts) quotes names this way.
#pragma once

#include <string>
#include <string_view>

namespace smi::model {

// "a\"b" -> "\"a\\\"b\"": backslash escapes for quote, backslash and control characters
// (\a \b \f \n \r \t \v, others as \xNN), and bytes that are not UTF-8 as \xNN, so the result
// is always valid UTF-8 (a request's `%FF` can be quoted in a JSON message); valid UTF-8 passes
// through, as Go prints printable runes.
std::string GoQuote(std::string_view s);

}  // namespace smi::model
