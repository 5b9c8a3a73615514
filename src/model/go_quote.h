// Strings quoted as Go's %q prints them: the wording of Kubernetes' own messages (selector parse
// errors, Forbidden and NotFound texts) quotes names this way.
#pragma once

#include <string>
#include <string_view>

namespace smi::model {

// "a\"b" -> "\"a\\\"b\"": backslash escapes for quote, backslash and control characters
// (\a \b \f \n \r \t \v, others as \xNN); other bytes, UTF-8 included, pass through.
std::string GoQuote(std::string_view s);

}  // namespace smi::model
