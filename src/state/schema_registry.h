// SchemaRegistry: per project, every event name, event property and user (profile) property
// ever seen, with its type fixed at first sight, first-seen time and a count. Event names and
// event properties get dense codes (EventId / PropertyId) that the event store uses.
//
// Type rule: a property keeps the type of its first value. Later values of another type are
// a kTypeConflict for that record — except the lossless coercions DATE → DATETIME and
// DATETIME/DATE → STRING (the string the SDK would have sent), which are applied in place.
//
// Durability: new entries are written into the caller's KvStore::Batch (made durable with the
// request); counts are kept in memory and saved by SaveCounts() (periodically and on close),
// so after a crash counts may lag by the last interval — documented in docs/api.md.
//
// Thread-safety: thread-safe; lookups take a shared lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/record.h"
#include "common/status.h"
#include "common/time_zone.h"
#include "state/kv_store.h"
#include "state/project_registry.h"

namespace sextant::state {

enum class SchemaKind : char { kEvent = 'e', kEventProperty = 'p', kUserProperty = 'u' };

struct SchemaEntry {
  uint32_t id = 0;
  std::string name;
  ValueType type = ValueType::kString;  // meaningless for kEvent
  int64_t first_seen_ms = 0;
  std::atomic<uint64_t> count{0};
};

class ProjectSchema {
 public:
  ProjectSchema(ProjectId project, TimeZone zone) : project_(project), zone_(zone) {}

  // Checks `properties` against the fixed types of `kind` (kEventProperty or kUserProperty),
  // coercing compatible values in place. Does not register anything.
  Status CheckAndCoerce(SchemaKind kind, std::vector<std::pair<std::string, Value>>* properties) const;

  // Returns the id of `name`, registering it (new entry into `batch`) if unseen, and counts one
  // use. For properties `type` must already have passed CheckAndCoerce.
  uint32_t Register(SchemaKind kind, const std::string& name, ValueType type, int64_t now_ms,
                    KvStore::Batch* batch);

  // Name / type by id; empty name if unknown.
  std::string EventName(uint32_t event_id) const;
  std::string PropertyName(uint32_t property_id) const;
  // 0 if unknown.
  uint32_t FindEvent(const std::string& name) const;
  uint32_t FindProperty(const std::string& name) const;

  // Copies of all entries of one kind, ordered by name (for the schema API).
  struct EntryView {
    uint32_t id;
    std::string name;
    ValueType type;
    int64_t first_seen_ms;
    uint64_t count;
  };
  std::vector<EntryView> List(SchemaKind kind) const;
  // The entry of `name` in `kind`, if registered.
  std::optional<EntryView> Find(SchemaKind kind, const std::string& name) const;

  void Load(SchemaKind kind, std::unique_ptr<SchemaEntry> entry);  // used by the registry
  void SaveCounts(KvStore::Batch* batch) const;

 private:
  struct Space {
    std::unordered_map<std::string, SchemaEntry*> by_name;
    std::deque<std::unique_ptr<SchemaEntry>> by_id;  // by_id[id - 1]
  };
  Space& SpaceOf(SchemaKind kind);
  const Space& SpaceOf(SchemaKind kind) const;
  std::string KeyOf(SchemaKind kind, const std::string& name) const;

  const ProjectId project_;
  const TimeZone zone_;
  mutable std::shared_mutex mu_;
  Space events_, event_properties_, user_properties_;  // guarded by mu_
};

class SchemaRegistry {
 public:
  static Result<std::unique_ptr<SchemaRegistry>> Open(KvStore* kv, const ProjectRegistry& projects);
  // The schema of a project, created empty on first use. Never null.
  ProjectSchema* ForProject(const ProjectInfo& project);
  Status SaveCounts();

 private:
  explicit SchemaRegistry(KvStore* kv) : kv_(kv) {}
  KvStore* kv_;
  std::mutex mu_;
  std::map<ProjectId, std::unique_ptr<ProjectSchema>> schemas_;  // guarded by mu_
};

}  // namespace sextant::state
