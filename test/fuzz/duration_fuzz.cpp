// Windows: model::ParseDuration as the API reads ?window= (and ?t=) and the configuration reads
// durations. Any text parses to a non-negative duration or fails with a message; a parsed
// duration prints in Go and Prometheus form, and both forms parse back to the same value.
#include <chrono>

#include "apiserver/api_handler.h"
#include "fuzz_input.h"
#include "model/duration.h"

using namespace std::chrono_literals;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = smi::fuzz::Text(data, size);
  std::string error;
  if (const auto d = smi::model::ParseDuration(text, &error)) {
    if (d->count() < 0) smi::fuzz::Fail("negative duration", text);
    const std::string go = smi::model::FormatGoDuration(*d);
    const std::string prom = smi::model::FormatPromDuration(*d);
    std::string again_error;
    if (smi::model::ParseDuration(go, &again_error) != d) {
      smi::fuzz::Fail("Go form does not parse back", go);
    }
    if (smi::model::ParseDuration(prom, &again_error) != d) {
      smi::fuzz::Fail("Prometheus form does not parse back", prom);
    }
  } else if (error.empty()) {
    smi::fuzz::Fail("rejected without a message", text);
  }
  for (const char* name : {"window", "t"}) {
    smi::apiserver::HttpRequest request;
    request.params.emplace(name, std::string(text));
    try {
      smi::apiserver::WindowParam(request, 30s);
    } catch (const std::invalid_argument&) {
    }
  }
  return 0;
}
