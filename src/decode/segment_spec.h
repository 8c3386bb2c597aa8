// Segment / RudderStack HTTP tracking API (v1) → sextant::Record. The mapping is documented
// in docs/record-model.md ("Segment mapping"); records still go through ValidateRecord.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/record.h"
#include "common/status.h"
#include "common/time_zone.h"

namespace sextant::decode {

// `path_kind` is the last path segment: "batch" (body {"batch":[msg...]}, each msg with its
// own "type") or one of "track","identify","alias","page","screen","group" (body = one
// message; the path decides the type). The outer Result fails only when the body as a
// whole is unusable (kBadJson, kMissingPayload "batch", kInvalidType for an unknown
// path_kind); each message gets its own Result, in order, so the caller can log the bad
// ones by index and store the rest.
Result<std::vector<Result<Record>>> DecodeSegment(std::string_view path_kind,
                                                  std::string_view body, const TimeZone& zone);

// Maps a Segment name to a valid Sensors name: characters outside [A-Za-z0-9_$] become '_',
// a leading digit gets a '_' prefix, reserved names get a "segment_" prefix, and the result
// is cut to 100 characters. "Order Completed" → "Order_Completed", "id" → "segment_id".
std::string SegmentName(std::string_view name);

// ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM|±HHMM]" ('T' or ' '; fraction is a
// decimal fraction of a second, truncated to ms; no offset → read in `zone`), or a date
// "YYYY-MM-DD" (midnight in `zone`).
bool ParseIso8601Ms(std::string_view text, const TimeZone& zone, int64_t* out_ms);

}  // namespace sextant::decode
