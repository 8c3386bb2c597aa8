// AudienceEngine::ErasePeople: a person's erasure from segments and tags (docs/access.md,
// "Erasure").
#include "audience/audience_engine.h"
#include "audience/audience_internal.h"

#include <unordered_set>

namespace sextant::audience {

namespace {

// `column` without the values of `users`, rebuilt so that a string only they had also leaves
// the dictionary. Returns true if any of them had a value.
bool WithoutUsers(UserColumn* column, const std::vector<UserId>& users) {
  bool had = false;
  for (UserId user : users) had = had || column->Has(user);
  if (!had) return false;
  UserColumn rebuilt(column->type());
  const std::unordered_set<UserId> erased(users.begin(), users.end());
  for (UserId user = 1; user < column->size(); ++user) {
    if (erased.count(user)) continue;
    std::optional<Value> value = column->Get(user);
    if (value) rebuilt.Set(user, &*value);
  }
  *column = std::move(rebuilt);
  return true;
}

}  // namespace

Result<AudienceEngine::ErasedAudience> AudienceEngine::ErasePeople(
    const state::ProjectInfo& project, const std::vector<UserId>& users) {
  ErasedAudience erased;
  auto answer = WithProject(project, [&](ProjectState& state) -> Result<AudienceAnswer> {
    const state::ProjectId pid = state.project->id;
    for (auto& [id, segment] : state.segments) {
      bool member = false;
      for (UserId user : users) {
        member = member || segment->members.contains(user);
        segment->members.remove(user);
        for (auto& leaf : segment->rule.leaves) leaf->bits.remove(user);
      }
      if (!member) continue;
      ++erased.segments;
      SEXTANT_RETURN_IF_ERROR(SaveSegmentLocked(state, *segment, /*with_members=*/true));
    }
    for (auto& [name, column] : state.profile_columns) WithoutUsers(column.get(), users);
    state::KvStore::Batch batch;
    for (auto& [id, tag] : state.tags) {
      if (tag->values_loaded) WithoutUsers(&tag->values, users);
      WithoutUsers(&tag->last_times, users);
      // Every stored day of the tag's history.
      std::vector<std::pair<std::string, std::string>> snapshots;
      SEXTANT_RETURN_IF_ERROR(kv_->ScanPrefix(
          AudienceKey(pid, "tagv", id + "/"), [&](std::string_view key, std::string_view value) {
            snapshots.emplace_back(std::string(key), std::string(value));
            return true;
          }));
      for (const auto& [key, stored] : snapshots) {
        auto raw = DecompressSnapshot(stored);
        if (!raw.ok()) return raw.status();
        auto column = DecodeColumn(*raw);
        if (!column.ok()) return column.status();
        if (!WithoutUsers(&*column, users)) continue;
        batch.Put(key, CompressSnapshot(EncodeColumn(*column)));
        ++erased.tag_snapshots;
      }
    }
    if (!batch.empty()) {
      SEXTANT_RETURN_IF_ERROR(kv_->Write(&batch));
      SEXTANT_RETURN_IF_ERROR(kv_->SyncWal());
    }
    return AudienceAnswer{};
  });
  if (!answer.ok()) return answer.status();
  return erased;
}

}  // namespace sextant::audience
