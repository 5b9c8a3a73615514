#include "base/base64.h"

#include <openssl/evp.h>

#include <vector>

namespace smi::base {

std::string Base64Encode(std::string_view data) {
  std::vector<unsigned char> out(4 * ((data.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n));
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string compact;
  compact.reserve(text.size() + 3);
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    compact += c;
  }
  size_t padding = 0;
  while (padding < compact.size() && compact[compact.size() - 1 - padding] == '=') ++padding;
  if (padding > 2) return std::nullopt;
  // EVP_DecodeBlock reads a '=' before the end as zero bits; it is padding only at the end.
  if (compact.find('=') < compact.size() - padding) return std::nullopt;
  if (compact.size() % 4 == 1) return std::nullopt;
  while (compact.size() % 4 != 0) {
    compact += '=';
    ++padding;
  }
  if (padding > 2) return std::nullopt;
  std::vector<unsigned char> out(compact.size() / 4 * 3 + 1);
  // EVP_DecodeBlock rejects characters outside the alphabet and counts padding as zero bytes.
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(compact.data()),
                                static_cast<int>(compact.size()));
  if (n < 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n) - padding);
}

}  // namespace smi::base
