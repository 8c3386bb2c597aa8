// ProjectRegistry: the projects of this installation. Projects are isolated: each has its
// own schema, identities, profiles, items, events and error log, keyed by its numeric id.
// Thread-safety: thread-safe. Lookups return immutable snapshots.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/time_zone.h"
#include "state/kv_store.h"

namespace sextant::state {

using ProjectId = uint32_t;

struct ProjectInfo {
  ProjectId id = 0;
  std::string name;
  std::string token;  // empty = no token required on ingest
  TimeZone time_zone;
  // Events older than this many days are deleted (docs/access.md, "Retention"); 0 = the
  // server's --retention-days; -1 = keep forever whatever the server default.
  int retention_days = 0;
};

class ProjectRegistry {
 public:
  // Loads every project from `kv`; creates "default" if missing.
  static Result<std::unique_ptr<ProjectRegistry>> Open(KvStore* kv);

  // kConflict if the name exists; kInvalidName if the name fails the naming rule.
  Result<std::shared_ptr<const ProjectInfo>> Create(const std::string& name,
                                                    const std::string& token,
                                                    const std::string& time_zone);
  // Sets a project's retention_days (-1..36500); kNotFound for an unknown project.
  Result<std::shared_ptr<const ProjectInfo>> SetRetentionDays(const std::string& name, int days);
  // nullptr if unknown.
  std::shared_ptr<const ProjectInfo> Find(const std::string& name) const;
  std::vector<std::shared_ptr<const ProjectInfo>> List() const;

 private:
  explicit ProjectRegistry(KvStore* kv) : kv_(kv) {}
  Status Store(const ProjectInfo& info);

  KvStore* kv_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const ProjectInfo>> by_name_;  // guarded by mu_
  ProjectId next_id_ = 1;                                              // guarded by mu_
};

// Project names follow the property-name rule without the `$`: [A-Za-z_][A-Za-z0-9_]{0,99}.
bool IsValidProjectName(const std::string& name);

}  // namespace sextant::state
