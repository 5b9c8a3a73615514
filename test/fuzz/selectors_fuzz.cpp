// Label and field selectors as users type them in ?labelSelector= and ?fieldSelector=: any text
// parses or fails with SelectorParseError (answered as a 400), and a parsed selector prints in a
// form that parses back to itself.
#include "fuzz_input.h"
#include "kube/field_selector.h"
#include "kube/label_selector.h"

using smi::kube::FieldSelector;
using smi::kube::LabelSelector;
using smi::kube::SelectorParseError;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = smi::fuzz::Text(data, size);
  const smi::kube::Labels labels = {{"app", "web"}, {"tier", "1"}, {"x", std::string(text)}};
  try {
    const LabelSelector s = LabelSelector::Parse(text);
    s.Matches(labels);
    const std::string printed = s.String();
    if (LabelSelector::Parse(printed).String() != printed) {
      smi::fuzz::Fail("label selector does not print stably", printed);
    }
  } catch (const SelectorParseError&) {
  }
  try {
    const FieldSelector s = FieldSelector::Parse(text);
    s.Matches("emojivoto", text);
    const std::string printed = s.String();
    if (FieldSelector::Parse(printed).String() != printed) {
      smi::fuzz::Fail("field selector does not print stably", printed);
    }
  } catch (const SelectorParseError&) {
  }
  return 0;
}
