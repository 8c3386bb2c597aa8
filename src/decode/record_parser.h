// Parses one Sensors record object (protocol §2) into a sextant::Record.
// This is syntax only: field types and value typing. The Sensors rules (names, required
// fields per type, lengths, time window) are checked by ValidateRecord (record_validator.h).
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include <vector>

#include "common/record.h"
#include "common/status.h"
#include "common/time_zone.h"

namespace sextant::decode {

// `json` may be any bytes. Errors (each with `field` set):
//   kBadJson       not JSON / invalid UTF-8 / not an object (field "")
//   kMissingField  no "type"
//   kInvalidType   unknown "type"
//   kInvalidValue  a known field has the wrong JSON type, e.g. "time", "identities.$identity_mobile",
//                  "properties.price" (nested object), "properties.tags[2]" (non-string list element)
// Field rules: "event":"" is ignored; ids may be strings or integers (rendered in decimal);
// "time" is int64 ms, a 10-digit value is seconds (×1000); "_track_id" is int64 or a numeric
// string; "_flush_time" of a wrong type is ignored; JSON null on any top-level field means
// absent; null property values are dropped; unknown top-level fields are ignored; a property
// repeated in one object keeps its last value at the position of its first occurrence.
// DATETIME/DATE strings are read in `zone` (see json_util.h ParseSensorsDatetime).
Result<Record> ParseSensorsRecord(std::string_view json, const TimeZone& zone);

// One record of a payload: its parse result and, if kept, its JSON text (for the error log;
// when empty the ingest pipeline renders an excerpt from the parsed record). A record list
// keeps the text only of elements that failed to parse: copying every record's text cost
// more than the rare error excerpt is worth. This is also the ingest pipeline's input
// (`ingest::RecordInput`), so a parsed record is never moved between the two (a Record is
// ~0.5 KB of strings; those moves were ~5 % of ingest CPU).
struct ParsedRecord {
  std::string raw_json;
  Result<Record> parsed = Status(ErrorCode::kInternal, "not parsed");
};

// Parses a JSON array of records (or one record object) in a single pass — the hot path of
// /sa and the native batch API, which would otherwise parse every record twice. The outer
// Result fails only if `json` is not JSON (kBadJson) or has more than `max_records` elements
// (kTooManyRecords); each element gets its own Result, as ParseSensorsRecord would give it.
Result<std::vector<ParsedRecord>> ParseSensorsRecordList(std::string_view json, const TimeZone& zone,
                                                         size_t max_records);

}  // namespace sextant::decode
