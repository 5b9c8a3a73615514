// The Accept header and ?includeObject=: any text yields a choice or "not acceptable" (406), or
// for includeObject std::invalid_argument (400); nothing else.
#include "apiserver/negotiation.h"
#include "fuzz_input.h"

namespace api = smi::apiserver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = smi::fuzz::Text(data, size);
  for (const api::MediaRange& r : api::ParseAccept(text)) {
    // q=0 (and a q that is not a number) means "not this": such entries are dropped.
    if (!(r.q > 0)) smi::fuzz::Fail("media range kept with q <= 0 or NaN", text);
  }
  api::NegotiateObject(text);
  if (const auto format = api::NegotiateDiscovery(text)) api::DiscoveryContentType(*format);
  try {
    api::ParseIncludeObject(std::string(text));
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
