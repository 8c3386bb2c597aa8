// libFuzzer target: a native batch body (JSON array or NDJSON), split then parsed and
// validated record by record.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "decode/native_batch.h"
#include "decode/record_parser.h"
#include "decode/record_validator.h"

#ifndef SEXTANT_FUZZ_ENTRY
#define SEXTANT_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int SEXTANT_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto records = sextant::decode::SplitNativeBatch(body, 1000);
  if (!records.ok()) return 0;
  sextant::TimeZone zone;
  sextant::decode::ValidationOptions options;
  options.now_ms = 1700000000000;
  for (const std::string& json : *records) {
    auto record = sextant::decode::ParseSensorsRecord(json, zone);
    if (record.ok()) (void)sextant::decode::ValidateRecord(&record.value(), options);
  }
  return 0;
}
