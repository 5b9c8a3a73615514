// Standard base64 (RFC 4648 §4, with padding), through OpenSSL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smi::base {

std::string Base64Encode(std::string_view data);

// The decoded bytes; nullopt when `text` is not base64. White space anywhere is ignored (PEM and
// YAML wrap long values); the padding may be left out.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace smi::base
