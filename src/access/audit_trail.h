// AuditTrail: the append-only, hash-chained record of who did what to the configuration —
// every change through the API (journeys, segments, tags, rules, channels, templates, accounts,
// projects, consent), every approval, every login and failed login, every refused request —
// with the caller, their address, the route and the answer's status. Same chain format as the
// decision ledger (state/hash_chain.h) under "audit/"; `sextant audit verify` and
// GET /api/v1/audit/verify recompute it. docs/access.md ("Audit trail").
//
// Contract: Append makes the entry durable (state-store WAL sync) before it returns. The
// router appends after the change itself is durable and before the answer is sent, so an
// answered change always has its entry; a crash between the two can leave a change without one.
//
// Thread-safety: thread-safe (appends are serialised by a mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "state/hash_chain.h"
#include "state/kv_store.h"

namespace sextant::access {

struct AuditEntry {
  std::string actor;       // account name, "admin", or the name tried at a failed login
  std::string actor_kind;  // admin_token, session, api_token, or "anonymous"
  std::string action;      // login, login_failed, change, denied
  std::string method;      // HTTP method
  std::string route;       // the route pattern ("/api/v1/projects/{project}/journeys/{id}/{action}")
  std::string target;      // the concrete path
  std::string project;     // "" when the route has none
  std::string peer;        // client address
  int status = 0;          // HTTP status of the answer
  std::string detail;      // error message of a failed or refused request; operator header
};

class AuditTrail {
 public:
  AuditTrail(state::KvStore* kv, Clock* clock) : kv_(kv), clock_(clock) {}

  // Appends and syncs. Returns the entry's sequence number.
  Result<uint64_t> Append(const AuditEntry& entry);
  // {"entries": [...]} newest first: at most `limit`, older than `before` (0 = from the newest),
  // only `actor`'s when not empty.
  Result<std::string> Query(size_t limit, uint64_t before, const std::string& actor) const;
  Result<state::ChainVerification> Verify() const;

 private:
  state::KvStore* kv_;
  Clock* clock_;
  std::mutex mu_;
  bool head_loaded_ = false;  // guarded by mu_
  state::ChainHead head_;     // guarded by mu_
};

// Not "aud/": that is the audience engine's key space (tags and segments).
inline constexpr std::string_view kAuditPrefix = "audit/";

}  // namespace sextant::access
