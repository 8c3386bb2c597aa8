// DecisionLedger: the append-only, hash-chained record of every touch decision — sent, or
// suppressed by cap / quiet hours / consent / blacklist / suitability / priority / control
// group — with what it was based on. A hash chain (state/hash_chain.h): editing, removing or
// reordering any stored entry breaks every later hash; `sextant ledger verify` recomputes it. Layout: docs/storage-format.md ("led/").
//
// Thread-safety: Append requires the caller to serialise appends of one project (the journey
// engine's mutex); reads are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "state/hash_chain.h"
#include "state/kv_store.h"
#include "state/project_registry.h"
#include "store/event_row.h"

namespace sextant::journey {

using LedgerVerification = state::ChainVerification;

class DecisionLedger {
 public:
  explicit DecisionLedger(state::KvStore* kv) : kv_(kv) {}

  // Adds `body_json` (a JSON object without "seq"/"prev"/"hash") to `batch` as the next entry
  // of `project`, indexed by `user` and `journey_id`. Returns the entry's sequence number.
  Result<uint64_t> Append(state::ProjectId project, store::UserId user,
                          const std::string& journey_id, const std::string& body_json,
                          state::KvStore::Batch* batch);
  // Entries as a JSON array (newest first), all or by customer or by journey.
  Result<std::string> Query(state::ProjectId project, store::UserId user,
                            const std::string& journey_id, size_t limit) const;
  Result<LedgerVerification> Verify(state::ProjectId project) const;
  // Erasure of a customer: replaces the body of every entry about `user` by a redacted body
  // that keeps only what the decision was (kind, decision, reason, time, journey, version,
  // node, channel, purpose, arm, variant, template, touch id, assignee) and drops what
  // identifies or describes the person (distinct id, message subject and content,
  // personalisation values, detail, item and risk levels). The chain still verifies
  // (state/hash_chain.h). Returns the number of entries redacted (already redacted ones count).
  Result<uint64_t> RedactUser(state::ProjectId project, store::UserId user,
                              state::KvStore::Batch* batch);

 private:
  struct Head {
    bool loaded = false;
    uint64_t sequence = 0;
    std::string hash;  // hex; 64 zeros before the first entry
  };
  Result<Head*> HeadOf(state::ProjectId project);

  state::KvStore* kv_;
  std::mutex mu_;
  std::map<state::ProjectId, Head> heads_;  // guarded by mu_
};

// Stored value: 64 hex chars of the entry hash, 64 of the previous hash, then the body JSON.
std::string LedgerKey(state::ProjectId project, uint64_t sequence);

}  // namespace sextant::journey
