// DedupeFilter: remembers the deduplication keys of recently stored records so that resent
// batches (web batch mode and Android resend whole batches after a timeout) are stored once.
//
// Key (docs/ingest.md): Hash64 of (project id, _track_id, time, distinct_id, event name —
// or the record type for profile/item operations). Records without _track_id are never
// treated as duplicates.
//
// Memory is bounded: two generations of at most `max_keys_per_generation` keys; the older
// generation is dropped when the newer is full or older than `window_ms / 2`, so a key is
// remembered for at least min(window/2, capacity) and at most window. Restart: the caller
// re-inserts the keys of stored events (WAL replay and a scan of recent days) and of recent
// profile operations (kept in the KV store).
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/clock.h"

namespace sextant::ingest {

uint64_t DedupeKey(uint32_t project, int64_t track_id, int64_t time_ms, std::string_view distinct_id,
                   std::string_view event_or_type);

// A set of 64-bit keys with open addressing (linear probing) and no deletion, kept at most
// half full by doubling: the hot path of deduplication touches one or two cache lines per
// lookup instead of a node-based set's pointer chase. Not thread-safe.
class FlatKeySet {
 public:
  FlatKeySet() { slots_.assign(kInitialSlots, 0); mask_ = kInitialSlots - 1; }
  bool Contains(uint64_t key) const;
  void Insert(uint64_t key);
  void Clear();  // also gives the memory back
  size_t size() const { return size_; }

 private:
  static constexpr size_t kInitialSlots = 1024;
  void Grow();
  static uint64_t Slot(uint64_t key) { return key == 0 ? 1 : key; }  // 0 marks an empty slot
  std::vector<uint64_t> slots_;
  uint64_t mask_ = 0;
  size_t size_ = 0;
};

class DedupeFilter {
 public:
  DedupeFilter(const Clock* clock, int64_t window_ms, size_t max_keys_per_generation)
      : clock_(clock),
        window_ms_(window_ms),
        max_keys_(max_keys_per_generation) {}

  bool Contains(uint64_t key) const;
  void Insert(uint64_t key);
  // Takes back keys inserted for records that were then not stored (their write failed), so a
  // resend is accepted rather than answered as a duplicate of nothing.
  void Forget(const std::vector<uint64_t>& keys);
  size_t size() const;

 private:
  void MaybeRotateLocked();
  const Clock* clock_;
  const int64_t window_ms_;
  const size_t max_keys_;
  mutable std::mutex mu_;
  FlatKeySet current_, previous_;  // guarded by mu_
  // Forgotten keys of the current and the previous generation (the key sets cannot delete).
  std::unordered_set<uint64_t> forgotten_current_, forgotten_previous_;  // guarded by mu_
  int64_t current_started_ms_ = -1;                  // guarded by mu_
};

}  // namespace sextant::ingest
