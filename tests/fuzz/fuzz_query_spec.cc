// libFuzzer target: an analysis query (docs/query.md) as POSTed to /query. Input = the JSON
// body; "today" is fixed at 2026-01-20 so relative ranges ("last") are deterministic.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "query/query_spec.h"

#ifndef SEXTANT_FUZZ_ENTRY
#define SEXTANT_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int SEXTANT_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  static const int32_t today = *sextant::query::ParseDate("2026-01-20");
  std::string_view json(reinterpret_cast<const char*>(data), size);
  (void)sextant::query::ParseQuery(json, today);
  return 0;
}
