// KvStore: the embedded key-value store for all mutable state (projects, schema, identities,
// profiles, items, ingest-error log, deduplication keys of profile operations). A thin adapter
// over RocksDB that turns its Status into ours and owns the key layout helpers.
//
// Durability: writes go to RocksDB's log without fsync; SyncWal() makes everything written
// so far durable. The event store's group commit calls SyncWal() before it acknowledges, so
// state changes made while handling a request are durable when the request is acknowledged.
//
// Key spaces (first byte(s) of the key; see docs/storage-format.md):
//   "proj/<name>"                     project definition
//   "sch/<pid>/e/<name>" "sch/<pid>/p/<name>" "sch/<pid>/u/<name>"  schema entries
//   "idm/<pid>/<key>\x1f<value>"      identity → user id
//   "uid/<pid>/<user id BE32>"        user record (identities, first day, merges)
//   "prof/<pid>/<user id BE32>"       profile
//   "item/<pid>/<type>\x1f<id>"       item
//   "err/<pid>/<seq BE64>"            ingest-error log entry
//   "dd/<pid>/<hash BE64>"            dedupe key of a profile/item operation
//   "led/<pid>/<sequence BE64>"       decision ledger entry (journey/decision_ledger.h) — in the
//                                     column family "ledger"; every other key in "default"
//
// Column families are routed by key prefix inside this class: callers never name one, and a
// prefix given to a scan lies either inside "led/" or outside it.
// Encryption at rest: with a cipher (SetCipher), the values of the personal key spaces and the
// identity index keys are sealed on write and opened on read (state/state_cipher.h); callers
// see plaintext only.
//
// Thread-safety: thread-safe (RocksDB is).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "state/state_cipher.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace sextant::state {

class KvStore {
 public:
  static Result<std::unique_ptr<KvStore>> Open(const std::string& dir);
  ~KvStore();

  // nullopt-like: returns kNotFound status when absent.
  Result<std::string> Get(std::string_view key) const;
  // Get of each of `keys`, answered in their order. Keys of one column family are looked up in
  // one RocksDB MultiGet, which shares the filter, index and data block reads that separate
  // point reads of nearby keys each repeat (a decision step reading 5,000 profiles).
  std::vector<Result<std::string>> MultiGet(std::span<const std::string> keys) const;
  Status Put(std::string_view key, std::string_view value);
  Status Delete(std::string_view key);

  class Batch {
   public:
    Batch();
    ~Batch();
    void Put(std::string_view key, std::string_view value);
    void Delete(std::string_view key);
    bool empty() const;
    // Reorders the operations into key order; operations on one key keep their order, so
    // writing the batch has the same effect. For large batches that interleave key families:
    // RocksDB's memtable inserts a key cheaply only right after the previously inserted one,
    // and otherwise searches its skip list from the top. A bulk import's identity writes
    // alternate user records (keyed by dense id, so appended in order) with id keys (in hash
    // order); sorted, the user records are appended one after another (~7 % of import CPU).
    // The sorted copy is built in the buffer of the previous sort when there was one: a batch
    // that is cleared and filled again (a worker's step after step) then grows no buffer and
    // touches no fresh memory — page faults of growing batches were 6 % of a mass send.
    void SortByKey();
    rocksdb::WriteBatch* rep() { return rep_.get(); }

   private:
    std::unique_ptr<rocksdb::WriteBatch> rep_;
    std::unique_ptr<rocksdb::WriteBatch> spare_;  // the unsorted buffer of the last sort
  };
  Status Write(Batch* batch);

  // Visits keys with `prefix` in order (or in reverse order) until `visitor` returns false.
  Status ScanPrefix(std::string_view prefix,
                    const std::function<bool(std::string_view key, std::string_view value)>& visitor,
                    bool reverse = false) const;
  // Visits keys with `prefix` from the first key ≥ `start` (which should itself start with
  // `prefix`; a smaller one means "from the first key of the prefix") in order until `visitor`
  // returns false. For a queue scanned repeatedly: resuming after the keys already taken
  // skips their deletion markers instead of stepping over them again on every scan. Keys
  // compare in their stored form: not for index keys sealed by encryption at rest.
  Status ScanPrefixFrom(
      std::string_view prefix, std::string_view start,
      const std::function<bool(std::string_view key, std::string_view value)>& visitor) const;
  Status DeleteRange(std::string_view begin, std::string_view end);

  // Makes every write so far durable.
  Status SyncWal();
  // Flushes the memtable and compacts everything into the bottom level (zstd), so the log
  // is emptied and the store is at its compact size. Called by erasure and key rotation (old
  // forms of personal data must leave the files) and on clean shutdown of a small store.
  Status Compact();
  // Writes the memtables to files, so the log is emptied (a restart replays nothing).
  Status Flush();

  uint64_t ApproximateBytes() const;

  // Encryption at rest of the personal key spaces (state/state_cipher.h). Set once, right
  // after Open and before any other call; null = no encryption (then a sealed value or key
  // that is read is an error naming the key id it needs).
  void SetCipher(std::shared_ptr<const StateCipher> cipher) { cipher_ = std::move(cipher); }
  const StateCipher* cipher() const { return cipher_.get(); }
  // The key id of the first sealed value or index key found, 0 if none (a start-up check:
  // a store with sealed data cannot run without its keys).
  Result<uint8_t> FirstSealedKeyId() const;
  struct ResealResult {
    uint64_t values = 0;  // values (re)sealed under the active key
    uint64_t keys = 0;    // index keys (re)sealed under the active key
  };
  // Rewrites every sealed-space entry not sealed under the active key (older keys, or written
  // before encryption was on) under the active key. REQUIRES: a cipher. Idempotent.
  Result<ResealResult> Reseal();

 private:
  KvStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* ledger_family);
  // The column family `key_or_prefix` lives in.
  rocksdb::ColumnFamilyHandle* FamilyOf(std::string_view key_or_prefix) const;
  // Moves ledger entries a store written before the ledger family existed keeps in the default
  // family into it (once; a no-op seek afterwards).
  Status MoveLedgerIntoItsFamily();
  // ScanPrefix / ScanPrefixFrom: forward from `start` (≥ prefix), or backward from the end of
  // the prefix when `reverse` (start unused).
  Status Scan(std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view key, std::string_view value)>& visitor,
              bool reverse) const;
  // The plaintext key and value of a stored entry.
  Status OpenEntry(std::string_view key, std::string_view value, std::string* plain_key,
                   std::string* plain_value) const;
  // Notes a failed log write / sync: RocksDB must then not be asked to sync or flush that log
  // again (its writer asserts on reuse after an error), only to Resume().
  Status Checked(Status status);
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* ledger_family_;  // owned; destroyed before db_ closes
  std::shared_ptr<const StateCipher> cipher_;
  std::atomic<bool> log_failed_{false};
  // RocksDB's count of background errors (a failed flush or log write) when it last resumed.
  std::atomic<uint64_t> resumed_errors_{0};
  bool Failed() const;
};

// Big-endian fixed-width encodings keep numeric key parts ordered.
void AppendBigEndian32(uint32_t value, std::string* out);
void AppendBigEndian64(uint64_t value, std::string* out);
uint32_t ReadBigEndian32(std::string_view bytes);
uint64_t ReadBigEndian64(std::string_view bytes);

}  // namespace sextant::state
