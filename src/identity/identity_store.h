// IdentityStore: ID-Mapping. Resolves the ids a record carries (distinct_id, original_id,
// login_id / anonymous_id, the IDM 3.0 `identities` map) to one dense per-project user id,
// linking ids to users by the deterministic rules in docs/identity.md.
//
// Dense user ids (1, 2, 3, ... per project) never change once assigned: the event store
// keeps them with every event, and the analysis engine relies on them.
//
// Storage: "idm/<pid>/<key>\x1f<value>" → user id, "uid/<pid>/<user BE32>" → the user's
// identities, first-event day and merges (every user has one, so the next id is the last
// uid key + 1, found at first use). Changes are written into the
// caller's batch and cached in memory at once; the caller makes the batch durable before it
// acknowledges the record.
//
// Thread-safety: thread-safe. Resolve() calls for one project must be serialised by the
// caller (the ingest pipeline holds the project's ingest lock); lookups may run concurrently
// with them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/record.h"
#include "common/status.h"
#include "identity/id_owner_map.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "store/event_row.h"

namespace sextant::identity {

using state::ProjectId;
using store::UserId;

inline constexpr std::string_view kLoginKey = "$identity_login_id";
inline constexpr std::string_view kAnonymousKey = "$identity_anonymous_id";

enum class IdKind { kLogin, kBusiness, kAnonymous };
// Login: $identity_login_id. Anonymous (device / cookie) keys: $identity_anonymous_id,
// $identity_cookie_id, $identity_mp_id, $identity_android_id, $identity_android_uuid,
// $identity_idfv, $identity_ios_uuid, $identity_mac_serial_id, $identity_mac_uuid,
// $identity_distinct_id. Everything else ($identity_mobile, $identity_email, custom keys):
// business.
IdKind KindOfKey(std::string_view key);

struct Resolution {
  UserId user_id = 0;
  bool created = false;  // the record created this user
  // With an event day: the user's first event day (project zone) after this event.
  int32_t first_day = INT32_MIN;
};

class IdentityStore {
 public:
  explicit IdentityStore(state::KvStore* kv) : kv_(kv) {}

  // See docs/identity.md. kIdentityConflict (record refused, nothing changed) when a bind
  // would move an id owned by another user or give a user a second login id, when one record
  // carries two login ids, or when an unbind names an id that is not bound.
  // `event_day` (for event records): the event's day, recorded as the user's first event day if
  // it is earlier than the one known (Resolution::first_day returns the result), in the same
  // write as any identity change.
  Result<Resolution> Resolve(ProjectId project, const Record& record, state::KvStore::Batch* batch,
                             std::optional<int32_t> event_day = std::nullopt);

  // Owner of (key, value); 0 if none.
  Result<UserId> Lookup(ProjectId project, std::string_view key, std::string_view value);
  // A distinct_id as the SDKs use it: login id, then anonymous id, then any other key.
  Result<UserId> LookupDistinctId(ProjectId project, std::string_view distinct_id);
  Result<std::vector<Identity>> IdentitiesOf(ProjectId project, UserId user);
  // The id to show (and to send events as) for `user`: the login id when there is one, else
  // the first id the person was seen with; "" for an unknown user.
  Result<std::string> DistinctIdOf(ProjectId project, UserId user);

  // The user a (possibly merged) user id now belongs to: itself unless it was merged into
  // another user. Stored events keep the id they were written with; readers map it here.
  Result<UserId> CanonicalUser(ProjectId project, UserId user);
  // The ids of the users merged into `user` (not including `user`).
  Result<std::vector<UserId>> MergedUsers(ProjectId project, UserId user);
  // Every merged user of the project as (merged user, the user it now belongs to), sorted by
  // the merged user; read from the `mrg/` key space (one key per merged user).
  Result<std::vector<std::pair<UserId, UserId>>> MergeMap(ProjectId project);
  // Erasure of a person (data-subject deletion): unbinds every id of `user` and of the users
  // merged into it, in `batch` and at once in the cache, so that no id resolves to them any
  // more (a later record with one of those ids creates a new person). The user records stay,
  // empty, because dense user ids are never reused. *users receives the person's user ids
  // (the canonical one first), *identities the ids removed.
  Status ErasePerson(ProjectId project, UserId user, state::KvStore::Batch* batch,
                     std::vector<UserId>* users, std::vector<Identity>* identities);
  // One above the highest user id assigned so far in the project (1 when there are none).
  Result<UserId> UserIdLimit(ProjectId project);


 private:
  struct UserInfo {
    bool loaded = false;
    int32_t first_day = INT32_MIN;  // INT32_MIN = no event yet
    std::vector<Identity> identities;
    UserId merged_into = 0;             // != 0: this user was merged into that one
    std::vector<UserId> merged_users;   // users merged into this one (flattened)
  };
  struct ProjectState {
    std::mutex mu;
    bool next_loaded = false;
    UserId next_user = 1;
    // The whole id map of the project is in owner_cache (loaded at first use), so a miss
    // means "unowned" without a KV read.
    bool cache_complete = false;
    IdOwnerMap owner_cache;
    std::vector<UserInfo> users;                          // by user id
  };

  ProjectState& StateOf(ProjectId project);
  // Resolve without the event day; sets *user_dirty when the chosen user's record changed and
  // still has to be written.
  Result<Resolution> ResolveLocked(ProjectId project, ProjectState& state, const Record& record,
                                   state::KvStore::Batch* batch, bool* user_dirty);
  // Require state.mu held.
  Result<UserId> OwnerLocked(ProjectId project, ProjectState& state, const Identity& id);
  Status LoadIdMapLocked(ProjectId project, ProjectState& state);
  Result<UserInfo*> UserLocked(ProjectId project, ProjectState& state, UserId user);
  Result<UserId> NewUserLocked(ProjectId project, ProjectState& state, state::KvStore::Batch* batch);
  // Reads the next free user id once (state.next_user).
  Status LoadNextUserLocked(ProjectId project, ProjectState& state);
  void WriteUserLocked(ProjectId project, UserId user, const UserInfo& info,
                       state::KvStore::Batch* batch);
  // Moves every id of `from` (an anonymous-only user) to `into` and records the merge.
  Status MergeLocked(ProjectId project, ProjectState& state, UserId from, UserId into,
                     state::KvStore::Batch* batch);

  state::KvStore* kv_;
  std::mutex projects_mu_;
  std::map<ProjectId, std::unique_ptr<ProjectState>> projects_;  // guarded by projects_mu_
};

}  // namespace sextant::identity
