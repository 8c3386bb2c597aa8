// libFuzzer target: a Sensors /sa request. Input = first line the query string, the rest the
// body; every decoded record then goes through ParseSensorsRecord + ValidateRecord.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "decode/record_parser.h"
#include "decode/record_validator.h"
#include "decode/sensors_payload.h"

#ifndef SEXTANT_FUZZ_ENTRY
#define SEXTANT_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int SEXTANT_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view query = input.substr(0, newline);
  std::string_view body = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  sextant::decode::SensorsPayloadLimits limits;
  limits.max_decoded_bytes = 1 << 20;
  limits.max_records = 1000;
  auto payload = sextant::decode::DecodeSensorsPayload(query, body, limits);
  if (!payload.ok()) return 0;
  sextant::TimeZone zone;
  sextant::decode::ValidationOptions options;
  options.now_ms = 1700000000000;
  for (const std::string& json : payload->records_json) {
    auto record = sextant::decode::ParseSensorsRecord(json, zone);
    if (record.ok()) (void)sextant::decode::ValidateRecord(&record.value(), options);
  }
  return 0;
}
