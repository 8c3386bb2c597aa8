#include "identity/identity_store.h"

#include <algorithm>
#include <array>

#include "common/value_codec.h"

namespace sextant::identity {

namespace {
constexpr char kSep = '\x1f';

std::string CacheKey(const Identity& id) { return id.key + kSep + id.value; }

std::string IdmKey(ProjectId project, const Identity& id) {
  return "idm/" + std::to_string(project) + "/" + CacheKey(id);
}
std::string UidKey(ProjectId project, UserId user) {
  std::string key = "uid/" + std::to_string(project) + "/";
  state::AppendBigEndian32(user, &key);
  return key;
}
std::string MergeKey(ProjectId project, UserId user) {
  std::string key = "mrg/" + std::to_string(project) + "/";
  state::AppendBigEndian32(user, &key);
  return key;
}
std::string EncodeUser(UserId user) {
  std::string out;
  state::AppendBigEndian32(user, &out);
  return out;
}

constexpr std::array<std::string_view, 10> kAnonymousKeys = {
    "$identity_anonymous_id", "$identity_cookie_id",  "$identity_mp_id",
    "$identity_android_id",   "$identity_android_uuid", "$identity_idfv",
    "$identity_ios_uuid",     "$identity_mac_serial_id", "$identity_mac_uuid",
    "$identity_distinct_id"};

int Priority(std::string_view key) {
  switch (KindOfKey(key)) {
    case IdKind::kLogin: return 0;
    case IdKind::kBusiness: return 1;
    case IdKind::kAnonymous: return 2;
  }
  return 3;
}

Status Conflict(std::string message, std::string field) {
  return Status(ErrorCode::kIdentityConflict, std::move(message), std::move(field));
}
}  // namespace

IdKind KindOfKey(std::string_view key) {
  if (key == kLoginKey) return IdKind::kLogin;
  for (std::string_view anonymous : kAnonymousKeys)
    if (key == anonymous) return IdKind::kAnonymous;
  return IdKind::kBusiness;
}

namespace {
// Calls visit(key, value) for each id a record names explicitly, in rule order: its
// identities, the IDM 2.0 login / anonymous fields, and a signup's distinct and original ids.
// Values may be empty (absent) or repeated; the visitor decides.
template <typename Visit>
void ForEachCarriedId(const Record& record, Visit&& visit) {
  for (const Identity& id : record.identities) visit(id.key, id.value);
  visit(kLoginKey, record.login_id);
  visit(kAnonymousKey, record.anonymous_id);
  if (record.type == RecordType::kTrackSignup) {
    visit(kLoginKey, record.distinct_id);
    visit(kAnonymousKey, record.original_id);
  }
}
}  // namespace

IdentityStore::ProjectState& IdentityStore::StateOf(ProjectId project) {
  std::lock_guard lock(projects_mu_);
  auto& slot = projects_[project];
  if (!slot) slot = std::make_unique<ProjectState>();
  return *slot;
}

Status IdentityStore::LoadIdMapLocked(ProjectId project, ProjectState& state) {
  std::string prefix = "idm/" + std::to_string(project) + "/";
  Status scan = kv_->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    state.owner_cache.SetJoined(key.substr(prefix.size()), state::ReadBigEndian32(value));
    return true;
  });
  if (scan.ok()) state.cache_complete = true;
  return scan;
}

Result<UserId> IdentityStore::OwnerLocked(ProjectId project, ProjectState& state,
                                          const Identity& id) {
  if (!state.cache_complete) SEXTANT_RETURN_IF_ERROR(LoadIdMapLocked(project, state));
  // The cache holds every owned id of the project (and 0 for ids unbound since): a miss is an
  // id nobody owns.
  return state.owner_cache.Find(id.key, id.value);
}

Result<IdentityStore::UserInfo*> IdentityStore::UserLocked(ProjectId project, ProjectState& state,
                                                           UserId user) {
  if (state.users.size() <= user) state.users.resize(std::max<size_t>(user + 1, state.users.size() * 2));
  UserInfo& info = state.users[user];
  if (info.loaded) return &info;
  auto stored = kv_->Get(UidKey(project, user));
  if (stored.ok()) {
    std::string_view bytes = *stored;
    uint64_t first_day_biased, count;
    if (!GetVarint64(&bytes, &first_day_biased) || !GetVarint64(&bytes, &count))
      return Status(ErrorCode::kCorruption, "bad user record " + std::to_string(user));
    info.first_day = static_cast<int32_t>(static_cast<int64_t>(first_day_biased) + INT32_MIN);
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view key, value;
      if (!GetLengthPrefixed(&bytes, &key) || !GetLengthPrefixed(&bytes, &value))
        return Status(ErrorCode::kCorruption, "bad user record " + std::to_string(user));
      info.identities.push_back({std::string(key), std::string(value)});
    }
    uint64_t merged_into = 0, merged_count = 0;
    if (!bytes.empty()) {
      if (!GetVarint64(&bytes, &merged_into) || !GetVarint64(&bytes, &merged_count))
        return Status(ErrorCode::kCorruption, "bad user record " + std::to_string(user));
      for (uint64_t i = 0; i < merged_count; ++i) {
        uint64_t merged;
        if (!GetVarint64(&bytes, &merged))
          return Status(ErrorCode::kCorruption, "bad user record " + std::to_string(user));
        info.merged_users.push_back(static_cast<UserId>(merged));
      }
    }
    info.merged_into = static_cast<UserId>(merged_into);
  } else if (stored.status().code() != ErrorCode::kNotFound) {
    return stored.status();
  }
  info.loaded = true;
  return &info;
}

void IdentityStore::WriteUserLocked(ProjectId project, UserId user, const UserInfo& info,
                                    state::KvStore::Batch* batch) {
  std::string bytes;
  PutVarint64(static_cast<uint64_t>(static_cast<int64_t>(info.first_day) - INT32_MIN), &bytes);
  PutVarint64(info.identities.size(), &bytes);
  for (const Identity& id : info.identities) {
    PutLengthPrefixed(id.key, &bytes);
    PutLengthPrefixed(id.value, &bytes);
  }
  PutVarint64(info.merged_into, &bytes);
  PutVarint64(info.merged_users.size(), &bytes);
  for (UserId merged : info.merged_users) PutVarint64(merged, &bytes);
  batch->Put(UidKey(project, user), bytes);
}

Status IdentityStore::LoadNextUserLocked(ProjectId project, ProjectState& state) {
  if (state.next_loaded) return Status::Ok();
  // Every user has a uid record, written in the same batch that creates the user: the next id
  // follows the last one.
  const std::string prefix = "uid/" + std::to_string(project) + "/";
  Status scan = kv_->ScanPrefix(prefix, [&](std::string_view key, std::string_view) {
    state.next_user = state::ReadBigEndian32(key.substr(prefix.size())) + 1;
    return false;
  }, /*reverse=*/true);
  if (!scan.ok()) return scan;
  state.next_loaded = true;
  return Status::Ok();
}

Result<UserId> IdentityStore::NewUserLocked(ProjectId project, ProjectState& state,
                                            state::KvStore::Batch* batch) {
  SEXTANT_RETURN_IF_ERROR(LoadNextUserLocked(project, state));
  UserId user = state.next_user++;
  // A new user has no stored record to read.
  if (state.users.size() <= user) state.users.resize(std::max<size_t>(user + 1, state.users.size() * 2));
  state.users[user] = UserInfo();
  state.users[user].loaded = true;
  return user;  // the caller writes the user's record in the same batch
}

Result<Resolution> IdentityStore::Resolve(ProjectId project, const Record& record,
                                          state::KvStore::Batch* batch,
                                          std::optional<int32_t> event_day) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  bool dirty = false;
  auto resolved = ResolveLocked(project, state, record, batch, &dirty);
  if (!resolved.ok()) return resolved;
  auto info = UserLocked(project, state, resolved->user_id);
  if (!info.ok()) return info.status();
  if (event_day) {
    if ((*info)->first_day == INT32_MIN || *event_day < (*info)->first_day) {
      (*info)->first_day = *event_day;
      dirty = true;
    }
    resolved->first_day = (*info)->first_day;
  }
  // One write of the user's record for everything this record changed about them.
  if (dirty) WriteUserLocked(project, resolved->user_id, **info, batch);
  return resolved;
}

Result<Resolution> IdentityStore::ResolveLocked(ProjectId project, ProjectState& state,
                                                const Record& record,
                                                state::KvStore::Batch* batch, bool* user_dirty) {
  // 0. The usual record of a known customer: every id it carries is already owned by one
  //    user. The rules below then pick that user, merge nothing and attach nothing, so the
  //    answer is known without copying the ids (most records of a busy project take this path).
  if (!state.cache_complete) SEXTANT_RETURN_IF_ERROR(LoadIdMapLocked(project, state));
  if (record.type != RecordType::kTrackIdUnbind) {
    UserId common_owner = 0;
    bool all_owned_by_one = true;
    size_t carried = 0;
    auto check = [&](std::string_view key, std::string_view value) {
      if (value.empty() || !all_owned_by_one) return;
      ++carried;
      const UserId owner = state.owner_cache.Find(key, value);
      if (owner == 0 || (common_owner != 0 && owner != common_owner)) all_owned_by_one = false;
      common_owner = owner;
    };
    ForEachCarriedId(record, check);
    // A record with no ids at all takes the bare distinct_id rules of step 2.
    if (carried > 0 && all_owned_by_one) return Resolution{common_owner, false};
  }

  // 1. Collect the ids the record carries, without duplicates.
  std::vector<Identity> ids;
  auto add = [&](std::string_view key, const std::string& value) {
    if (value.empty()) return;
    for (const Identity& existing : ids)
      if (existing.key == key && existing.value == value) return;
    ids.push_back({std::string(key), value});
  };
  ForEachCarriedId(record, add);
  const Value* is_login = record.FindProperty("$is_login_id");
  if (ids.empty() && is_login && is_login->type() == ValueType::kBool && is_login->boolean())
    add(kLoginKey, record.distinct_id);

  // 2. A bare distinct_id (IDM 1.0, server SDKs): the user whose login id, else anonymous
  //    id, it is; else a new user with it as anonymous id.
  if (ids.empty()) {
    if (record.distinct_id.empty())
      return Status(ErrorCode::kMissingField, "record carries no id", "distinct_id");
    for (std::string_view key : {kLoginKey, kAnonymousKey}) {
      const UserId owner = state.owner_cache.Find(key, record.distinct_id);
      if (owner != 0) return Resolution{owner, false};
    }
    ids.push_back({std::string(kAnonymousKey), record.distinct_id});
  }

  // 3. Unbind: detach exactly the one id from its user; the event stays with that user.
  if (record.type == RecordType::kTrackIdUnbind) {
    const Identity& id = ids.front();
    auto owner = OwnerLocked(project, state, id);
    if (!owner.ok()) return owner.status();
    if (*owner == 0)
      return Conflict("identity " + id.key + "=" + id.value + " is not bound to any user",
                      "identities." + id.key);
    auto info = UserLocked(project, state, *owner);
    if (!info.ok()) return info.status();
    auto& list = (*info)->identities;
    list.erase(std::remove(list.begin(), list.end(), id), list.end());
    WriteUserLocked(project, *owner, **info, batch);
    batch->Delete(IdmKey(project, id));
    state.owner_cache.Set(id.key, id.value, 0);
    return Resolution{*owner, false};
  }

  std::stable_sort(ids.begin(), ids.end(), [](const Identity& a, const Identity& b) {
    return Priority(a.key) < Priority(b.key);
  });
  const Identity* login = nullptr;
  for (const Identity& id : ids) {
    if (KindOfKey(id.key) != IdKind::kLogin) continue;
    if (login && login->value != id.value)
      return Conflict("record carries two login ids", "identities." + id.key);
    login = &id;
  }
  std::vector<UserId> owners;
  for (const Identity& id : ids) {
    auto owner = OwnerLocked(project, state, id);
    if (!owner.ok()) return owner.status();
    owners.push_back(*owner);
  }
  auto has_login = [&](UserId user) -> Result<bool> {
    auto info = UserLocked(project, state, user);
    if (!info.ok()) return info.status();
    for (const Identity& id : (*info)->identities)
      if (KindOfKey(id.key) == IdKind::kLogin) return true;
    return false;
  };

  // 4. Pick the user: the login id's owner; else the owner of the highest-priority owned id
  //    that can take this login id (a user with another login id cannot).
  UserId target = 0;
  if (login && owners[0] != 0) target = owners[0];
  for (size_t i = 0; target == 0 && i < ids.size(); ++i) {
    if (owners[i] == 0) continue;
    if (login) {
      auto taken = has_login(owners[i]);
      if (!taken.ok()) return taken.status();
      if (*taken) continue;
    }
    target = owners[i];
  }

  // 5. Ids owned by another user: an anonymous-only user (no login id) is merged into the
  //    chosen one — the same person seen before they identified themselves; a user with a
  //    login id is another person and is never merged. A bind that names such an id, or that
  //    would add a second login id, is refused.
  std::vector<UserId> to_merge;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (owners[i] == 0 || owners[i] == target) continue;
    auto taken = has_login(owners[i]);
    if (!taken.ok()) return taken.status();
    if (*taken) {
      if (record.type == RecordType::kTrackIdBind)
        return Conflict("identity " + ids[i].key + "=" + ids[i].value +
                            " already belongs to another user",
                        "identities." + ids[i].key);
      continue;
    }
    if (std::find(to_merge.begin(), to_merge.end(), owners[i]) == to_merge.end())
      to_merge.push_back(owners[i]);
  }
  if (record.type == RecordType::kTrackIdBind && login && owners[0] == 0 && target != 0) {
    auto taken = has_login(target);
    if (!taken.ok()) return taken.status();
    if (*taken)
      return Conflict("user already has a different login id", "identities." + login->key);
  }

  Resolution resolution;
  if (target == 0) {
    auto created = NewUserLocked(project, state, batch);
    if (!created.ok()) return created.status();
    target = *created;
    resolution.created = true;
    *user_dirty = true;  // a new user's record must be written even if no id was attached
  }
  resolution.user_id = target;
  for (UserId from : to_merge) SEXTANT_RETURN_IF_ERROR(MergeLocked(project, state, from, target, batch));
  for (size_t i = 0; i < ids.size(); ++i)
    if (std::find(to_merge.begin(), to_merge.end(), owners[i]) != to_merge.end()) owners[i] = target;

  // 6. Attach the unowned ids. Ids owned by users with a login id stay where they are (first
  //    link wins); a user keeps at most one login id.
  auto info = UserLocked(project, state, target);
  if (!info.ok()) return info.status();
  bool changed = false;
  bool target_has_login = false;
  for (const Identity& id : (*info)->identities)
    if (KindOfKey(id.key) == IdKind::kLogin) target_has_login = true;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (owners[i] != 0) continue;
    if (KindOfKey(ids[i].key) == IdKind::kLogin) {
      if (target_has_login) continue;
      target_has_login = true;
    }
    (*info)->identities.push_back(ids[i]);
    batch->Put(IdmKey(project, ids[i]), EncodeUser(target));
    state.owner_cache.Set(ids[i].key, ids[i].value, target);
    changed = true;
  }
  if (changed) *user_dirty = true;
  return resolution;
}

Status IdentityStore::MergeLocked(ProjectId project, ProjectState& state, UserId from,
                                  UserId into, state::KvStore::Batch* batch) {
  auto from_info = UserLocked(project, state, from);
  if (!from_info.ok()) return from_info.status();
  UserInfo moved = **from_info;  // copy: UserLocked below may reallocate the table
  auto into_info = UserLocked(project, state, into);
  if (!into_info.ok()) return into_info.status();
  UserInfo& target = **into_info;
  for (const Identity& id : moved.identities) {
    batch->Put(IdmKey(project, id), EncodeUser(into));
    state.owner_cache.Set(id.key, id.value, into);
    target.identities.push_back(id);
  }
  if (moved.first_day != INT32_MIN && (target.first_day == INT32_MIN || moved.first_day < target.first_day))
    target.first_day = moved.first_day;
  target.merged_users.push_back(from);
  for (UserId earlier : moved.merged_users) target.merged_users.push_back(earlier);
  UserInfo target_copy = target;
  WriteUserLocked(project, into, target_copy, batch);
  // Everyone that pointed at `from` now points at `into` (one hop, no chains).
  std::vector<UserId> repoint = moved.merged_users;
  repoint.push_back(from);
  for (UserId user : repoint) {
    auto info = UserLocked(project, state, user);
    if (!info.ok()) return info.status();
    (*info)->merged_into = into;
    batch->Put(MergeKey(project, user), EncodeUser(into));
    if (user == from) {
      (*info)->identities.clear();
      (*info)->merged_users.clear();
    }
    UserInfo copy = **info;
    WriteUserLocked(project, user, copy, batch);
  }
  return Status::Ok();
}

Result<UserId> IdentityStore::CanonicalUser(ProjectId project, UserId user) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  auto info = UserLocked(project, state, user);
  if (!info.ok()) return info.status();
  return (*info)->merged_into != 0 ? (*info)->merged_into : user;
}

Result<std::vector<UserId>> IdentityStore::MergedUsers(ProjectId project, UserId user) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  auto info = UserLocked(project, state, user);
  if (!info.ok()) return info.status();
  return (*info)->merged_users;
}

Result<std::vector<std::pair<UserId, UserId>>> IdentityStore::MergeMap(ProjectId project) {
  std::vector<std::pair<UserId, UserId>> merges;
  const std::string prefix = "mrg/" + std::to_string(project) + "/";
  Status scan = kv_->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    if (key.size() == prefix.size() + 4 && value.size() == 4) {
      merges.emplace_back(state::ReadBigEndian32(key.substr(prefix.size())),
                          state::ReadBigEndian32(value));
    }
    return true;
  });
  if (!scan.ok()) return scan;
  return merges;
}

Result<UserId> IdentityStore::UserIdLimit(ProjectId project) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  SEXTANT_RETURN_IF_ERROR(LoadNextUserLocked(project, state));
  return state.next_user;
}

Result<UserId> IdentityStore::Lookup(ProjectId project, std::string_view key,
                                     std::string_view value) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  return OwnerLocked(project, state, {std::string(key), std::string(value)});
}

Result<UserId> IdentityStore::LookupDistinctId(ProjectId project, std::string_view distinct_id) {
  for (std::string_view key : {kLoginKey, kAnonymousKey}) {
    auto owner = Lookup(project, key, distinct_id);
    if (!owner.ok() || *owner != 0) return owner;
  }
  // Any other key: a scan of the id map for this value (API use only).
  std::string prefix = "idm/" + std::to_string(project) + "/";
  UserId found = 0;
  Status scan = kv_->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    size_t sep = key.find(kSep, prefix.size());
    if (sep != std::string_view::npos && key.substr(sep + 1) == distinct_id) {
      found = state::ReadBigEndian32(value);
      return false;
    }
    return true;
  });
  if (!scan.ok()) return scan;
  return found;
}

Result<std::string> IdentityStore::DistinctIdOf(ProjectId project, UserId user) {
  auto identities = IdentitiesOf(project, user);
  if (!identities.ok()) return identities.status();
  for (const Identity& identity : *identities) {
    if (identity.key == "$identity_login_id") return identity.value;
  }
  return identities->empty() ? std::string() : identities->front().value;
}

Result<std::vector<Identity>> IdentityStore::IdentitiesOf(ProjectId project, UserId user) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  auto info = UserLocked(project, state, user);
  if (!info.ok()) return info.status();
  return (*info)->identities;
}

Status IdentityStore::ErasePerson(ProjectId project, UserId user, state::KvStore::Batch* batch,
                                  std::vector<UserId>* users,
                                  std::vector<Identity>* identities) {
  ProjectState& state = StateOf(project);
  std::lock_guard lock(state.mu);
  // The person is the user this id now belongs to, with everyone merged into it.
  UserId canonical = user;
  for (int hops = 0; hops < 64; ++hops) {
    auto info = UserLocked(project, state, canonical);
    if (!info.ok()) return info.status();
    if ((*info)->merged_into == 0) break;
    canonical = (*info)->merged_into;
  }
  auto root = UserLocked(project, state, canonical);
  if (!root.ok()) return root.status();
  users->assign(1, canonical);
  users->insert(users->end(), (*root)->merged_users.begin(), (*root)->merged_users.end());
  for (UserId member : *users) {
    auto info = UserLocked(project, state, member);
    if (!info.ok()) return info.status();
    for (const Identity& id : (*info)->identities) {
      batch->Delete(IdmKey(project, id));
      state.owner_cache.Set(id.key, id.value, 0);
      identities->push_back(id);
    }
    (*info)->identities.clear();
    (*info)->first_day = INT32_MIN;
    WriteUserLocked(project, member, **info, batch);
  }
  return Status::Ok();
}

}  // namespace sextant::identity
