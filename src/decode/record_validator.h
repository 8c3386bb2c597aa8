// The Sensors record rules (protocol §2.2, §2.6) applied to a parsed Record.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/record.h"
#include "common/status.h"

namespace sextant::decode {

struct ValidationOptions {
  int64_t now_ms = 0;                            // receive time (from the injected Clock)
  int64_t max_past_ms = 2LL * 365 * 86400000;   // accepted window: [now - max_past, now + max_future]
  int64_t max_future_ms = 3600000;
  size_t max_string_bytes = 8192;
  size_t max_list_elements = 500;
  size_t max_properties = 1000;
  size_t max_id_bytes = 255;
};

// Largest |NUMBER| accepted (manual: ±9E15).
inline constexpr double kMaxNumberMagnitude = 9e15;

// The Sensors name rule, case-insensitive:
//   ^((?!^distinct_id$|^original_id$|^time$|^properties$|^id$|^first_id$|^second_id$|^users$|
//      ^events$|^event$|^user_id$|^date$|^datetime$|^user_tag.*|^user_group.*)
//     [a-zA-Z_$][a-zA-Z\d_$]{0,99})$
// Reserved names → kReservedName, bad shape (empty, >100 chars, bad characters) →
// kInvalidName; `field` names the offending place ("event", "properties.1abc", ...).
// `$`-prefixed (preset) names are allowed.
Status CheckName(std::string_view name, std::string_view field);
bool IsReservedName(std::string_view name);

// Checks `record` and normalises it in place. Returns the first problem found, in this
// order: event name, ids/identities, item fields, time window, project name, properties.
// Normalisations: event-less track_signup/track_id_bind/track_id_unbind get "$SignUp"/
// "$BindID"/"$UnbindID"; profile/item records drop any event (go sends "event":"");
// profile_append STRING values become one-element LISTs.
// Rules and codes (see docs/record-model.md):
//   track* without event → kMissingField "event"; bad name → kInvalidName/kReservedName
//   event/profile records without distinct_id and identities → kMissingField "distinct_id"
//   track_signup without original_id → kMissingField "original_id"
//   ids (distinct_id, original_id, login_id, anonymous_id, identity values, item_id) empty
//     where required or longer than max_id_bytes → kInvalidId
//   track_id_bind with <2 identities / track_id_unbind without exactly 1 → kInvalidValue "identities"
//   item_* without item_type / item_id → kMissingField
//   time outside the window (unless time_free; absent time is fine) → kTimeOutOfWindow "time"
//   > max_properties → kInvalidValue "properties"
//   STRING > max_string_bytes, LIST > max_list_elements or element > max_string_bytes → kValueTooLong
//   NUMBER non-finite or |x| > 9E15 → kInvalidValue
//   profile_increment non-NUMBER, profile_append non-LIST → kInvalidValue
//   profile_unset: names checked, values ignored; profile_delete: properties ignored.
Status ValidateRecord(Record* record, const ValidationOptions& options);

}  // namespace sextant::decode
