#include "state/schema_registry.h"

#include <algorithm>

#include "common/value_codec.h"

namespace sextant::state {

namespace {
std::string EncodeEntry(const SchemaEntry& entry, uint64_t count) {
  std::string out;
  PutVarint64(entry.id, &out);
  out.push_back(static_cast<char>(entry.type));
  PutVarint64(static_cast<uint64_t>(entry.first_seen_ms), &out);
  PutVarint64(count, &out);
  return out;
}

bool DecodeEntry(std::string_view bytes, SchemaEntry* entry) {
  uint64_t id, first_seen, count;
  if (!GetVarint64(&bytes, &id) || bytes.empty()) return false;
  entry->type = static_cast<ValueType>(bytes[0]);
  bytes.remove_prefix(1);
  if (!GetVarint64(&bytes, &first_seen) || !GetVarint64(&bytes, &count)) return false;
  entry->id = static_cast<uint32_t>(id);
  entry->first_seen_ms = static_cast<int64_t>(first_seen);
  entry->count = count;
  return id != 0;
}
}  // namespace

ProjectSchema::Space& ProjectSchema::SpaceOf(SchemaKind kind) {
  return kind == SchemaKind::kEvent           ? events_
         : kind == SchemaKind::kEventProperty ? event_properties_
                                              : user_properties_;
}
const ProjectSchema::Space& ProjectSchema::SpaceOf(SchemaKind kind) const {
  return const_cast<ProjectSchema*>(this)->SpaceOf(kind);
}

std::string ProjectSchema::KeyOf(SchemaKind kind, const std::string& name) const {
  return "sch/" + std::to_string(project_) + "/" + static_cast<char>(kind) + "/" + name;
}

Status ProjectSchema::CheckAndCoerce(SchemaKind kind,
                                     std::vector<std::pair<std::string, Value>>* properties) const {
  std::shared_lock lock(mu_);
  const Space& space = SpaceOf(kind);
  for (auto& [name, value] : *properties) {
    auto it = space.by_name.find(name);
    if (it == space.by_name.end()) continue;
    ValueType fixed = it->second->type;
    ValueType got = value.type();
    if (fixed == got) continue;
    if (fixed == ValueType::kDatetime && got == ValueType::kDate) {
      value = Value::Datetime(zone_.DayStartMs(value.date_days()));
      continue;
    }
    if (fixed == ValueType::kString && got == ValueType::kDatetime) {
      value = Value::String(FormatDatetime(value.datetime_ms(), zone_));
      continue;
    }
    if (fixed == ValueType::kString && got == ValueType::kDate) {
      value = Value::String(FormatDate(value.date_days()));
      continue;
    }
    std::string prefix = kind == SchemaKind::kUserProperty ? "profile." : "properties.";
    return Status(ErrorCode::kTypeConflict,
                  "property " + name + " is " + std::string(ValueTypeName(fixed)) +
                      " in this project, got " + std::string(ValueTypeName(got)),
                  prefix + name);
  }
  return Status::Ok();
}

uint32_t ProjectSchema::Register(SchemaKind kind, const std::string& name, ValueType type,
                                 int64_t now_ms, KvStore::Batch* batch) {
  {
    std::shared_lock lock(mu_);
    const Space& space = SpaceOf(kind);
    auto it = space.by_name.find(name);
    if (it != space.by_name.end()) {
      it->second->count.fetch_add(1, std::memory_order_relaxed);
      return it->second->id;
    }
  }
  std::unique_lock lock(mu_);
  Space& space = SpaceOf(kind);
  auto it = space.by_name.find(name);
  if (it != space.by_name.end()) {
    it->second->count.fetch_add(1, std::memory_order_relaxed);
    return it->second->id;
  }
  auto entry = std::make_unique<SchemaEntry>();
  entry->id = static_cast<uint32_t>(space.by_id.size() + 1);
  entry->name = name;
  entry->type = type;
  entry->first_seen_ms = now_ms;
  entry->count = 1;
  batch->Put(KeyOf(kind, name), EncodeEntry(*entry, 1));
  SchemaEntry* raw = entry.get();
  space.by_id.push_back(std::move(entry));
  space.by_name[name] = raw;
  return raw->id;
}

void ProjectSchema::Load(SchemaKind kind, std::unique_ptr<SchemaEntry> entry) {
  std::unique_lock lock(mu_);
  Space& space = SpaceOf(kind);
  if (space.by_id.size() < entry->id) space.by_id.resize(entry->id);
  SchemaEntry* raw = entry.get();
  space.by_id[entry->id - 1] = std::move(entry);
  space.by_name[raw->name] = raw;
}

std::string ProjectSchema::EventName(uint32_t event_id) const {
  std::shared_lock lock(mu_);
  if (event_id == 0 || event_id > events_.by_id.size() || !events_.by_id[event_id - 1]) return {};
  return events_.by_id[event_id - 1]->name;
}

std::string ProjectSchema::PropertyName(uint32_t property_id) const {
  std::shared_lock lock(mu_);
  if (property_id == 0 || property_id > event_properties_.by_id.size() ||
      !event_properties_.by_id[property_id - 1])
    return {};
  return event_properties_.by_id[property_id - 1]->name;
}

uint32_t ProjectSchema::FindEvent(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = events_.by_name.find(name);
  return it == events_.by_name.end() ? 0 : it->second->id;
}

uint32_t ProjectSchema::FindProperty(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = event_properties_.by_name.find(name);
  return it == event_properties_.by_name.end() ? 0 : it->second->id;
}

std::optional<ProjectSchema::EntryView> ProjectSchema::Find(SchemaKind kind,
                                                            const std::string& name) const {
  std::shared_lock lock(mu_);
  const Space& space = SpaceOf(kind);
  auto it = space.by_name.find(name);
  if (it == space.by_name.end()) return std::nullopt;
  const SchemaEntry& entry = *it->second;
  return EntryView{entry.id, entry.name, entry.type, entry.first_seen_ms, entry.count.load()};
}

std::vector<ProjectSchema::EntryView> ProjectSchema::List(SchemaKind kind) const {
  std::shared_lock lock(mu_);
  std::vector<EntryView> out;
  for (const auto& entry : SpaceOf(kind).by_id) {
    if (!entry) continue;
    out.push_back({entry->id, entry->name, entry->type, entry->first_seen_ms, entry->count.load()});
  }
  std::sort(out.begin(), out.end(),
            [](const EntryView& a, const EntryView& b) { return a.name < b.name; });
  return out;
}

void ProjectSchema::SaveCounts(KvStore::Batch* batch) const {
  std::shared_lock lock(mu_);
  for (SchemaKind kind : {SchemaKind::kEvent, SchemaKind::kEventProperty, SchemaKind::kUserProperty}) {
    for (const auto& entry : SpaceOf(kind).by_id)
      if (entry) batch->Put(KeyOf(kind, entry->name), EncodeEntry(*entry, entry->count.load()));
  }
}

Result<std::unique_ptr<SchemaRegistry>> SchemaRegistry::Open(KvStore* kv,
                                                             const ProjectRegistry& projects) {
  std::unique_ptr<SchemaRegistry> registry(new SchemaRegistry(kv));
  for (const auto& project : projects.List()) {
    ProjectSchema* schema = registry->ForProject(*project);
    std::string prefix = "sch/" + std::to_string(project->id) + "/";
    Status bad;
    Status scan = kv->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
      std::string_view rest = key.substr(prefix.size());
      if (rest.size() < 2 || rest[1] != '/') return true;
      auto kind = static_cast<SchemaKind>(rest[0]);
      auto entry = std::make_unique<SchemaEntry>();
      entry->name = std::string(rest.substr(2));
      if (!DecodeEntry(value, entry.get())) {
        bad = Status(ErrorCode::kCorruption, "bad schema entry " + std::string(key));
        return false;
      }
      schema->Load(kind, std::move(entry));
      return true;
    });
    SEXTANT_RETURN_IF_ERROR(scan);
    SEXTANT_RETURN_IF_ERROR(bad);
  }
  return registry;
}

ProjectSchema* SchemaRegistry::ForProject(const ProjectInfo& project) {
  std::lock_guard lock(mu_);
  auto& slot = schemas_[project.id];
  if (!slot) slot = std::make_unique<ProjectSchema>(project.id, project.time_zone);
  return slot.get();
}

Status SchemaRegistry::SaveCounts() {
  KvStore::Batch batch;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, schema] : schemas_) schema->SaveCounts(&batch);
  }
  return kv_->Write(&batch);
}

}  // namespace sextant::state
