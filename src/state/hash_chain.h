// Hash chains in the state store: the append-only, tamper-evident logs (the decision ledger,
// the audit trail) share one entry format so that one verifier checks both.
//
// Entry `seq` (1, 2, ...) of a chain lives at key `<prefix><seq BE64>` with the value
// `<hash 64 hex><previous hash 64 hex><body JSON object>`, where
// hash = SHA-256 hex of (previous hash hex || SHA-256 hex of body) and the previous hash of
// entry 1 is 64 zeros. Editing, removing or reordering any stored entry breaks every later hash.
//
// Redaction (erasure of a customer's personal data): an entry's body may be replaced by
// `#<SHA-256 hex of the original body><redacted body JSON>`. The chain still verifies, because
// an entry's hash covers only the digest of its body; what a redacted entry still says (the
// kept fields) is no longer covered by the hash, which the verification reports by counting
// redacted entries. Entries written before the digest form (hash over the body itself) still
// verify. Format: docs/storage-format.md ("Hash chains").
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

// SHA-256 hex of `bytes`.
std::string Sha256Hex(std::string_view bytes);
// SHA-256 hex of previous_hash || Sha256Hex(body).
std::string ChainHash(std::string_view previous_hash, std::string_view body);
// The stored value of the entry after `previous_hash`; *hash receives its hash.
std::string ChainValue(std::string_view previous_hash, std::string_view body, std::string* hash);
// A stored value rendered for an API answer: the body object with "seq", "hash" and "prev"
// (and "redacted": true, "body_sha256" for a redacted entry).
std::string RenderChainEntry(uint64_t sequence, std::string_view stored);
// The body JSON of a stored value (the redacted body for a redacted entry).
std::string_view ChainEntryBody(std::string_view stored);
bool IsRedactedChainEntry(std::string_view stored);
// `stored` with its body replaced by `redacted_body` (a JSON object), keeping the digest of
// the original body so the chain still verifies. Redacting a redacted entry replaces the
// redacted body and keeps the original digest.
std::string RedactChainEntry(std::string_view stored, std::string_view redacted_body);

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
  uint64_t redacted = 0;  // entries whose body was replaced by a redaction
};
// Recomputes every hash of the chain under `prefix`.
Result<ChainVerification> VerifyChain(const KvStore& kv, std::string_view prefix);

}  // namespace sextant::state
