// libFuzzer target: PII masking of API answers and exports (docs/access.md, "Personal data").
// The whole input goes to PiiPolicy::Defaults().MaskJson and .MaskCsv, and to
// PiiPolicy::FromJson. Contracts checked: MaskJson of valid JSON is valid JSON, of anything
// else the input unchanged; an accepted policy re-parses from its ToJson() (what
// PiiRegistry stores and reloads).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "access/pii_masking.h"

#ifndef SEXTANT_FUZZ_ENTRY
#define SEXTANT_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int SEXTANT_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  using sextant::access::PiiPolicy;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  static const PiiPolicy defaults = PiiPolicy::Defaults();

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const bool valid = parser.parse(input.data(), input.size()).get(root) == simdjson::SUCCESS;
  const std::string masked = defaults.MaskJson(input);
  if (valid) {
    simdjson::dom::parser check;
    if (check.parse(masked).get(root) != simdjson::SUCCESS) std::abort();
  } else if (masked != input) {
    std::abort();
  }

  (void)defaults.MaskCsv(input);

  auto policy = PiiPolicy::FromJson(input);
  if (policy.ok()) {
    const std::string stored = policy->ToJson();
    if (!PiiPolicy::FromJson(stored).ok()) std::abort();
    (void)policy->MaskJson(input);
  }
  return 0;
}
