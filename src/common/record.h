// The record model shared by every ingest path (Sensors /sa, native batch, Segment spec,
// bulk import). One Record is one operation on a project: an event, an identity link, a
// profile change or an item change. See docs/record-model.md and ../shared/sensors-protocol.md §2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/value.h"

namespace sextant {

enum class RecordType : uint8_t {
  kTrack = 1,
  kTrackSignup = 2,
  kTrackIdBind = 3,
  kTrackIdUnbind = 4,
  kProfileSet = 5,
  kProfileSetOnce = 6,
  kProfileIncrement = 7,
  kProfileAppend = 8,
  kProfileUnset = 9,
  kProfileDelete = 10,
  kItemSet = 11,
  kItemDelete = 12,
};

// Wire name ("track", "profile_set", ...).
std::string_view RecordTypeName(RecordType type);
bool ParseRecordType(std::string_view name, RecordType* out);
// track, track_signup, track_id_bind, track_id_unbind: stored in the event store.
bool IsEventRecord(RecordType type);
bool IsProfileRecord(RecordType type);
bool IsItemRecord(RecordType type);

struct Identity {
  std::string key;    // e.g. "$identity_login_id"
  std::string value;
  bool operator==(const Identity&) const = default;
};

struct Record {
  RecordType type = RecordType::kTrack;
  std::string event;         // empty for profile/item records
  std::string distinct_id;
  std::string original_id;   // track_signup only
  std::string login_id;      // IDM 2.0 top-level fields
  std::string anonymous_id;
  std::vector<Identity> identities;  // IDM 3.0, in wire order
  int64_t time_ms = 0;       // event time; 0 when absent (server fills receive time)
  bool has_time = false;
  bool time_free = false;
  std::string project;       // record-level override; empty = from the URL / route
  std::string token;
  std::optional<int64_t> track_id;  // client "_track_id", used for deduplication
  int64_t flush_time_ms = 0;
  std::string lib;           // lib.$lib
  std::string lib_version;   // lib.$lib_version
  std::string item_type;
  std::string item_id;
  // Properties in wire order, JSON nulls already dropped. For profile_unset the values are
  // Bool(true) and only the names matter.
  std::vector<std::pair<std::string, Value>> properties;

  const Value* FindProperty(std::string_view name) const {
    for (const auto& [key, value] : properties)
      if (key == name) return &value;
    return nullptr;
  }
};

}  // namespace sextant
