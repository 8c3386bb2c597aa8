#include "profile/profile_store.h"

#include <algorithm>

namespace sextant::profile {

namespace {
std::string ProfileKey(ProjectId project, UserId user) {
  std::string key = "prof/" + std::to_string(project) + "/";
  state::AppendBigEndian32(user, &key);
  return key;
}
std::string ItemKey(ProjectId project, const std::string& type, const std::string& id) {
  return "item/" + std::to_string(project) + "/" + type + '\x1f' + id;
}

Result<PropertyMap> Decode(Result<std::string> bytes, const std::string& key) {
  if (!bytes.ok()) return bytes.status();
  PropertyMap map;
  if (!DecodePropertyMap(*bytes, &map))
    return Status(ErrorCode::kCorruption, "undecodable state at key " + key);
  return map;
}

Result<PropertyMap> Load(const state::KvStore& kv, const std::string& key) {
  return Decode(kv.Get(key), key);
}

Value* Find(PropertyMap& map, const std::string& name) {
  for (auto& [key, value] : map)
    if (key == name) return &value;
  return nullptr;
}
}  // namespace

Status ProfileStore::ApplyProfile(ProjectId project, UserId user, const Record& record) {
  std::string key = ProfileKey(project, user);
  if (record.type == RecordType::kProfileDelete) return kv_->Delete(key);
  auto loaded = Load(*kv_, key);
  PropertyMap map;
  if (loaded.ok()) {
    map = std::move(loaded.value());
  } else if (loaded.status().code() != ErrorCode::kNotFound) {
    return loaded.status();
  }
  for (const auto& [name, value] : record.properties) {
    Value* existing = Find(map, name);
    switch (record.type) {
      case RecordType::kProfileSet:
        if (existing) *existing = value;
        else map.emplace_back(name, value);
        break;
      case RecordType::kProfileSetOnce:
        if (!existing) map.emplace_back(name, value);
        break;
      case RecordType::kProfileIncrement:
        if (value.type() != ValueType::kNumber)
          return Status(ErrorCode::kInvalidValue, "increment needs a NUMBER", "properties." + name);
        if (existing && existing->type() == ValueType::kNumber) *existing = Value::Number(existing->number() + value.number());
        else if (existing)
          return Status(ErrorCode::kTypeConflict, "cannot increment a non-NUMBER property",
                        "properties." + name);
        else map.emplace_back(name, value);
        break;
      case RecordType::kProfileAppend:
        if (value.type() != ValueType::kList)
          return Status(ErrorCode::kInvalidValue, "append needs a LIST", "properties." + name);
        if (existing && existing->type() == ValueType::kList) {
          for (const std::string& element : value.list()) existing->mutable_list().push_back(element);
        } else if (existing) {
          return Status(ErrorCode::kTypeConflict, "cannot append to a non-LIST property",
                        "properties." + name);
        } else {
          map.emplace_back(name, value);
        }
        break;
      case RecordType::kProfileUnset:
        map.erase(std::remove_if(map.begin(), map.end(),
                                 // init-capture: clang < 16 cannot capture a structured binding
                                 [&name = name](const auto& entry) { return entry.first == name; }),
                  map.end());
        break;
      default:
        return Status(ErrorCode::kInternal, "not a profile record", "type");
    }
  }
  return kv_->Put(key, EncodePropertyMap(map));
}

Result<PropertyMap> ProfileStore::GetProfile(ProjectId project, UserId user) const {
  return Load(*kv_, ProfileKey(project, user));
}

std::vector<Result<PropertyMap>> ProfileStore::GetProfiles(ProjectId project,
                                                          std::span<const UserId> users) const {
  std::vector<std::string> keys;
  keys.reserve(users.size());
  for (UserId user : users) keys.push_back(ProfileKey(project, user));
  std::vector<Result<std::string>> values = kv_->MultiGet(keys);
  std::vector<Result<PropertyMap>> out;
  out.reserve(users.size());
  for (size_t index = 0; index < users.size(); ++index) {
    out.push_back(Decode(std::move(values[index]), keys[index]));
  }
  return out;
}

Status ProfileStore::ApplyItem(ProjectId project, const Record& record) {
  std::string key = ItemKey(project, record.item_type, record.item_id);
  if (record.type == RecordType::kItemDelete) return kv_->Delete(key);
  if (record.type != RecordType::kItemSet)
    return Status(ErrorCode::kInternal, "not an item record", "type");
  return kv_->Put(key, EncodePropertyMap(record.properties));
}

Result<PropertyMap> ProfileStore::GetItem(ProjectId project, const std::string& item_type,
                                          const std::string& item_id) const {
  return Load(*kv_, ItemKey(project, item_type, item_id));
}

void ProfileStore::EraseProfiles(ProjectId project, const std::vector<UserId>& users,
                                 state::KvStore::Batch* batch) {
  for (UserId user : users) batch->Delete(ProfileKey(project, user));
}

}  // namespace sextant::profile
