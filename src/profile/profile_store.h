// ProfileStore: user profiles and the item catalogue, with the Sensors semantics of every
// profile and item operation (see docs/record-model.md):
//   profile_set        overwrite the given properties
//   profile_set_once   set only properties the profile does not have yet
//   profile_increment  add NUMBER deltas (absent = 0)
//   profile_append     append LIST elements (absent = empty list)
//   profile_unset      remove the named properties
//   profile_delete     remove the whole profile
//   item_set           replace the item's properties with the given ones
//   item_delete        remove the item
//
// Storage: "prof/<pid>/<user BE32>" and "item/<pid>/<type>\x1f<id>" → encoded PropertyMap.
// Writes go to the KV store at once (unsynced); the ingest pipeline syncs before it acks.
// Thread-safety: thread-safe for different users; operations on the same user (or item) must
// be serialised by the caller (the ingest pipeline holds the project's ingest lock).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/record.h"
#include "common/status.h"
#include "common/value_codec.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "store/event_row.h"

namespace sextant::profile {

using state::ProjectId;
using store::UserId;

class ProfileStore {
 public:
  explicit ProfileStore(state::KvStore* kv) : kv_(kv) {}

  // Applies a profile_* record (already validated, types checked) to `user`.
  Status ApplyProfile(ProjectId project, UserId user, const Record& record);
  // kNotFound if the user has no profile.
  Result<PropertyMap> GetProfile(ProjectId project, UserId user) const;
  // GetProfile of each of `users`, in their order, read from the store in one batch.
  std::vector<Result<PropertyMap>> GetProfiles(ProjectId project,
                                               std::span<const UserId> users) const;

  // Erasure of a person: deletes the profiles of `users` in `batch`.
  void EraseProfiles(ProjectId project, const std::vector<UserId>& users,
                     state::KvStore::Batch* batch);

  // Applies item_set / item_delete.
  Status ApplyItem(ProjectId project, const Record& record);
  // kNotFound if absent or deleted.
  Result<PropertyMap> GetItem(ProjectId project, const std::string& item_type,
                              const std::string& item_id) const;

 private:
  state::KvStore* kv_;
};

}  // namespace sextant::profile
