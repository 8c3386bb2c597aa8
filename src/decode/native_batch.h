// Sextant's native batch API body: a JSON array of Sensors records, or NDJSON (one record
// per line). Splitting only; each entry is then parsed by ParseSensorsRecord.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sextant::decode {

// Returns the JSON text of each record, in order. Format detection (after optional
// whitespace and a UTF-8 BOM):
//   '['  → a JSON array; entry i = element i (compact JSON). An array that is not valid JSON
//          is kBadJson for the whole body (it cannot be split reliably).
//   '{'  → if the whole body is one JSON value (e.g. a pretty-printed object) → one entry;
//          otherwise NDJSON: one entry per non-blank line ('\r' and surrounding whitespace
//          trimmed). Lines are NOT validated here: a broken line becomes its own entry, so
//          the per-record parser reports it. Entry index = line number minus blank lines.
//   empty/whitespace → kMissingPayload; anything else → kBadJson.
// More than `max_records` entries → kTooManyRecords.
Result<std::vector<std::string>> SplitNativeBatch(std::string_view body, size_t max_records);

}  // namespace sextant::decode
