// Erasure of one customer across every store (data-subject deletion under PIPL art. 47 /
// GDPR art. 17): DELETE /api/v1/projects/{project}/users/{id}. docs/access.md ("Erasure").
//
// What goes: the person's ids (ID-Mapping), profile, every event (heads, columnar parts and
// WAL segments rewritten or deleted), segment memberships, tag values (current and every
// stored daily snapshot), journey instances, timers, touch history, consent, undelivered
// messages, advisor tasks, and ingest-error records that quote their ids. What stays: the
// decision-ledger entries about them, redacted to what was decided (regulatory record of
// contact; the hash chain still verifies), the audit trail (which records this erasure), and
// aggregate report counters. Their dense user ids are retired, never reused: rows that still
// arrive for them are dropped.
//
// Crash safety: the erasure is first recorded durably (the retired ids under "ers/", the job
// under "ersj/") together with the removal of the ids and the profile; every later step is
// idempotent, and Application::Start() finishes a job it finds (ResumeErasures) and records
// it in the audit trail under the requester's name (the request itself got no answer).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "access/audit_trail.h"
#include "common/status.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "store/event_store.h"

namespace sextant::server {

class Application;

// The retired user ids of every project (key space "ers/"), for EventStoreOptions.
Result<std::map<store::ProjectId, std::vector<store::UserId>>> LoadErasedUsers(
    const state::KvStore& kv);

// Erases the person `user` of `project`; answers the JSON summary of what was removed.
// `request` is the request's audit entry (its target names the customer by digest): it is kept
// with the job, so that an erasure finished at start after a crash is audited too.
Result<std::string> EraseCustomer(Application& app, const state::ProjectInfo& project,
                                  store::UserId user, const access::AuditEntry& request);

// Finishes erasures that a crash interrupted (call once the engines are started).
Status ResumeErasures(Application& app);

}  // namespace sextant::server
