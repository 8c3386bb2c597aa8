// libFuzzer target: a Segment HTTP API request. Input = first line the path kind ("batch",
// "track", ...), the rest the JSON body. Records are validated and their $user_agent parsed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "decode/record_validator.h"
#include "decode/segment_spec.h"
#include "decode/user_agent.h"

#ifndef SEXTANT_FUZZ_ENTRY
#define SEXTANT_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int SEXTANT_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  std::string_view kind = input.substr(0, newline);
  std::string_view body = input.substr(newline + 1);
  sextant::TimeZone zone;
  auto messages = sextant::decode::DecodeSegment(kind, body, zone);
  if (!messages.ok()) return 0;
  sextant::decode::ValidationOptions options;
  options.now_ms = 1700000000000;
  for (auto& message : *messages) {
    if (!message.ok()) continue;
    if (const sextant::Value* ua = message->FindProperty("$user_agent");
        ua != nullptr && ua->type() == sextant::ValueType::kString) {
      (void)sextant::decode::ParseUserAgent(ua->str());
    }
    (void)sextant::decode::ValidateRecord(&message.value(), options);
  }
  return 0;
}
