// A small streaming JSON writer for API answers. Parsing uses simdjson; writing is simple
// enough that a second JSON library would add more than it saves.
// Not thread-safe; one writer per answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/time_zone.h"
#include "common/value.h"

namespace sextant {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Inserts already-serialised JSON as one value.
  JsonWriter& Raw(std::string_view json);
  // A property value as the SDKs send it: DATETIME/DATE as strings in `zone`.
  JsonWriter& PropertyValue(const Value& value, const TimeZone& zone);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue();
  std::string out_;
  // One entry per open container: true once it has an element (a comma is needed next).
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

// Appends `text` JSON-escaped (without quotes) to `out`. Invalid UTF-8 bytes become U+FFFD.
void AppendJsonEscaped(std::string_view text, std::string* out);

}  // namespace sextant
