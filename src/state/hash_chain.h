// Hash chains in the state store: the append-only, tamper-evident logs (the decision ledger,
// the audit trail) share one entry format so that one verifier checks both.
//
// Entry `seq` (1, 2, ...) of a chain lives at key `<prefix><seq BE64>` with the value
// `<hash 64 hex><previous hash 64 hex><body JSON object>`, where
// hash = SHA-256 hex of (previous hash hex || body) and the previous hash of entry 1 is 64
// zeros. Editing, removing or reordering any stored entry breaks every later hash.
// Format: docs/storage-format.md ("Hash chains").
//
// Thread-safety: functions are thread-safe; appending to one chain must be serialised by the
// caller (the head moves).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "state/kv_store.h"

namespace sextant::state {

inline const std::string& ZeroChainHash() {
  static const std::string kZero(64, '0');
  return kZero;
}

// SHA-256 hex of previous_hash || body.
std::string ChainHash(std::string_view previous_hash, std::string_view body);
// The stored value of the entry after `previous_hash`; *hash receives its hash.
std::string ChainValue(std::string_view previous_hash, std::string_view body, std::string* hash);
// A stored value rendered for an API answer: the body object with "seq", "hash" and "prev".
std::string RenderChainEntry(uint64_t sequence, std::string_view stored);

struct ChainHead {
  uint64_t sequence = 0;  // 0 = empty chain
  std::string hash = ZeroChainHash();
};
// The last entry of the chain under `prefix`.
Result<ChainHead> ReadChainHead(const KvStore& kv, std::string_view prefix);

struct ChainVerification {
  uint64_t entries = 0;
  bool valid = true;
  uint64_t first_bad_sequence = 0;  // when !valid
  std::string reason;
  std::string head_hash = ZeroChainHash();
};
// Recomputes every hash of the chain under `prefix`.
Result<ChainVerification> VerifyChain(const KvStore& kv, std::string_view prefix);

}  // namespace sextant::state
