#include "common/record.h"

namespace sextant {

namespace {
constexpr std::pair<RecordType, std::string_view> kRecordTypeNames[] = {
    {RecordType::kTrack, "track"},
    {RecordType::kTrackSignup, "track_signup"},
    {RecordType::kTrackIdBind, "track_id_bind"},
    {RecordType::kTrackIdUnbind, "track_id_unbind"},
    {RecordType::kProfileSet, "profile_set"},
    {RecordType::kProfileSetOnce, "profile_set_once"},
    {RecordType::kProfileIncrement, "profile_increment"},
    {RecordType::kProfileAppend, "profile_append"},
    {RecordType::kProfileUnset, "profile_unset"},
    {RecordType::kProfileDelete, "profile_delete"},
    {RecordType::kItemSet, "item_set"},
    {RecordType::kItemDelete, "item_delete"},
};
}  // namespace

std::string_view RecordTypeName(RecordType type) {
  for (const auto& [candidate, name] : kRecordTypeNames)
    if (candidate == type) return name;
  return "unknown";
}

bool ParseRecordType(std::string_view name, RecordType* out) {
  for (const auto& [type, candidate] : kRecordTypeNames) {
    if (candidate == name) {
      *out = type;
      return true;
    }
  }
  return false;
}

bool IsEventRecord(RecordType type) {
  return type == RecordType::kTrack || type == RecordType::kTrackSignup ||
         type == RecordType::kTrackIdBind || type == RecordType::kTrackIdUnbind;
}
bool IsProfileRecord(RecordType type) {
  return type >= RecordType::kProfileSet && type <= RecordType::kProfileDelete;
}
bool IsItemRecord(RecordType type) {
  return type == RecordType::kItemSet || type == RecordType::kItemDelete;
}

}  // namespace sextant
