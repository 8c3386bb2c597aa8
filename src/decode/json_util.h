// Internal helpers shared by the JSON-based decoders (not part of the public API).
// simdjson is used through its error-code API only; no simdjson exception can escape.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/time_zone.h"
#include "common/value.h"

namespace sextant::decode::internal {

// Parses `json` (any bytes; invalid UTF-8 or JSON → kBadJson naming `field`).
Status ParseJson(simdjson::dom::parser& parser, std::string_view json, std::string_view field,
                 simdjson::dom::element* out);

// "object", "array", "string", ...
std::string_view JsonTypeName(const simdjson::dom::element& element);

// Compact JSON text of `element`.
std::string ToJson(const simdjson::dom::element& element);

// A string value, or an integer rendered in decimal (ids sent as numbers). False otherwise.
bool GetIdString(const simdjson::dom::element& element, std::string* out);

// An integral JSON number (int64, uint64 ≤ INT64_MAX, or a double with no fraction that fits).
bool GetInt64(const simdjson::dom::element& element, int64_t* out);

// Recognises the Sensors DATETIME/DATE string forms
//   yyyy-MM-dd                       → DATE
//   yyyy-MM-dd HH:mm:ss[.S{1,3}]     → DATETIME (fraction = integer ms: ".6" = 6 ms)
// with the wall time read in `zone`. Returns false (value untouched) if `text` does not
// match the pattern or names an impossible date/time.
bool ParseSensorsDatetime(std::string_view text, const TimeZone& zone, Value* out);

// A property value: number → NUMBER, bool → BOOL, string → DATETIME/DATE/STRING, array of
// strings → LIST. `*is_null` is set for JSON null (caller drops it). Nested objects and
// non-string list elements are kInvalidValue naming `field` (or `field[i]`).
Status ConvertPropertyValue(const simdjson::dom::element& element, const TimeZone& zone,
                            const std::string& field, Value* out, bool* is_null);

}  // namespace sextant::decode::internal
